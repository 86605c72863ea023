#!/bin/sh
# GET /api/audit filters for the Audit page: action and actor exact, a study
# by its Neuropacs UID or the UID's beginning, a time range (since inclusive,
# until exclusive), pages by offset with the total of matching records, the
# distinct actions and actors on request (facets=1); CSV takes the same
# filters; bad values are refused naming the parameter.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
plan 22
start_httpd --insecure-no-auth
A=aaaaaaaa-1111-4111-8111-111111111111
B=bbbbbbbb-2222-4222-8222-222222222222
db="$NP_HOME/db/agent.sqlite"
# np-httpd makes the index on its first use of it
req GET /api/audit >/dev/null
sqlite3 "$db" "INSERT INTO audit (ts, actor, role, client, action, npuid, detail, outcome) VALUES
 ('2026-11-27T10:00:00Z', 'service', 'admin', '127.0.0.1', 'login', NULL, 'method=password', 'success'),
 ('2026-11-27T11:00:00Z', 'alice@example.test', 'admin', '127.0.0.1', 'retry', '$A', NULL, 'success'),
 ('2026-11-27T12:00:00Z', 'service', 'admin', '127.0.0.1', 'delete', '$B', NULL, 'success'),
 ('2026-11-27T13:00:00Z', 'alice@example.test', 'admin', '127.0.0.1', 'reveal', '$A', NULL, 'success'),
 ('2026-11-27T14:00:00Z', 'service', 'admin', '127.0.0.1', 'logout', NULL, NULL, 'success');"
ids() { jq -r '[.items[].ts[11:13]] | join(" ")' "$T/body"; }
q() { req GET "/api/audit?$1" >/dev/null; ids; }

is "$(q 'actor=alice@example.test')" "13 11" "actor= keeps that actor's records, newest first"
is "$(q 'actor=alice')" "" "... by the whole name, not a part of it"
is "$(q 'action=retry')" "11" "action= keeps one action"
is "$(q "npuid=$A")" "13 11" "npuid= keeps one study's records"
is "$(q 'npuid=bbbbbbbb')" "12" "... or those of the study whose UID begins so"
is "$(q 'since=2026-11-27T11:00:00Z&until=2026-11-27T13:00:00Z')" "12 11" "since is inclusive, until exclusive"
is "$(q 'since=2026-11-27T11:00:00.000Z&until=2026-11-27T13:00:00.000Z')" "12 11" "... with milliseconds as a browser writes them too"
is "$(q 'actor=service&until=2026-11-27T13:00:00Z')" "12 10" "filters combine"
req GET '/api/audit?limit=2&offset=2' >/dev/null
is "$(ids)" "12 11" "limit and offset page the records"
is "$(jq -c '[.total, .offset, .limit]' "$T/body")" "[5,2,2]" "... and the answer says the total, offset and limit"
req GET '/api/audit?actor=service&limit=1' >/dev/null
is "$(jq .total "$T/body")" 3 "the total counts the matching records, not the page"
is "$(jq -c 'has("actions")' "$T/body")" false "no facets unless asked"
req GET '/api/audit?facets=1&action=login' >/dev/null
is "$(jq -c .actions "$T/body")" '["delete","login","logout","retry","reveal"]' "facets=1 lists every action, whatever the filter"
is "$(jq -c .actors "$T/body")" '["alice@example.test","service"]' "... and every actor"
is "$(req GET "/api/audit?format=csv&npuid=$A&action=reveal")" 200 "CSV with filters"
is "$(grep -c "$A" "$T/body")" 1 "... holds only the matching record"
like "$(head -1 "$T/body")" '^id,ts,actor,role,client,action,npuid,detail,outcome' "... under the header"
is "$(req GET '/api/audit?npuid=x%27%20OR%201')" 400 "an npuid that is no UID (prefix) is refused"
is "$(jget "$T/body" error.message)" "npuid: a Neuropacs UID or its beginning (hex digits and -)" "... naming the parameter"
is "$(req GET '/api/audit?offset=-1')" 400 "a negative offset is refused"
is "$(req GET '/api/audit?facets=yes')" 400 "facets takes 0 or 1"
is "$(req GET "/api/audit?actor=$(printf 'a%.0s' $(seq 300))")" 400 "an actor longer than any name is refused"
