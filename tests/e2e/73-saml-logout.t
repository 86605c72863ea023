#!/bin/sh
# SAML Single Logout, SP-initiated: logout ends the local session first, then
# (with saml.idp_slo_url) answers a LogoutRequest URL signed for the
# HTTP-Redirect binding with the SP key published in the metadata, naming the
# NameID and SessionIndex of the login. The IdP's LogoutResponse comes back
# to /api/saml/slo: accepted when signed by the IdP and answering our
# request; refused when unsigned, signed by another key, tampered, with
# another SigAlg, issuer or InResponseTo, or replayed. Without an SLO URL,
# and for password sessions, logout just ends the local session.
# IdP-initiated: a signed LogoutRequest from the IdP ends the NameID's
# sessions (of its SessionIndex, when named) and is answered with a signed
# LogoutResponse; refused unsigned, tampered, by another key or issuer, old,
# or replayed.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
. "$(dirname "$0")/../lib/saml.sh"
command -v xmlsec1 >/dev/null || skip_all "xmlsec1 is not installed"
plan 64
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

# IdP-initiated logout: the IdP sends the browser with a signed LogoutRequest
# (HTTP-Redirect); the NameID's sessions end and the browser goes back with
# a LogoutResponse signed with the SP key.
# idp_lreq [issuer=..] [key=idp|evil] [nameid=..] [index=..] [age=SECONDS] [id=..] [relay=..]
idp_lreq() {
	/usr/bin/python3 - "$NP_TOP/tests/peers" "$T" "$SLO" "$@" <<'PY'
import sys, uuid, html
sys.path.insert(0, sys.argv[1])
import saml_idp
a = {"issuer": "https://idp.test/metadata", "key": "idp", "nameid": "alice@example.test", "index": "_s1",
     "age": "0", "id": "_idplr" + uuid.uuid4().hex, "relay": "idp-state-42"}
a.update(kv.split("=", 1) for kv in sys.argv[4:])
idx = "<samlp:SessionIndex>%s</samlp:SessionIndex>" % html.escape(a["index"]) if a["index"] else ""
xml = ('<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
       'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="%s" Version="2.0" IssueInstant="%s" '
       'Destination="%s"><saml:Issuer>%s</saml:Issuer><saml:NameID '
       'Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">%s</saml:NameID>%s'
       '</samlp:LogoutRequest>') % (a["id"], saml_idp.now(-int(a["age"])), html.escape(sys.argv[3]),
                                    html.escape(a["issuer"]), html.escape(a["nameid"]), idx)
key = open("%s/%s.key" % (sys.argv[2], a["key"]), "rb").read()
print(saml_idp.sign_redirect(key, "SAMLRequest", saml_idp.deflate_b64(xml), a["relay"] or None))
PY
}
alive() { req GET /api/auth/session -H "Cookie: np_session=$1" >/dev/null; jget "$T/body" authenticated; }
sso_session; A1=$CK
sso_session; A2=$CK
login /
build "$T/bob.xml" nameid=bob@example.test
post "$T/bob.xml" / >/dev/null
BOB=$(grep -i '^Set-Cookie: np_session=' "$T/headers" | sed -E 's/^[^:]*: np_session=([^;]*);.*/\1/')
is "$(alive "$A1")$(alive "$A2")$(alive "$BOB")" truetruetrue "two SSO sessions of alice and one of bob"
is "$(slo "$(idp_lreq key=evil)")" 403 "an IdP LogoutRequest signed by another key is refused"
like "$(jget "$T/body" error.message)" "logout request signature does not verify" "... as not verifying"
q=$(idp_lreq)
is "$(slo "$(printf '%s' "$q" | sed 's/&Signature=.*//')")" 403 "an unsigned IdP LogoutRequest is refused"
is "$(slo "$(printf '%s' "$q" | sed 's/RelayState=idp-state-42/RelayState=idp-state-43/')")" 403 "... and one with a changed RelayState"
is "$(slo "$(idp_lreq issuer=https://evil-idp.test)")" 403 "... and one from another Issuer"
is "$(slo "$(idp_lreq age=3600)")" 403 "... and one issued an hour ago"
is "$(alive "$A1")$(alive "$A2")$(alive "$BOB")" truetruetrue "refused requests end no session"
is "$(slo "$q")" 302 "the IdP's signed LogoutRequest is answered with a redirect"
loc=$(grep -i '^Location:' "$T/headers" | tr -d '\r' | sed 's/^[^:]*: //')
like "$loc" '^https://idp.test/slo\?SAMLResponse=.*&RelayState=idp-state-42&SigAlg=.*&Signature=' \
	"... to the IdP's SLO URL with a LogoutResponse and the IdP's RelayState"
/usr/bin/python3 - "$NP_TOP/tests/peers" "$T/sp.crt" "$loc" > "$T/lresp.xml" <<'PY'
import sys, urllib.parse
sys.path.insert(0, sys.argv[1])
import saml_idp
x = saml_idp.verify_redirect(open(sys.argv[2], "rb").read(), urllib.parse.urlsplit(sys.argv[3]).query, "SAMLResponse")
print(x or "")
sys.exit(0 if x else 1)
PY
is "$?" 0 "... signed with the SP key of the metadata"
like "$(cat "$T/lresp.xml")" "<samlp:LogoutResponse .*InResponseTo=\"$(printf '%s' "$q" | /usr/bin/python3 -c '
import sys, urllib.parse, zlib, base64, re
x = zlib.decompress(base64.b64decode(urllib.parse.parse_qs(sys.stdin.read())["SAMLRequest"][0]), -15).decode()
print(re.search(r" ID=\"([^\"]+)\"", x).group(1))')\".*urn:oasis:names:tc:SAML:2.0:status:Success" "... Success, in response to the request"
like "$(grep -i '^Set-Cookie: np_session=' "$T/headers")" 'Max-Age=0' "... and clears this browser's session cookie"
is "$(alive "$A1")$(alive "$A2")$(alive "$BOB")" falsefalsetrue "alice's sessions have ended, bob's has not"
is "$(audit_last)" "logout method=saml_idp_slo sessions=2 success" "... audited with the count"
is "$(slo "$q")" 403 "the same LogoutRequest again is refused (replay)"
is "$(slo "$(idp_lreq nameid=bob@example.test index=_other)")" 302 "a LogoutRequest for another SessionIndex of bob"
is "$(alive "$BOB")" true "... leaves bob's session"
is "$(slo "$(idp_lreq nameid=bob@example.test relay=)")" 302 "one without SessionIndex or RelayState"
nok "... answers without RelayState" grep -qi '^Location:.*RelayState' "$T/headers"
is "$(alive "$BOB")" false "... ends all of bob's sessions"

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

# np-init --rotate-sp-key: a new SP key pair, used by the running np-httpd at
# once (metadata, LogoutRequests); the old certificate verifies nothing new.
stop_httpd
settings https://idp.test/slo
start_httpd
old_cert=$(cat "$NP_HOME/etc/secrets/saml.sp_cert")
"$SBIN/np-init" --home "$NP_HOME" --rotate-sp-key > "$T/rot.out" 2>&1
is "$?" 0 "np-init --rotate-sp-key"
like "$(cat "$T/rot.out")" "new SAML SP signing key; give the IdP the new SP metadata" "... says what to do next"
nok "... the SP certificate has changed" [ "$old_cert" = "$(cat "$NP_HOME/etc/secrets/saml.sp_cert")" ]
is "$(stat -c %a "$NP_HOME/etc/secrets/saml.sp_key")" 600 "... the new key is a secret (0600)"
is "$(sqlite3 "$NP_HOME/db/agent.sqlite" "SELECT actor || ' ' || outcome FROM audit WHERE action='saml_sp_key_rotated'")" \
	"cli:$(id -un) success" "... and the audit trail says who rotated it"
req GET /api/saml/metadata >/dev/null
tr -d '\n' < "$T/body" | sed -E 's|.*<ds:X509Certificate>([^<]*)</ds:X509Certificate>.*|\1|' | fold -w 64 |
	{ echo '-----BEGIN CERTIFICATE-----'; cat; echo; echo '-----END CERTIFICATE-----'; } > "$T/sp2.crt"
is "$(openssl x509 -noout -fingerprint -sha256 -in "$T/sp2.crt")" \
	"$(openssl x509 -noout -fingerprint -sha256 -in "$NP_HOME/etc/secrets/saml.sp_cert")" \
	"the running np-httpd's metadata publishes the new certificate"
sso_session
logout >/dev/null
ok "... and its LogoutRequests verify with the new certificate" $IDP check-logout-request --cert "$T/sp2.crt" "$(jget "$T/body" redirect)"
nok "... not with the old one" $IDP check-logout-request --cert "$T/sp.crt" "$(jget "$T/body" redirect)"
