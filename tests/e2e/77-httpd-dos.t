#!/bin/sh
# np-httpd against a hostile network (issue 18): slowloris clients that
# trickle their request headers are cut at http.header_timeout_seconds and
# capped per address (http.max_connections_per_address) while /api/health
# keeps answering; live log streams are capped per session (429) and in all
# (503) so they cannot take every worker either. Loads are bounded (40
# connections, 34 streams) and the margins wide (2 shared cores).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
plan 16
J='Content-Type: application/json'
start_httpd --insecure-no-auth
is "$(req PUT /api/settings -H "$J" -d '{"http":{"header_timeout_seconds":3,"max_connections_per_address":8}}')" 200 \
	"a 3 s header deadline and 8 connections per address are set"

# slowloris: NCONN connections from the source address(es), each sending a
# request line and then one header line every TRICKLE s, reconnecting when
# cut, for DURATION s; a checker on 127.0.0.1 asks /api/health every second.
cat > "$T/slow.py" <<'PY'
import socket, sys, threading, time
port, nconn, nsrc, duration, trickle = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
end = time.time() + duration
lock = threading.Lock()
st = {"conns": 0, "refused": 0, "cut": 0, "longest": 0.0, "health_ok": 0, "health_fail": 0, "health_max": 0.0}
def slow(i):
    src = "127.0.0.%d" % (2 + i % nsrc)
    while time.time() < end:
        s = socket.socket()
        s.settimeout(0.5)
        try:
            s.bind((src, 0))
            s.connect(("127.0.0.1", port))
            t0 = time.time()
            s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            with lock: st["conns"] += 1
            n = 0
            while time.time() < end:
                try:
                    if s.recv(1024) == b"":
                        break
                except socket.timeout:
                    pass
                if time.time() - t0 >= trickle * (n + 1):
                    s.sendall(b"X-Slow-%d: a\r\n" % n)
                    n += 1
            life = time.time() - t0
            with lock:
                if time.time() < end:
                    if life < 0.5: st["refused"] += 1; time.sleep(0.2)  # bounded load
                    else: st["cut"] += 1
                st["longest"] = max(st["longest"], life)  # still open at the end counts too
        except OSError:
            with lock: st["refused"] += 1
            time.sleep(0.1)
        finally:
            s.close()
def health():
    time.sleep(1.5)
    while time.time() < end - 1:
        t0 = time.time()
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=8)
            c.settimeout(8)
            c.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            ok = c.recv(64).startswith(b"HTTP/1.1 200")
            c.close()
        except OSError:
            ok = False
        dt = time.time() - t0
        with lock:
            st["health_ok" if ok else "health_fail"] += 1
            st["health_max"] = max(st["health_max"], dt)
        time.sleep(max(0, 1 - dt))
ts = [threading.Thread(target=slow, args=(i,)) for i in range(nconn)] + [threading.Thread(target=health)]
for t in ts: t.start()
for t in ts: t.join()
print(" ".join("%s=%s" % (k, round(v, 1) if isinstance(v, float) else v) for k, v in st.items()))
PY
val() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# One attacking address: 8 connections get a worker and are cut after about
# 3 s, the other 32 are closed as soon as they connect.
out=$(/usr/bin/python3 "$T/slow.py" "$PORT" 40 1 10 1)
diag "one address: $out"
is "$(val "$out" health_fail)" 0 "40 trickling connections from one address: every health check answers"
ok "... each within 5 s (slowest $(val "$out" health_max) s)" awk "BEGIN{exit !($(val "$out" health_max) < 5)}"
ok "... a trickling connection lives no longer than the 3 s deadline plus slack ($(val "$out" longest) s)" \
	awk "BEGIN{exit !($(val "$out" longest) < 6)}"
ok "... connections over the per-address cap are refused ($(val "$out" refused))" test "$(val "$out" refused)" -gt 20
ok "... trickling connections are cut ($(val "$out" cut))" test "$(val "$out" cut)" -ge 8
like "$(cat "$T/httpd.log")" 'http guard: .*client=127\.0\.0\.2' "... and the log names the address"

# 40 addresses: the cap does not apply, the deadline still frees the workers.
out=$(/usr/bin/python3 "$T/slow.py" "$PORT" 40 40 10 1)
diag "40 addresses: $out"
is "$(val "$out" health_fail)" 0 "40 trickling connections from 40 addresses: every health check answers"
ok "... each within 5 s (slowest $(val "$out" health_max) s)" awk "BEGIN{exit !($(val "$out" health_max) < 5)}"
ok "... no trickling connection outlives the deadline ($(val "$out" longest) s)" awk "BEGIN{exit !($(val "$out" longest) < 6)}"

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
is "$(req GET /api/health)" 200 "... and health answers"
for p in $SPIDS; do wait "$p"; done; SPIDS=
