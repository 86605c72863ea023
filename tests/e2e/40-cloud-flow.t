#!/bin/sh
# Cloud v1: a de-identified study goes ready -> uploaded -> results with every
# format, against the stand-in; the PHI canary never reaches it; the stand-in's
# crypto matches the worked example of cloud-api.md 3.2.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/cloud.sh"
plan 27
ok "stand-in v1 crypto matches the worked example (cloud-api.md 3.2)" /usr/bin/python3 "$CLOUD_PEER" --vector

U=4d1f0e2a-6b1c-4c55-9a0e-1e2f3a4b5c6d
cloud_study $U
# Without cloud.api_url: held, exit 111, order state for the UI.
"$BIN/np-upload" "$STUDY" 2>"$T/up0.log"; rc=$?
is "$rc" 111 "np-upload without cloud.api_url exits 111"
like "$(cat "$T/up0.log")" "cloud not configured" "and says the cloud is not configured"
is "$(/usr/bin/python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["status"])' "$STUDY/order.json")" Held "order.json shows Held"

cloud_start "$T/cloud"
cloud_home v1
"$BIN/np-upload" "$STUDY" 2>"$T/up.log"; rc=$?
is "$rc" 0 "np-upload exits 0"
o() { /usr/bin/python3 -c 'import json,sys;d=json.load(open(sys.argv[1]));exec("print("+sys.argv[2]+")")' "$STUDY/order.json" "$1"; }
is "$(o 'd["status"]')" Queued "order.json status Queued after upload"
like "$(o 'd["order_id"]')" '^[0-9a-f-]{36}$' "order id recorded"
like "$(o 'all(len(p["sha256"])==64 and p["etag"] for p in d["parts"])')" True "every ZIP has its SHA-256 and ETag"
is "$(o 'd["jobs_started"]')" "['Atypical/MSAp/PSP-v1.0']" "job started for the study's product"
st=$(cloud_state)
like "$st" '"new_orders": 1' "one order created"
like "$st" '"connects": 1' "one key exchange"
R=$CLOUD_DIR/requests.jsonl
like "$(grep -c '"call": "connect"' "$R")" '^1$' "connect called once"
nok "X-Api-Key is sent on connect only" grep -q '"has_api_key": true' "$R"
like "$(grep '"method": "PUT"' "$R" | head -1)" '"content_type": null, "auth": false' "presigned PUT carries no Content-Type and no auth"
like "$(grep multipartUploadRequest "$R" | head -1)" '"zipIndex": "0"' "multipart request carries zipIndex as a string"
like "$(grep completeMultipartUpload "$R" | tail -1)" '"finalPart": 1' "last ZIP completes with finalPart 1"
is "$(cat "$CLOUD_DIR"/received/*/0/sidecar.json)" '{"PatientAge":"054Y","PatientSex":"M"}' "sidecar carries age and sex only"
# The same study de-identified by the real np-deid, uploaded too.
V=4d1f0e2a-6b1c-4c55-9a0e-000000000002
A=$STUDY
cloud_clone $V
rm -rf "$STUDY/deid"
"$BIN/np-deid" --study "$STUDY" 2>"$T/deid.log"
ok "np-deid --study makes deid/" test -d "$STUDY/deid"
"$BIN/np-upload" "$STUDY" 2>>"$T/up.log"; rc=$?
is "$rc" 0 "the np-deid set uploads"
STUDY=$A
nok "PHI canary never reaches the cloud" grep -rqaE 'Doe\^John|MRN-000123|ACC20240001|SSN-123|Springfield|555-0100' "$CLOUD_DIR"

mv "$STUDY" "$NP_HOME/spool/uploaded/$U"; STUDY=$NP_HOME/spool/uploaded/$U
"$BIN/np-poll" "$STUDY" 2>>"$T/poll.log"; rc=$?
is "$rc" 111 "np-poll: not yet (111) while processing"
like "$(o 'd["status"], d["progress"]')" "Processing" "order.json shows Processing with progress"
"$BIN/np-poll" "$STUDY" 2>>"$T/poll.log"; rc=$?
is "$rc" 0 "np-poll: done (0) when finished"
ok "results in every format" sh -c "cd '$STUDY/results' && test -s result.json -a -s result.txt -a -s result.xml -a -s result.png -a -s features.csv -a -s report.pdf"
pdftotext "$STUDY/results/report.pdf" "$T/report.txt" 2>/dev/null
like "$(tr '\n' ' ' < "$T/report.txt")" "Patient management decisions should not be made solely on the basis of analysis by neuropacs" "local PDF has the required sentence"
nok "no PHI or secret in any log" grep -qaE 'Doe\^John|MRN-000123|test-api-key|Service-Password' "$T/up.log" "$T/poll.log"
like "$("$BIN/np-cloud" qc $U 2>&1)" "QC PASSED" "np-cloud qc prints the cloud's QC report (v1 qcCheck)"
