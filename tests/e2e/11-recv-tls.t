#!/bin/sh
# np-recv over DICOM TLS: server-only TLS, mutual TLS with a client
# certificate from a test CA, untrusted and missing client certificates,
# TLS 1.1 refused, and the two diagnostics for a sender configured with
# the wrong protocol ("plain DICOM on TLS port", "TLS on plain DICOM port").
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/recv.sh"
command -v storescu >/dev/null || skip_all "dcmtk not installed"
plan 16

P=$T/pki
sh "$NP_TOP/tests/peers/mkpki.sh" "$P" >/dev/null
/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/study" --ndir 2 --nsl 2 >/dev/null
tls_cfg() {
	recv_config "{\"ae_title\": \"NP_TLS\", \"tls\": {\"enabled\": true, \"cert_file\": \"$P/server.crt\",
	  \"key_file\": \"$P/server.key\", \"ca_file\": \"$P/ca.crt\", \"verify_client\": $1}}"
}
tls_cfg false
recv_start

ok "C-ECHO over TLS (server certificate only)" echoscu -aec NP_TLS +tla +cf "$P/ca.crt" 127.0.0.1 "$RECV_PORT"
ok "C-STORE over TLS" storescu -aec NP_TLS +tla +cf "$P/ca.crt" +sd +r +sp '*.dcm' 127.0.0.1 "$RECV_PORT" "$T/study"
"$NP_TOP/tests/peers/dsum.py" $(find "$T/study" -name '*.dcm') >"$T/sent"
"$NP_TOP/tests/peers/dsum.py" $(find "$NP_HOME/spool/incoming" -name '*.dcm') >"$T/got"
ok "data sets received over TLS are byte-identical" cmp "$T/sent" "$T/got"
like "$(grep 'association peer' "$T/recv.log" | tail -1)" 'tls=TLSv1\.[23] ' "the association log line names the TLS version"
nok "plain DICOM to the TLS port is refused" echoscu -aec NP_TLS 127.0.0.1 "$RECV_PORT"
wait_for "grep -q 'plain DICOM on TLS port' '$T/recv.log'" 5
ok "... and logged as plain DICOM on TLS port" grep -q 'plain DICOM on TLS port' "$T/recv.log"
ok "TLS 1.1 is refused (alert protocol version)" sh -c "echo | openssl s_client -connect 127.0.0.1:$RECV_PORT -tls1_1 2>&1 | grep -q 'alert protocol version'"
ok "np-scu (np_ul SCU over np_tls) echoes over TLS" "$PLAIN/peers/np-scu" -c NP_TLS -e -t "$P/ca.crt" 127.0.0.1 "$RECV_PORT"

tls_cfg true
kill -HUP "$RECV_PID"
wait_for "[ \$(grep -c 'settings reloaded' '$T/recv.log') -ge 1 ]" 10
ok "mutual TLS: a client certificate from the CA is accepted" \
	echoscu -aec NP_TLS +tls "$P/client.key" "$P/client.crt" -pw +cf "$P/ca.crt" 127.0.0.1 "$RECV_PORT"
nok "mutual TLS: no client certificate is refused" echoscu -aec NP_TLS +tla +cf "$P/ca.crt" 127.0.0.1 "$RECV_PORT"
nok "mutual TLS: an untrusted client certificate is refused" \
	echoscu -aec NP_TLS +tls "$P/rogue.key" "$P/rogue.crt" -pw +cf "$P/ca.crt" 127.0.0.1 "$RECV_PORT"
like "$(grep 'TLS handshake failed' "$T/recv.log" | tail -1)" 'certificate' "handshake failures are logged with the reason"
recv_stop

# A TLS sender pointed at the plain port.
recv_config '{"ae_title": "NP_TLS"}'
RECV_PORT=$(free_port)
recv_start
nok "TLS to the plain port fails" echoscu -aec NP_TLS +tla +cf "$P/ca.crt" 127.0.0.1 "$RECV_PORT"
wait_for "grep -q 'TLS on plain DICOM port' '$T/recv.log'" 5
ok "... and is logged as TLS on plain DICOM port" grep -q 'TLS on plain DICOM port' "$T/recv.log"
recv_stop

# Relative dicom.tls.*_file paths are under the agent home, wherever np-recv
# was started from (s6 starts it in its service folder).
mkdir -p "$NP_HOME/etc/tls" "$T/elsewhere"
cp "$P/server.crt" "$P/server.key" "$P/ca.crt" "$NP_HOME/etc/tls/"
recv_config '{"ae_title": "NP_TLS", "tls": {"enabled": true, "cert_file": "etc/tls/server.crt",
  "key_file": "etc/tls/server.key", "ca_file": "etc/tls/ca.crt", "verify_client": false}}'
RECV_PORT=$(free_port)
cd "$T/elsewhere" && recv_start && cd - >/dev/null
ok "relative TLS file names are read from the home, not the current folder" \
	echoscu -aec NP_TLS +tla +cf "$P/ca.crt" 127.0.0.1 "$RECV_PORT"
nok "... no error about the certificate" grep -q 'unable to load TLS' "$T/recv.log"
