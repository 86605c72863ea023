#!/bin/sh
# Authentication: password login (bcrypt), cookie flags, CSRF, brute-force
# slowdown, logout on the server, 8 h inactivity expiry (fake clock), every
# operation of the OpenAPI document walked as anonymous, user and admin (as
# admin every documented operation must answer), and
# an audit trail that cannot be changed.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
. "$(dirname "$0")/../lib/openapi_ops.sh"
openapi_ops > "$T/ops"
nops=$(wc -l < "$T/ops")
plan $((3 * nops + 31))
mkdir -p "$NP_HOME/etc"
PW='Service-Password-123!'
printf '%s' "$PW" | "$BIN/np-config" set-secret cloud.service_password
NOW=1800000000
export NP_FAKE_NOW=$NOW
start_httpd
J='Content-Type: application/json'
like "$(cat "$NP_HOME/etc/secrets/http.password_hash")" '^\$2b\$1[2-9]\$' "the service password is stored as bcrypt, cost >= 12"

is "$(req POST /api/auth/login -H "$J" -d '{"password":"wrong"}')" 401 "a wrong password is refused"
is "$(req POST /api/auth/login -H "$J" -d "{\"password\":\"$PW\"}")" 200 "the service password logs in"
is "$(jget "$T/body" role)" admin "... as admin"
ck=$(grep -i '^Set-Cookie: np_session=' "$T/headers")
like "$ck" 'HttpOnly' "session cookie is HttpOnly"
like "$ck" 'SameSite=Strict' "session cookie is SameSite=Strict"
nok "... not Secure over plain HTTP" sh -c "printf '%s' '$ck' | grep -q Secure"
ADMIN=$(printf '%s' "$ck" | sed -E 's/^[^:]*: np_session=([^;]*);.*/\1/')
CSRF=$(jget "$T/body" csrf_token)
AC="Cookie: np_session=$ADMIN"
is "$(req GET /api/settings -H "$AC")" 200 "the session cookie authenticates"
is "$(req PUT /api/settings -H "$AC" -H "$J" -d '{}')" 403 "a write without the CSRF token is refused"
is "$(jget "$T/body" error.code)" csrf "... as a CSRF failure"
is "$(req PUT /api/settings -H "$AC" -H "$J" -H "X-CSRF-Token: $(printf '%064d' 0)" -d '{}')" 403 "a wrong CSRF token is refused"
is "$(req PUT /api/settings -H "$AC" -H "$J" -H "X-CSRF-Token: $CSRF" -d '{}')" 200 "a write with the CSRF token passes"
# change the first character after the dot (to 0, or to 1 when it is 0:
# replacing 0 by 0 left the token valid once in 16 runs)
TAMPER=$(printf '%s' "$ADMIN" | sed 's/\.0/.X/; s/\.[^X]/.0/; s/\.X/.1/')
is "$(req GET /api/settings -H "Cookie: np_session=$TAMPER")" 401 "a tampered token is anonymous"

# A user-role session as SAML would create one: row + HMAC-signed token.
key=$(cat "$NP_HOME/etc/secrets/http.session_key")
sid=$(openssl rand -hex 32); ucsrf=$(openssl rand -hex 32)
sqlite3 "$NP_HOME/db/agent.sqlite" "insert into sessions values('$sid','user@example.test','user','saml',$NOW,$NOW,'$ucsrf',NULL)"
mac=$(printf '%s' "$sid" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" | sed 's/.*= //')
USER="$sid.$mac"
# saml sessions carry the SAML settings epoch; take the one the server wrote for ours
ep=$(sqlite3 "$NP_HOME/db/agent.sqlite" "select saml_epoch from sessions where role='admin' limit 1")
sqlite3 "$NP_HOME/db/agent.sqlite" "update sessions set saml_epoch='$ep' where id='$sid'"
is "$(req GET /api/auth/session -H "Cookie: np_session=$USER")" 200 "user session"
is "$(jget "$T/body" role)" user "... has the user role"

walk_one() {
	_w=$1; _c=$2; _x=$3
	while read -r m p role; do
		case $p in /api/logs/stream) p="$p?max_seconds=1" ;; esac
		if [ "$p" = /api/auth/logout ] && [ "$_w" != anon ]; then _tap_result 0 "$_w: $m $p (kept for later)"; continue; fi
		if [ "$m" = GET ]; then
			code=$(req GET "$p" --max-time 10 -H "Cookie: np_session=$_c")
		else
			code=$(req "$m" "$p" --max-time 10 -H "Cookie: np_session=$_c" \
				-H "X-CSRF-Token: $_x" -H 'Content-Type: application/json' -d '{}')
		fi
		case "$_w:$role" in
		anon:public|user:public|user:user|admin:*) case $code in 401|403|405|000) r=1 ;; *) r=0 ;; esac
			grep -q 'no such endpoint' "$T/body" && r=1 ;;
		anon:*) [ "$code" = 401 ] && r=0 || r=1 ;;
		user:admin) [ "$code" = 403 ] && r=0 || r=1 ;;
		esac
		_tap_result $r "$_w: $m $p needs $role (got $code)"
	done < "$T/ops"
}
walk_one anon "" ""
walk_one user "$USER" "$ucsrf"
walk_one admin "$ADMIN" "$CSRF"

is "$(req GET '/api/studies?reveal=1' -H "Cookie: np_session=$USER")" 403 "a user may not reveal PHI in bulk"

for i in 1 2 3; do req POST /api/auth/login -H "$J" -d '{"password":"nope"}' >/dev/null; done
is "$(req POST /api/auth/login -H "$J" -d "{\"password\":\"$PW\"}")" 429 "after repeated failures logins are slowed down"
like "$(grep -i '^Retry-After:' "$T/headers")" '[0-9]' "... with Retry-After"
like "$(cat "$T/httpd.log")" 'login failed method=password client=127.0.0.1 failures=3' "failures are logged"
nok "... never with the password" grep -q -e nope -e "$PW" "$T/httpd.log"

is "$(req POST /api/auth/logout -H "$AC" -H "X-CSRF-Token: $CSRF")" 200 "logout"
is "$(req GET /api/settings -H "$AC")" 401 "... ends the session on the server"
is "$(req GET /api/auth/session -H "Cookie: np_session=$USER")" 200 "session before the clock moves"
stop_httpd
export NP_FAKE_NOW=$((NOW + 3600))
start_httpd
is "$(req GET /api/status -H "Cookie: np_session=$USER")" 200 "an hour of inactivity keeps the session"
stop_httpd
export NP_FAKE_NOW=$((NOW + 3600 + 8 * 3600 + 1))
start_httpd
is "$(req GET /api/status -H "Cookie: np_session=$USER")" 401 "8 hours of inactivity end it"

is "$(sqlite3 "$NP_HOME/db/agent.sqlite" "select count(*) from audit where action='login' and outcome='failure'")" 4 "failed logins are audited"
is "$(sqlite3 "$NP_HOME/db/agent.sqlite" "select count(*) from audit where action='logout'")" 1 "logout is audited"
nok "audit rows cannot be updated" sqlite3 "$NP_HOME/db/agent.sqlite" "update audit set outcome='x'"
nok "audit rows cannot be deleted" sqlite3 "$NP_HOME/db/agent.sqlite" "delete from audit"
is "$(req DELETE /api/audit)" 405 "the API has no way to delete audit records"
is "$(req PUT /api/audit)" 405 "... nor to change them"
