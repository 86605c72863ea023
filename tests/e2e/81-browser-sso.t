#!/bin/sh
# SAML SSO in headless Chromium through the UI (tests/browser/sso.mjs): auth
# mode "both", the SSO button, the AuthnRequest redirect to a test IdP on
# 127.0.0.1 (tests/peers/saml_idp.py: an auto-submitting form POSTs a
# Response signed with the xmlsec1 command), logged in with the role of the
# group claim, then sign-out with Single Logout at the IdP. The IdP's record
# and the audit trail are checked here.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
MODULES=$PLAIN/browser/node_modules
[ -x /usr/bin/chromium ] || skip_all "chromium is not installed"
[ -d "$MODULES/playwright-core" ] || skip_all "playwright-core is not installed (make browser-deps)"
command -v node >/dev/null || skip_all "node is not installed"
command -v xmlsec1 >/dev/null || skip_all "xmlsec1 is not installed"
[ -x "$SBIN/np-httpd" ] || skip_all "np-httpd is not built"
(cd "$T" && openssl req -x509 -newkey rsa:2048 -nodes -keyout idp.key -out idp.crt -days 2 -subj "/CN=test idp") \
	>/dev/null 2>&1 || bail "openssl could not make the IdP key"
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
/usr/bin/python3 "$NP_TOP/tests/peers/saml_idp.py" serve --state "$T/idp" --key "$T/idp.key" --cert "$T/idp.crt" \
	--sp-metadata "$BASE/api/saml/metadata" --nameid bob@example.test --group NeuropacsUsers 2>"$T/idp.err" &
at_exit "stop_pid $!"
wait_for "[ -s '$T/idp/url' ]" 20 || bail "the test IdP did not start: $(cat "$T/idp.err")"
IDP=$(cat "$T/idp/url")
mkdir -p "$NP_HOME/etc"
jq -n --rawfile c "$T/idp.crt" --arg base "$BASE" --arg idp "$IDP" '{saml: {enabled: true, auth_mode: "both",
	idp_entity_id: "https://idp.test/metadata", idp_sso_url: ($idp + "/sso"), idp_slo_url: ($idp + "/slo"),
	idp_cert_pem: $c, sp_entity_id: "neuropacs-agent", sp_base_url: $base,
	admin_group: "NeuropacsAdmins", user_group: "NeuropacsUsers"}}' > "$NP_HOME/etc/neuropacs.json"
printf '%s' 'Service-Password-123!' | "$BIN/np-config" set-secret cloud.service_password
start_httpd
out="$NP_TOP/build/test-output/browser-sso"
rm -rf "$out"
NP_NODE_MODULES=$MODULES IDP_URL=$IDP SSO_NAMEID=bob@example.test SSO_ROLE=user \
	node "$NP_TOP/tests/browser/sso.mjs" "$BASE" "$out" > "$T/sso.tap"
rc=$?
# The browser's checks, renumbered to run on with this script's own.
grep -v -E '^(not )?ok |^1\.\.' "$T/sso.tap"
grep -q -E '^(not )?ok ' "$T/sso.tap" || bail "sso.mjs printed no results (exit $rc)"
grep -E '^(not )?ok ' "$T/sso.tap" | sed -E 's/^((not )?ok) [0-9]+ - /\1 /' > "$T/sso.results"
while read -r st rest; do
	case $st in ok) _tap_result 0 "$rest" ;; *) _tap_result 1 "${rest#ok }" ;; esac
done < "$T/sso.results"
R=$T/idp/requests.jsonl
like "$(grep '"call": "sso"' "$R" | tail -1)" "\"acs\": \"$BASE/api/saml/acs\"" "the IdP got an AuthnRequest naming our ACS"
slo=$(grep '"call": "slo"' "$R" | tail -1)
like "$slo" '"signature": "ok"' "the IdP verified the LogoutRequest with the certificate of the SP metadata"
like "$slo" '"nameid": "bob@example.test", "session_index": "_s1"' "... which named the user and the session"
aud=$(sqlite3 "$NP_HOME/db/agent.sqlite" "SELECT actor||' '||action||' '||IFNULL(detail,'')||' '||outcome FROM audit ORDER BY id" | tr '\n' ';')
like "$aud" "bob@example.test login method=saml success;" "the SSO login is audited"
like "$aud" "bob@example.test logout method=saml_slo_request success;- logout method=saml_slo success;" "... and the logout, at the agent and at the IdP"
is "$rc" 0 "sso.mjs exit status"
done_testing
