#!/bin/sh
# bench/httpd-floor.sh [SECONDS]: the fixed cost of one np-httpd request
# beside the floor of its server library. build/httpd-floor (CivetWeb with
# np-httpd's options answering a constant, bench/httpd_floor.c) and np-httpd
# (the plain build, a fresh home, a password session) each get the same
# one-connection keep-alive load (wrk -c1) on:
#   floor      any path of httpd-floor: CivetWeb + the kernel, nothing else
#   health     GET /api/health: np-httpd's dispatch, no session, no database
#   session    GET /api/auth/session with the cookie: + the session check
#   404        GET /api/nosuch with the cookie: routing and an error answer
# Per case: wrk p50/p99 and requests/s; the server's CPU per request (user +
# system time of the process from /proc over the run / requests); syscalls
# per request (strace -c -f over a second run, STRACE=0 skips it). The
# rounds alternate floor and np-httpd twice (this machine is noisy).
# Each np-httpd case is also given as a ratio to the floor case of the same
# round: p50 and CPU per request (np-httpd / floor).
# NP_HTTPD=PATH measures another np-httpd binary (an older build);
# STRACE=0 skips the syscall counts. Smallest useful run: sh
# bench/httpd-floor.sh 1. This is the fixed per-request cost that
# bench/api.sh's sub-0.1 ms bare queries are compared with.
# Run by hand after `make`; needs wrk (and strace for the syscall counts).
# It writes only to a temporary folder; other benchmarks leave their data
# in bench/out: `make clean-bench`.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
SECS=${1:-5}
PY=/usr/bin/python3
command -v wrk >/dev/null || { echo "bench/httpd-floor.sh: wrk is not installed (apt-get install wrk)" >&2; exit 100; }
W=$(mktemp -d "${TMPDIR:-/tmp}/np-bench-floor.XXXXXX")
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT INT TERM
cc -O2 -Wall -Wextra -o "$W/httpd-floor" "$TOP/bench/httpd_floor.c" -lcivetweb
freeport() { $PY -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
up() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "$1 did not start" >&2; exit 111; }
export NP_HOME=$W/home
mkdir -p "$NP_HOME/etc"
PW='Bench-Password-123!'
printf '%s' "$PW" | "$TOP/build/bin/np-config" set-secret cloud.service_password >/dev/null
echo '{"http":{"max_connections_per_address":128}}' | "$TOP/build/bin/np-config" merge >/dev/null
FPORT=$(freeport)
"$W/httpd-floor" "$FPORT" & FPID=$!
PIDS="$PIDS $FPID"
NPORT=$(freeport)
"${NP_HTTPD:-$TOP/build/sbin/np-httpd}" --port "$NPORT" 2>>"$W/httpd.log" & NPID=$!
PIDS="$PIDS $NPID"
up "http://127.0.0.1:$FPORT/"
up "http://127.0.0.1:$NPORT/api/health"
curl -s -D "$W/h" -o /dev/null -H 'Content-Type: application/json' -d "{\"password\":\"$PW\"}" \
	"http://127.0.0.1:$NPORT/api/auth/login"
COOKIE=$(sed -n 's/^Set-Cookie: \(np_session=[^;]*\).*/\1/p' "$W/h" | tr -d '\r')
[ -n "$COOKIE" ] || { echo "login failed" >&2; exit 111; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
us() { # wrk latency value (e.g. 1.23ms, 850.00us) in µs, one decimal
	case $1 in *us) echo "${1%us}" ;; *ms) echo "${1%ms}" | awk '{print $1 * 1000}' ;; *s) echo "${1%s}" | awk '{print $1 * 1e6}' ;; esac |
		awk '{printf "%.1f", $1}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else printf "-"}'; }
# case pid url: one line of figures
one() {
	t0=$(ticks "$2")
	out=$(wrk -t1 -c1 -d"${SECS}s" --latency -H "Cookie: $COOKIE" "$3" 2>&1)
	t1=$(ticks "$2")
	n=$(printf '%s\n' "$out" | awk '/requests in/ {print $1}')
	p50=$(us "$(printf '%s\n' "$out" | awk '$1 == "50%" {print $2}')")
	p99=$(us "$(printf '%s\n' "$out" | awk '$1 == "99%" {print $2}')")
	rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/ {print $2}')
	cpu=$(awk -v a="$t0" -v b="$t1" -v n="$n" -v hz="$HZ" 'BEGIN {printf "%.1f", (b - a) / hz * 1e6 / n}')
	sys="-"
	if [ "${STRACE:-1}" != 0 ] && command -v strace >/dev/null; then
		strace -c -f -p "$2" -o "$W/st" 2>/dev/null &
		sp=$!
		sleep 0.5
		m=$(wrk -t1 -c1 -d2s -H "Cookie: $COOKIE" "$3" 2>&1 | awk '/requests in/ {print $1}')
		sleep 0.3
		kill -INT "$sp"
		wait "$sp" 2>/dev/null || true
		# calls of every syscall but the idle threads' sleeps, per request
		sys=$(awk -v m="$m" '$NF != "total" && $NF != "clock_nanosleep" && $NF != "restart_syscall" && $4 ~ /^[0-9]+$/ {c += $4}
			END {printf "%.1f", c / m}' "$W/st")
	fi
	if [ "$1" = floor ]; then
		F50=$p50 FCPU=$cpu
		r50=- rcpu=-
	else
		r50=$(ratio "$p50" "$F50")
		rcpu=$(ratio "$cpu" "$FCPU")
	fi
	printf '%-8s %-11s %8s %8s %9s %10s %12s %9s %9s\n' "$1" "$4" "$p50" "$p99" "$rps" "$cpu" "$sys" "$r50" "$rcpu"
}
printf '%-8s %-11s %8s %8s %9s %10s %12s %9s %9s\n' case server p50_us p99_us req/s cpu_us/req syscalls/req p50/floor cpu/floor
for round in 1 2; do
	one floor "$FPID" "http://127.0.0.1:$FPORT/api/health" httpd-floor
	one health "$NPID" "http://127.0.0.1:$NPORT/api/health" np-httpd
	one session "$NPID" "http://127.0.0.1:$NPORT/api/auth/session" np-httpd
	one 404 "$NPID" "http://127.0.0.1:$NPORT/api/nosuch" np-httpd
done
echo "µs; wrk -t1 -c1 for ${SECS}s each (its client time included in p50/p99); cpu = np-httpd's or"
echo "httpd-floor's user+system time per request; syscalls = per request under strace -c -f (2 s)."
echo "p50/floor, cpu/floor = np-httpd's figure over the floor case's of the same round."
