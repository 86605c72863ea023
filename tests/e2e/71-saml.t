#!/bin/sh
# SAML 2.0 SSO: a test IdP made of real keys; Responses built from
# tests/data/saml/response.xml and signed with the xmlsec1 command. Accepted
# when right; refused when unsigned, signed by another key, wrapped (XSW),
# tampered, commented, expired, for another audience (or one more restriction
# for another SP), destination or issuer, replayed or unsolicited. Roles from
# group claims; SP metadata. RelayState (login and ACS) returns only to a page
# of the UI: no open redirect.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
. "$(dirname "$0")/../lib/saml.sh"
command -v xmlsec1 >/dev/null || skip_all "xmlsec1 is not installed"
plan 58
D=$NP_TOP/tests/data/saml
(cd "$T" && openssl req -x509 -newkey rsa:2048 -nodes -keyout idp.key -out idp.crt -days 2 -subj "/CN=test idp" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout evil.key -out evil.crt -days 2 -subj "/CN=test idp") >/dev/null 2>&1
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
ACS="$BASE/api/saml/acs"
mkdir -p "$NP_HOME/etc"
jq -n --rawfile c "$T/idp.crt" --arg base "$BASE" '{saml: {enabled: true, auth_mode: "both",
	idp_entity_id: "https://idp.test/metadata", idp_sso_url: "https://idp.test/sso", idp_cert_pem: $c,
	sp_entity_id: "neuropacs-agent", sp_base_url: $base, admin_group: "NeuropacsAdmins", user_group: "NeuropacsUsers"}}' \
	> "$NP_HOME/etc/neuropacs.json"
start_httpd

refused() { # refused NAME FILE PATTERN
	code=$(post "$2")
	if [ "$code" = 403 ] && grep -Eq "$3" "$T/body"; then _tap_result 0 "$1"; else
		_tap_result 1 "$1"; diag "got $code $(cat "$T/body")"; fi
}

is "$(req GET /api/saml/metadata)" 200 "SP metadata"
like "$(tr -d '\n' < "$T/body")" "entityID=\"neuropacs-agent\".*Location=\"$ACS\"" "... names the SP and the ACS"
is "$(req GET /api/auth/session)" 200 "session info for the login page"
is "$(jget "$T/body" methods)" '["password","saml"]' "... offers password and SSO"
# The UI's SSO button sends relay="/" + location.hash ("/#/results").
login /%23/results
is "$code" 302 "SSO login redirects to the IdP"
like "$loc" '^https://idp.test/sso\?SAMLRequest=' "... with an HTTP-Redirect AuthnRequest"
is "$RELAY" /#/results "... and the RelayState"
nok "... unsigned by default (saml.sign_authn_requests false)" sh -c "printf '%s' '$loc' | grep -q -e SigAlg= -e Signature="
# every page of the UI (the pages table of app.js) is a place to return to
pages=$(sed -n 's/^const pages = { \(.*\) };$/\1/p' "$NP_TOP/share/web/js/app.js" | tr -d ,)
bad=""
for p in $pages; do login "/%23/$p"; [ "$RELAY" = "/#/$p" ] || bad="$bad $p"; done
is "${pages:+x}$bad" x "the RelayState of every UI page is kept ($pages)"
# Open redirect: a browser drops TAB (and CR, LF) from a URL and reads '\'
# as '/', so "/<TAB>/evil.test" is "//evil.test", another host.
for r in '/%09/evil.test/x' '//evil.test' '/%5Cevil.test' '/%5C%5Cevil.test' 'https://evil.test' \
	'%2F%2Fevil.test' 'https%3A%2F%2Fevil.test' '/%0D%0ALocation:%20http://evil.test' '/%23/studies/%09/evil.test'; do
	login "$r"
	is "$RELAY" / "a RelayState that is no page of the UI is replaced by / ($r)"
done
login /

build "$T/nosig.xml" sign=none
refused "unsigned response refused" "$T/nosig.xml" "not signed"
build "$T/evil.xml" key=evil
refused "response signed by another key refused" "$T/evil.xml" "does not verify"
build "$T/good.xml"
sed 's|alice@example.test|root@example.test|' "$T/good.xml" > "$T/tamper.xml"
refused "tampered NameID refused" "$T/tamper.xml" "does not verify"
# Signature-wrapping variants, made from the signed response.
xsw() { /usr/bin/python3 - "$T/good.xml" "$1" "$2" <<'PY'
import re, sys
doc = open(sys.argv[1]).read()
kind, out = sys.argv[2], sys.argv[3]
m = re.search(r"<saml:Assertion .*</saml:Assertion>", doc, re.S)
signed = m.group(0)
aid = re.search(r'ID="([^"]+)"', signed).group(1)
evil = re.sub(r"<ds:Signature.*</ds:Signature>", "", signed, flags=re.S).replace("alice@example.test", "root@example.test")
if kind == "before":      # XSW1: unsigned evil assertion before the signed one
    doc = doc.replace(signed, evil.replace(aid, "_evil1") + signed)
elif kind == "extensions":  # XSW2: signed one hidden in Extensions, evil one in its place
    doc = doc.replace(signed, "<samlp:Extensions>" + signed + "</samlp:Extensions>" + evil.replace(aid, "_evil1"))
elif kind == "sameid":    # XSW3: evil assertion with the signed one's ID, signed one after it
    doc = doc.replace(signed, evil + "<samlp:Extensions>" + signed + "</samlp:Extensions>")
elif kind == "uri":       # whole-document reference
    doc = doc.replace('URI="#%s"' % aid, 'URI=""')
open(out, "w").write(doc)
PY
}
xsw before "$T/xsw1.xml"
refused "XSW: evil assertion before the signed one refused" "$T/xsw1.xml" "exactly one Assertion"
xsw extensions "$T/xsw2.xml"
refused "XSW: signed assertion moved into Extensions refused" "$T/xsw2.xml" "exactly one Assertion"
xsw sameid "$T/xsw3.xml"
refused "XSW: evil assertion with the signed one's ID refused" "$T/xsw3.xml" "exactly one Assertion|duplicate"
xsw uri "$T/uri.xml"
refused "Reference URI=\"\" (whole document) refused" "$T/uri.xml" "own ID"
build "$T/comment.xml" "nameid='alice@example.test<!---->.evil.test'"
refused "comment in NameID refused" "$T/comment.xml" "comments"
build "$T/doctype.xml"
sed 's|<samlp:Response |<!DOCTYPE r [<!ENTITY e "x">]><samlp:Response |' "$T/doctype.xml" > "$T/doctype2.xml"
refused "DOCTYPE refused" "$T/doctype2.xml" "DOCTYPE"
build "$T/expired.xml" "noa=$(now '-10 min')" "nb=$(now '-20 min')"
refused "expired assertion refused" "$T/expired.xml" "expired"
build "$T/future.xml" "nb=$(now '+30 min')" "noa=$(now '+40 min')"
refused "not-yet-valid assertion refused" "$T/future.xml" "not valid yet"
build "$T/aud.xml" aud=other-sp
refused "wrong audience refused" "$T/aud.xml" "Audience"
# SAML core 2.5.1.4: every AudienceRestriction must be met; ours beside one
# naming only another SP is an assertion for that SP too
build "$T/aud2.xml" "aud='neuropacs-agent</saml:Audience></saml:AudienceRestriction><saml:AudienceRestriction><saml:Audience>other-sp'"
refused "a second AudienceRestriction naming only another SP refused" "$T/aud2.xml" "Audience"
build "$T/dest.xml" dest=https://elsewhere.test/acs
refused "wrong destination refused" "$T/dest.xml" "Destination"
build "$T/iss.xml" iss=https://evil-idp.test
refused "wrong issuer refused" "$T/iss.xml" "Issuer"
build "$T/unsol.xml" irt=
refused "unsolicited response refused" "$T/unsol.xml" "unsolicited"
build "$T/unknown.xml" 'irt=InResponseTo=\"_notours\"'
refused "InResponseTo of no outstanding request refused" "$T/unknown.xml" "outstanding"
build "$T/nogroup.xml" group=Visitors
refused "a user outside both groups is refused" "$T/nogroup.xml" "neither"
login /
build "$T/aud3.xml" "aud='other-sp</saml:Audience><saml:Audience>neuropacs-agent'"
is "$(post "$T/aud3.xml" /)" 303 "one AudienceRestriction naming us among other SPs is met"

login /
build "$T/good.xml"
is "$(post "$T/good.xml" /#/studies)" 303 "a correct signed response logs in"
like "$(grep -i '^Location:' "$T/headers")" '^Location: /#/studies.$' "... and returns to the RelayState"
ck=$(grep -i '^Set-Cookie: np_session=' "$T/headers" | sed -E 's/^[^:]*: np_session=([^;]*);.*/\1/')
is "$(req GET /api/auth/session -H "Cookie: np_session=$ck")" 200 "the SSO session works"
is "$(jget "$T/body" role)" admin "... Admin Group members are admins"
is "$(jget "$T/body" actor)" alice@example.test "... named by the NameID"
refused "the same response again is a replay" "$T/good.xml" "replay"
# RelayState comes back to the ACS unsigned: it sends nowhere else either.
for r in "$(printf '/\t/evil.test/x')" //evil.test '/\evil.test' https://evil.test %2F%2Fevil.test; do
	login /
	build "$T/relay.xml"
	post "$T/relay.xml" "$r" >/dev/null
	is "$(grep -i '^Location:' "$T/headers" | tr -d '\r')" 'Location: /' \
		"the ACS returns to / for RelayState $(printf '%s' "$r" | sed 's/\t/<TAB>/; s/\\/<BACKSLASH>/g')"
done
login /
build "$T/user.xml" group=NeuropacsUsers nameid=bob@example.test
post "$T/user.xml" >/dev/null
ck2=$(grep -i '^Set-Cookie: np_session=' "$T/headers" | sed -E 's/^[^:]*: np_session=([^;]*);.*/\1/')
req GET /api/auth/session -H "Cookie: np_session=$ck2" >/dev/null
is "$(jget "$T/body" role)" user "User Group members get the user role"
is "$(sqlite3 "$NP_HOME/db/agent.sqlite" "select count(*) from audit where action='login' and detail='method=saml' and outcome='failure'")" 19 \
	"every refusal is audited"
like "$(cat "$T/httpd.log")" 'SAML login refused client=127.0.0.1 reason=SAML: the assertion has expired' "... and logged with its reason"
req PUT /api/settings -H "Cookie: np_session=$ck" -H "X-CSRF-Token: $(req GET /api/auth/session -H "Cookie: np_session=$ck" >/dev/null; jget "$T/body" csrf_token)" \
	-H 'Content-Type: application/json' -d '{"saml":{"admin_group":"OtherAdmins"}}' >/dev/null
is "$(req GET /api/auth/session -H "Cookie: np_session=$ck")" 200 "after a SAML settings change"
is "$(jget "$T/body" authenticated)" false "... SAML sessions have ended"

# An IdP whose metadata has WantAuthnRequestsSigned="true": with
# saml.sign_authn_requests the AuthnRequest is signed (HTTP-Redirect,
# RSA-SHA256) with the SP key the metadata publishes.
stop_httpd
jq '.saml.sign_authn_requests = true' "$NP_HOME/etc/neuropacs.json" > "$T/cfg" && cp "$T/cfg" "$NP_HOME/etc/neuropacs.json"
start_httpd
req GET /api/saml/metadata >/dev/null
tr -d '\n' < "$T/body" > "$T/md.xml"
like "$(cat "$T/md.xml")" 'AuthnRequestsSigned="true"' "with saml.sign_authn_requests the SP metadata says AuthnRequestsSigned"
sed -E 's|.*<ds:X509Certificate>([^<]*)</ds:X509Certificate>.*|\1|' "$T/md.xml" | fold -w 64 |
	{ echo '-----BEGIN CERTIFICATE-----'; cat; echo '-----END CERTIFICATE-----'; } > "$T/sp.crt"
login /%23/studies
like "$loc" '^https://idp.test/sso\?SAMLRequest=[^&]+&RelayState=%2F%23%2Fstudies&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256&Signature=' \
	"... and the AuthnRequest redirect is signed"
ok "... the signature verifies with the SP certificate of the metadata" \
	/usr/bin/python3 "$NP_TOP/tests/peers/saml_idp.py" check-logout-request --cert "$T/sp.crt" "$loc"
nok "... and not with another key (the check is real)" \
	/usr/bin/python3 "$NP_TOP/tests/peers/saml_idp.py" check-logout-request --cert "$T/idp.crt" "$loc"
build "$T/signedrq.xml" group=NeuropacsUsers
is "$(post "$T/signedrq.xml" /#/studies)" 303 "... and the login completes"
