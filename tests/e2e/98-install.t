#!/bin/sh
# The container image's steps without Docker: make install into a fresh root,
# first-run setup with np-init, and the s6 service tree from the installed files.
. "$(dirname "$0")/../lib/tap.sh"
plan 13
out=$("$SBIN/np-init" --first-run --non-interactive --container 2>/dev/null)
pw=$(printf '%s' "$out" | sed -n 's/.*shown once, log in to the UI with it): //p')
like "$pw" '^.{24}$' "first run prints a generated service password once"
ok "the generated password follows the guide's rules" sh -c "printf '%s' '$pw' | grep -q '[a-z]' && printf '%s' '$pw' | grep -q '[A-Z]' && printf '%s' '$pw' | grep -q '[0-9]' && printf '%s' '$pw' | grep -q '[^a-zA-Z0-9]'"
is "$(cat "$NP_HOME/etc/secrets/cloud.service_password")" "$pw" "it is stored as a 0600 secret"
is "$("$BIN/np-config" get dicom.port)" 104 "container defaults: DICOM on port 104"
is "$("$SBIN/np-init" --first-run --non-interactive 2>/dev/null)" "" "a second first-run changes and prints nothing"

H2="$T/h2"
printf 'https://cloud.example.test\nv1\n\nAPIKEY-XYZ\nMY_SCP\n4104\n3101\n\n\nshort\nGood-Password-12345!\n' |
	"$SBIN/np-init" --home "$H2" --interactive >"$T/init.out" 2>&1
like "$(cat "$T/init.out")" "at least 15 characters" "a weak password is refused with the rule it breaks"
is "$(NP_HOME=$H2 "$BIN/np-config" get dicom.ae_title)/$(NP_HOME=$H2 "$BIN/np-config" get http.port)" "MY_SCP/3101" "answers land in the settings"
is "$(cat "$H2/etc/secrets/cloud.api_key")" "APIKEY-XYZ" "the API key is a secret"
nok "no secret in the settings file" grep -q -e APIKEY -e Good-Password "$H2/etc/neuropacs.json"

# make install into an empty root, as the Dockerfile does.
R="$T/root"
make -s -C "$NP_TOP" install PREFIX=/usr/local DESTDIR="$R" >/dev/null 2>&1
ok "make install puts tools, daemons, man pages, schema and service templates in place" sh -c "
	test -x '$R/usr/local/bin/np-config' && test -x '$R/usr/local/sbin/np-svscan' &&
	test -f '$R/usr/local/share/neuropacs/schema/config.schema.json' &&
	test -x '$R/usr/local/etc/neuropacs/s6/np-recv/run' && test -f '$R/usr/local/share/man/man1/np-metrics.1'"
H3="$T/h3"
"$R/usr/local/sbin/np-svscan" --home "$H3" --prepare-only 2>/dev/null
ok "the installed np-svscan finds its templates and builds the service tree" sh -c "test -x '$H3/service/np-recv/run' && test -x '$H3/service/prepare/log/run' && test -f '$H3/service/np-httpd/notification-fd'"
echo '# local change' >> "$H3/service/np-recv/run"
"$R/usr/local/sbin/np-svscan" --home "$H3" --prepare-only 2>/dev/null
nok "service files are brought back to the shipped version" grep -q 'local change' "$H3/service/np-recv/run"
is "$(ls "$H3/spool" | tr '\n' ' ')" "cancelled done events failed incoming qc-failed qc-passed ready results stable tmp uploaded " "the agent home has every spool state"
