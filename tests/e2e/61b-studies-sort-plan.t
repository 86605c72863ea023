#!/bin/sh
# /api/studies over a large index (issue 21): every sort the API allows,
# either way, walks one index with no sort step (SQLite's query plan of the
# statement np-httpd runs, from np-httpd --studies-sql, on 3000 studies
# with few distinct states, groups and QC results, after ANALYZE). A sort
# step was a walk of the whole table (study_date) or of every study with
# the same value (state, group_name, qc_result).
. "$(dirname "$0")/../lib/tap.sh"
SORTS="created_at updated_at state npuid study_date group_name qc_result"
plan 14
mkdir -p "$NP_HOME/etc"
"$BIN/np-index" --check >/dev/null 2>&1 || true
DB=$NP_HOME/db/agent.sqlite
sqlite3 "$DB" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
INSERT INTO studies (npuid, state, study_date, group_name, qc_result, created_at, updated_at)
SELECT printf('%08x-0000-4000-8000-%012x', i, i), CASE i % 3 WHEN 0 THEN 'done' WHEN 1 THEN 'ready' ELSE 'failed' END,
  strftime('%Y%m%d', '2026-01-01', '+' || (i % 30) || ' days'), CASE WHEN i % 50 = 0 THEN 'g' || (i % 3) END,
  CASE i % 4 WHEN 0 THEN 'passed' WHEN 1 THEN 'failed' END,
  strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' minutes'),
  strftime('%Y-%m-%dT%H:%M:%fZ', '2026-02-01', '+' || (i / 10) || ' seconds') FROM n; ANALYZE;" ||
	bail "unable to fill the index"
for s in $SORTS; do
	for d in "" -; do
		sql=$("$SBIN/np-httpd" --studies-sql "sort=$d$s&size=50" | head -1)
		plan=$(sqlite3 "$DB" "EXPLAIN QUERY PLAN $sql" | tr '\n' ' ')
		walks=false
		case $plan in *"TEMP B-TREE"*) ;; *"SCAN studies USING"*) walks=true ;; esac
		[ "$walks" = true ] || diag "$plan"
		ok "sort=$d$s walks an index with no sort step" $walks
	done
done
