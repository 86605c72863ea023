#!/bin/sh
# /api/studies with a filter on another column than the sort's (issue 21,
# NP_STUDIES_WALK_BUDGET): the page is the same whichever way np-httpd
# takes it. 20,000 studies: 10 QC failed in the state sorted first, 18,000
# done and passed, 1,990 QC failed in the qc-failed state. qc=failed by
# state has many matches, so the sort's index is walked, and past the first
# 10 the walk meets none for 18,000 rows: it runs out of its budget and the
# lookup goes on after the 10 it found. Each page is checked against the
# same query answered by sqlite3 with ORDER BY alone.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
plan 9
mkdir -p "$NP_HOME/etc"
"$BIN/np-index" --check >/dev/null 2>&1 || true
DB=$NP_HOME/db/agent.sqlite
sqlite3 "$DB" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO studies (npuid, state, study_date, qc_result, created_at, updated_at)
SELECT printf('%08x-0000-4000-8000-%012x', i, i),
  CASE WHEN i <= 10 THEN 'cancelled' WHEN i <= 18010 THEN 'done' ELSE 'qc-failed' END,
  strftime('%Y%m%d', '2026-01-01', '+' || (i * 7 % 300) || ' days'),
  CASE WHEN i <= 10 OR i > 18010 THEN 'failed' ELSE 'passed' END,
  strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || (i * 37 % 20011) || ' minutes'),
  strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' minutes') FROM n;" || bail "unable to fill the index"
start_httpd --insecure-no-auth
# the npuids of a page from the API, and of sqlite3 (WHERE $2, ORDER BY $3)
api() { req GET "/api/studies?$1" >/dev/null && jq -r '.items[].npuid' "$T/body" | tr '\n' ' '; }
sql() { sqlite3 "$DB" "SELECT npuid FROM studies WHERE $1 ORDER BY $2 LIMIT 50 OFFSET $3" | tr '\n' ' '; }
same() { # query where order offset what
	a=$(api "$1") s=$(sql "$2" "$3" "$4")
	[ -n "$s" ] || diag "sqlite3 found no rows"
	[ "$a" = "$s" ] || diag "api: $a" "sql: $s"
	ok "$5" test -n "$s" -a "$a" = "$s"
}
like "$("$SBIN/np-httpd" --studies-sql 'qc=failed&sort=state&size=50' | grep '^SELECT npuid')" "[+]qc_result = [?]1" \
	"qc=failed&sort=state walks the state index (1,999 matches of 20,000)"
same "qc=failed&sort=state&size=50" "qc_result = 'failed'" "state, created_at, npuid" 0 \
	"... a walk out of its budget: the 10 it found, then the lookup's"
same "qc=failed&sort=state&size=50&page=2" "qc_result = 'failed'" "state, created_at, npuid" 50 "... page 2"
same "qc=failed&sort=-state&size=50" "qc_result = 'failed'" "state DESC, created_at DESC, npuid DESC" 0 \
	"... descending (the walk finds them at once)"
same "state=done&sort=study_date&size=50" "state = 'done'" "study_date, created_at, npuid" 0 "done by study date"
same "state=done&sort=-study_date&size=50&page=40" "state = 'done'" \
	"study_date DESC, created_at DESC, npuid DESC" 1950 "... page 40, descending"
same "state=cancelled&sort=-study_date&size=50" "state = 'cancelled'" \
	"study_date DESC, created_at DESC, npuid DESC" 0 "a rare state (10) by study date"
is "$(jget "$T/body" total)" 10 "... counted"
same "qc=passed&sort=npuid&size=50&page=3" "qc_result = 'passed'" "npuid" 100 "QC passed by npuid, page 3"
