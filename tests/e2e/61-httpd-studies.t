#!/bin/sh
# np-httpd: /api/studies (pages, cursor, sort, filters, search, PHI redaction),
# study information, QC report, results and reports, and the study actions.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
. "$NP_TOP/tests/peers/cloud.sh"
plan 44
cloud_start "$T/cloud"
cloud_home v1
A=11111111-1111-4111-8111-111111111111
B=22222222-2222-4222-8222-222222222222
C=33333333-3333-4333-8333-333333333333
D=44444444-4444-4444-8444-444444444444
seed_study qc-failed $A "CANARY ALPHA" 2026-11-01T10:00:00.000Z '"grp1"'
seed_study done $B "CANARY BETA" 2026-11-02T10:00:00.000Z '"grp1"'
seed_study ready $C "CANARY GAMMA" 2026-11-03T10:00:00.000Z
seed_study done $D "CANARY DELTA" 2026-11-04T10:00:00.000Z
echo '{"passed": false, "checks": [{"name": "dti", "passed": false}]}' > "$NP_HOME/spool/qc-failed/$A/qc.json"
printf '%%PDF-1.4 fake\n' > "$NP_HOME/spool/done/$B/results/report.pdf"
echo '{"result": 1}' > "$NP_HOME/spool/done/$B/results/result.json"
printf 'PNG' > "$NP_HOME/spool/done/$B/results/report.png"
start_httpd --insecure-no-auth

is "$(req GET /api/studies)" 200 "list studies"
is "$(jget "$T/body" total)" 4 "the index was rebuilt from the spool"
is "$(jget "$T/body" items.0.npuid)" $D "newest first by default"
nok "PHI is redacted in the list" grep -q CANARY "$T/body"
is "$(jget "$T/body" items.0.patient_name)" "[Redacted]" "patient name shows [Redacted]"
is "$(jget "$T/body" items.0.patient_age)" "061Y" "age is not redacted"
is "$(req GET '/api/studies?reveal=1')" 200 "reveal as admin"
ok "... shows PHI" grep -q "CANARY^PATIENT" "$T/body"
is "$(req GET '/api/studies?size=2&sort=created_at&order=asc')" 200 "page of 2, oldest first"
is "$(jget "$T/body" items.1.npuid)" $B "... second is B"
cur=$(jget "$T/body" next_cursor)
is "$(req GET "/api/studies?size=2&sort=created_at&order=asc&cursor=$(printf %s "$cur" | sed 's/|/%7C/')")" 200 "next page by cursor"
is "$(jget "$T/body" items.0.npuid)" $C "... continues after the cursor"
is "$(req GET '/api/studies?size=2&page=2&sort=npuid')" 200 "page 2 sorted by npuid asc"
is "$(jget "$T/body" items.0.npuid)" $C "... C then D"
is "$(req GET '/api/studies?state=done')" 200 "filter by state"
is "$(jget "$T/body" total)" 2 "... two done"
is "$(req GET '/api/studies?group=grp1')" 200 "filter by group"
is "$(jget "$T/body" total)" 2 "... two in grp1"
is "$(req GET '/api/studies?from=2026-11-02&to=2026-11-03')" 200 "date range"
is "$(jget "$T/body" total)" 2 "... inclusive of both days"
is "$(req GET '/api/studies?q=33333333')" 200 "search by npuid"
is "$(jget "$T/body" total)" 1 "... one hit"
req GET '/api/studies?q=GAMMA' >/dev/null
is "$(jget "$T/body" total)" 0 "search does not look at PHI without reveal"
req GET '/api/studies?q=GAMMA&reveal=1' >/dev/null
is "$(jget "$T/body" total)" 1 "... and does with reveal"
is "$(req GET '/api/studies?size=0')" 400 "size 0 is refused"
like "$(jget "$T/body" error.message)" "^size" "... the message names the parameter"
is "$(req GET '/api/studies?state=bogus')" 400 "unknown state is refused"
is "$(req GET '/api/studies?sort=patient_name')" 400 "sorting by a PHI column is refused"
is "$(req GET "/api/study-info/$A")" 200 "study info"
is "$(jget "$T/body" state)" qc-failed "... with its state"
nok "... PHI redacted" grep -q CANARY "$T/body"
is "$(req GET "/api/study-info/$A?reveal=1")" 200 "study info revealed"
ok "... PHI shown" grep -q CANARY-PID-1 "$T/body"
is "$(req GET /api/study-info/99999999-9999-4999-8999-999999999999)" 404 "unknown study is 404"
is "$(req GET /api/study-info/not-a-uuid)" 400 "bad id is 400"
is "$(req GET "/api/studies/$A/qc")" 200 "QC report"
is "$(req GET /api/results)" 200 "results list"
like "$(cat "$T/body")" '"formats":\["json","png","pdf"\]' "... with the formats available"
is "$(req GET "/api/results/$B?format=pdf")" 200 "download PDF result"
like "$(grep -i content-disposition "$T/headers")" "attachment" "... as an attachment"
is "$(req GET "/api/results/$B?format=exe")" 400 "unknown format is 400"
is "$(req GET "/api/reports?neuropacsId=$B")" 200 "PDF report inline"
is "$(req POST "/api/studies/$C/cancel")" 200 "cancel order of a ready study (v1: local cancel)"
ok "... the study is in cancelled/" test -d "$NP_HOME/spool/cancelled/$C"
