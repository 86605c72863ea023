#!/bin/sh
# One TLS policy for np-httpd and np-recv (issue 18): TLS 1.3, or TLS 1.2
# with ECDHE and an AEAD cipher only (Mozilla intermediate without DHE); CBC
# suites without forward secrecy (AES128-SHA, AES256-SHA256) are refused.
# And CivetWeb's own error answers (bad request line, headers too large, 411,
# 505) come in the documented JSON shape with the security headers.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
. "$NP_TOP/tests/peers/recv.sh"
plan 31

# An RSA certificate: with an EC one, RSA key exchange (AES128-SHA) could
# not be negotiated anyway and the test would prove nothing.
mkdir -p "$T/pki" && (cd "$T/pki" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=np test CA" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign &&
	openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=127.0.0.1" &&
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > ext.cnf &&
	openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 -extfile ext.cnf) \
	>/dev/null 2>&1 || bail "openssl could not make the test certificates"
pem="\"cert_file\": \"$T/pki/srv.crt\", \"key_file\": \"$T/pki/srv.key\", \"ca_file\": \"$T/pki/ca.crt\""
mkdir -p "$NP_HOME/etc"
printf '{"tls": {"enabled": true, %s}, "dicom": {"ae_title": "NP_TLS", "tls": {"enabled": true, %s, "verify_client": false}}}\n' \
	"$pem" "$pem" > "$NP_HOME/etc/neuropacs.json"

# cipher PORT ARGS...: the cipher s_client negotiated, or "none"
cipher() {
	_p=$1; shift
	_c=$(openssl s_client -connect "127.0.0.1:$_p" -CAfile "$T/pki/ca.crt" "$@" </dev/null 2>/dev/null |
		sed -n 's/^ *Cipher *: *//p; s/^New, .*Cipher is //p' | head -1)
	case $_c in ""|"(NONE)"|0000) echo none ;; *) echo "$_c" ;; esac
}

start_httpd --insecure-no-auth
is "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/pki/ca.crt" "https://127.0.0.1:$PORT/api/health")" 200 \
	"np-httpd answers over HTTPS"
is "$(cipher "$PORT" -tls1_2 -cipher AES128-SHA)" none "np-httpd refuses AES128-SHA (RSA key exchange, CBC)"
is "$(cipher "$PORT" -tls1_2 -cipher AES256-SHA256)" none "np-httpd refuses AES256-SHA256"
is "$(cipher "$PORT" -tls1_2 -cipher ECDHE-RSA-AES128-SHA)" none "np-httpd refuses ECDHE with CBC (ECDHE-RSA-AES128-SHA)"
is "$(cipher "$PORT" -tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256)" none "np-httpd refuses DHE"
is "$(cipher "$PORT" -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256)" ECDHE-RSA-AES128-GCM-SHA256 \
	"np-httpd accepts ECDHE-RSA-AES128-GCM-SHA256 in TLS 1.2"
is "$(cipher "$PORT" -tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305)" ECDHE-RSA-CHACHA20-POLY1305 \
	"np-httpd accepts ECDHE-RSA-CHACHA20-POLY1305"
like "$(cipher "$PORT" -tls1_3)" '^TLS_(AES_(128|256)_GCM|CHACHA20_POLY1305)_SHA' "np-httpd speaks TLS 1.3"
is "$(cipher "$PORT" -tls1_1 -cipher 'ALL:@SECLEVEL=0')" none "np-httpd refuses TLS 1.1"

recv_start
is "$(cipher "$RECV_PORT" -tls1_2 -cipher AES128-SHA)" none "np-recv refuses AES128-SHA: the same policy"
is "$(cipher "$RECV_PORT" -tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256)" none "np-recv refuses DHE"
is "$(cipher "$RECV_PORT" -tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384)" ECDHE-RSA-AES256-GCM-SHA384 \
	"np-recv accepts ECDHE-RSA-AES256-GCM-SHA384"
recv_stop
stop_httpd

# CivetWeb's own error answers, over plain HTTP.
printf '{}\n' > "$NP_HOME/etc/neuropacs.json"
start_httpd --insecure-no-auth
cat > "$T/raw.py" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.stdin.buffer.read())
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b: break
        out += b
except socket.timeout:
    pass
sys.stdout.write(out.decode("latin-1").replace("\r", ""))
PY
raw() { /usr/bin/python3 "$T/raw.py" "$PORT" > "$T/raw"; sed -n '1p' "$T/raw"; }
body() { sed '1,/^$/d' "$T/raw" | jq -r '.error.code + " " + (.error.message | type)' 2>/dev/null; }
check() { # NAME: the answer in $T/raw has our shape
	like "$(grep -i '^content-type:' "$T/raw")" 'application/json' "$1: JSON"
	ok "$1: with the security headers" sh -c "grep -qi '^X-Content-Type-Options: nosniff' '$T/raw' &&
		grep -qi \"^Content-Security-Policy: default-src 'self'\" '$T/raw' && grep -qi '^X-Frame-Options' '$T/raw'"
}
like "$(printf 'GET /api/health HTTP/2.5\r\nHost: x\r\n\r\n' | raw)" '^HTTP/1.1 505 ' "HTTP/2.5 is 505"
is "$(body)" "http_version_not_supported string" "... with error.code and error.message"
check "505"
like "$(/usr/bin/python3 -c "import sys;sys.stdout.write('GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: '+'a'*20000+'\r\n\r\n')" | raw)" \
	'^HTTP/1.1 4[0-9][0-9] ' "headers larger than 16 KiB are refused"
is "$(body)" "bad_request string" "... with error.code and error.message"
check "headers too large"
# A Content-Length CivetWeb cannot read is a malformed request (RFC 9112
# 6.3): 400, not CivetWeb's 411, and the message says what is wrong.
for v in abc -1; do
	like "$(printf "PUT /api/settings HTTP/1.1\r\nHost: x\r\nContent-Length: $v\r\n\r\n" | raw)" '^HTTP/1.1 400 ' \
		"Content-Length: $v is 400"
	is "$(sed '1,/^$/d' "$T/raw" | jq -r '.error.code + ": " + .error.message')" \
		"bad_request: the Content-Length header must be a decimal number of bytes" "... saying what is wrong"
	check "Content-Length: $v"
done
like "$(printf 'GARBAGE\r\n\r\n' | raw)" '^HTTP/1.1 400 ' "a malformed request line is 400"
is "$(body)" "bad_request string" "... in the JSON shape"
is "$(req GET /api/health)" 200 "np-httpd still answers after all that"
