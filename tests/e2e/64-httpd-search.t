#!/bin/sh
# np-httpd: /api/studies search through the trigram index (PHI columns only
# when revealing, any case, FTS syntax taken literally, kept right by the
# triggers whoever writes the table), has_more and the capped total, and
# np-httpd --studies-sql.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
plan 45
A=11111111-1111-4111-8111-111111111111
B=22222222-2222-4222-8222-222222222222
C=33333333-3333-4333-8333-333333333333
E=eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee
seed_study done $A "CANARY ALPHA" 2026-11-01T10:00:00.000Z '"grp1"'
seed_study done $B "CANARY BETA" 2026-11-02T10:00:00.000Z
seed_study ready $C "CANARY GAMMA" 2026-11-03T10:00:00.000Z
seed_study qc-failed $E "CANARY EPSILON" 2026-11-04T10:00:00.000Z
sed -i 's/"CANARY-ACC"/"CANARY-ACC-77"/' "$NP_HOME/spool/qc-failed/$E/manifest.json"
start_httpd --insecure-no-auth
db=$NP_HOME/db/agent.sqlite
total() { req GET "/api/studies?$1" >/dev/null && jget "$T/body" total; }

is "$(total q=33333333)" 1 "search by npuid through the index"
is "$(total q=EEEEEEEE)" 1 "... in any case"
is "$(total q=ee)" 1 "a 2-character search scans (the trigram index finds nothing shorter)"
is "$(total q=grp1)" 1 "search by group"
is "$(total q=GAMMA)" 0 "the study name is not searched without reveal"
is "$(total 'q=GAMMA&reveal=1')" 1 "... and is with reveal"
is "$(total q=ACC-77)" 0 "the accession is not searched without reveal"
is "$(total 'q=acc-77&reveal=1')" 1 "... and is with reveal, in any case"
is "$(total 'q=CANARY%5EPATIENT&reveal=1')" 4 "patient name with reveal"
is "$(total q=GA)" 0 "a short search keeps PHI out too"
is "$(total 'q=GA&reveal=1')" 1 "... and looks at it with reveal"
req GET '/api/studies?q=CANARY' >/dev/null
nok "no PHI in a search answer without reveal" grep -q CANARY "$T/body"
is "$(req GET '/api/studies?q=a%22b')" 200 "a double quote is taken literally"
is "$(jget "$T/body" total)" 0 "... and matches nothing"
is "$(req GET '/api/studies?q=NEAR(a*%20OR%20b)%20%5E%7Bx%7D')" 200 "FTS5 syntax is taken literally"
is "$(req GET '/api/studies?q=%22')" 200 "a lone double quote"

sqlite3 "$db" "UPDATE studies SET order_id = 'ORD-XYZ-1' WHERE npuid = '$A'"
is "$(total q=xyz-1)" 1 "an update of the table is searchable at once"
sqlite3 "$db" "DELETE FROM studies WHERE npuid = '$B'"
is "$(total q=22222222)" 0 "a deleted row is not found"
is "$(sqlite3 "$db" "SELECT count(*) FROM studies_fts")" "$(sqlite3 "$db" "SELECT count(*) FROM studies")" \
	"the search index holds one entry a row"
# A REPLACE without recursive triggers leaves the old entry behind, under a
# rowid that is gone: the join drops it.
sqlite3 "$db" "INSERT OR REPLACE INTO studies (npuid, state, order_id, created_at) VALUES ('$A', 'done', 'ORD-NEW-2', '2026-11-01T10:00:00.000Z')"
is "$(total q=xyz-1)" 0 "a REPLACE leaves no stale hit"
is "$(total q=ord-new-2)" 1 "... and the new row is found"

req GET '/api/studies?size=2' >/dev/null
is "$(jget "$T/body" has_more)" true "a full page with more after it: has_more"
is "$(jget "$T/body" total)" 3 "... the total is counted"
is "$(jget "$T/body" total_exact)" true "... exactly"
req GET '/api/studies?size=2&page=2' >/dev/null
is "$(jget "$T/body" has_more)" false "the last page: no more"
is "$(jget "$T/body" next_cursor)" "" "... and no next cursor"
is "$(jget "$T/body" total)" 3 "... the total from the page itself"

# 5100 more rows: counting stops 1000 past the page; a search matching 5000
# or more walks the sort order instead of sorting its matches.
sqlite3 "$db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5100)
INSERT INTO studies (npuid, state, order_id, created_at) SELECT printf('bulk-%04d', i), 'done', 'bulk-' || i,
printf('2026-10-01T00:00:00.%03dZ', i % 1000) FROM n"
req GET '/api/studies?size=10' >/dev/null
is "$(jget "$T/body" total)" 1010 "a large set: total is a lower bound"
is "$(jget "$T/body" total_exact)" false "... said so"
is "$(jget "$T/body" has_more)" true "... with more"
req GET '/api/studies?size=10&page=511' >/dev/null
is "$(jget "$T/body" total)" 5103 "counted exactly near the end"
is "$(jget "$T/body" total_exact)" true "... said so"
is "$(total 'q=bulk-1099')" 1 "search among many"
is "$(total 'q=bulk-1&size=5')" 1005 "a search with 1111 matches counts up to 1000 past the page"
req GET '/api/studies?size=9' >/dev/null
jq -r '.items[3:9][].npuid' "$T/body" > "$T/want"
req GET '/api/studies?q=bulk&size=3' >/dev/null
is "$(jget "$T/body" total)" 5000 "a broad search (5000 matches or more): the total is the matches probed"
is "$(jget "$T/body" total_exact)" false "... a lower bound"
req GET '/api/studies?q=bulk&size=3&page=2' >/dev/null
jq -r '.items[].npuid' "$T/body" > "$T/got"
req GET '/api/studies?q=bulk&size=3' >/dev/null
jq -r '.items[].npuid' "$T/body" | cat - "$T/got" > "$T/got2"
ok "... pages in the list's order" cmp -s "$T/want" "$T/got2"
req GET '/api/studies?q=bulk&size=5&page=1020' >/dev/null
is "$(jget "$T/body" items.4.npuid)" bulk-1000 "... its last page ends with the oldest match"
is "$(jget "$T/body" has_more)" false "... with no more"
is "$(total 'q=bulk&state=ready&size=5')" 0 "a broad search with a filter"
"$SBIN/np-httpd" --studies-sql 'q=abc&state=done' > "$T/sql"
ok "--studies-sql prints the search through the index" grep -q 'rowid IN (SELECT rowid FROM studies_fts WHERE studies_fts MATCH ?2)' "$T/sql"
is "$(grep -c '^\.parameter set' "$T/sql")" 2 "... with its parameters"
is "$(sqlite3 "$db" < "$T/sql" | tr '\n' ' ')" "0 0 " "... which sqlite3 runs (probe, page, count)"
"$SBIN/np-httpd" --studies-sql 'q=bulk' > "$T/sql"
ok "... and for a broad search the walk" grep -q '+rowid IN (SELECT rowid FROM studies_fts' "$T/sql"
"$SBIN/np-httpd" --studies-sql 'size=0' 2>/dev/null
is "$?" 100 "... and refuses what the API refuses"
