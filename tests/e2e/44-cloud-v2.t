#!/bin/sh
# Cloud v2 (share/cloud-v2.json): token from service user + password (cached
# 0600, refreshed on 401), order metadata instead of a sidecar, upload,
# status, results with the cloud's PDF, list-orders, cancel at the cloud;
# with v1 cancel is local only and says so; np-cloud cancel is the Cancel
# button's: refused once the cloud completed the order, in results it stops
# the delivery.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/cloud.sh"
plan 22
cloud_start "$T/cloud"
cloud_home v2
U=3c3c3c3c-0000-4000-8000-000000000001
cloud_study $U
j() { /usr/bin/python3 -c 'import json,sys;d=json.load(open(sys.argv[1]));exec("print("+sys.argv[2]+")")' "$1" "$2"; }
R=$CLOUD_DIR/requests.jsonl
out=$("$BIN/np-cloud" refresh-token 2>&1)
like "$out" "new access token cached" "refresh-token gets a token"
is "$(stat -c %a "$NP_HOME/etc/secrets/cloud.token")" 600 "the token cache is 0600"
"$BIN/np-upload" "$STUDY" 2>"$T/up.log"; rc=$?
is "$rc" 0 "v2 upload succeeds"
like "$(grep '"/new-order"' "$R")" '"metadata": \{"PatientAge": "054Y", "PatientSex": "M"\}' "age and sex go as order metadata"
like "$(grep '"/new-order"' "$R")" '"products": \["Atypical/MSAp/PSP-v1.0"\]' "with the products"
nok "no sidecar in the ZIP with v2" sh -c "ls '$CLOUD_DIR'/received/*/0/sidecar.json"
like "$(grep '/upload/multipart/complete' "$R" | tail -1)" '"final_part": true' "the last complete has final_part"
"$BIN/np-poll" "$STUDY" 2>"$T/poll.log"
cloud_ctl '{"expire_in": 1}'
"$BIN/np-poll" "$STUDY" 2>>"$T/poll.log"; rc=$?
is "$rc" 0 "v2 results downloaded"
like "$(cat "$T/poll.log")" "token rejected; requesting a new one once" "an expired token is re-requested once"
is "$(j "$STUDY/results/index.json" 'd["pdf_source"]')" cloud "the PDF comes from the cloud with v2"
like "$("$BIN/np-cloud" list-orders 2>/dev/null)" "$(j "$STUDY/order.json" 'd["order_id"]')" "list-orders shows the order"
nok "no secret in the logs" grep -q "Service-Password" "$T/up.log" "$T/poll.log"

V=3c3c3c3c-0000-4000-8000-000000000002
cloud_clone $V
"$BIN/np-upload" "$STUDY" 2>/dev/null
mv "$STUDY" "$NP_HOME/spool/uploaded/$V"
out=$("$BIN/np-cloud" cancel $V 2>&1)
like "$out" "cancelled at the Neuropacs cloud" "v2 cancels at the cloud"
ok "the study moved to cancelled/" test -d "$NP_HOME/spool/cancelled/$V"

W=3c3c3c3c-0000-4000-8000-000000000003
cloud_home v1
cloud_clone $W
"$BIN/np-upload" "$STUDY" 2>/dev/null
out=$("$BIN/np-cloud" cancel $W 2>&1)
like "$out" "cancelled locally only" "v1 cancel is local only and says so"
is "$(j "$NP_HOME/spool/cancelled/$W/order.json" 'd["status"], d["cancel_scope"]')" "Cancelled local" "order.json records a local cancel"

# np-cloud cancel goes through np_study_cancel as the UI's Cancel does. An
# order the cloud reports Completed (its results not yet downloaded) has
# nothing left to cancel: refused, the study kept for np-poll.
X=3c3c3c3c-0000-4000-8000-000000000004
cloud_clone $X uploaded
"$BIN/np-upload" "$STUDY" 2>/dev/null
/usr/bin/python3 -c 'import json,sys;p=sys.argv[1];d=json.load(open(p));d["status"]="Completed";json.dump(d,open(p,"w"))' "$STUDY/order.json"
out=$("$BIN/np-cloud" cancel $X 2>&1); rc=$?
is "$rc" 100 "np-cloud cancel of a Completed order is refused (exit 100)"
like "$out" "already completed the order of study $X" "and says why"
ok "the study stays in uploaded/ for its results" test -d "$NP_HOME/spool/uploaded/$X"
# A study in results: cancel stops its delivery (the study leaves results/).
Y=3c3c3c3c-0000-4000-8000-000000000005
cloud_clone $Y results
"$BIN/np-upload" "$STUDY" 2>/dev/null
for _i in 1 2 3 4 5; do [ -s "$STUDY/results/index.json" ] && break; "$BIN/np-poll" "$STUDY" 2>/dev/null; done
out=$("$BIN/np-cloud" cancel $Y 2>&1)
like "$out" "delivery cancelled: the results are not sent" "np-cloud cancel in results cancels the delivery"
ok "the study moved from results/ to cancelled/" sh -c "test -d '$NP_HOME/spool/cancelled/$Y' && ! test -e '$NP_HOME/spool/results/$Y'"
is "$(sqlite3 "$NP_HOME/db/agent.sqlite" "SELECT action || ' ' || outcome FROM audit WHERE npuid='$Y'")" "cancel success" "the cancel is audited"
