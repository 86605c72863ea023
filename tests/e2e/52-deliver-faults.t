#!/bin/sh
# np-deliver faults: a destination down then up is delivered on a retry
# without resending the others; a temporary failure waits on the retry.*
# schedule and fails only when retry.give_up_seconds have passed (or on
# np-queue's last try), with the event; a permanent answer (HTTP 4xx) fails at
# once; back-off between attempts; a crash before sending converges. A
# finished study with failed destinations: POST /api/results/ID/resend makes
# one attempt to each destination not delivered yet (never the delivered one
# again unless named with ?destination=N), at once, and np-deliver --failures
# (np-sched, every minute) retries the ones still down on the retry.* schedule.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/deliver.sh"
. "$NP_TOP/tests/lib/httpd.sh"
plan 43
st() { pyget "$STUDY/deliveries.json" "\",\".join('%s/%d' % (e['state'], e['attempts']) for e in d['destinations'])"; }
pyget() { /usr/bin/python3 -c 'import json,sys;d=json.load(open(sys.argv[1]));print(eval(sys.argv[2]))' "$1" "$2"; }
events() { sqlite3 "$NP_HOME/db/agent.sqlite" "select count(*) from events where type='$1' and npuid='$2'"; }
U=1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b
results_study $U
HOOK_PORT=$(free_port)
PACS=$(free_port)
webhook_start "$T/up"
UP=$HOOK_PORT
HOOK_PORT=$(free_port)
dests() { printf '{"retry":{"initial_seconds":%s,"max_seconds":3600,"give_up_seconds":600},"delivery":{"retry_delay_s":0,"destinations":[%s]}}' "$1" "$2"; }
REST() { printf '{"type":"rest","url":"http://127.0.0.1:%s/r"}' "$1"; }
settings "$(dests 1 "$(REST $HOOK_PORT),$(REST $UP),{\"type\":\"dicom_pdf\",\"host\":\"127.0.0.1\",\"port\":$PACS,\"ae_title\":\"DEST\"}")"

"$BIN/np-deliver" "$STUDY" 2>"$T/log"; rc=$?
is "$rc" 111 "two destinations down: exit 111 (retry later)"
is "$(st)" "pending/1,sent/1,pending/1" "the reachable destination is sent, the others pending"
like "$(pyget "$STUDY/deliveries.json" 'd["destinations"][0]["error"]')" "REST request failed" "the error is recorded"
webhook_start "$T/down"
storescp_start "$T/rx" "$PACS" +xa
NP_FAKE_NOW=$(($(date +%s) + 5)) "$BIN/np-deliver" "$STUDY" 2>>"$T/log"; rc=$?
is "$rc" 0 "destinations up again: delivered on the retry"
is "$(st)" "sent/2,sent/1,sent/2" "each destination sent once"
is "$(ls "$T/up" | wc -l)" 1 "the destination already served was not sent again"
is "$(ls "$T/rx" | wc -l)" 1 "the PACS got the PDF on the retry"
is "$(events report_delivered $U)" 1 "report_delivered once all were sent"
"$BIN/np-deliver" "$STUDY" 2>>"$T/log"; rc=$?
is "$rc $(ls "$T/up" "$T/down" | grep -c json)" "0 2" "a re-run sends nothing more"

V=2f3e4d5c-6b7a-4899-8a1b-2c3d4e5f6a7b
results_study $V --no-dicom
DEAD=$(free_port)
settings "$(dests 1 "$(REST $DEAD),$(REST $UP)")"
now=$(date +%s)
"$BIN/np-deliver" "$STUDY" 2>>"$T/log"; r1=$?
NP_FAKE_NOW=$((now + 100)) "$BIN/np-deliver" "$STUDY" 2>>"$T/log"; r2=$?
NP_FAKE_NOW=$((now + 300)) "$BIN/np-deliver" "$STUDY" 2>>"$T/log"; r3=$?
NP_FAKE_NOW=$((now + 500)) "$BIN/np-deliver" "$STUDY" 2>>"$T/log"; r4=$?
is "$r1 $r2 $r3 $r4" "111 111 111 111" "down (connection refused): still waiting after 4 attempts within retry.give_up_seconds"
is "$(st)" "pending/4,sent/1" "pending, not failed; the other destination sent once"
like "$(pyget "$STUDY/deliveries.json" 'd["destinations"][0]["error_class"]')" "temporary" "the failure is recorded as temporary"
NP_FAKE_NOW=$((now + 700)) "$BIN/np-deliver" "$STUDY" 2>>"$T/log"; rc=$?
is "$rc $(st)" "0 failed/5,sent/1" "past retry.give_up_seconds: failed, the run finishes (0)"
is "$(events report_delivery_failed $V)" 1 "one report_delivery_failed event"
like "$(sqlite3 "$NP_HOME/db/agent.sqlite" "select detail from events where type='report_delivery_failed' and npuid='$V'")" \
	"^report dest=0 type=rest attempts=5: gave up after .*retry.give_up_seconds=600" "the event names the destination and says it gave up, not the patient"
is "$(events report_delivered $V)" 0 "no report_delivered while a destination failed"
"$BIN/np-deliver" "$STUDY" 2>>"$T/log"; rc=$?
is "$rc $(st)" "0 failed/5,sent/1" "no further attempt"
"$BIN/np-deliver" --resend --dest 0 "$STUDY" 2>>"$T/log"; rc=$?
is "$rc $(st) $(events report_delivery_failed $V)" "111 pending/1,sent/1 1" \
	"--resend makes one new attempt; still down, it waits on the retry.* schedule (exit 111)"

# A permanent answer (HTTP 404) fails the destination at once.
P=5c6d7e8f-9012-4b23-9d4e-5f6a7b8c9d0e
results_study $P --no-dicom
HOOK_PORT=$(free_port)
webhook_start "$T/gone" --status 404
settings "$(dests 1 "$(REST $HOOK_PORT)")"
"$BIN/np-deliver" "$STUDY" 2>>"$T/log"; rc=$?
is "$rc $(st)" "0 failed/1" "HTTP 404: failed on the first attempt"
like "$(pyget "$STUDY/deliveries.json" 'd["destinations"][0]["error_class"]')" "permanent" "recorded as permanent"

# np-queue's last try (NP_QUEUE_LAST_TRY=1) decides a waiting destination now.
L=6d7e8f90-1234-4c45-8e5f-6a7b8c9d0e1f
results_study $L --no-dicom
settings "$(dests 3600 "$(REST $DEAD)")"
"$BIN/np-deliver" "$STUDY" 2>>"$T/log"; rc=$?
is "$rc $(st)" "111 pending/1" "a first temporary failure: waiting"
NP_QUEUE_LAST_TRY=1 "$BIN/np-deliver" "$STUDY" 2>>"$T/log"; rc=$?
is "$rc $(st)" "0 failed/2" "the last try is made at once, whatever the back-off, and fails the destination"

W=3a4b5c6d-7e8f-4a01-9b2c-3d4e5f6a7b8c
results_study $W --no-dicom
settings "$(dests 3600 "$(REST $DEAD)" | sed 's/"give_up_seconds":600/"give_up_seconds":86400/')"
"$BIN/np-deliver" "$STUDY" 2>>"$T/log"
"$BIN/np-deliver" "$STUDY" 2>>"$T/log"; rc=$?
is "$rc $(st)" "111 pending/1" "within the back-off nothing is attempted"
NP_FAKE_NOW=$(($(date +%s) + 3700)) "$BIN/np-deliver" "$STUDY" 2>>"$T/log"
is "$(st)" "pending/2" "after the back-off the second attempt is made"

X=4b5c6d7e-8f90-4a12-8c3d-4e5f6a7b8c9d
results_study $X --no-dicom
settings "$(dests 1 "$(REST $UP)")"
n0=$(ls "$T/up" | wc -l)
NP_CRASH_AT=deliver_before_send "$BIN/np-deliver" "$STUDY" 2>>"$T/log"; rc=$?
is "$rc $(st)" "77 sending/1" "crash before sending: the attempt is on record"
"$BIN/np-deliver" "$STUDY" 2>>"$T/log"; rc=$?
is "$rc $(st)" "0 sent/2" "the re-run converges"
is "$(($(ls "$T/up" | wc -l) - n0))" 1 "and sent exactly once"
# A finished study left at "Delivered 1/4 (3 failed)", resent from the API.
R=7e8f9012-3456-4d67-8f01-2a3b4c5d6e7f
results_study $R --no-dicom
HOOK_PORT=$(free_port)
webhook_start "$T/r0"
R0=$HOOK_PORT
R1=$(free_port) R3=$(free_port)
HOOK_PORT=$(free_port)
webhook_start "$T/r2" --fail-first 2
R2=$HOOK_PORT
# retry_delay_s at its default (60): a resend must not wait on it.
settings "{\"retry\":{\"initial_seconds\":2,\"max_seconds\":3600,\"give_up_seconds\":60},
 \"delivery\":{\"destinations\":[$(REST $R0),$(REST $R1),$(REST $R2),$(REST $R3)]}}"
NP_QUEUE_LAST_TRY=1 "$BIN/np-deliver" "$STUDY" 2>>"$T/log"; rc=$?
is "$rc $(st)" "0 sent/1,failed/1,failed/1,failed/1" "set-up: delivered to 1 of 4, 3 failed"
mkdir -p "$NP_HOME/spool/done"
mv "$STUDY" "$NP_HOME/spool/done/$R"
STUDY=$NP_HOME/spool/done/$R
HOOK_PORT=$R1
webhook_start "$T/r1"
start_httpd --insecure-no-auth
t0=$(date +%s%N)
code=$(req POST "/api/results/$R/resend")
ms=$((($(date +%s%N) - t0) / 1000000))
is "$code" 200 "resend of the finished study"
is "$(ls "$T/r0" | grep -c json)" 1 "the destination that had it is not sent it again"
is "$(st)" "sent/1,sent/1,pending/1,pending/1" "one attempt each: the one back up is sent, the others wait"
ok "the request did not wait between attempts (${ms} ms)" test "$ms" -lt 4000
is "$(jq -r '[.finished, .waiting, .message] | join("|")' "$T/body")" \
	"false|2|Delivered 2/4; 2 waiting to retry automatically" "the answer says what was sent and what waits"
like "$(pyget "$STUDY/deliveries.json" 'd["destinations"][3]["error_class"], d["destinations"][3]["next_attempt"] > 0')" \
	"temporary.*True" "a destination still down is temporary, with its next attempt"
now=$(date +%s)
NP_FAKE_NOW=$((now + 10)) "$BIN/np-deliver" --failures 2>>"$T/log"; rc=$?
is "$rc $(st)" "111 sent/1,sent/1,sent/2,pending/2" \
	"np-deliver --failures retries the waiting ones of a done/ study when due"
is "$(ls "$T/r0" "$T/r1" | grep -c json) $(ls "$T/r2" | grep -c json)" "2 3" "each sink got it once (r2 after two 503s)"
NP_FAKE_NOW=$((now + 11)) "$BIN/np-deliver" --failures 2>>"$T/log"; rc=$?
is "$rc $(st)" "111 sent/1,sent/1,sent/2,pending/2" "not before its back-off"
NP_FAKE_NOW=$((now + 100)) "$BIN/np-deliver" --failures 2>>"$T/log"; rc=$?
is "$rc $(st)" "0 sent/1,sent/1,sent/2,failed/3" "past retry.give_up_seconds it fails"
is "$(events report_delivery_failed $R)" 4 "with its event (3 at set-up, 1 now)"
NP_FAKE_NOW=$((now + 200)) "$BIN/np-deliver" --failures 2>>"$T/log"; rc=$?
is "$rc $(st)" "0 sent/1,sent/1,sent/2,failed/3" "a finished study is not revisited"
is "$(req POST "/api/results/$R/resend?destination=0")" 200 "an explicit resend to a delivered destination"
is "$(ls "$T/r0" | grep -c json) $(st)" "2 sent/1,sent/1,sent/2,failed/3" "is sent again, the others untouched"
nok "no PHI in the logs" grep -qaE 'Doe\^John|MRN-000123|ACC20240001|CANARY' "$T/log"
