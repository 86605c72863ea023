#!/bin/sh
# /api/studies over a large index (issue 21): every sort the API allows,
# either way, walks one index with no sort step (SQLite's query plan of the
# statement np-httpd runs, from np-httpd --studies-sql, on 3000 studies
# with few distinct states, groups and QC results, after ANALYZE). A sort
# step was a walk of the whole table (study_date) or of every study with
# the same value (state, group_name, qc_result).
# A filter on another column than the sort's: a common value (a third of
# the studies done, half QC passed, every date) walks the sort's index
# testing each row, with no sort step (SQLite looked the 900,000 done
# studies of a million up through the state index and sorted them for a
# page of 50); a rare one (10 studies) is looked up through the filter's
# index (with statistics from an ANALYZE, SQLite walked the sort's index of
# every study for a rare QC result). Both without statistics and with.
. "$(dirname "$0")/../lib/tap.sh"
SORTS="created_at updated_at state npuid study_date group_name qc_result"
plan 126
mkdir -p "$NP_HOME/etc"
"$BIN/np-index" --check >/dev/null 2>&1 || true
DB=$NP_HOME/db/agent.sqlite
sqlite3 "$DB" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3010)
INSERT INTO studies (npuid, state, study_date, group_name, qc_result, created_at, updated_at)
SELECT printf('%08x-0000-4000-8000-%012x', i, i),
  CASE WHEN i > 3000 THEN 'stable' WHEN i % 3 = 0 THEN 'done' WHEN i % 3 = 1 THEN 'ready' ELSE 'failed' END,
  strftime('%Y%m%d', '2026-01-01', '+' || (i % 30) || ' days'), CASE WHEN i % 50 = 0 THEN 'g' || (i % 3) END,
  CASE WHEN i > 3000 THEN 'bypassed' WHEN i % 4 = 0 THEN 'passed' WHEN i % 4 = 1 THEN 'failed' END,
  strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' minutes'),
  strftime('%Y-%m-%dT%H:%M:%fZ', '2026-02-01', '+' || (i / 10) || ' seconds') FROM n;" ||
	bail "unable to fill the index"
# The query plan of the page statement of query string $1, on one line.
page_plan() {
	sql=$("$SBIN/np-httpd" --studies-sql "$1" | grep '^SELECT npuid')
	sqlite3 "$DB" "EXPLAIN QUERY PLAN $sql" | tr '\n' ' '
}
# col_of FILTER: the column a filter tests
col_of() { case $1 in state=*) echo state ;; qc=*) echo qc_result ;; *) echo created_at ;; esac; }
filtered() { # $1: "without statistics" or "with statistics"
	for f in state=done qc=passed from=2026-01-01 state=stable qc=bypassed; do
		c=$(col_of "$f")
		for s in $SORTS; do
			[ "$s" != "$c" ] || continue
			case $f in from=*) case $s in created_at | updated_at | study_date) continue ;; esac ;; esac
			for d in "" -; do
				plan=$(page_plan "$f&sort=$d$s&size=50")
				case $f in
				state=stable | qc=bypassed)
					good=false
					case $plan in *"SEARCH studies USING"*"INDEX studies_"*"($c=?"*) good=true ;; esac
					[ "$good" = true ] || diag "$plan"
					ok "$f&sort=$d$s (10 studies) looks them up through the $c index, $1" $good
					;;
				*)
					# (by created_at: the filter's index, which ends with it)
					walks=false
					case $plan in *"TEMP B-TREE"*) ;; *"SCAN studies USING"* | *"SEARCH studies USING"*) walks=true ;; esac
					[ "$walks" = true ] || diag "$plan"
					ok "$f&sort=$d$s (most studies) walks an index in the sort's order, $1" $walks
					;;
				esac
			done
		done
	done
}
filtered "without statistics"
sqlite3 "$DB" "ANALYZE" || bail "ANALYZE failed"
for s in $SORTS; do
	for d in "" -; do
		plan=$(page_plan "sort=$d$s&size=50")
		walks=false
		case $plan in *"TEMP B-TREE"*) ;; *"SCAN studies USING"*) walks=true ;; esac
		[ "$walks" = true ] || diag "$plan"
		ok "sort=$d$s walks an index with no sort step" $walks
	done
done
filtered "with statistics"
