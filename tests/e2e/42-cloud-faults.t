#!/bin/sh
# Cloud v1 faults: 5xx bursts and a dropped PUT are retried; when quick
# retries run out the study waits for np-queue (111), and only the last try of
# the retry window gives up into upload_failed; a 4xx that cannot succeed fails at once with the
# server's message; an expired session is re-opened once; a failed analysis
# and an expired order give failure reports and processing_failed; a set over
# the size limit is refused.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/cloud.sh"
plan 26
export NP_BACKOFF_MS=20
cloud_start "$T/cloud"
SETTINGS_EXTRA=',"upload":{"max_retries":3}' cloud_home v1
j() { /usr/bin/python3 -c 'import json,sys;d=json.load(open(sys.argv[1]));exec("print("+sys.argv[2]+")")' "$1" "$2"; }

A=1a1a1a1a-0000-4000-8000-000000000001
cloud_study $A
cloud_ctl '{"fail_5xx": 2, "drop_put": 1}'
"$BIN/np-upload" "$STUDY" 2>"$T/a.log"; rc=$?
is "$rc" 0 "upload succeeds through a 5xx burst and a dropped PUT"
like "$(cat "$T/a.log")" "upload attempt failed zip=0 attempt=1" "the failed attempts are logged"
like "$(cloud_state)" '"dropped": 1' "the stand-in dropped one PUT mid-body"
is "$(cloud_events $A)" "upload_succeeded" "upload_succeeded event"

B=1a1a1a1a-0000-4000-8000-000000000002
cloud_clone $B
cloud_ctl '{"fail_5xx": 1000}'
"$BIN/np-upload" "$STUDY" 2>"$T/b.log"; rc=$?
is "$rc" 111 "in-run retries run out on a 5xx: exit 111, np-queue retries later (not failed)"
is "$(grep -c 'upload attempt failed' "$T/b.log")" 3 "max_retries=3 quick retries first"
like "$(j "$STUDY/order.json" 'd["status"] + " " + d["info"]')" "^Uploading waiting for cloud: .*HTTP 503" \
	"order.json: still Uploading, waiting for cloud, with the reason"
is "$(cloud_events $B)" "" "no upload_failed event while waiting"
NP_QUEUE_LAST_TRY=1 "$BIN/np-upload" "$STUDY" 2>"$T/b2.log"; rc=$?
cloud_ctl '{"fail_5xx": 0}'
is "$rc" 1 "the last try of the retry window fails too: exit 1 (to failed/)"
is "$(j "$STUDY/order.json" 'd["status"]')" Failed "order.json status Failed"
like "$(j "$STUDY/order.json" 'd["error"]')" "gave up: .*retry window.*HTTP 503" "the reason says it gave up, and why"
is "$(cloud_events $B)" "upload_failed" "upload_failed event"

C=1a1a1a1a-0000-4000-8000-000000000003
cloud_clone $C
sed -i 's#"Atypical/MSAp/PSP-v1.0"#"not_a_real_product"#' "$STUDY/manifest.json"
"$BIN/np-upload" "$STUDY" 2>"$T/c.log"; rc=$?
is "$rc" 1 "unknown product: fails"
like "$(j "$STUDY/order.json" 'd["error"]')" "Product not found\." "with the server's message"
is "$(grep -c 'upload attempt failed' "$T/c.log")" 0 "at once, without retries"

D=1a1a1a1a-0000-4000-8000-000000000004
cloud_clone $D
sparse=$STUDY/deid/zz-big.bin
truncate -s 1100M "$sparse"
SETTINGS_EXTRA=',"upload":{"max_upload_gb":1}' cloud_home v1
n0=$(cloud_state | /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["counts"]["new_orders"])')
"$BIN/np-upload" "$STUDY" 2>"$T/d.log"; rc=$?
is "$rc" 1 "a set over the limit is refused"
like "$(cat "$T/d.log")" "too large to upload: 1\.07 GB, the maximum upload size is 1 GB" "with a clear message"
is "$(cloud_state | /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["counts"]["new_orders"])')" "$n0" "and no order was created for it"
SETTINGS_EXTRA=',"upload":{"max_retries":3}' cloud_home v1

# A: processing; the session expires after the status call; it reconnects once.
S=$NP_HOME/spool/ready/$A
"$BIN/np-poll" "$S" 2>/dev/null
cloud_ctl '{"expire_in": 2}'
"$BIN/np-poll" "$S" 2>"$T/a2.log"; rc=$?
is "$rc" 0 "an expired session is re-opened and the poll completes"
like "$(cat "$T/a2.log")" "session expired; reconnecting once" "the reconnect is logged"

# Failed analysis.
E=1a1a1a1a-0000-4000-8000-000000000005
cloud_clone $E
cloud_ctl '{"fail_analysis": 1, "steps": 1}'
"$BIN/np-upload" "$STUDY" 2>/dev/null
"$BIN/np-poll" "$STUDY" 2>"$T/e.log"; rc=$?
cloud_ctl '{"fail_analysis": 0}'
is "$rc" 1 "failed analysis: np-poll exits 1"
like "$(cat "$STUDY/results/failure.txt")" "insufficient diffusion directions" "failure report carries the cloud's message"
is "$(cloud_events $E)" "upload_succeeded processing_failed" "processing_failed event"

# Expired (unknown) order.
F=1a1a1a1a-0000-4000-8000-000000000006
mkdir -p "$NP_HOME/spool/uploaded/$F"
echo '{"order_id":"0b5e4bb0-9d0e-4a6c-8a8f-aaaaaaaaaaaa","status":"Processing"}' >"$NP_HOME/spool/uploaded/$F/order.json"
"$BIN/np-poll" "$NP_HOME/spool/uploaded/$F" 2>/dev/null; rc=$?
is "$rc" 1 "unknown order: np-poll exits 1"
is "$(j "$NP_HOME/spool/uploaded/$F/order.json" 'd["status"]')" Expired "shown as Expired (Bucket not found.)"
ok "with a failure report" test -s "$NP_HOME/spool/uploaded/$F/results/failure.json"
