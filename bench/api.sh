#!/bin/sh
# bench/api.sh [STUDIES] [SECONDS]: /api/studies over an index of STUDIES
# generated studies (default 100000; 1000000 is ten years of a busy site):
# wrk against list pages, filters, searches, a keyset page and study-info,
# each compared with the same statements run directly on the same SQLite
# library (the limit); then the Studies page in headless Chromium (time to
# its first rows). The rows are made by one INSERT ... SELECT in sqlite3
# (1M in 1 to 3 minutes, 1.2 GB), not through the API.
#
# The "bare query" is the server's own SQL: `np-httpd --studies-sql QUERY`
# prints the statements and parameters GET /api/studies?QUERY runs (the
# page, then the capped count when the page is full); Python's sqlite3
# module (the same libsqlite3, the same mmap setting, prepared statements
# cached as the server does) runs them and times each run.
#
# A filter on another column than the sort's: the probe chooses the walk
# of the sort's index or the lookup and sort (NP_STUDIES_WALK_BUDGET in
# lib/spool/np_db_studies.h); a walk that runs out of its budget goes on
# as the lookup, which the bare query (the statements the probe chose)
# does not: "qcfail by state" there walks to the end.
# Latency: one request at a time, like the bare query. wrk with one
# connection gives wrk_p50/wrk_p99. The ratio is taken from a second
# measurement in which one Python process alternates one HTTP request
# (http.client, keep-alive, the same cookie) with one run of the bare query
# for as long: the machine's other load then falls on both sides alike (on
# 2 vCPUs a burst of it during wrk's seconds but not the query's, or the
# reverse, moved the ratio of p99s by 2x between runs). The HTTP side pays
# Python's client overhead on top. ratio = api_p99 / sql_p99. Load: wrk with 30
# connections; every non-2xx answer, socket error and timeout (wrk: 2 s) is
# counted and printed. Target (issue 21): ratio <= 3 and no error at 30
# connections (CONNS), for the API against the bare query at 100,000 to
# 1,000,000 studies. Each request also pays a fixed cost (HTTP, session
# check, JSON; bench/httpd-floor.sh measures it) that
# does not grow with the index: beside a bare query under 0.1 ms it alone
# is more than 3x, so at small sizes (sh bench/api.sh 10000 1, the
# smallest useful run) such cases print SLOW and say little. The summary
# line at the end counts cases met and missed, and of the missed those
# whose bare query p50 is under 0.1 ms. Exit status 1 when any case is
# missed or has errors.
# The studies are as ten years leave them: 90% done, 3% failed, 3% QC
# failed, 1% in each of four more states, and 10 each incoming and stable
# (a rare filter); QC passed but for 5% bypassed and the QC-failed state.
# No ANALYZE, as the agent runs none (ANALYZE=1: with planner statistics).
# Settings (environment): CASES=REGEX runs only the cases so named; UI=0
# skips Chromium, UI_REPS page loads (30); CONNS (30); REPS least runs of
# each side of the ratio (1000); ANALYZE=1; TMPDIR for the index (1.2 GB at
# 1M, removed at the end).
# Run by hand after `make` (needs wrk: apt-get install wrk; the UI part
# needs /usr/bin/chromium, node and `make browser-deps`); not part of
# make check. The machine's other load shows up in every p99: run it twice.
# Other benchmarks leave their data in bench/out: `make clean-bench`.
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
# The load from one address: above the default per-address cap (16), which
# would close the rest at once (wrk counts them as read errors). It stays
# at 30 connections: the slow-client guard cuts connections waiting for
# their next request's headers past half of np-httpd's 64 workers, and
# wrk's idle keep-alive connections are such.
echo '{"http":{"max_connections_per_address":128}}' | "$TOP/build/bin/np-config" merge >/dev/null
CONNS=${CONNS:-30}
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
sqlite3 "$DB" >/dev/null <<SQL
PRAGMA journal_mode=WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO studies (npuid, state, source, format, study_name, accession, patient_name, patient_id, patient_age,
  patient_sex, study_date, modalities, group_name, products, qc_result, order_id, order_status, instances, series,
  bytes, stable, created_at, updated_at)
SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a' ||
       substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
  CASE WHEN i <= 10 THEN 'incoming' WHEN i <= 20 THEN 'stable' WHEN i % 100 < 90 THEN 'done'
    WHEN i % 100 < 93 THEN 'failed' WHEN i % 100 < 96 THEN 'qc-failed' WHEN i % 100 = 96 THEN 'cancelled'
    WHEN i % 100 = 97 THEN 'results' WHEN i % 100 = 98 THEN 'uploaded' ELSE 'ready' END,
  'dicom', 'dicom', 'STUDY ' || i, 'ACC' || i, 'PATIENT^' || i, 'PID' || i, '061Y', 'F',
  strftime('%Y%m%d', '2026-01-01', '+' || (i % 330) || ' days'), '["MR"]',
  CASE WHEN i % 50 = 0 THEN 'group' || (i % 7) END, '["PDvMSA"]',
  CASE WHEN i <= 20 OR i % 100 = 99 THEN NULL WHEN i % 100 BETWEEN 93 AND 95 THEN 'failed'
    WHEN i % 20 = 1 THEN 'bypassed' ELSE 'passed' END,
  'ord' || i, 'Completed', 600, 8, 300000000, 1,
  strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || (i * 283 % 28512000) || ' seconds'),
  strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || (i * 283 % 28512000) || ' seconds')
FROM n;
COMMIT;
$([ "${ANALYZE:-0}" = 1 ] && echo 'ANALYZE;')
SQL
t1=$(date +%s.%N)
printf 'indexed %d studies in %.1f s (%s)\n' "$N" "$(echo "$t1 - $t0" | bc)" "$(du -h "$DB" | cut -f1)"
start
curl -s -D "$W/h" -o "$W/login.json" -H 'Content-Type: application/json' \
	-d "{\"password\":\"$PW\"}" "$URL/api/auth/login" >/dev/null
COOKIE=$(sed -n 's/^Set-Cookie: \(np_session=[^;]*\).*/\1/p' "$W/h" | tr -d '\r')
[ -n "$COOKIE" ] || { echo "login failed" >&2; exit 111; }
CUR=$(sqlite3 "$DB" "SELECT created_at || '%7C' || npuid FROM studies ORDER BY created_at DESC, npuid DESC LIMIT 1 OFFSET 999")
# Study folders for the newest 1000 rows (the ones the list shows first), so
# study-info (which reads the spool, not the index) finds one.
sqlite3 -separator ' ' "$DB" "SELECT npuid, state FROM studies ORDER BY created_at DESC, npuid DESC LIMIT 1000" |
	$PY "$TOP/bench/mkspool.py" "$NP_HOME" - 0
INFO=$(sqlite3 "$DB" "SELECT npuid FROM studies ORDER BY created_at DESC, npuid DESC LIMIT 1 OFFSET 500")

# name | query string of GET /api/studies, or a path from /api on
cat > "$W/cases" <<EOF2
first page|size=50
page 200|size=50&page=200
state+qc filter|state=done&qc=passed&size=50
rare state|state=failed&qc=bypassed&size=50
date range|from=2026-03-01&to=2026-03-31&size=50
group|group=group3&size=50
search|q=ord777&size=50
search broad|q=group3&size=50
keyset page|size=50&cursor=$CUR
sort study_date|sort=-study_date&size=50
sort state|sort=state&size=50
sort group|sort=group_name&size=50
sort qc|sort=qc_result&size=50
sort updated|sort=-updated_at&size=50
done by date|state=done&sort=-study_date&size=50
done by group|state=done&sort=group_name&size=50
done p200 date|state=done&sort=study_date&size=50&page=200
rare by date|state=incoming&sort=-study_date&size=50
qcfail by state|qc=failed&sort=state&size=50
month by state|from=2026-03-01&to=2026-03-31&sort=state&size=50
study-info|/study-info/$INFO
EOF2

# p50 and p99 in ms of GET /api$3 and of the statements in file $1 (sqlite3
# shell input from np-httpd --studies-sql; a "file DIR..." line: find the
# first of these folders that exists and read its manifest and history),
# one after the other, at least $2 times each and for $SECS seconds:
# "api_p50 api_p99 sql_p50 sql_p99".
lat() {
	$PY - "$DB" "$1" "$2" "$SECS" "$PORT" "$COOKIE" "/api$3" <<'PY'
import http.client, json, os, re, sqlite3, sys, time
db, path, reps, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
port, cookie, url = int(sys.argv[5]), sys.argv[6], sys.argv[7]
params, stmts, files = {}, [], []
for line in open(path):
    m = re.match(r'''\.parameter set \?(\d+) "'(.*)'"$''', line.rstrip('\n'))
    if m:
        params[int(m.group(1))] = re.sub(r'\\(.)', r'\1', m.group(2)).replace("''", "'")
    elif line.startswith('file '):
        files.append(line[5:].rstrip('\n'))
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
    # study-info's floor: find the folder among the states as np_spool_find
    # does, read and parse its manifest and history
    for f in files:
        for p in f.split():
            if os.path.isdir(p):
                json.load(open(p + '/manifest.json'))
                [json.loads(x) for x in open(p + '/history.jsonl')]
                break


ta, ts, end = [], [], time.monotonic() + secs
# at least reps runs, unless they take 3 times as long (a slow bare query)
while (len(ts) < reps and time.monotonic() < end + 2 * secs) or time.monotonic() < end:
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
	sql_p50 sql_p99 ratio r50 "c${CONNS}_p50" "c${CONNS}_p99" req/s "errors c1;c$CONNS (non2xx/connect/read/write/timeout)"
fail=0
: >"$W/verdicts"
while IFS='|' read -r name query; do
	# CASES=REGEX: only the cases whose names match (e.g. CASES=sort UI=0)
	[ -z "${CASES:-}" ] || printf '%s\n' "$name" | grep -Eq "$CASES" || continue
	case $query in
	/*)
		path=$query
		# the state folders np_spool_find looks in, in its order
		printf 'file' >"$W/sql"
		for s in incoming stable qc-passed qc-failed ready uploaded results done failed cancelled; do
			printf ' %s/spool/%s/%s %s/spool/%s/.work/%s' "$NP_HOME" "$s" "${path##*/}" "$NP_HOME" "$s" "${path##*/}"
		done >>"$W/sql"
		echo >>"$W/sql"
		;;
	*)
		path="/studies?$query"
		"$TOP/build/sbin/np-httpd" --studies-sql "$query" >"$W/sql"
		;;
	esac
	code=$(curl -s -o "$W/one.json" -w '%{http_code}' -H "Cookie: $COOKIE" "$URL/api$path")
	[ "$code" = 200 ] || { echo "$name: HTTP $code: $(cat "$W/one.json")" >&2; fail=1; }
	one=$(wrk -t1 -c1 -d"${SECS}s" --latency -H "Cookie: $COOKIE" "$URL/api$path" 2>&1)
	set -- $(lat "$W/sql" "$REPS" "$path")
	out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -H "Cookie: $COOKIE" "$URL/api$path" 2>&1)
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
	[ "$name" = "first page" ] && FIRST="$3 $4"
	echo "$verdict $3" >>"$W/verdicts"
	printf '%-16s %8s %8s | %8s %8s %8s %8s %6s %6s | %8s %8s %7s %s;%s %s\n' "$name" "$p50" "$p99" "$1" "$2" "$3" \
		"$4" "$ratio" "$r50" "$l50" "$l99" "$rps" "$e1" "$e64" "$verdict"
done < "$W/cases"
echo "times in ms. wrk = np-httpd through HTTP with a session cookie (wrk, 1 connection), JSON and PHI"
echo "redaction included; api and sql alternate in one Python process for as long: api = the same request"
echo "(http.client, keep-alive), sql = the server's statements (np-httpd --studies-sql) on the same libsqlite3;"
echo "ratio = api_p99 / sql_p99 (target <= 3); r50 = api_p50 / sql_p50 (the steady cost of HTTP, auth and JSON)."
echo "c$CONNS = the same request from $CONNS connections (2 wrk threads). study-info: sql = finding the study's"
echo "folder among the states and reading its manifest and history (it reads the spool, not the index)."
awk -v n="$N" '{ k++ } $1 == "ok" { ok++ } $1 == "SLOW" { slow++; if ($2 < 0.1) fast++ } $1 == "ERRORS" { err++ }
	END { printf "summary at %d studies: %d of %d cases met ratio <= 3, %d missed (%d of them with a bare query p50 under 0.1 ms,\n", n, ok, k, slow, fast
	printf "where the fixed per-request cost bench/httpd-floor.sh measures outweighs the query), %d with errors.\n", err
	print "The target is for the API against the bare query at 100,000 to 1,000,000 studies." }' "$W/verdicts"
# The Studies page in headless Chromium against the same server.
MODULES=$TOP/build/browser/node_modules
if [ "${UI:-1}" = 0 ]; then
	echo "UI: skipped (UI=0)"
elif [ ! -x /usr/bin/chromium ]; then
	echo "UI: skipped (/usr/bin/chromium is missing: apt-get install chromium)"
elif ! command -v node >/dev/null; then
	echo "UI: skipped (node is missing: apt-get install nodejs)"
elif [ ! -d "$MODULES/playwright-core" ]; then
	echo "UI: skipped ($MODULES/playwright-core is missing: run make browser-deps)"
else
	NP_NODE_MODULES=$MODULES node "$TOP/bench/ui-list.mjs" "$URL" "$PW" "${UI_REPS:-30}" >"$W/ui" 2>&1 ||
		{ cat "$W/ui" >&2; fail=1; }
	set -- ${FIRST:-0 0}
	awk -v s50="$1" -v s99="$2" 'NF == 3 {printf "UI %-6s p50 %7.1f p99 %7.1f ms (first page bare query p50 %s p99 %s)\n", $1, $2, $3, s50, s99}' "$W/ui"
	echo "UI load = reload of the Studies page until its first rows are in the DOM; fetch = its GET /api/studies"
	echo "(Resource Timing); next = a click on Next until the next rows replace them."
fi
exit $fail
