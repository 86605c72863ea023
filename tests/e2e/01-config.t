#!/bin/sh
# np-config: settings validation and secrets from the command line.
. "$(dirname "$0")/../lib/tap.sh"
plan 6
mkdir -p "$NP_HOME/etc"
is "$("$BIN/np-config" get dicom.ae_title)" "NEUROPACS_SCP" "default AE title is the guide's"
echo '{"dicom": {"port": 70000}}' > "$NP_HOME/etc/neuropacs.json"
out=$("$BIN/np-config" check 2>&1); rc=$?
is "$rc" 100 "invalid settings exit 100"
like "$out" "dicom\.port.*65535" "the error names the key and the rule"
echo '{"dicom": {"port": 4242}}' > "$NP_HOME/etc/neuropacs.json"
is "$("$BIN/np-config" get dicom.port)" 4242 "the settings file overrides the default"
printf 'S3CRET-VALUE\n' | "$BIN/np-config" set-secret cloud.api_key
is "$(stat -c %a "$NP_HOME/etc/secrets/cloud.api_key")" 600 "secrets are stored 0600"
nok "np-config get never prints a secret" sh -c "\"$BIN/np-config\" show | grep -q S3CRET-VALUE"
