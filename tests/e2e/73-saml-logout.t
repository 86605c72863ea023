#!/bin/sh
# SAML Single Logout, SP-initiated: logout ends the local session first, then
# (with saml.idp_slo_url) answers a LogoutRequest URL signed for the
# HTTP-Redirect binding with the SP key published in the metadata, naming the
# NameID and SessionIndex of the login. The IdP's LogoutResponse comes back
# to /api/saml/slo: accepted when signed by the IdP and answering our
# request; refused when unsigned, signed by another key, tampered, with
# another SigAlg, issuer or InResponseTo, or replayed. Without an SLO URL,
# and for password sessions, logout just ends the local session.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
. "$(dirname "$0")/../lib/saml.sh"
command -v xmlsec1 >/dev/null || skip_all "xmlsec1 is not installed"
plan 35
(cd "$T" && openssl req -x509 -newkey rsa:2048 -nodes -keyout idp.key -out idp.crt -days 2 -subj "/CN=test idp" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout evil.key -out evil.crt -days 2 -subj "/CN=test idp") >/dev/null 2>&1
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
ACS="$BASE/api/saml/acs"
SLO="$BASE/api/saml/slo"
IDP=/usr/bin/python3\ $NP_TOP/tests/peers/saml_idp.py
settings() { # settings SLO_URL
	jq -n --rawfile c "$T/idp.crt" --arg base "$BASE" --arg slo "$1" '{saml: {enabled: true, auth_mode: "both",
	idp_entity_id: "https://idp.test/metadata", idp_sso_url: "https://idp.test/sso", idp_slo_url: $slo,
	idp_cert_pem: $c, sp_entity_id: "neuropacs-agent", sp_base_url: $base, admin_group: "NeuropacsAdmins"}}' \
		> "$NP_HOME/etc/neuropacs.json"
}
mkdir -p "$NP_HOME/etc"
settings https://idp.test/slo
printf '%s' 'Service-Password-123!' | "$BIN/np-config" set-secret cloud.service_password
start_httpd
J='Content-Type: application/json'
# sso_session: log in through the ACS; sets CK (session cookie) and CSRF.
sso_session() {
	login /
	build "$T/good.xml"
	post "$T/good.xml" / >/dev/null
	CK=$(grep -i '^Set-Cookie: np_session=' "$T/headers" | sed -E 's/^[^:]*: np_session=([^;]*);.*/\1/')
	req GET /api/auth/session -H "Cookie: np_session=$CK" >/dev/null
	CSRF=$(jget "$T/body" csrf_token)
}
logout() { req POST /api/auth/logout -H "Cookie: np_session=$CK" -H "X-CSRF-Token: $CSRF" -H "$J" -d '{}'; }
audit_last() { sqlite3 "$NP_HOME/db/agent.sqlite" "SELECT action||' '||IFNULL(detail,'')||' '||outcome FROM audit ORDER BY id DESC LIMIT 1"; }

is "$(req GET /api/saml/metadata)" 200 "SP metadata"
tr -d '\n' < "$T/body" > "$T/md.xml"
like "$(cat "$T/md.xml")" "SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"$SLO\"" \
	"... names the Single Logout service"
like "$(cat "$T/md.xml")" '<md:KeyDescriptor use="signing">.*<ds:X509Certificate>[A-Za-z0-9+/=]{400,}</ds:X509Certificate>' \
	"... and the SP signing certificate"
sed -E 's|.*<ds:X509Certificate>([^<]*)</ds:X509Certificate>.*|\1|' "$T/md.xml" | fold -w 64 |
	{ echo '-----BEGIN CERTIFICATE-----'; cat; echo '-----END CERTIFICATE-----'; } > "$T/sp.crt"
is "$(stat -c %a "$NP_HOME/etc/secrets/saml.sp_key")" 600 "the SP key is a secret (0600)"

sso_session
is "$(jget "$T/body" role)" admin "an SSO session"
is "$(logout)" 200 "logout"
redirect=$(jget "$T/body" redirect)
like "$redirect" '^https://idp.test/slo\?SAMLRequest=.*&RelayState=%2F&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256&Signature=' \
	"... answers a LogoutRequest URL for the IdP (HTTP-Redirect, signed)"
is "$(req GET /api/auth/session -H "Cookie: np_session=$CK")" 200 "the local session ended first"
is "$(jget "$T/body" authenticated)" false "... (not authenticated)"
$IDP check-logout-request --cert "$T/sp.crt" "$redirect" > "$T/lreq.xml" 2>"$T/lreq.err"
is "$?" 0 "the LogoutRequest signature verifies with the certificate of the SP metadata"
lreq=$(cat "$T/lreq.xml")
like "$lreq" '<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">alice@example.test</saml:NameID>' \
	"... names the user's NameID and format"
like "$lreq" '<samlp:SessionIndex>_s1</samlp:SessionIndex>' "... and the login's SessionIndex"
like "$lreq" 'Destination="https://idp.test/slo".*<saml:Issuer>neuropacs-agent</saml:Issuer>' "... with Destination and Issuer"
nok "a different key's signature does not verify (the check is real)" $IDP check-logout-request --cert "$T/idp.crt" "$redirect"
LR=$(printf '%s' "$lreq" | sed -E 's/.* ID="([^"]+)".*/\1/')

slo() { req GET "/api/saml/slo?$1"; }
resp() { $IDP logout-response --key "$T/${KEY:-idp}.key" --dest "$SLO" --irt "${IRT:-$LR}" --relay "${RELAY_TO:-/#/studies}" "$@"; }
q=$(resp)
sed 's/&Signature=.*//' > "$T/unsigned" <<EOF
$q
EOF
is "$(slo "$(cat "$T/unsigned")")" 403 "an unsigned LogoutResponse is refused"
like "$(jget "$T/body" error.message)" "not signed" "... as not signed"
is "$(KEY=evil slo "$(KEY=evil resp)")" 403 "a LogoutResponse signed by another key is refused"
like "$(jget "$T/body" error.message)" "does not verify" "... as not verifying"
tampered=$(printf '%s' "$q" | sed 's/RelayState=%2F%23%2Fstudies/RelayState=%2F%23%2Fsettings/')
is "$(slo "$tampered")" 403 "a LogoutResponse with a changed RelayState is refused"
is "$(slo "$(resp --sigalg http://www.w3.org/2000/09/xmldsig#rsa-sha1)")" 403 "another SigAlg is refused"
is "$(slo "$(resp --issuer https://evil-idp.test)")" 403 "another Issuer is refused"
is "$(IRT=_notours slo "$(IRT=_notours resp)")" 403 "an InResponseTo of no request of ours is refused"
is "$(slo "$q")" 303 "the IdP's signed LogoutResponse completes the logout"
like "$(grep -i '^Location:' "$T/headers")" 'Location: /#/studies.$' "... and returns to the RelayState"
is "$(audit_last)" "logout method=saml_slo success" "... audited"
is "$(slo "$q")" 403 "the same LogoutResponse again is refused (replay)"
# Even signed by the IdP, a RelayState that is no page of our UI is not
# followed (open redirect): the logout completes and returns to /.
for r in "$(printf '/\t/evil.test/x')" //evil.test '/\evil.test' https://evil.test %2F%2Fevil.test; do
	sso_session
	logout >/dev/null
	$IDP check-logout-request --cert "$T/sp.crt" "$(jget "$T/body" redirect)" > "$T/lreq.xml"
	IRT=$(sed -E 's/.* ID="([^"]+)".*/\1/' "$T/lreq.xml")
	code=$(IRT=$IRT RELAY_TO=$r slo "$(IRT=$IRT RELAY_TO=$r resp)")
	is "$code $(grep -i '^Location:' "$T/headers" | tr -d '\r')" '303 Location: /' \
		"a LogoutResponse with RelayState $(printf '%s' "$r" | sed 's/\t/<TAB>/; s/\\/<BACKSLASH>/g') returns to /"
done
is "$(slo '')" 400 "no SAMLResponse is a bad request"

# A password session, then SAML without an SLO URL: local logout only.
req POST /api/auth/login -H "$J" -d '{"password":"Service-Password-123!"}' >/dev/null
CK=$(grep -i '^Set-Cookie: np_session=' "$T/headers" | sed -E 's/^[^:]*: np_session=([^;]*);.*/\1/')
CSRF=$(jget "$T/body" csrf_token)
logout >/dev/null
is "$(jget "$T/body" redirect)" "" "a password session's logout sends nowhere"
stop_httpd
settings ""
start_httpd
sso_session
logout >/dev/null
is "$(jget "$T/body" redirect)" "" "without an SLO URL an SSO logout ends the local session only"
is "$(req GET /api/auth/session -H "Cookie: np_session=$CK"; jget "$T/body" authenticated)" "200false" "... which has ended"
