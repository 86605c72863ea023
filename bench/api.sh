#!/bin/sh
# bench/api.sh [STUDIES] [SECONDS]: /api/studies over an index of STUDIES
# generated studies (default 100000): wrk against list pages, filters, a
# search and a keyset page, each compared with the same statements run
# directly on the same SQLite library (the limit).
#
# The "bare query" is the server's own SQL: `np-httpd --studies-sql QUERY`
# prints the statements and parameters GET /api/studies?QUERY runs (the
# page, then the capped count when the page is full); Python's sqlite3
# module (the same libsqlite3, the same mmap setting, prepared statements
# cached as the server does) runs them and times each run.
#
# Latency: one request at a time, like the bare query. wrk with one
# connection gives wrk_p50/wrk_p99. The ratio is taken from a second
# measurement in which one Python process alternates one HTTP request
# (http.client, keep-alive, the same cookie) with one run of the bare query
# for as long: the machine's other load then falls on both sides alike (on
# 2 vCPUs a burst of it during wrk's seconds but not the query's, or the
# reverse, moved the ratio of p99s by 2x between runs). The HTTP side pays
# Python's client overhead on top. ratio = api_p99 / sql_p99. Load: wrk with 64
# connections; every non-2xx answer, socket error and timeout (wrk: 2 s) is
# counted and printed. Target: ratio <= 3 and no error at 64 connections.
# Run by hand after `make` (needs wrk: apt-get install wrk); not part of
# make check. The machine's other load shows up in every p99: run it twice.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-100000}
SECS=${2:-10}
REPS=${REPS:-1000}
PY=/usr/bin/python3
command -v wrk >/dev/null || { echo "bench/api.sh: wrk is not installed (apt-get install wrk)" >&2; exit 100; }
W=$(mktemp -d "${TMPDIR:-/tmp}/np-bench-api.XXXXXX")
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT INT TERM
export NP_HOME=$W/home
mkdir -p "$NP_HOME/etc"
PW='Bench-Password-123!'
printf '%s' "$PW" > "$W/pw"
"$TOP/build/bin/np-config" set-secret cloud.service_password < "$W/pw" >/dev/null
PORT=$($PY -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
start() {
	"$TOP/build/sbin/np-httpd" --port "$PORT" 2>>"$W/httpd.log" &
	PID=$!
	for _ in $(seq 100); do curl -s -o /dev/null "$URL/api/health" && return 0; sleep 0.1; done
	echo "np-httpd did not start" >&2; exit 111
}
start
curl -s -o /dev/null "$URL/health" # opens (creates and migrates) the index
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
DB=$NP_HOME/db/agent.sqlite
t0=$(date +%s.%N)
# Plain INSERTs: the schema's triggers fill the search index as they would
# for studies the pipeline indexes one by one.
sqlite3 "$DB" <<SQL
PRAGMA journal_mode=WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO studies (npuid, state, source, format, study_name, accession, patient_name, patient_id, patient_age,
  patient_sex, study_date, modalities, group_name, products, qc_result, order_id, order_status, instances, series,
  bytes, stable, created_at, updated_at)
SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a' ||
       substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
  CASE i % 10 WHEN 0 THEN 'incoming' WHEN 1 THEN 'stable' WHEN 2 THEN 'qc-failed' WHEN 3 THEN 'ready'
    WHEN 4 THEN 'uploaded' WHEN 5 THEN 'results' WHEN 9 THEN 'failed' ELSE 'done' END,
  'dicom', 'dicom', 'STUDY ' || i, 'ACC' || i, 'PATIENT^' || i, 'PID' || i, '061Y', 'F',
  strftime('%Y%m%d', '2026-01-01', '+' || (i % 330) || ' days'), '["MR"]',
  CASE WHEN i % 50 = 0 THEN 'group' || (i % 7) END, '["PDvMSA"]',
  CASE i % 4 WHEN 0 THEN 'passed' WHEN 1 THEN 'failed' WHEN 2 THEN 'bypassed' END,
  'ord' || i, 'Completed', 600, 8, 300000000, 1,
  strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || (i * 283 % 28512000) || ' seconds'),
  strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || (i * 283 % 28512000) || ' seconds')
FROM n;
COMMIT;
ANALYZE;
SQL
t1=$(date +%s.%N)
printf 'indexed %d studies in %.1f s (%s)\n' "$N" "$(echo "$t1 - $t0" | bc)" "$(du -h "$DB" | cut -f1)"
start
curl -s -D "$W/h" -o "$W/login.json" -H 'Content-Type: application/json' \
	-d "{\"password\":\"$PW\"}" "$URL/api/auth/login" >/dev/null
COOKIE=$(sed -n 's/^Set-Cookie: \(np_session=[^;]*\).*/\1/p' "$W/h" | tr -d '\r')
[ -n "$COOKIE" ] || { echo "login failed" >&2; exit 111; }
CUR=$(sqlite3 "$DB" "SELECT created_at || '%7C' || npuid FROM studies ORDER BY created_at DESC, npuid DESC LIMIT 1 OFFSET 999")

# name | query string of GET /api/studies
cat > "$W/cases" <<EOF2
first page|size=50
page 200|size=50&page=200
state+qc filter|state=done&qc=passed&size=50
date range|from=2026-03-01&to=2026-03-31&size=50
search|q=ord777&size=50
keyset page|size=50&cursor=$CUR
EOF2

# p50 and p99 in ms of GET /api/studies?$3 and of the statements in file
# $1 (sqlite3 shell input from np-httpd --studies-sql), one after the
# other, at least $2 times each and for $SECS seconds: "api_p50 api_p99
# sql_p50 sql_p99".
lat() {
	$PY - "$DB" "$1" "$2" "$SECS" "$PORT" "$COOKIE" "/api/studies?$3" <<'PY'
import http.client, re, sqlite3, sys, time
db, path, reps, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
port, cookie, url = int(sys.argv[5]), sys.argv[6], sys.argv[7]
params, stmts = {}, []
for line in open(path):
    m = re.match(r'''\.parameter set \?(\d+) "'(.*)'"$''', line.rstrip('\n'))
    if m:
        params[int(m.group(1))] = re.sub(r'\\(.)', r'\1', m.group(2)).replace("''", "'")
    elif line.strip():
        stmts.append(line.strip().rstrip(';'))
# each statement binds the parameters up to the highest it names
runs = [(s, [params[i] for i in range(1, max([int(x) for x in re.findall(r'\?(\d+)', s)] or [0]) + 1)])
        for s in stmts]
c = sqlite3.connect(db, cached_statements=64)
c.execute('PRAGMA mmap_size = 268435456')  # as np-httpd's connections
h = http.client.HTTPConnection('127.0.0.1', port)
hdr = {'Cookie': cookie}


def api():
    h.request('GET', url, headers=hdr)
    r = h.getresponse()
    r.read()
    if r.status != 200:
        sys.exit('HTTP %d' % r.status)


def sql():
    for s, a in runs:
        c.execute(s, a).fetchall()


ta, ts, end = [], [], time.monotonic() + secs
while len(ts) < reps or time.monotonic() < end:
    # alternate which goes first, so neither always finds the caches warm
    for f, t in ((api, ta), (sql, ts)) if len(ts) % 2 else ((sql, ts), (api, ta)):
        t0 = time.perf_counter()
        f()
        t.append((time.perf_counter() - t0) * 1000)
out = []
for t in (ta, ts):
    t.sort()
    out += [t[len(t) // 2], t[min(len(t) - 1, int(len(t) * 0.99))]]
print('%.2f %.2f %.2f %.2f' % tuple(out))
PY
}
ms() { # wrk latency value (e.g. 1.23ms, 850.00us, 1.02s) in ms
	case $1 in *us) echo "${1%us}" | awk '{print $1 / 1000}' ;; *ms) echo "${1%ms}" ;; *s) echo "${1%s}" | awk '{print $1 * 1000}' ;; *) echo "$1" ;; esac
}
pct() { printf '%s\n' "$1" | awk -v p="$2" '$1 == p {print $2}'; }
# Every failed request wrk saw: non-2xx/3xx answers, then socket errors
# (connect, read, write, timeout).
errs() {
	printf '%s\n' "$1" | awk '/Non-2xx/ {n = $NF} /Socket errors/ {gsub(",", ""); c = $4; r = $6; w = $8; t = $10}
		END {printf "%d/%d/%d/%d/%d\n", n, c, r, w, t}'
}
printf '%-16s %8s %8s | %8s %8s %8s %8s %6s %6s | %8s %8s %7s %s\n' case wrk_p50 wrk_p99 api_p50 api_p99 \
	sql_p50 sql_p99 ratio r50 c64_p50 c64_p99 req/s 'errors c1;c64 (non2xx/connect/read/write/timeout)'
fail=0
while IFS='|' read -r name query; do
	code=$(curl -s -o "$W/one.json" -w '%{http_code}' -H "Cookie: $COOKIE" "$URL/api/studies?$query")
	[ "$code" = 200 ] || { echo "$name: HTTP $code: $(cat "$W/one.json")" >&2; fail=1; }
	"$TOP/build/sbin/np-httpd" --studies-sql "$query" > "$W/sql"
	one=$(wrk -t1 -c1 -d"${SECS}s" --latency -H "Cookie: $COOKIE" "$URL/api/studies?$query" 2>&1)
	set -- $(lat "$W/sql" "$REPS" "$query")
	out=$(wrk -t2 -c64 -d"${SECS}s" --latency -H "Cookie: $COOKIE" "$URL/api/studies?$query" 2>&1)
	p50=$(ms "$(pct "$one" 50%)")
	p99=$(ms "$(pct "$one" 99%)")
	l50=$(ms "$(pct "$out" 50%)")
	l99=$(ms "$(pct "$out" 99%)")
	rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/ {print $2}')
	e1=$(errs "$one")
	e64=$(errs "$out")
	ratio=$(awk -v a="$2" -v b="$4" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
	r50=$(awk -v a="$1" -v b="$3" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
	verdict=ok
	awk -v r="$ratio" 'BEGIN {exit !(r > 3)}' && verdict=SLOW
	[ "$e1" = 0/0/0/0/0 ] && [ "$e64" = 0/0/0/0/0 ] || verdict=ERRORS
	[ "$verdict" = ok ] || fail=1
	printf '%-16s %8s %8s | %8s %8s %8s %8s %6s %6s | %8s %8s %7s %s;%s %s\n' "$name" "$p50" "$p99" "$1" "$2" "$3" \
		"$4" "$ratio" "$r50" "$l50" "$l99" "$rps" "$e1" "$e64" "$verdict"
done < "$W/cases"
echo "times in ms. wrk = np-httpd through HTTP with a session cookie (wrk, 1 connection), JSON and PHI"
echo "redaction included; api and sql alternate in one Python process for as long: api = the same request"
echo "(http.client, keep-alive), sql = the server's statements (np-httpd --studies-sql) on the same libsqlite3;"
echo "ratio = api_p99 / sql_p99 (target <= 3); r50 = api_p50 / sql_p50 (the steady cost of HTTP, auth and JSON)."
echo "c64 = the same request from 64 connections (2 wrk threads)."
exit $fail
