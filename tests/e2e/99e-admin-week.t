#!/bin/sh
# An admin's week (issue 17): the whole supervised appliance as make run
# starts it (sbin/np-run.sh, its own process group), the cloud stand-in on
# 127.0.0.1, studies sent with storescu, and the ordinary life of an
# installation in between:
#   Monday     a study goes through
#   Tuesday    settings saved while a study is mid-upload (slow cloud)
#   Wednesday  a cloud outage (stand-in stopped; the retry.* backoff scaled
#              down so ~15 s stand for a ten-minute outage): the study waits,
#              never fails, and goes through when the cloud is back
#   Thursday   Ctrl-C while a study is on its way, start again
#   Friday     make stop while a study waits for its results, start again
#   Weekend    a study the cloud failed retried (np-study), a mis-sent one
#              deleted (API), cancel on arrival, in ready/, while analysed,
#              and while its delivery waits
# At the end every study sent is done exactly once: one spool folder (in
# done/), one index row, one cloud order, one delivery, each with its own
# StudyInstanceUID (nothing lost, duplicated or mislabelled).
. "$(dirname "$0")/../lib/tap.sh"
# As root, np-run.sh runs the services as the user neuropacs, which cannot enter
# this test's folder (0700): keep them as root here (08-privilege tests the split).
export NP_USER=root
. "$NP_TOP/tests/peers/deliver.sh"
. "$NP_TOP/tests/peers/cloud.sh"
command -v s6-svscan >/dev/null || skip_all "s6 not installed"
command -v storescu >/dev/null || skip_all "dcmtk not installed"
command -v setsid >/dev/null || skip_all "setsid (util-linux) not installed"
plan 60

DICOM=$(free_port) HTTP=$(free_port) CPORT=$(free_port)
PW='Service-Password-123!'
export NP_SBIN=$SBIN NP_BIN=$BIN
cloud_start "$T/cloud" --port "$CPORT" --fault steps=1
webhook_start "$T/hook"
SETTINGS_EXTRA=",\"dicom\":{\"port\":$DICOM,\"stabilization_seconds\":2,\"scan_interval_seconds\":1},
 \"http\":{\"port\":$HTTP,\"bind\":\"127.0.0.1\"},
 \"upload\":{\"max_retries\":0},\"retry\":{\"initial_seconds\":1,\"max_seconds\":4,\"give_up_seconds\":3600},
 \"delivery\":{\"retry_delay_s\":0,\"destinations\":[{\"type\":\"rest\",\"url\":\"http://127.0.0.1:$HOOK_PORT/results\"}]}"
cloud_home v1
"$SBIN/np-init" --first-run --non-interactive >/dev/null 2>&1

# ---- the tree, as make run starts and stops it ----
nsvc() { ls -d "$NP_HOME"/service/*/ 2>/dev/null | wc -l | tr -d ' '; }
nup() { for s in "$NP_HOME"/service/*/; do s6-svstat -o up "$s" 2>/dev/null; done | grep -c true; }
health() { curl -sf "http://127.0.0.1:$HTTP/api/health" >/dev/null; }
# start: np-run.sh in a session of its own (a terminal's foreground job;
# env --default-signal: a script's background job starts with SIGINT ignored).
start() {
	env --default-signal=INT setsid sh "$NP_TOP/sbin/np-run.sh" >>"$T/run.log" 2>&1 &
	RUN=$!
	wait_for 'pgrep -P $RUN -x s6-svscan >/dev/null' 60 && wait_for '[ "$(nup)" = "$(nsvc)" ]' 60 && wait_for health 30
}
stopped() { wait_for "! kill -0 $RUN 2>/dev/null" 30; }
at_exit "\"\$SBIN/np-svscan\" --stop --grace 2 --home '$NP_HOME' >/dev/null 2>&1; kill -9 -\$RUN 2>/dev/null"

# ---- studies ----
# Each study has its own seed, hence its own StudyInstanceUID. SENT lists
# "name uid" pairs; every one must end done exactly once.
SENT=""
mkstudy() {
	/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/studies/$1" --ndir 6 --nsl 2 --size 32 --ifu --seed "$2" >/dev/null
	/usr/bin/python3 -c 'import pydicom,sys,glob;print(pydicom.dcmread(sorted(glob.glob(sys.argv[1]+"/*/*.dcm"))[0]).StudyInstanceUID)' \
		"$T/studies/$1"
}
send() { # send NAME: storescu, as a PACS does
	storescu -aec NEUROPACS_SCP +sd +r +sp '*.dcm' 127.0.0.1 "$DICOM" "$T/studies/$1" >>"$T/scu.log" 2>&1
}
db() { sqlite3 "$NP_HOME/db/agent.sqlite" "$1"; }
npuid_of() { db "SELECT npuid FROM studies WHERE study_uid='$1'" | head -1; }
state_of() { # npuid -> its spool state (or .work of it)
	for s in incoming stable qc-passed qc-failed ready uploaded results done failed cancelled; do
		[ -d "$NP_HOME/spool/$s/$1" ] || [ -d "$NP_HOME/spool/$s/.work/$1" ] && { echo $s; return; }
	done
	echo none
}
in_work() { [ -d "$NP_HOME/spool/$1/.work/$2" ]; }
# np-sched polls on its cron (every 5 minutes by default); the test polls the
# same way, faster.
poll() { PATH="$BIN:$SBIN:$PATH" "$BIN/np-queue" --once uploaded results failed -- np-poll >>"$T/poll.log" 2>&1; }
# the npuid of study UID once it is known (np-recv names it on arrival)
wait_npuid() { wait_for "[ -n \"\$(npuid_of $1)\" ]" 30; npuid_of "$1"; }
# until_done NPUID [SECONDS]: poll until the study is done (or failed)
until_done() {
	_i=0
	while [ $_i -lt "${2:-60}" ]; do
		case $(state_of "$1") in done | failed) break ;; uploaded) poll ;; esac
		sleep 1
		_i=$((_i + 1))
	done
	[ "$(state_of "$1")" = done ]
}

ok "the appliance starts (every service up, /health answers)" start

# ---- Monday: a study goes through ----
A=$(mkstudy mon 101)
SENT="$SENT mon:$A"
ok "Monday: storescu sends a study" send mon
NA=$(wait_npuid "$A")
like "$NA" '^[0-9a-f-]{36}$' "... it has its npuid"
ok "... and ends done" until_done "$NA"

# ---- Tuesday: settings saved while a study is mid-upload ----
BASE="http://127.0.0.1:$HTTP"
curl -s -c "$T/jar" -H 'Content-Type: application/json' -d "{\"password\":\"$PW\"}" "$BASE/api/auth/login" >"$T/login.json"
CSRF=$(jget "$T/login.json" 'd.get("csrf_token","")')
put() {
	curl -s -b "$T/jar" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' \
		-X PUT -d "$1" -o "$T/put.json" -w '%{http_code}' "$BASE/api/settings"
}
B=$(mkstudy tue 202)
SENT="$SENT tue:$B"
cloud_ctl '{"slow_ms":400}'
ok "Tuesday: a study is sent while the cloud answers slowly" send tue
NB=$(wait_npuid "$B")
i=0
while ! in_work ready "$NB" && [ "$(state_of "$NB")" != uploaded ] && [ $i -lt 6000 ]; do sleep 0.01; i=$((i + 1)); done
if in_work ready "$NB"; then caught=mid-upload; else caught="in $(state_of "$NB")"; fi
diag "settings saved with the study $caught"
is "$caught" mid-upload "the study is caught mid-upload"
is "$(put '{"retry":{"max_seconds":5},"dicom":{"stabilization_seconds":3}}')" 200 "PUT /api/settings answers 200"
cloud_ctl '{"slow_ms":0}'
ok "... the study mid-upload still ends done" until_done "$NB"
is "$(grep -c '"call": "newJob"' "$T/cloud/requests.jsonl")" 2 "... with one cloud order each so far"
is "$("$BIN/np-config" get retry.max_seconds) $("$BIN/np-config" get dicom.stabilization_seconds)" "5 3" \
	"... and the new settings are saved"

# ---- Wednesday: a cloud outage ----
C=$(mkstudy wed 303)
SENT="$SENT wed:$C"
stop_pid "$CLOUD_PID" # connection refused from now on
t0=$(date +%s)
ok "Wednesday: the cloud is down; a study is sent" send wed
NC=$(wait_npuid "$C")
ok "... it waits for the cloud in ready/" wait_for "PATH='$BIN:$SBIN:$PATH' '$BIN/np-queue' --waiting 2>/dev/null | grep -q '^$NC ready: waiting for the cloud'" 40
is "$(state_of "$NC")" ready "... it is not failed"
while [ $(($(date +%s) - t0)) -lt 15 ]; do sleep 1; done
is "$(state_of "$NC")" ready "after 15 s of outage (retry after 1 s, doubling to 5 s) it still waits"
cloud_start "$T/cloud" --port "$CPORT" --fault steps=1
ok "the cloud is back: the study ends done" until_done "$NC" 90
nok "... it never passed through failed" grep -q '"to": *"failed"' "$NP_HOME/spool/done/$NC/history.jsonl"

# ---- Thursday: Ctrl-C with a study on its way, start again ----
D=$(mkstudy thu 404)
SENT="$SENT thu:$D"
ok "Thursday: a study is sent" send thu
ND=$(wait_npuid "$D")
[ -d "$NP_HOME/spool/incoming/$D" ] && where=incoming || where=$(state_of "$ND")
diag "Ctrl-C with the study in $where"
kill -INT -$RUN
ok "Ctrl-C stops the appliance" stopped
is "$(pgrep -f "$NP_HOME/" | tr '\n' ' ')" "" "... every process of it"
ok "it starts again" start
ok "... and the study ends done" until_done "$ND" 90

# ---- Friday: make stop while a study waits for its results, start again ----
E=$(mkstudy fri 505)
SENT="$SENT fri:$E"
cloud_ctl '{"steps":1000}' # the analysis takes long: the study stays in uploaded/
ok "Friday: a study is sent" send fri
NE=$(wait_npuid "$E")
ok "... it is uploaded and waits for its results" wait_for "[ \"\$(state_of $NE)\" = uploaded ]" 60
poll
setsid make -s -C "$NP_TOP" stop NP_HOME="$NP_HOME" DEMO_HOME="$T/no-demo" >"$T/stop.log" 2>&1 </dev/null
ok "make stop from another shell stops the appliance" stopped
is "$(pgrep -f "$NP_HOME/" | tr '\n' ' ')" "" "... every process of it"
ok "it starts again" start
cloud_ctl '{"steps":1}'
ok "... and the study waiting for its results ends done" until_done "$NE" 90

# ---- The weekend: retry, delete and cancel of studies ----
# until_state NPUID STATE [SECONDS]: poll the cloud as np-sched does until the study is in STATE
until_state() {
	_i=0
	while [ $_i -lt "${3:-60}" ] && [ "$(state_of "$1")" != "$2" ]; do
		[ "$(state_of "$1")" = uploaded ] && poll
		sleep 0.5
		_i=$((_i + 1))
	done
	[ "$(state_of "$1")" = "$2" ]
}
api() { # api METHOD PATH -> HTTP code, body in $T/api.json
	curl -s -b "$T/jar" -H "X-CSRF-Token: $CSRF" -X "$1" -o "$T/api.json" -w '%{http_code}' "$BASE$2"
}
orders() { grep -c '"call": "newJob"' "$T/cloud/requests.jsonl"; }
# The session of Tuesday lives in the index: it outlived both restarts.
is "$(api GET /api/auth/session)" 200 "Saturday: Tuesday's session survived Ctrl-C and make stop"

# A study the cloud fails (a permanent answer) is retried from the shell.
F=$(mkstudy sat 606)
SENT="$SENT sat:$F"
cloud_ctl '{"fail_analysis":1,"steps":1}'
ok "a study is sent; the cloud's analysis fails" send sat
NF=$(wait_npuid "$F")
ok "... the study is failed" until_state "$NF" failed 120
cloud_ctl '{"fail_analysis":0}'
ok "np-study retry puts it back" env NP_HOME="$NP_HOME" "$BIN/np-study" retry "$NF"
ok "... and it ends done, with a new order" until_done "$NF" 90
ORDERS_EXTRA=1

# A mis-sent study is deleted by the admin while the cloud analyses it.
G=$(mkstudy sat2 707)
cloud_ctl '{"steps":1000}'
ok "a mis-sent study is sent" send sat2
NG=$(wait_npuid "$G")
ok "... it is uploaded" until_state "$NG" uploaded 60
is "$(api DELETE "/api/studies/$NG")" 200 "DELETE /api/studies/{npuid} answers 200"
is "$(ls -d "$NP_HOME"/spool/*/"$NG" "$NP_HOME"/spool/*/.work/"$NG" 2>/dev/null | wc -l | tr -d ' ')" 0 \
	"... no folder of it is left in the spool"
is "$(db "SELECT count(*) FROM studies WHERE npuid='$NG' OR study_uid='$G'")" 0 "... nor an index row"
is "$(db "SELECT count(*) FROM audit WHERE npuid='$NG' AND outcome='success' AND action LIKE '%delete%'")" 1 \
	"... and the audit says who deleted it"
DELETED_ORDERS=1

# Cancel in every state a study passes through.
CANCELLED_ORDERS=0
CANCELLED=""
cancel() { # cancel NPUID: POST .../cancel, then the study must end cancelled
	_c=$(api POST "/api/studies/$1/cancel")
	case $_c in 200 | 202) ;; *) diag "cancel $1: $_c $(cat "$T/api.json")"; return 1 ;; esac
	wait_for "[ \"\$(state_of $1)\" = cancelled ]" 20
}
stop_pid "$CLOUD_PID" # the cloud is down: nothing can get past ready/
H=$(mkstudy sun1 808)
send sun1
NH=$(wait_npuid "$H")
diag "cancel with the study in $(state_of "$NH")"
ok "Sunday: a study cancelled on arrival (before QC) ends cancelled" cancel "$NH"
CANCELLED="$CANCELLED $NH"
I=$(mkstudy sun2 909)
send sun2
NI=$(wait_npuid "$I")
ok "... a study waiting for the cloud in ready/" wait_for "[ \"\$(state_of $NI)\" = ready ]" 60
ok "... cancelled before upload ends cancelled" cancel "$NI"
CANCELLED="$CANCELLED $NI"
cloud_start "$T/cloud" --port "$CPORT" --fault steps=1000
J=$(mkstudy sun3 1010)
send sun3
NJ=$(wait_npuid "$J")
ok "... a study whose analysis runs" until_state "$NJ" uploaded 90
ok "... cancelled while the cloud analyses it ends cancelled" cancel "$NJ"
CANCELLED="$CANCELLED $NJ"
CANCELLED_ORDERS=$((CANCELLED_ORDERS + 1))
stop_pid "$HOOK_PID" # the destination is down: the results wait in results/
cloud_ctl '{"steps":1}'
K=$(mkstudy sun4 1111)
send sun4
NK=$(wait_npuid "$K")
ok "... a study whose delivery waits in results/" until_state "$NK" results 90
ok "... cancelled there ends cancelled" cancel "$NK"
CANCELLED="$CANCELLED $NK"
CANCELLED_ORDERS=$((CANCELLED_ORDERS + 1))
webhook_start "$T/hook"
sleep 3
is "$(grep -l "$NK" "$T/hook"/*.json 2>/dev/null | wc -l | tr -d ' ')" 0 \
	"... and its results are never delivered when the destination is back"
is "$(for n in $CANCELLED; do db "SELECT state FROM studies WHERE npuid='$n'"; done | sort -u | tr '\n' ' ')" "cancelled " \
	"the index says cancelled for all four"
is "$(orders)" $(($(echo $SENT | wc -w) + ORDERS_EXTRA + DELETED_ORDERS + CANCELLED_ORDERS)) \
	"the studies cancelled before upload never reached the cloud"

# ---- the end of the week: every study sent is done exactly once ----
nsent=$(echo $SENT | wc -w | tr -d ' ')
bad=""
for s in $SENT; do
	uid=${s#*:}
	rows=$(db "SELECT count(*) FROM studies WHERE study_uid='$uid'")
	n=$(npuid_of "$uid")
	dirs=$(ls -d "$NP_HOME"/spool/*/"$n" "$NP_HOME"/spool/*/.work/"$n" 2>/dev/null | tr '\n' ' ')
	muid=$(jget "$NP_HOME/spool/done/$n/manifest.json" 'd["study"]["study_instance_uid"]' 2>/dev/null)
	[ "$rows" = 1 ] || bad="$bad ${s%%:*}:rows=$rows"
	[ "$dirs" = "$NP_HOME/spool/done/$n " ] || bad="$bad ${s%%:*}:dirs=$dirs"
	[ "$(db "SELECT state FROM studies WHERE npuid='$n'")" = done ] || bad="$bad ${s%%:*}:state"
	[ "$muid" = "$uid" ] || bad="$bad ${s%%:*}:manifest=$muid"
done
is "$bad" "" "each of the $nsent studies: one index row, one spool folder (done/), its own StudyInstanceUID"
is "$(ls "$NP_HOME/spool/done" | grep -cE '^[0-9a-f-]{36}$')" "$nsent" "done/ holds exactly the $nsent studies"
is "$(for s in incoming stable qc-passed qc-failed ready uploaded results failed; do
	ls "$NP_HOME/spool/$s" 2>/dev/null | grep -E '^[0-9a-f-]{36}$|^[0-9.]+$'; done | tr '\n' ' ')" "" \
	"no study left in any other state"
ncancelled=$(echo $CANCELLED | wc -w | tr -d ' ')
is "$(db "SELECT count(*) FROM studies")" $((nsent + ncancelled)) "the index has the $nsent studies and the $ncancelled cancelled"
is "$(for n in $CANCELLED; do ls -d "$NP_HOME"/spool/*/"$n" 2>/dev/null; done | sed "s|$NP_HOME/spool/||; s|/.*||" | sort -u | tr '\n' ' ')" \
	"cancelled " "... each cancelled study in cancelled/ only"
is "$(grep -c '"call": "newJob"' "$T/cloud/requests.jsonl")" $((nsent + ORDERS_EXTRA + DELETED_ORDERS + CANCELLED_ORDERS)) \
	"the cloud got one order per study"
is "$(db "SELECT count(DISTINCT order_id) FROM studies WHERE order_id IS NOT NULL AND order_id != ''")" $((nsent + CANCELLED_ORDERS)) \
	"... each study has its own order id"
# every delivery names its study's npuid, once
hooks=$(ls "$T/hook"/*.json 2>/dev/null | wc -l | tr -d ' ')
is "$hooks" "$nsent" "the REST destination got one delivery per study"
dup=""
for s in $SENT; do
	n=$(npuid_of "${s#*:}")
	c=$(grep -l "$n" "$T/hook"/*.json 2>/dev/null | wc -l | tr -d ' ')
	[ "$c" = 1 ] || dup="$dup ${s%%:*}:$c"
done
is "$dup" "" "... each naming its own study"
nok "no s6-log lock fought over in the week" grep -q 'unable to lock' "$T/run.log"
nok "no PHI in any service log" grep -r -l -a -e 'Doe^John' -e 'MRN-000123' "$NP_HOME/log"
kill -INT -$RUN
ok "the week ends with Ctrl-C" stopped
