#!/bin/sh
# DICOM TLS profiles (dicom.tls.profile, a destination's tls_profile):
# a sender on DCMTK's retired AES profile (storescu +pa, only
# TLS_RSA_WITH_AES_128_CBC_SHA) is refused by the default bcp195 with a log
# line naming the profile and the way out, and accepted with legacy-aes
# (warned about at start), while modern senders still get an ECDHE AEAD
# suite; bcp195-non-downgrading adds the DHE-RSA suites of PS3.15 B.10; an
# unknown profile is refused. np-deliver's side against storescp +pa: refused
# by default, delivered with tls_profile legacy-aes. RSA certificates: the
# AES and DHE-RSA suites need one (tests/peers/mkpki.sh makes ECDSA ones).
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/recv.sh"
. "$NP_TOP/tests/peers/deliver.sh"
command -v storescu >/dev/null && command -v storescp >/dev/null || skip_all "dcmtk not installed"
plan 20

P=$T/pki
mkdir -p "$P"
q() { openssl "$@" >/dev/null 2>&1; }
q req -x509 -newkey rsa:2048 -nodes -keyout "$P/ca.key" -out "$P/ca.crt" -days 2 -subj "/CN=np-test-rsa-ca" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
q req -newkey rsa:2048 -nodes -keyout "$P/server.key" -out "$P/server.csr" -subj "/CN=localhost"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$P/ext"
q x509 -req -in "$P/server.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -out "$P/server.crt" -days 2 \
	-extfile "$P/ext"
test -s "$P/server.crt" || bail "no RSA test certificate"
/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/study" --ndir 1 --nsl 1 >/dev/null
ONE=$(find "$T/study" -name '*.dcm' | head -1)

tls_cfg() {
	recv_config "{\"ae_title\": \"NP_TLS\", \"tls\": {\"enabled\": true, \"cert_file\": \"$P/server.crt\",
	  \"key_file\": \"$P/server.key\", \"ca_file\": \"$P/ca.crt\", \"verify_client\": false $1}}"
}
reload() {
	_n=$(grep -c 'settings reloaded\|reload failed' "$T/recv.log")
	kill -HUP "$RECV_PID"
	wait_for "[ \$(grep -c 'settings reloaded\|reload failed' '$T/recv.log') -gt $_n ]" 10
}
# The TLS 1.2 suite the server picks among those offered, or "" when none.
cipher() {
	echo | openssl s_client -connect "127.0.0.1:$RECV_PORT" -tls1_2 "$@" 2>/dev/null | sed -n 's/.*Cipher is //p' |
		grep -v NONE
}

# ---- the default: bcp195 ----
tls_cfg ""
recv_start
like "$(grep listening "$T/recv.log")" 'tls_profile=bcp195 ' "the listening line names the TLS profile (bcp195 by default)"
nok "storescu +pa (retired AES profile) is refused by bcp195" \
	storescu -aec NP_TLS +tla +pa +cf "$P/ca.crt" 127.0.0.1 "$RECV_PORT" "$ONE"
wait_for "grep -q 'no shared cipher' '$T/recv.log'" 5
like "$(grep 'TLS handshake failed' "$T/recv.log" | tail -1)" \
	'no shared cipher.*TLS profile bcp195.*needs legacy-aes.* peer=127\.0\.0\.1' \
	"... with a log line naming the profile and legacy-aes"
ok "storescu with DCMTK's default profile (+py) stores over bcp195" \
	storescu -aec NP_TLS +tla +cf "$P/ca.crt" 127.0.0.1 "$RECV_PORT" "$ONE"
is "$(cipher -cipher DHE-RSA-AES128-GCM-SHA256)" "" "bcp195 has no DHE-RSA suite"

# ---- legacy-aes ----
tls_cfg ', "profile": "legacy-aes"'
reload
like "$(grep 'dicom.tls.profile is' "$T/recv.log" | tail -1)" \
	'warning.*legacy-aes.*TLS_RSA_WITH_AES_128_CBC_SHA.*no forward secrecy' "legacy-aes is warned about in the log"
ok "storescu +pa stores with legacy-aes" storescu -aec NP_TLS +tla +pa +cf "$P/ca.crt" 127.0.0.1 "$RECV_PORT" "$ONE"
wait_for "grep -q 'cipher=AES128-SHA ' '$T/recv.log'" 5
like "$(grep 'association peer' "$T/recv.log" | tail -1)" 'tls=TLSv1\.2 cipher=AES128-SHA .*instances=1 ' \
	"... over TLS 1.2 with AES128-SHA (association log line)"
like "$(cipher)" '^ECDHE-RSA-AES(128|256)-GCM-SHA(256|384)$' "a modern TLS 1.2 client still gets ECDHE with AES-GCM under legacy-aes"
ok "TLS 1.1 stays refused under legacy-aes" \
	sh -c "echo | openssl s_client -connect 127.0.0.1:$RECV_PORT -tls1_1 -cipher AES128-SHA@SECLEVEL=0 2>&1 | grep -q 'alert protocol version\|no protocols available'"

# ---- bcp195-non-downgrading ----
tls_cfg ', "profile": "bcp195-non-downgrading"'
reload
is "$(cipher -cipher DHE-RSA-AES128-GCM-SHA256)" "DHE-RSA-AES128-GCM-SHA256" \
	"bcp195-non-downgrading negotiates TLS_DHE_RSA_WITH_AES_128_GCM_SHA256 (PS3.15 B.10)"
is "$(cipher -cipher AES128-SHA)" "" "... and not the AES profile's suite"
nok "storescu +pa is refused by bcp195-non-downgrading" \
	storescu -aec NP_TLS +tla +pa +cf "$P/ca.crt" 127.0.0.1 "$RECV_PORT" "$ONE"

# ---- an unknown profile ----
tls_cfg ', "profile": "ssl3"'
reload
like "$(grep 'reload failed' "$T/recv.log" | tail -1)" 'profile' "an unknown profile is refused (reload keeps the old settings)"
recv_stop

# ---- np-deliver (SCU) against storescp +pa ----
U=0b0c8f6e-2d1a-4b5e-9c1f-3a2b1c0d9e8f
results_study $U
SP=$(free_port)
storescp_start "$T/rx" "$SP" +xa +tls "$P/server.key" "$P/server.crt" -pw +pa -ic
dest() {
	settings "{\"dicom\":{\"ae_title\":\"NPAGENT\"},\"delivery\":{\"destinations\":[
	 {\"type\":\"dicom_pdf\",\"host\":\"127.0.0.1\",\"port\":$SP,\"ae_title\":\"DEST\",\"tls\":true,
	  \"tls_ca_file\":\"$P/ca.crt\"$1}]}}"
}
dest ""
"$BIN/np-deliver" "$STUDY" 2>"$T/deliver1.log"
is "$(jget "$STUDY/deliveries.json" 'd["destinations"][0]["state"]+"/"+d["destinations"][0]["error_class"]')" \
	"failed/permanent" "np-deliver (bcp195) to a storescp on the AES profile fails for good"
like "$(cat "$T/deliver1.log")" 'handshake failure.*TLS profile bcp195.*legacy-aes' \
	"... and says which profile and what would help"
is "$(ls "$T/rx" | wc -l | tr -d ' ')" 0 "... nothing arrived"
dest ',"tls_profile":"legacy-aes"'
rm -f "$STUDY/deliveries.json"
"$BIN/np-deliver" "$STUDY" 2>"$T/deliver2.log"
is "$?" 0 "np-deliver with tls_profile legacy-aes delivers to storescp +pa"
ok "... storescp received the object" sh -c "ls '$T/rx' | grep -q ."
like "$(cat "$T/deliver2.log")" 'warning.*TLS profile legacy-aes' "... with a warning in np-deliver's log"
