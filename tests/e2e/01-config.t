#!/bin/sh
# np-config: settings validation and secrets from the command line. Saving
# (merge) refuses a bad value with its dotted key and a rule an admin can
# act on, never cutting it to fit; the service password follows the guide's
# rules here too, and the refusal names the rule, never the password.
. "$(dirname "$0")/../lib/tap.sh"
plan 50
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

# merge JSON: the exit status, then the message on standard error
# (the message goes to $T/out: a $(...) subshell cannot set a variable)
merge() { printf '%s' "$1" | "$BIN/np-config" merge >"$T/out" 2>&1; echo $?; }
refused() { # JSON, expected message (ERE), what
	is "$(merge "$1")" 100 "$3 is refused (exit 100)"
	like "$(cat "$T/out")" "$2" "... with the key and the rule"
}
refused '{"dicom":{"ae_title":"NEUROPACS_SCP_017"}}' '^np-config: error: - dicom\.ae_title: at most 16 characters \(got 17\)$' "a 17-character AE title"
is "$("$BIN/np-config" get dicom.ae_title)" "NEUROPACS_SCP" "... and nothing was saved (not cut to 16)"
is "$(merge '{"dicom":{"ae_title":"NEUROPACS_SCP_16"}}')" 0 "a 16-character AE title is saved"
is "$("$BIN/np-config" get dicom.ae_title)" "NEUROPACS_SCP_16" "... whole"
refused '{"dicom":{"ae_title":"STORE\\SCP"}}' 'dicom\.ae_title: an AE title cannot contain a backslash' "an AE title with a backslash"
refused '{"dicom":{"ae_title":"    "}}' 'dicom\.ae_title: an AE title cannot be only spaces' "an AE title of spaces"
refused '{"delivery":{"destinations":[{"type":"dicom_pdf","host":"pacs","ae_title":"PACS\tSCP"}]}}' \
	'delivery\.destinations\.0\.ae_title: an AE title cannot contain control characters' "a destination AE title with a tab"
refused '{"dicom":{"allowed_calling_aets":["MODALITY","BAD\\AET"]}}' 'dicom\.allowed_calling_aets\.1: an AE title cannot contain a backslash' "a calling AE title with a backslash"
refused '{"delivery":{"destinations":[{"type":"rest","url":"ftp://ris.example.test/in"}]}}' \
	'delivery\.destinations\.0\.url: only http:// and https:// URLs are allowed' "an ftp:// REST URL"
refused '{"delivery":{"destinations":[{"type":"rest","url":"http://ris.example.test:99999/in"}]}}' \
	'delivery\.destinations\.0\.url: the URL.s port must be from 1 to 65535' "a REST URL with port 99999"
refused '{"delivery":{"destinations":[{"type":"email","recipients":"ops@example.test, radiology at example.test"}]}}' \
	'delivery\.destinations\.0\.recipients: address 2 "radiology at example.test": an e-mail address cannot contain spaces' "a bad delivery recipient"
refused '{"notifications":{"recipients":"ops@example.test;nobody"}}' 'notifications\.recipients: address 2 "nobody": .*form name@domain' "a notification recipient without @"
refused '{"smtp":{"from":"agent@example.test,other@example.test"}}' 'smtp\.from: one address only' "two sender addresses"
refused '{"smtp":{"port":0}}' 'smtp\.port: must be from 1 to 65535 \(got 0\)' "port 0"
refused '{"dicom":{"port":70000}}' 'dicom\.port: must be from 1 to 65535 \(got 70000\)' "port 70000"
refused '{"scheduler":{"poll_cron":"61 * * * *"}}' 'scheduler\.poll_cron: invalid cron minute field "61"' "cron minute 61"
is "$(merge '{"delivery":{"destinations":[{"type":"rest","url":"https://ris.example.test/in"},{"type":"email","recipients":" a@example.test ; b.c@example.test,"}]},"smtp":{"from":"agent@example.test","port":465},"scheduler":{"poll_cron":"*/10 * * * 1-5"}}')" 0 "valid values are saved"

# a file edited by hand loads (services keep running) but check says what to fix
jq '.http.release_feed_url = "ftp://feed.example.test/x"' "$NP_HOME/etc/neuropacs.json" > "$T/n.json" && cp "$T/n.json" "$NP_HOME/etc/neuropacs.json"
is "$("$BIN/np-config" get dicom.port)" 4242 "a hand-edited file with a value saving would refuse still loads"
out=$("$BIN/np-config" check 2>&1)
like "$out" 'http\.release_feed_url: only http:// and https://' "... and np-config check names it"

# the service password
setpw() { printf '%s' "$1" | "$BIN/np-config" set-secret cloud.service_password >"$T/out" 2>&1; echo $?; }
is "$(setpw short)" 100 "a short service password is refused (exit 100)"
like "$(cat "$T/out")" 'cloud\.service_password: the password must have at least 15 characters' "... naming the rule"
is "$(setpw 'alllowercase#1234567')" 100 "a password without an upper-case letter is refused"
like "$(cat "$T/out")" 'cloud\.service_password: the password needs an upper-case letter' "... naming the rule"
nok "... never quoting the password" grep -q alllowercase "$T/out"
nok "nothing was stored" test -e "$NP_HOME/etc/secrets/cloud.service_password"
is "$(merge '{"cloud":{"service_password":"NoDigitsInThis-Password"}}')" 100 "merge refuses a weak service password too"
like "$(cat "$T/out")" 'cloud\.service_password: the password needs a number' "... naming the rule"
is "$(setpw 'Good-Password-12345!')" 0 "a password that follows the rules is stored"
like "$(cat "$NP_HOME/etc/secrets/http.password_hash")" '^\$2b\$1[2-9]\$' "... and the UI login hash follows it at once"

# A secret is never printed, and the refusal says why (not "unknown").
"$BIN/np-config" get cloud.api_key >"$T/get.out" 2>"$T/get.err"
is "$?" 100 "np-config get refuses a secret"
grep -q 'is a secret: np-config never prints secrets' "$T/get.err"
ok "... saying it is a secret, not an unknown setting" test $? = 0
