#!/bin/sh
# Changing the service password (also the UI admin password), by each path:
# PUT /api/settings (the Settings page), np-config set-secret from a shell
# while np-httpd runs, and the secret file replaced by hand. The guide's
# rules hold on every path; right after the change (no wait) the old
# password is refused and the new one logs in; every session but the one
# that made the change ends, with an audit row "sessions_revoked". Saving
# the same password, or the masked one the Settings page sends back, ends
# nothing. No password reaches the log, the audit trail or an answer.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
plan 43
mkdir -p "$NP_HOME/etc"
PW1='First-Password-123!'
PW2='Second-Password-456?'
PW3='Third-Password-789#'
PW4='Fourth-Password-012$'
printf '%s' "$PW1" | "$BIN/np-config" set-secret cloud.service_password
start_httpd
J='Content-Type: application/json'
# login PW: prints the status; the session cookie and CSRF token go to $T/ck, $T/csrf
login() {
	_c=$(req POST /api/auth/login -H "$J" -d "{\"password\":\"$1\"}")
	grep -i '^Set-Cookie: np_session=' "$T/headers" | sed -E 's/^[^:]*: np_session=([^;]*);.*/\1/' >"$T/ck"
	jget "$T/body" csrf_token >"$T/csrf"
	echo "$_c"
}
get_as() { req GET /api/settings -H "Cookie: np_session=$1"; }
put_as() { req PUT /api/settings -H "Cookie: np_session=$1" -H "X-CSRF-Token: $2" -H "$J" -d "$3"; }
revoked() { sqlite3 "$NP_HOME/db/agent.sqlite" "SELECT actor||' '||detail||' '||outcome FROM audit WHERE action='sessions_revoked' ORDER BY id" | tr '\n' ';'; }

is "$(login "$PW1")" 200 "the first password logs in (session A, the admin who changes it)"
A=$(cat "$T/ck"); CA=$(cat "$T/csrf")
is "$(login "$PW1")" 200 "... and again (session B, another browser)"
B=$(cat "$T/ck")

# --- the Settings page / PUT /api/settings ---
is "$(put_as "$A" "$CA" '{"cloud":{"service_password":"short"}}')" 400 "API: a short password is refused"
is "$(jget "$T/body" error.code)" invalid_settings "... as invalid settings"
is "$(jget "$T/body" error.key)" cloud.service_password "... with the key of the field"
is "$(jget "$T/body" error.message)" "cloud.service_password: the password must have at least 15 characters" "... and the rule it breaks"
is "$(put_as "$A" "$CA" '{"cloud":{"service_password":"alllowercase#1234567"}}')" 400 "API: a password without an upper-case letter is refused"
is "$(jget "$T/body" error.message)" "cloud.service_password: the password needs an upper-case letter" "... naming the rule"
nok "... never quoting the password" grep -q alllowercase "$T/body"
is "$(login "$PW1")" 200 "a refused password changed nothing"
C0=$(cat "$T/ck")

is "$(put_as "$A" "$CA" "{\"cloud\":{\"service_password\":\"$PW2\"}}")" 200 "API: a password that follows the rules is saved"
is "$(jq -c '[.changed[], (.applied[] | select(.service == "np-httpd") | "\(.service) \(.action)")]' "$T/body")" \
	'["cloud.service_password","np-httpd applied"]' "... the answer names it as changed, applied by np-httpd"
is "$(login "$PW1")" 401 "at once the old password is refused"
is "$(login "$PW2")" 200 "... and the new one logs in"
C=$(cat "$T/ck")
is "$(get_as "$B")" 401 "a session opened before the change has ended"
is "$(get_as "$C0")" 401 "... every one of them"
is "$(get_as "$A")" 200 "the session that made the change goes on"
like "$(revoked)" "^service count=2 reason=password_change source=settings success;$" "the ended sessions are audited with their count"

is "$(put_as "$A" "$CA" "{\"cloud\":{\"service_password\":\"$PW2\"}}")" 200 "saving the same password again"
is "$(jq -c '.changed' "$T/body")" '[]' "... changes nothing"
is "$(get_as "$C")" 200 "... ends no session"
is "$(put_as "$A" "$CA" '{"cloud":{"service_password":"********"},"dicom":{"ae_title":"AFTER_CHANGE"}}')" 200 "the masked password the Settings page sends back"
is "$(get_as "$C")" 200 "... ends no session"
is "$(login "$PW2")" 200 "... and keeps the password"
like "$(revoked)" "^[^;]*;$" "... and neither is audited as a change"

# --- np-config set-secret from a shell while np-httpd runs ---
printf '%s' 'weak' | "$BIN/np-config" set-secret cloud.service_password 2>"$T/err"
is "$?" 100 "np-config: a weak password is refused (exit 100)"
like "$(cat "$T/err")" "cloud.service_password: the password must have at least 15 characters" "... naming the rule"
is "$(login "$PW2")" 200 "... and the password is unchanged"
D=$(cat "$T/ck")
printf '%s' "$PW3" | "$BIN/np-config" set-secret cloud.service_password
is "$?" 0 "np-config set-secret stores a new password"
is "$(login "$PW2")" 401 "at once the old password is refused"
is "$(get_as "$A")" 401 "every session has ended (A)"
is "$(get_as "$D")" 401 "... (D)"
is "$(login "$PW3")" 200 "the new password logs in"
E=$(cat "$T/ck")
like "$(revoked)" ";np-config count=4 reason=password_change source=set-secret success;$" "... audited with the count"

# --- the secret file replaced by hand: noticed at the next login ---
is "$(login "$PW3")" 200 "another session (F)"
F=$(cat "$T/ck")
printf '%s\n' "$PW4" >"$NP_HOME/etc/secrets/cloud.service_password"
is "$(login "$PW3")" 401 "after the file is replaced the old password is refused at once"
is "$(login "$PW4")" 200 "... and the new one logs in"
G=$(cat "$T/ck")
is "$(get_as "$E")" 401 "the older sessions have ended"
is "$(get_as "$G")" 200 "... but not the one that used the new password"
like "$(revoked)" ";service count=2 reason=password_change source=settings_file success;$" "... audited"

nok "no password in the log" grep -Eq "First-Pass|Second-Pass|Third-Pass|Fourth-Pass|alllowercase" "$T/httpd.log"
nok "no password in the audit trail" sh -c "sqlite3 '$NP_HOME/db/agent.sqlite' 'select * from audit' | grep -Eq 'First-Pass|Second-Pass|Third-Pass|Fourth-Pass|alllowercase'"
nok "no password in the settings file" grep -Eq "Pass|alllowercase" "$NP_HOME/etc/neuropacs.json"
