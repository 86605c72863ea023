# tests/lib/saml.sh: a test IdP made of real keys for the SAML e2e tests.
# Source after httpd.sh. Needs $T, $ACS (the agent's ACS URL) and the IdP
# keys $T/idp.key/.crt (and $T/evil.key/.crt for key=evil).
#   login [RELAY]       start an SP-initiated login; sets code, loc, RQ (the
#                       AuthnRequest ID) and RELAY
#   now [DATE]          ISO time (UTC) for the templates
#   build OUT [var=value ...]  a Response from tests/data/saml/response.xml;
#                       sign=assertion|none, key=idp|evil, nameid, group, ...
#   post FILE [RELAY]   POST it to the ACS; prints the status
D=$NP_TOP/tests/data/saml
# login REQ: start an SP-initiated login; sets RQ (the AuthnRequest ID).
login() {
	code=$(req GET "/api/saml/login?relay=${1:-/}")
	loc=$(grep -i '^Location:' "$T/headers" | tr -d '\r' | sed 's/^[^:]*: //')
	RQ=$(/usr/bin/python3 -c '
import sys, zlib, base64, urllib.parse, re
q = urllib.parse.parse_qs(urllib.parse.urlsplit(sys.argv[1]).query)
x = zlib.decompress(base64.b64decode(q["SAMLRequest"][0]), -15).decode()
print(re.search(r" ID=\"([^\"]+)\"", x).group(1), q.get("RelayState", [""])[0])' "$loc")
	RELAY=${RQ#* }; RQ=${RQ% *}
}
now() { date -u -d "${1:-now}" +%Y-%m-%dT%H:%M:%SZ; }
# build OUT [var=value ...]: a Response from the template; sign=assertion|none, key=idp|evil
build() {
	out=$1; shift
	rid=_r$(openssl rand -hex 8); aid=_a$(openssl rand -hex 8); irt="InResponseTo=\"$RQ\""
	dest=$ACS; aud=neuropacs-agent; iss=https://idp.test/metadata; nameid=alice@example.test; group=NeuropacsAdmins
	nb=$(now '-1 min'); noa=$(now '+5 min'); sign=assertion; key=idp
	for kv in "$@"; do eval "$kv"; done
	sig=""; [ "$sign" = none ] || sig=$(sed "s/@AID@/$aid/" "$D/signature.xml")
	sed -e "s|@RID@|$rid|" -e "s|@AID@|$aid|g" -e "s|@IRT@|$irt|g" -e "s|@NOW@|$(now)|g" -e "s|@DEST@|$dest|g" \
		-e "s|@ISS@|$iss|g" -e "s|@NAMEID@|$nameid|" -e "s|@NOA@|$noa|g" -e "s|@NB@|$nb|" -e "s|@AUD@|$aud|" \
		-e "s|@GROUP@|$group|" "$D/response.xml" | awk -v s="$sig" '{gsub("@SIG@", s); print}' > "$T/tmpl.xml"
	if [ "$sign" = none ]; then cp "$T/tmpl.xml" "$out"; else
		xmlsec1 --sign --privkey-pem "$T/$key.key,$T/$key.crt" --id-attr:ID urn:oasis:names:tc:SAML:2.0:assertion:Assertion \
			--output "$out" "$T/tmpl.xml" 2>"$T/xmlsec.err" || diag "xmlsec1: $(cat "$T/xmlsec.err")"
	fi
}
post() { # post FILE [relay]: POST to the ACS; prints the status (a JSON answer kept as req keeps it)
	_st=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' --data-urlencode "SAMLResponse=$(base64 -w0 "$1")" \
		--data-urlencode "RelayState=${2:-/studies}" "$ACS")
	[ -z "${NP_API_LOG:-}" ] || api_keep POST "/${ACS#*://*/}" "$_st"
	printf '%s' "$_st"
}
