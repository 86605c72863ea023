#!/bin/sh
# np-httpd against a hostile network (issue 18): slowloris clients that
# trickle their request headers are cut at http.header_timeout_seconds and
# capped per address (http.max_connections_per_address) while /api/health
# keeps answering; live log streams are capped per session (429) and in all
# (503) so they cannot take every worker either. Loads are bounded (40
# connections, 34 streams) and the margins wide (2 shared cores).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
plan 36
J='Content-Type: application/json'
start_httpd --insecure-no-auth
is "$(req PUT /api/settings -H "$J" -d '{"http":{"header_timeout_seconds":3,"max_connections_per_address":8}}')" 200 \
	"a 3 s header deadline and 8 connections per address are set"

# slowloris (tests/peers/slow_http.py): connections from 127.0.0.2... that
# trickle their headers, reconnecting when cut; /api/health asked beside them.
SLOW="/usr/bin/python3 $NP_TOP/tests/peers/slow_http.py $PORT"
val() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# One attacking address: 8 connections get a worker and are cut after about
# 3 s, the other 32 are closed as soon as they connect.
out=$($SLOW headers 40 1 10 1 1 8)
diag "one address: $out"
is "$(val "$out" health_fail)" 0 "40 trickling connections from one address: every health check answers"
ok "... each within 5 s (slowest $(val "$out" health_max) s)" awk "BEGIN{exit !($(val "$out" health_max) < 5)}"
ok "... a trickling connection lives no longer than the 3 s deadline plus slack ($(val "$out" longest) s)" \
	awk "BEGIN{exit !($(val "$out" longest) < 6)}"
ok "... connections over the per-address cap are refused ($(val "$out" refused))" test "$(val "$out" refused)" -gt 20
ok "... trickling connections are cut ($(val "$out" cut))" test "$(val "$out" cut)" -ge 8
like "$(cat "$T/httpd.log")" 'http guard: .*client=127\.0\.0\.2' "... and the log names the address"

# 40 addresses: the cap does not apply, the deadline still frees the workers.
out=$($SLOW headers 40 40 10 1 1 8)
diag "40 addresses: $out"
is "$(val "$out" health_fail)" 0 "40 trickling connections from 40 addresses: every health check answers"
ok "... each within 5 s (slowest $(val "$out" health_max) s)" awk "BEGIN{exit !($(val "$out" health_max) < 5)}"
ok "... no trickling connection outlives the deadline ($(val "$out" longest) s)" awk "BEGIN{exit !($(val "$out" longest) < 6)}"

# Slow bodies and reconnecting slowloris from several addresses, each
# within the per-address cap (16): connections waiting for their headers or
# body may hold only half of the 64 workers, the guard cuts the oldest of the
# busiest address beyond that, and a body must come at
# http.body_min_rate_bytes_per_second after http.body_timeout_seconds.
# Each connection sends a request line and headers a line every 2 s (MODE
# headers) or a login request with Content-Length: 100000 and then a body
# byte every 2 s (MODE body); /api/health is asked every half second with 3 s
# to answer.
share() { awk "BEGIN{ok=$(val "$1" health_ok); n=ok+$(val "$1" health_fail); exit !(n >= 10 && ok >= 0.9 * n)}"; }
is "$(req PUT /api/settings -H "$J" -d '{"http":{"max_connections_per_address":16}}')" 200 \
	"16 connections per address are set"
is "$(req PUT /api/settings -H "$J" -d '{"http":{"body_timeout_seconds":3}}')" 200 "a 3 s body grace is set"

out=$($SLOW body 64 4 15 2 0.5 3)
diag "slow bodies, 64 connections from 4 addresses: $out"
ok "slow request bodies from 4 addresses: health answers 90% of the checks within 3 s" share "$out"
ok "... a trickled body is cut, not served ($(val "$out" cut) cut)" test "$(val "$out" cut)" -ge 32
ok "... and lives no longer than the grace plus slack ($(val "$out" longest) s)" \
	awk "BEGIN{exit !($(val "$out" longest) < 10)}"
like "$(cat "$T/httpd.log")" 'http guard: request body slower than http.body_min_rate_bytes_per_second' \
	"... the log says why"
like "$(cat "$T/httpd.log")" 'http guard: too many connections waiting for headers or a body' \
	"... and that the busiest address lost its oldest connection to free a worker"

out=$($SLOW headers 96 7 15 2 0.5 3)
diag "reconnecting slowloris, 96 connections from 7 addresses: $out"
ok "reconnecting header slowloris from 7 addresses: health answers 90% of the checks within 3 s" share "$out"
ok "... each trickling connection is cut in time ($(val "$out" longest) s)" awk "BEGIN{exit !($(val "$out" longest) < 6)}"

# A body that comes at a usable speed is not cut, even past the grace:
# 64 KiB at about 16 KiB/s take 4 s.
cat > "$T/upload.py" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
body = b'{"password":"' + b"a" * (65536 - 16) + b'"}'
s.sendall(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
          b"Content-Length: %d\r\n\r\n" % len(body))
for i in range(0, len(body), 4096):
    s.sendall(body[i:i + 4096])
    time.sleep(0.25)
out = b""
while True:
    b = s.recv(4096)
    if not b: break
    out += b
print(out.split(b"\r\n")[0].decode())
PY
like "$(/usr/bin/python3 "$T/upload.py" "$PORT" 2>&1)" '^HTTP/1.1 400' \
	"a 64 KiB body at 16 KiB/s, 4 s past the 3 s grace, is read whole and answered (400: that password is too long)"

# Message framing (RFC 9112 6.3): an ambiguous body length is refused with
# 400 and the connection closed, never guessed at (request smuggling).
cat > "$T/frame.py" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
s.sendall(sys.stdin.buffer.read().replace(b"\n", b"\r\n"))
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b: break
        out += b
except socket.timeout:
    out += b"\n[still open]"
sys.stdout.write(out.decode("latin-1").replace("\r", ""))
PY
frame() { /usr/bin/python3 "$T/frame.py" "$PORT" > "$T/frame"; }
LOGIN='POST /api/auth/login HTTP/1.1\nHost: x\nContent-Type: application/json\n'
printf "${LOGIN}"'Content-Length: 2\nContent-Length: 40\n\n{}GET /api/health HTTP/1.1\nHost: x\n\n' | frame
is "$(grep -o 'HTTP/1.1 [0-9]' "$T/frame" | wc -l) $(sed -n 1p "$T/frame")" "1 HTTP/1.1 400 Bad Request" \
	"two Content-Length headers: 400, and the request behind is not served"
like "$(cat "$T/frame")" 'Connection: close' "... with Connection: close"
like "$(cat "$T/frame")" '"more than one Content-Length header"' "... saying what is wrong"
printf "${LOGIN}"'Content-Length: 5\nTransfer-Encoding: chunked\n\n0\n\n' | frame
like "$(sed -n 1p "$T/frame")" '^HTTP/1.1 400 ' "Content-Length with Transfer-Encoding: 400"
ok "... and the connection is closed" sh -c "! grep -q 'still open' '$T/frame'"
for v in 2abc +2 '2 2' 0x2; do
	printf "${LOGIN}Content-Length: $v\n\n{}" | frame
	is "$(sed -n 1p "$T/frame") $(sed '1,/^$/d' "$T/frame" | jq -r '.error.code + ": " + .error.message')" \
		"HTTP/1.1 400 Bad Request bad_request: the Content-Length header must be a decimal number of bytes" \
		"Content-Length: $v is 400, saying what is wrong"
done

# Live log streams: 34 from one session get 2 streams, the rest 429 at once.
# (All curls come from 127.0.0.1: lift the per-address cap for this part.)
SPIDS=
req PUT /api/settings -H "$J" -d '{"http":{"max_connections_per_address":100}}' >/dev/null
streams() { # N NAME: start N streams of up to 8 s, headers in $T/NAME.I
	_i=0
	while [ $_i -lt "$1" ]; do
		curl -s -o /dev/null -D "$T/$2.$_i" --max-time 8 "$URL/api/logs/stream?max_seconds=30" &
		SPIDS="$SPIDS $!"
		_i=$((_i + 1))
	done
}
codes() { for f in "$T/$1".*; do sed -n '1s/^HTTP[^ ]* \([0-9]*\).*/\1/p' "$f"; done | sort | uniq -c | tr -s ' \n' '  '; }
streams 34 s
sleep 3
hc=$(curl -s -o "$T/body" -w '%{http_code} %{time_total}' --max-time 5 "$URL/api/health")
like "$hc" '^200 ' "34 log streams from one session: /api/health answers ($hc s)"
wait_for "[ \$(cat $T/s.* 2>/dev/null | grep -c '^HTTP') -ge 34 ]" 15
c=$(codes s)
diag "stream answers: $c"
like "$c" '(^| )2 200 ' "... 2 streams are served (http.max_log_streams_per_session)"
like "$c" '(^| )32 429 ' "... the other 32 are refused with 429"
like "$(cat "$T/s."* | grep -h -A30 '429' | tr -d '\r' | grep -i '^content-type')" 'application/json' "... as JSON"
for p in $SPIDS; do wait "$p"; done; SPIDS=
sleep 1 # the server sees the clients go within a second
req PUT /api/settings -H "$J" -d '{"http":{"max_log_streams":4,"max_log_streams_per_session":32}}' >/dev/null
streams 6 t
wait_for "[ \$(cat $T/t.* 2>/dev/null | grep -c '^HTTP') -ge 6 ]" 15
c=$(codes t)
diag "stream answers: $c"
like "$c" '(^| )4 200 .*2 503|(^| )2 503 .*4 200' "with http.max_log_streams 4: 4 streams, 2 refused with 503"
like "$(cat "$T/t."* | grep -h -A30 '^HTTP/1.1 503' | tr -d '\r' | grep -i '^retry-after')" 'Retry-After: 30' \
	"... saying when to try again (Retry-After)"
is "$(req GET /api/health)" 200 "... and health answers"
for p in $SPIDS; do wait "$p"; done; SPIDS=
