#!/bin/sh
# /metrics: np_index_studies (the studies by QC result) comes from counts
# the index keeps by triggers (studies_qc_count, migration 6), not from a
# walk of every study on each scrape (1 s at a million studies). The counts
# follow inserts, QC results set and changed, deletions and a rebuild.
# np_events_total (a counter: the events recorded by type) likewise comes
# from counts a trigger keeps (events_count, migration 7), not a walk of
# the events table; retention's purge of old events (np-retain) and a
# rebuild leave it (the count of the table went down: a counter reset to
# Prometheus).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
plan 13
A=11111111-1111-4111-8111-111111111111
B=22222222-2222-4222-8222-222222222222
C=33333333-3333-4333-8333-333333333333
for s in $A $B $C; do seed_study done $s; done
start_httpd --insecure-no-auth
DB=$NP_HOME/db/agent.sqlite
# "qc=n ..." of /metrics, and of the counts and of a walk of the index.
scraped() { req GET /metrics >/dev/null && sed -n 's/^np_index_studies{qc="\([a-z]*\)"} \([0-9]*\)$/\1=\2/p' "$T/body" | sort | tr '\n' ' '; }
kept() { sqlite3 "$DB" "SELECT qc || '=' || n FROM studies_qc_count WHERE n > 0 ORDER BY qc" | tr '\n' ' '; }
walked() { sqlite3 "$DB" "SELECT ifnull(qc_result, 'pending') || '=' || count(*) FROM studies GROUP BY qc_result ORDER BY 1" | tr '\n' ' '; }
is "$(scraped)" "pending=3 " "the rebuilt index counts 3 studies without a QC result"
sqlite3 "$DB" "UPDATE studies SET qc_result = 'passed' WHERE npuid IN ('$A', '$B'); UPDATE studies SET qc_result = 'failed' WHERE npuid = '$B'"
is "$(scraped)" "failed=1 passed=1 pending=1 " "QC results set and changed move the counts"
is "$(kept)" "$(walked)" "the kept counts are the index's"
sqlite3 "$DB" "DELETE FROM studies WHERE npuid = '$A'"
is "$(scraped)" "failed=1 pending=1 " "a deleted study leaves its count"
"$BIN/np-index" --rebuild >/dev/null 2>&1 || true
is "$(kept)" "$(walked)" "after np-index --rebuild the kept counts are the index's"
is "$(scraped)" "pending=3 " "... and /metrics shows them"
plan_q=$(sqlite3 "$DB" "EXPLAIN QUERY PLAN SELECT qc, n FROM studies_qc_count WHERE n > 0" | tr '\n' ' ')
like "$plan_q" "SCAN studies_qc_count" "a scrape reads the few counts"
nok "... and no study row" sh -c "printf '%s' '$plan_q' | grep -q 'studies '"

# the np_events_total lines of the made-up types t_one and t_two
events() { req GET /metrics >/dev/null && sed -n 's/^np_events_total{type="\(t_[a-z]*\)"} \([0-9]*\)$/\1=\2/p' "$T/body" | sort | tr '\n' ' '; }
sqlite3 "$DB" "INSERT INTO events (ts, type) VALUES ('2015-01-01T00:00:00Z', 't_one'), ('2015-01-01T00:00:00Z', 't_one'),
  ('2015-01-01T00:00:00Z', 't_two'), (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), 't_one')"
is "$(events)" "t_one=3 t_two=1 " "np_events_total counts the events recorded by type"
"$BIN/np-retain" >/dev/null 2>&1 || diag "np-retain failed"
is "$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE type LIKE 't_%'")" 1 "np-retain purged the old events"
is "$(events)" "t_one=3 t_two=1 " "... and np_events_total still counts them (a counter does not go down)"
sqlite3 "$DB" "INSERT INTO events (ts, type) VALUES (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), 't_two')"
"$BIN/np-index" --rebuild >/dev/null 2>&1 || diag "np-index --rebuild failed"
is "$(events)" "t_one=3 t_two=2 " "an event recorded after the purge counts on; a rebuild leaves the counts"
plan_e=$(sqlite3 "$DB" "EXPLAIN QUERY PLAN SELECT type, n FROM events_count" | tr '\n' ' ')
like "$plan_e" "SCAN events_count" "a scrape reads the counts, not the events"
