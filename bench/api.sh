#!/bin/sh
# bench/api.sh [STUDIES] [SECONDS]: /api/studies over an index of STUDIES
# generated studies (default 100000): wrk with 64 connections against list
# pages, filters, a search and a keyset page, each compared with the same
# query run directly by sqlite3 (the limit). Prints p50/p99 and the p99
# ratio; target: within 3x, no errors. Run by hand after `make` (needs wrk:
# apt-get install wrk); not part of make check.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-100000}
SECS=${2:-10}
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
PORT=$(/usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
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
CUR=$(sqlite3 "$DB" "SELECT created_at || '|' || npuid FROM studies ORDER BY created_at DESC, npuid DESC LIMIT 1 OFFSET 999")
CURQ=$(printf '%s' "$CUR" | sed 's/|/%7C/')

COLS="npuid, state, stable, source, format, study_name, accession, patient_name, patient_id, patient_age, patient_sex, study_date, study_description, modalities, calling_ae, group_name, products, qc_result, order_id, order_status, order_progress, instances, series, bytes, linked_npuid, flags, created_at, updated_at, stable_at"
# name | API path | the SQL the server runs for it (the page and its count)
cat > "$W/cases" <<EOF2
first page|/api/studies?size=50|SELECT $COLS FROM studies ORDER BY created_at DESC, npuid DESC LIMIT 50 OFFSET 0; SELECT count(*) FROM studies;
page 200|/api/studies?size=50&page=200|SELECT $COLS FROM studies ORDER BY created_at DESC, npuid DESC LIMIT 50 OFFSET 9950; SELECT count(*) FROM studies;
state+qc filter|/api/studies?state=done&qc=passed&size=50|SELECT $COLS FROM studies WHERE state = 'done' AND qc_result = 'passed' ORDER BY created_at DESC, npuid DESC LIMIT 50 OFFSET 0; SELECT count(*) FROM studies WHERE state = 'done' AND qc_result = 'passed';
date range|/api/studies?from=2026-03-01&to=2026-03-31&size=50|SELECT $COLS FROM studies WHERE created_at >= '2026-03-01' AND created_at < date('2026-03-31', '+1 day') ORDER BY created_at DESC, npuid DESC LIMIT 50 OFFSET 0; SELECT count(*) FROM studies WHERE created_at >= '2026-03-01' AND created_at < date('2026-03-31', '+1 day');
search|/api/studies?q=ord777&size=50|SELECT $COLS FROM studies WHERE (instr(npuid, lower('ord777')) OR instr(lower(ifnull(order_id,'')), lower('ord777')) OR instr(lower(ifnull(group_name,'')), lower('ord777'))) ORDER BY created_at DESC, npuid DESC LIMIT 50 OFFSET 0; SELECT count(*) FROM studies WHERE (instr(npuid, lower('ord777')) OR instr(lower(ifnull(order_id,'')), lower('ord777')) OR instr(lower(ifnull(group_name,'')), lower('ord777')));
keyset page|/api/studies?size=50&cursor=$CURQ|SELECT $COLS FROM studies WHERE (created_at, npuid) < (substr('$CUR', 1, instr('$CUR', '|') - 1), substr('$CUR', instr('$CUR', '|') + 1)) ORDER BY created_at DESC, npuid DESC LIMIT 50 OFFSET 0;
EOF2

# p50 and p99 in ms of running SQL REPS times in one sqlite3 process.
sql_lat() {
	reps=$2
	{ echo ".timer on"; echo ".output /dev/null"; i=0; while [ $i -lt "$reps" ]; do echo "$1"; i=$((i + 1)); done; } |
		sqlite3 "$DB" 2>&1 | awk '/^Run Time/ {t += $4; if (++k == q) {print t * 1000; t = 0; k = 0}}' q="$(printf '%s' "$1" | grep -o 'SELECT' | wc -l)" |
		sort -n | awk '{a[NR] = $1} END {printf "%.2f %.2f\n", a[int(NR * 0.5) + 1], a[int(NR * 0.99) + 1]}'
}
ms() { # wrk latency value (e.g. 1.23ms, 850.00us, 1.02s) in ms
	case $1 in *us) echo "${1%us}" | awk '{print $1 / 1000}' ;; *ms) echo "${1%ms}" ;; *s) echo "${1%s}" | awk '{print $1 * 1000}' ;; esac
}
# Latency: one connection (the same one-at-a-time conditions as sqlite3).
# Load: 64 connections, for errors and throughput.
printf '%-16s %9s %9s %9s %9s %7s | %9s %9s %8s %s\n' case api_p50 api_p99 sql_p50 sql_p99 ratio c64_p50 c64_p99 req/s errors
while IFS='|' read -r name path sql; do
	one=$(wrk -t1 -c1 -d"${SECS}s" --latency -H "Cookie: $COOKIE" "$URL$path" 2>&1)
	p50=$(ms "$(printf '%s\n' "$one" | awk '$1 == "50%" {print $2}')")
	p99=$(ms "$(printf '%s\n' "$one" | awk '$1 == "99%" {print $2}')")
	out=$(wrk -t2 -c64 -d"${SECS}s" --latency -H "Cookie: $COOKIE" "$URL$path" 2>&1)
	l50=$(ms "$(printf '%s\n' "$out" | awk '$1 == "50%" {print $2}')")
	l99=$(ms "$(printf '%s\n' "$out" | awk '$1 == "99%" {print $2}')")
	rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/ {print $2}')
	errs=$(printf '%s\n%s\n' "$one" "$out" | awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}')
	set -- $(sql_lat "$sql" 200)
	ratio=$(awk -v a="$p99" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
	printf '%-16s %9s %9s %9s %9s %7s | %9s %9s %8s %s\n' "$name" "$p50" "$p99" "$1" "$2" "$ratio" "$l50" "$l99" "$rps" "$errs"
done < "$W/cases"
echo "times in ms. api = np-httpd through HTTP with a session cookie (wrk -c1), JSON and PHI redaction included;"
echo "sql = the same statements (page + count) run by sqlite3 one at a time; ratio = api_p99 / sql_p99."
echo "c64 = the same request from 64 connections at once (2 wrk threads)."
