#!/bin/sh
# Study actions (issue 17 section 3): a study the cloud failed is retried from
# the shell (np-study) and the API and ends done with a new order; delete
# works in failed, results and incoming (while an association holds the
# folder) and leaves no file of the study and no PHI in the index, with audit
# rows and a tombstone event, admin only; cancel in results stops the
# delivery, also when the study is claimed by a runner at work; cancel once
# the cloud reports the order Completed is refused (409).
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/deliver.sh"
. "$NP_TOP/tests/lib/httpd.sh"
. "$NP_TOP/tests/lib/spool.sh"
. "$NP_TOP/tests/peers/cloud.sh"
plan 66

webhook_start "$T/hook"
cloud_start "$T/cloud"
SETTINGS_EXTRA=",\"delivery\":{\"retry_delay_s\":0,\"destinations\":[{\"type\":\"rest\",
 \"url\":\"http://127.0.0.1:$HOOK_PORT/results\",\"method\":\"POST\",\"format\":\"pdf\",
 \"body_template\":\"{\\\"id\\\":\\\"{npuid}\\\"}\"}]}" cloud_home v1
Q() { "$BIN/np-queue" --once --backoff-base 0 --backoff-cap 0 "$@" 2>>"$T/queue.log"; }
upload() { Q ready uploaded failed -- "$BIN/np-upload"; }
poll() { Q uploaded results failed -- "$BIN/np-poll"; }
deliver() { Q results done failed -- "$BIN/np-deliver"; }
# poll until the study leaves uploaded (the stand-in finishes after 2 polls)
# an analysis in progress is due again 1 s later (np_queue_hold), as np-sched polls
poll_out() { for _i in 1 2 3 4 5 6; do poll; [ "$(where "$1")" != uploaded ] && break; sleep 1; done; }
hooked() { grep -l "$1" "$T/hook"/*.json 2>/dev/null | wc -l; }
phi() { cat "$NP_HOME/db/agent.sqlite" "$NP_HOME/db/agent.sqlite-wal" 2>/dev/null | grep -ac "$1"; }
sql() { sqlite3 "$NP_HOME/db/agent.sqlite" "$1"; }
# hold_lock FILE LOCK_SH|LOCK_EX: one process holding a flock for 60 s (stop_pid ends it and the lock)
hold_lock() { exec /usr/bin/python3 -c 'import fcntl,sys,time;f=open(sys.argv[1],"a");fcntl.flock(f,getattr(fcntl,sys.argv[2]));time.sleep(60)' "$1" "$2"; }
setname() {
	/usr/bin/python3 -c 'import json,sys;p=sys.argv[1];m=json.load(open(p));m["patient"]["name"]=sys.argv[2]
json.dump(m,open(p,"w"))' "$1/manifest.json" "$2"
}

# ---- three studies the cloud fails ----
A=67000000-0000-4000-8000-00000000000a
B=67000000-0000-4000-8000-00000000000b
F=67000000-0000-4000-8000-00000000000f
cloud_study $A
mkdir -p "$T/tpl" && cp -a "$STUDY" "$T/tpl/$A" # cloud_clone's source, once A has moved on
CLOUD_SRC=$T/tpl/$A
cloud_clone $B
cloud_clone $F
setname "$STUDY" 'DELME^FAILED^ONE'
cloud_ctl '{"fail_analysis": 1}'
upload
upload
upload
for s in $A $B $F; do poll_out $s; done
is "$(where $A) $(where $B) $(where $F)" "failed failed failed" "the cloud failed three analyses: the studies are failed"
cloud_ctl '{"fail_analysis": 0}'

# ---- retry from the shell ----
out=$("$BIN/np-study" retry $A 2>&1); rc=$?
is "$rc" 0 "np-study retry exits 0"
like "$out" "goes back to ready and is uploaded again as a new order" "... and says where the study goes"
like "$out" "retry from=failed to=ready failed_in=uploaded" "... and logs the move from failed (before: from=uploaded)"
is "$(where $A)" ready "the study is back in ready (it failed from uploaded with a failed order)"
ok "the failed order is kept beside it" test -f "$NP_HOME/spool/ready/$A/order-failed-1.json"
nok "... and no order.json starts the new upload" test -f "$NP_HOME/spool/ready/$A/order.json"
like "$(history_of $A)" "uploaded>failed failed>ready$" "the history records the retry"
upload
poll_out $A
deliver
is "$(where $A)" done "the retried study is uploaded again, processed and ends done"
is "$(hooked $A)" 1 "... and its report was delivered once"
is "$(sql "select count(*) from events where npuid='$A' and type='study_retried'")" 1 "a study_retried event"
is "$(sql "select count(*) from audit where npuid='$A' and action='retry' and outcome='success' and actor like 'cli:%'")" 1 \
	"the shell's retry is audited"
"$BIN/np-study" retry $A 2>"$T/r2.err"; rc=$?
is "$rc" 1 "retrying a study that is not failed is refused (exit 1)"
like "$(cat "$T/r2.err")" "is done; only a failed study can be retried" "... with a clear message"

# ---- the API, with an admin and a user session ----
start_httpd
J='Content-Type: application/json'
is "$(req POST /api/auth/login -H "$J" -d '{"password":"Service-Password-123!"}')" 200 "admin logs in"
ADMIN=$(sed -nE 's/^Set-Cookie: np_session=([^;]*);.*/\1/ip' "$T/headers" | tr -d '\r')
CSRF=$(jget "$T/body" csrf_token)
AH="Cookie: np_session=$ADMIN"
AX="X-CSRF-Token: $CSRF"
key=$(cat "$NP_HOME/etc/secrets/http.session_key")
sid=$(openssl rand -hex 32)
ucsrf=$(openssl rand -hex 32)
now=$(date +%s)
ep=$(sql "select saml_epoch from sessions where role='admin' limit 1")
sql "insert into sessions values('$sid','user@example.test','user','saml',$now,$now,'$ucsrf','$ep')"
mac=$(printf '%s' "$sid" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" | sed 's/.*= //')
UH="Cookie: np_session=$sid.$mac"
UX="X-CSRF-Token: $ucsrf"

is "$(req POST /api/studies/$B/retry -H "$UH" -H "$UX")" 200 "POST /api/studies/{id}/retry (user role) answers 200"
is "$(jget "$T/body" state)" ready "... the study goes back to ready"
upload
poll_out $B
deliver
is "$(where $B)" done "the study retried through the API ends done"
is "$(req POST /api/studies/$B/retry -H "$AH" -H "$AX")" 409 "retry of a done study: 409"
like "$(jget "$T/body" error.message)" "only a failed study can be retried" "... with the reason"
is "$(req POST /api/studies/67000000-0000-4000-8000-0000000000ee/retry -H "$AH" -H "$AX")" 404 "retry of an unknown study: 404"

# ---- delete: failed, results, incoming while received ----
R=67000000-0000-4000-8000-0000000000d2
results_study $R --no-dicom
/usr/bin/python3 -c 'import json,sys;p=sys.argv[1];m=json.load(open(p));m["patient"]={"name":"DELME^RESULTS^TWO"}
json.dump(m,open(p,"w"))' "$STUDY/manifest.json"
"$BIN/np-index" --rebuild 2>>"$T/index.log"
ok "the index holds the results study's patient name (the check below can see it)" test "$(phi 'DELME^RESULTS^TWO')" -ge 1
ok "... and the failed study's" test "$(phi 'DELME^FAILED^ONE')" -ge 1

is "$(req DELETE /api/studies/$F -H "$UH" -H "$UX")" 403 "DELETE /api/studies/{id} as a user: 403"
ok "... the study is still there" test -d "$NP_HOME/spool/failed/$F"
"$BIN/np-study" delete $F </dev/null 2>"$T/d0.err"; rc=$?
is "$rc" 1 "np-study delete without --yes and no terminal keeps the study"
ok "... the study is still there" test -d "$NP_HOME/spool/failed/$F"
is "$(req DELETE /api/studies/$F -H "$AH" -H "$AX")" 200 "DELETE of a failed study as admin: 200"
is "$(jget "$T/body" state)" deleted "... state deleted"
is "$(req DELETE /api/studies/$R -H "$AH" -H "$AX")" 200 "DELETE of a study in results: 200"
is "$(find "$NP_HOME/spool" -name "*$F*" -o -name "*$R*" | wc -l)" 0 "no file of either study is left under spool/"
is "$(sql "select count(*) from studies where npuid in ('$F','$R')")" 0 "their index rows are gone"
is "$(phi 'DELME^FAILED^ONE') $(phi 'DELME^RESULTS^TWO')" "0 0" "no patient name of theirs is left in the database files"
is "$(sql "select count(*) from events where type='study_deleted' and npuid in ('$F','$R') and detail like 'deleted by % at %'")" 2 \
	"a tombstone event each (who, when)"
is "$(sql "select count(*) from audit where action='delete' and outcome='success' and npuid in ('$F','$R')")" 2 \
	"both deletes are audited"
is "$(req GET /api/study-info/$F -H "$AH")" 404 "the deleted study is not found any more"

I=67000000-0000-4000-8000-0000000000d3
UID=1.2.826.0.1.3680043.2.1125.67.3
mkdir -p "$NP_HOME/spool/incoming/$UID"
cp "$(find "$T/src" -name '*.dcm' | head -1)" "$NP_HOME/spool/incoming/$UID/1.dcm"
printf '%s' $I >"$NP_HOME/spool/incoming/$UID/npuid"
# np-recv holds the folder's lock shared while an association may write
hold_lock "$NP_HOME/spool/incoming/$UID/.lock" LOCK_SH &
LOCKER=$!
at_exit "stop_pid $LOCKER"
sleep 0.3
is "$(req DELETE /api/studies/$I -H "$AH" -H "$AX")" 200 "DELETE of an incoming study while an association holds it: 200"
is "$(find "$NP_HOME/spool" -name "*$I*" -o -name "*$UID*" | wc -l)" 0 "... no file of it is left under spool/"
stop_pid $LOCKER

# ---- cancel ----
C1=67000000-0000-4000-8000-0000000000c1
results_study $C1 --no-dicom
is "$(req POST /api/studies/$C1/cancel -H "$UH" -H "$UX")" 200 "cancel of a study in results (delivery not begun): 200"
is "$(jget "$T/body" state)" cancelled "... state cancelled"
deliver
is "$(where $C1)" cancelled "the study stays cancelled when the delivery runner comes"
is "$(hooked $C1)" 0 "... and the destination receives nothing"

C2=67000000-0000-4000-8000-0000000000c2
results_study $C2 --no-dicom
mkdir -p "$NP_HOME/spool/results/.work" "$NP_HOME/spool/results/.queue"
mv "$NP_HOME/spool/results/$C2" "$NP_HOME/spool/results/.work/$C2"
# a runner of results at work on the study: it holds the stage lock
hold_lock "$NP_HOME/spool/results/.queue/.lock" LOCK_EX &
RUNNER=$!
at_exit "stop_pid $RUNNER"
sleep 0.3
is "$(req POST /api/studies/$C2/cancel -H "$AH" -H "$AX")" 202 "cancel of a study a runner is delivering: 202 (left to the runner)"
like "$(jget "$T/body" message)" "at work on the study" "... the answer says so"
"$BIN/np-deliver" "$NP_HOME/spool/results/.work/$C2" 2>"$T/c2.log"; rc=$?
is "$rc" 100 "np-deliver at work on the cancelled study stops (exit 100)"
is "$(hooked $C2)" 0 "... before sending anything"
stop_pid $RUNNER
deliver
is "$(where $C2)" cancelled "the runner ends the cancelled study in cancelled, not failed or done"
is "$(hooked $C2)" 0 "the destination never received it"
ok "the cancel mark is gone once settled" test ! -e "$NP_HOME/spool/.marks/$C2.json"

# Cancel of a delivery under way: one destination already has the results.
C9=67000000-0000-4000-8000-0000000000c9
results_study $C9 --no-dicom
cat >"$NP_HOME/spool/results/$C9/deliveries.json" <<'JSON'
{"kind": "results", "destinations": [
 {"index": 0, "type": "rest", "name": "ris", "state": "sent", "attempts": 1, "sent_at": "2026-12-07T10:00:00Z"},
 {"index": 1, "type": "rest", "name": "archive", "state": "failed", "attempts": 3, "error": "HTTP 503"}]}
JSON
is "$(req POST /api/studies/$C9/cancel -H "$AH" -H "$AX")" 200 "cancel of a study one destination already received: 200"
like "$(jget "$T/body" message)" "1 of 2 destinations had already received the results" "... the answer says what had gone out"
is "$(jget "$NP_HOME/spool/cancelled/$C9/order.json" status)" Completed "... the cloud's order stays Completed (only the delivery was cancelled)"
req GET "/api/studies?size=100" -H "$AH" >/dev/null
is "$(jq -r ".items[] | select(.npuid==\"$C9\") | .delivery.label" "$T/body")" "Delivery cancelled (1/2 delivered)" \
	"... and the study's delivery label says so"

C3=67000000-0000-4000-8000-0000000000c3
cloud_clone $C3
upload
for i in 1 2 3 4; do
	req GET /api/studies/$C3/status -H "$AH" >/dev/null
	[ "$(jget "$NP_HOME/spool/uploaded/$C3/order.json" status)" = Completed ] && break
done
is "$(jget "$NP_HOME/spool/uploaded/$C3/order.json" status)" Completed "the cloud reports the order Completed (results not fetched yet)"
is "$(req POST /api/studies/$C3/cancel -H "$AH" -H "$AX")" 409 "cancel after the cloud reports Completed: 409"
like "$(jget "$T/body" error.message)" "already completed" "... with the reason"
is "$(where $C3)" uploaded "... and the study goes on"

C4=67000000-0000-4000-8000-0000000000c4
cloud_clone $C4
out=$("$BIN/np-study" cancel $C4 2>&1); rc=$?
is "$rc" 0 "np-study cancel before upload exits 0"
like "$out" "cancelled before upload" "... and says so"
is "$(where $C4)" cancelled "the study is cancelled"
upload
is "$(where $C4)" cancelled "the upload runner leaves it alone"
is "$(req POST /api/studies/$C4/cancel -H "$AH" -H "$AX")" 409 "cancel of a cancelled study: 409"

# ---- retry from the index event when history.jsonl lost the line ----
G=67000000-0000-4000-8000-0000000000f9
D=$(mkstudy failed)
sql "insert into events (ts,npuid,type,level,detail) values ('2026-01-01T00:00:00Z','$D','queue_failed','error','stage=stable cmd=np-qc np-qc exit 100')"
out=$("$BIN/np-study" retry $D 2>&1); rc=$?
is "$rc" 0 "retry falls back to the queue_failed event's stage"
is "$(where $D)" stable "... and the study goes back to stable"
"$BIN/np-study" retry $G 2>/dev/null; rc=$?
is "$rc" 1 "retry of an unknown study: exit 1"
nok "no PHI in the logs of the runners" grep -qaE 'DELME|Doe\^John' "$T/queue.log" "$T/httpd.log"
