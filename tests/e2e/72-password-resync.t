#!/bin/sh
# Password re-sync after a password change at the cloud (v2): the stand-in's
# service password changes; a login with the new password is checked with a
# real v2 token request, then replaces the local bcrypt hash and the service
# password the agent uses for the cloud; the old password then fails, and so
# does a wrong one. The login form is no cloud-password oracle: passwords
# that break the rules never reach the cloud, after a refusal the cloud is
# not asked again for a while, and parallel attempts reach it once.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
. "$NP_TOP/tests/peers/cloud.sh"
plan 28
cloud_start "$T/cloud"
cloud_home v2
OLD='Service-Password-123!'
NEW='Changed-At-Portal-456?'
WRONG='Guessed-Password-789#'
J='Content-Type: application/json'
st() { cloud_state | jq -r ".counts.$1"; }
login() { req POST /api/auth/login -H "$J" -d "{\"password\":\"$1\"}"; }
audit() { sqlite3 "$NP_HOME/db/agent.sqlite" "SELECT action||' '||IFNULL(detail,'')||' '||outcome FROM audit ORDER BY id" | tr '\n' ';'; }
start_httpd

is "$(login "$OLD")" 200 "the service password logs in (local hash)"
is "$(st connects)" 0 "... without asking the cloud"
H0=$(cat "$NP_HOME/etc/secrets/http.password_hash")

cloud_ctl "{\"password\":\"$NEW\"}"
is "$(login "$NEW")" 200 "after a change at the cloud the new password logs in"
is "$(jget "$T/body" role)" admin "... as admin"
is "$(st connects)" 1 "... verified by one v2 token request"
like "$(grep '"/auth/token"' "$CLOUD_DIR/requests.jsonl" | tail -1)" '"api": "v2"' "... on the real token path"
H1=$(cat "$NP_HOME/etc/secrets/http.password_hash")
nok "the local hash changed" test "$H0" = "$H1"
like "$H1" '^\$2b\$1[2-9]\$' "... and is bcrypt, cost >= 12"
is "$(cat "$NP_HOME/etc/secrets/cloud.service_password")" "$NEW" "the agent's service password is the new one"
out=$("$BIN/np-cloud" refresh-token 2>&1)
like "$out" "new access token cached" "... and the agent's own cloud client works with it"
like "$(audit)" "password_resync source=cloud success;login method=password success;" "the re-sync is audited"
like "$(cat "$T/httpd.log")" "re-synchronised with the cloud protocol=v2" "... and logged"

is "$(login "$OLD")" 401 "the old password now fails"
is "$(st token_refused)" 1 "... the cloud refused it once"
like "$(grep "login failed" "$T/httpd.log" | tail -1)" "login failed .*cloud_check=refused" "... logged as refused by the cloud"
is "$(login "$WRONG")" 401 "a wrong password fails"
is "$(st token_refused)" 1 "... and right after a refusal the cloud is not asked"
like "$(grep "login failed" "$T/httpd.log" | tail -1)" "cloud_check=waiting" "... logged as waiting"
is "$(login short)" 401 "a password that breaks the rules fails"
like "$(grep "login failed" "$T/httpd.log" | tail -1)" "cloud_check=skipped" "... and is never sent to the cloud"

sleep 1.1
n0=$(st connects)
is "$(login "$NEW")" 200 "the new password logs in from the local hash"
is "$(st connects)" "$n0" "... without asking the cloud"

# After the 5 s pause, parallel guesses reach the cloud once (one check at
# a time for the whole server; the others are plain failed logins).
sleep 4
cloud_ctl '{"slow_ms": 700}'
pids=
for i in 1 2 3 4; do
	curl -s -o /dev/null -w '%{http_code}\n' -X POST -H "$J" -d "{\"password\":\"$WRONG$i\"}" "$URL/api/auth/login" >"$T/par.$i" &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
cloud_ctl '{"slow_ms": 0}'
# Each fails: 401, or 429 once the limiter counted three (it counts an attempt before the hash is checked).
is "$(cat "$T"/par.* | grep -v -c -x -e 401 -e 429)" 0 "parallel guesses all fail (401 or 429)"
ok "... the first ones were checked" grep -q -x 401 "$T"/par.*
is "$(st token_refused)" 2 "... and only one of them reached the cloud"
like "$(cat "$T/httpd.log")" "cloud_check=busy" "... the others were logged as busy"
nok "no password in the log" grep -Eq "Service-Password|Changed-At|Guessed" "$T/httpd.log"
nok "no password in the audit trail" sh -c "sqlite3 '$NP_HOME/db/agent.sqlite' 'select * from audit' | grep -Eq 'Service-Password|Changed-At|Guessed'"
