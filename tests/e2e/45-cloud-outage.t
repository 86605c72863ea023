#!/bin/sh
# Outages do not fail studies for good (issue 17, 3). With the retry.*
# settings scaled down (first retry after 1 s, doubling to 4 s, give up after
# 60 s): the cloud down (connection refused: stand-in stopped) for ~20 s, then
# back, and the REST destination down for a while, then up: the study ends
# done and never passes through failed; while it waits, GET /api/studies,
# GET /api/study-info and np-queue --waiting say why and when it is tried
# next. A permanent answer (invalid API key) fails a study at once; a cloud
# still down when the give-up window has passed fails it, saying so.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
. "$NP_TOP/tests/peers/cloud.sh"
. "$NP_TOP/tests/peers/deliver.sh"
plan 34
export PATH="$BIN:$SBIN:$PATH"
j() { /usr/bin/python3 -c 'import json,sys;d=json.load(open(sys.argv[1]));exec("print("+sys.argv[2]+")")' "$1" "$2"; }
state_of() { for _s in ready uploaded results done failed; do
	[ -d "$NP_HOME/spool/$_s/$1" ] || [ -d "$NP_HOME/spool/$_s/.work/$1" ] && { echo "$_s"; return; }; done; echo none; }

CPORT=$(free_port)
HOOK_PORT=$(free_port)
cloud_start "$T/cloud" --port "$CPORT"
SETTINGS_EXTRA=',"upload":{"max_retries":0},"retry":{"initial_seconds":1,"max_seconds":4,"give_up_seconds":60},"delivery":{"retry_delay_s":0,"destinations":[{"type":"rest","url":"http://127.0.0.1:'$HOOK_PORT'/results"}]}' \
	cloud_home v1
U=45454545-0000-4000-8000-000000000001
cloud_study $U
# A pristine copy to clone later studies from (the runners move this one on).
mkdir -p "$T/pristine" && cp -a "$STUDY" "$T/pristine/" && CLOUD_SRC=$T/pristine/$U
# clone NPUID: a new study built aside, then moved into ready/ at once.
clone() { cloud_clone "$1" tmp && mv "$STUDY" "$NP_HOME/spool/ready/$1" && STUDY=$NP_HOME/spool/ready/$1; }
stop_pid "$CLOUD_PID" # the cloud is down: connection refused

# The agent's upload and delivery runners as s6 runs them (no flags: the
# retry schedule comes from the settings).
np-queue ready uploaded failed -- np-upload 2>>"$T/upload.log" &
UPQ=$!
at_exit "stop_pid $UPQ"
np-queue results done failed -- np-deliver 2>>"$T/deliver.log" &
DLQ=$!
at_exit "stop_pid $DLQ"
start_httpd --insecure-no-auth
t0=$(date +%s)

ok "while the cloud is down the study waits (attempts 2+) in ready/" \
	wait_for "grep -q 'attempt=2 next_try' '$T/upload.log'" 15
is "$(state_of $U)" ready "it is still in ready/, not failed"
req GET /api/studies >/dev/null
is "$(jq -r ".items[] | select(.npuid==\"$U\") | .waiting.stage" "$T/body")" ready "GET /api/studies: waiting in stage ready"
like "$(jq -r ".items[] | select(.npuid==\"$U\") | .waiting.reason" "$T/body")" "Couldn't connect|Connection refused" \
	"with the last error in words"
like "$(jq -r ".items[] | select(.npuid==\"$U\") | .waiting.next_try" "$T/body")" '^20[0-9-]{8}T[0-9:]{8}Z$' "and the next try"
req GET /api/study-info/$U >/dev/null
like "$(jq -r '.waiting | "\(.attempts) \(.since)"' "$T/body")" '^[1-9][0-9]* 20[0-9-]{8}T' "GET /api/study-info: attempts and since"
like "$(np-queue --waiting)" "^$U ready: waiting for the cloud, next try at [0-9-]+ [0-9:]+ .*attempts\): .*(connect|refused)" \
	"np-queue --waiting lists it with the next try in local time and the reason"
nok "no PHI in the waiting reason" grep -qaE 'Doe\^John|MRN-000123|ACC20240001' "$T/body"

# Back after ~20 s.
while [ $(($(date +%s) - t0)) -lt 20 ]; do sleep 1; done
cloud_start "$T/cloud" --port "$CPORT"
cloud_ctl '{"steps": 1}'
ok "the cloud is back: the upload goes through on a retry" wait_for "[ \"\$(state_of $U)\" = uploaded ]" 15
ok "the queue entry is gone with the wait" sh -c "! np-queue --waiting | grep -q $U"
for _i in 1 2 3 4 5 6 7 8 9 10; do
	np-queue --once uploaded results failed -- np-poll 2>>"$T/poll.log"
	[ "$(state_of $U)" = results ] && break
	sleep 1
done
is "$(state_of $U)" results "results downloaded"

# The destination is down: the study stays in results/ and waits.
ok "the destination is down: the delivery waits" wait_for "grep -q '$U delivery attempt failed dest=0 type=rest attempt=2' '$T/deliver.log'" 15
is "$(state_of $U)" results "the study stays in results/, not done or failed"
req GET /api/study-info/$U >/dev/null
like "$(jq -r '.waiting | "\(.stage) \(.reason)"' "$T/body")" "^results destination 1 \(rest\): REST request failed" \
	"the API says it waits for destination 1, and why"
webhook_start "$T/hook"
ok "destination up: delivered, study done" wait_for "[ \"\$(state_of $U)\" = done ]" 15
is "$(ls "$T/hook" | grep -c json)" 1 "the destination got the report once"
is "$(j "$NP_HOME/spool/done/$U/deliveries.json" 'd["destinations"][0]["state"]')" sent "deliveries.json: sent"
nok "the study never passed through failed" grep -q '"to": *"failed"' "$NP_HOME/spool/done/$U/history.jsonl"
is "$(cloud_events $U | tr ' ' '\n' | grep -c _failed)" 0 "no *_failed event"
req GET /api/study-info/$U >/dev/null
is "$(jq -r '.waiting' "$T/body")" null "no longer waiting"

# A permanent answer fails at once: an invalid API key (403 API key not found).
V=45454545-0000-4000-8000-000000000002
printf 'wrong-key' | np-config set-secret cloud.api_key 2>/dev/null
clone $V
ok "invalid API key: failed" wait_for "[ \"\$(state_of $V)\" = failed ]" 10
like "$(j "$NP_HOME/spool/failed/$V/order.json" 'd["error"]')" "API key not found" "with the cloud's answer"
is "$(grep -c "$V upload waiting for the cloud" "$T/upload.log")" 0 "at once, without waiting to retry"
printf 'test-api-key' | np-config set-secret cloud.api_key 2>/dev/null

# The give-up window: a cloud that does not come back (give-up shortened to
# 8 s while the study waits, so the test stays short: np-queue reads the
# settings at each retry).
stop_pid "$CLOUD_PID"
W=45454545-0000-4000-8000-000000000003
clone $W
ok "the cloud is down again: the study waits" wait_for "grep -q '$W upload waiting for the cloud' '$T/upload.log'" 10
sed -i 's/"give_up_seconds":60/"give_up_seconds":8/' "$NP_HOME/etc/neuropacs.json"
ok "a cloud down past retry.give_up_seconds (changed to 8 s, applied at the next retry) fails the study" \
	wait_for "[ \"\$(state_of $W)\" = failed ]" 20
like "$(j "$NP_HOME/spool/failed/$W/order.json" 'd["error"]')" "^gave up: the cloud still failed at the end of the retry window: .*(connect|refused)" \
	"the reason says it gave up at the end of the retry window, and why"
like "$(tail -1 "$NP_HOME/spool/failed/$W/history.jsonl")" "np-upload exit 1" "routed to failed by np-upload's own give-up"
is "$(cloud_events $W)" "upload_failed" "upload_failed event (Upload Failed notification)"

# A long analysis is a wait, not an outage: np-poll's "not finished yet"
# neither counts an attempt nor starts the give-up window (2 s here), so a
# study polled for longer than the window stays in uploaded/ and ends done.
cloud_start "$T/cloud" --port "$CPORT"
cloud_ctl '{"steps": 7}'
sed -i 's/"give_up_seconds":8/"give_up_seconds":2/' "$NP_HOME/etc/neuropacs.json"
X=45454545-0000-4000-8000-000000000004
clone $X
ok "long analysis: uploaded" wait_for "[ \"\$(state_of $X)\" = uploaded ]" 15
for _i in 1 2 3 4 5; do
	np-queue --once uploaded results failed -- np-poll 2>>"$T/poll.log"
	sleep 1
done
is "$(state_of $X)" uploaded "polled 5 times over 5 s (window 2 s): still uploaded, not failed"
is "$(jq -r '.attempts' "$NP_HOME/spool/uploaded/.queue/$X.json")" 0 "no attempt counted for an analysis in progress"
# The cloud goes down while the study waits for its results: it is shown
# as waiting for the cloud (np-poll notes the error), and a restarted cloud
# still knows the order.
stop_pid "$CLOUD_PID"
np-queue --once uploaded results failed -- np-poll 2>>"$T/poll.log"
like "$(np-queue --waiting)" "^$X uploaded: waiting for the cloud, next try at .*(connect|refused)" \
	"cloud down while analysing: np-queue --waiting lists the study in uploaded with the reason"
req GET "/api/studies?size=50" >/dev/null
is "$(jq -r ".items[] | select(.npuid==\"$X\") | .waiting.stage" "$T/body")" uploaded "... and GET /api/studies says waiting in uploaded"
cloud_start "$T/cloud" --port "$CPORT"
sed -i 's/"give_up_seconds":2/"give_up_seconds":600/' "$NP_HOME/etc/neuropacs.json"
for _i in 1 2 3 4 5 6 7 8; do
	np-queue --once uploaded results failed -- np-poll 2>>"$T/poll.log"
	[ "$(state_of $X)" = uploaded ] || break
	sleep 1
done
ok "the analysis finishes: results, then done" wait_for "[ \"\$(state_of $X)\" = done ]" 15
