#!/bin/sh
# Faults under s6: every long-running service of the tree is killed with
# `s6-svc -k` while one study is in flight in its stage (np-recv during the
# association, np-stable while the study waits to stabilize, qc / prepare /
# upload / deliver while their command works on the claimed study, np-sched
# and np-httpd while the study waits for its results). s6 restarts each one;
# the study completes with all its instances, one cloud order, exactly one
# encapsulated PDF in Orthanc and exactly one e-mail. The stand-in and the
# SMTP listener answer slowly so that upload and delivery are caught at work;
# a killed np-queue takes its command with it (else the orphan and the
# restarted runner's command work on the same study: two uploads sharing one
# temporary ZIP sent the study to failed/).
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/deliver.sh"
. "$NP_TOP/tests/peers/cloud.sh"
command -v Orthanc >/dev/null || skip_all "orthanc not installed"
command -v s6-svscan >/dev/null || skip_all "s6 not installed"
command -v storescu >/dev/null || skip_all "dcmtk not installed"
plan 24

DICOM=$(free_port) HTTP=$(free_port) ODICOM=$(free_port) OHTTP=$(free_port)
cloud_start "$T/cloud" --fault steps=1
smtp_start "$T/mail" --rcpt-delay-ms 1500
orthanc_start "$T/orthanc" "$ODICOM" "$OHTTP"
SETTINGS_EXTRA=",\"dicom\":{\"port\":$DICOM,\"stabilization_seconds\":3,\"scan_interval_seconds\":1},
 \"http\":{\"port\":$HTTP,\"bind\":\"127.0.0.1\"},
 \"smtp\":{\"host\":\"127.0.0.1\",\"port\":$SMTP_PORT,\"security\":\"none\",\"from\":\"agent@example.test\"},
 \"delivery\":{\"destinations\":[{\"type\":\"dicom_pdf\",\"host\":\"127.0.0.1\",\"port\":$ODICOM,\"ae_title\":\"ORTHANC\"},
   {\"type\":\"email\",\"recipients\":\"radiology@example.test\",\"format\":\"pdf\"}]}"
cloud_home v1
"$SBIN/np-init" --first-run --non-interactive >/dev/null 2>&1

"$SBIN/np-svscan" >>"$T/svscan.log" 2>&1 &
SVSCAN=$!
at_exit "s6-svscanctl -t '$NP_HOME/service' 2>/dev/null; stop_pid $SVSCAN"
ok "the supervised tree starts" sh -c ". '$NP_TOP/tests/lib/tap.sh' >/dev/null; wait_port $HTTP 30 && wait_port $DICOM 30"

pid_of() { s6-svstat -o pid "$NP_HOME/service/$1"; }
# kill_svc SERVICE: s6-svc -k, then wait until s6 has it up with a new pid.
kill_svc() {
	_old=$(pid_of "$1")
	s6-svc -k "$NP_HOME/service/$1"
	wait_for "[ \"\$(s6-svstat -o up,pid '$NP_HOME/service/$1')\" != 'true $_old' ] &&
		[ \"\$(s6-svstat -o up '$NP_HOME/service/$1')\" = true ]" 20
}
# in_work STATE: the study is claimed by the queue of STATE (its command runs).
in_work() { [ -d "$NP_HOME/spool/$1/.work/$NPUID" ]; }
in_state() { [ -d "$NP_HOME/spool/$1/$NPUID" ] || in_work "$1"; }
caught=""

# A study big enough that each stage takes a moment (about 310 instances).
/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/study" --ndir 30 --nsl 10 --size 32 --ifu >/dev/null
N=$(find "$T/study" -name '*.dcm' | wc -l | tr -d ' ')
UID_=$(/usr/bin/python3 -c 'import pydicom,sys;print(pydicom.dcmread(sys.argv[1]).StudyInstanceUID)' "$T/study/S001/IM00001.dcm")

# np-recv: killed while the association runs; a PACS would send again.
storescu -aec NEUROPACS_SCP +sd +r +sp '*.dcm' 127.0.0.1 "$DICOM" "$T/study" >"$T/scu1.log" 2>&1 &
SCU=$!
wait_for "[ \$(ls '$NP_HOME/spool/incoming/$UID_' 2>/dev/null | grep -c dcm) -ge 5 ]" 30
got=$(ls "$NP_HOME/spool/incoming/$UID_" 2>/dev/null | grep -c dcm)
ok "np-recv is killed mid-association ($got of $N instances in) and comes back" kill_svc np-recv
wait $SCU
diag "the first storescu exited $? after the kill"
ok "the study is sent again in full" storescu -aec NEUROPACS_SCP +sd +r +sp '*.dcm' 127.0.0.1 "$DICOM" "$T/study"
NPUID=$(cat "$NP_HOME/spool/incoming/$UID_/npuid" 2>/dev/null)
like "$NPUID" '^[0-9a-f-]{36}$' "the study has its npuid while it waits in incoming/"

# np-stable: killed while the study waits out its stabilization period.
ok "np-stable is killed while the study waits to stabilize" kill_svc np-stable
wait_for "! [ -d '$NP_HOME/spool/incoming/$UID_' ]" 30

# qc, prepare (de-identification), upload: killed while their command works
# on the claimed study. The stand-in answers slowly so the upload takes time.
cloud_ctl '{"slow_ms":300}'
for step in stable:qc:qc-passed qc-passed:prepare:ready ready:upload:uploaded; do
	st=${step%%:*} svc=${step#*:} to=${step##*:}
	svc=${svc%:*}
	# every 10 ms: np-qc and np-deid take a fraction of a second on this study
	i=0
	while ! in_work "$st" && ! in_state "$to" && [ $i -lt 6000 ]; do sleep 0.01; i=$((i + 1)); done
	if in_work "$st"; then caught="$caught $svc"; fi
	ok "$svc is killed while the study is in $st/" kill_svc "$svc"
	wait_for "in_state $to" 60
done
cloud_ctl '{"slow_ms":0}'
ok "the study reaches uploaded/" wait_for "in_state uploaded" 30

# np-sched and np-httpd: killed while the study waits for its results.
ok "np-sched is killed while the study waits in uploaded/" kill_svc np-sched
ok "np-httpd is killed and comes back" kill_svc np-httpd
ok "... and answers again" wait_for "curl -sf http://127.0.0.1:$HTTP/api/health >/dev/null" 20

# np-sched polls every minute at best; the test polls the same way, faster.
poll() { PATH="$BIN:$SBIN:$PATH" "$BIN/np-queue" --once uploaded results failed -- np-poll >>"$T/poll.log" 2>&1; }
i=0
while [ $i -lt 20 ] && in_state uploaded; do poll; sleep 0.5; i=$((i + 1)); done
wait_for "in_work results || [ -d '$NP_HOME/spool/done/$NPUID' ]" 30
if in_work results; then caught="$caught deliver"; fi
ok "deliver is killed while the study is in results/" kill_svc deliver
wait_for "[ -d '$NP_HOME/spool/done/$NPUID' ] || [ -d '$NP_HOME/spool/failed/$NPUID' ]" 60
diag "services killed while their command was at work:$caught"
is "$caught" " qc prepare upload deliver" "qc, prepare, upload and deliver were each killed mid-work"

is "$(ls -d "$NP_HOME"/spool/*/"$NPUID" "$NP_HOME"/spool/*/.work/"$NPUID" 2>/dev/null)" "$NP_HOME/spool/done/$NPUID" \
	"the study completes, in done/ only"
is "$(jget "$NP_HOME/spool/done/$NPUID/manifest.json" 'd["counts"]["instances"]')" "$N" "with all $N instances"
is "$(sed -E 's/.*"to":"([a-z-]*)".*/\1/' "$NP_HOME/spool/done/$NPUID/history.jsonl" | tr '\n' ' ')" \
	"stable qc-passed ready uploaded results done " "its history records each stage once, in order"
is "$(ls "$NP_HOME/spool/incoming" | grep -v '^\.' | wc -l | tr -d ' ')" 0 "no second study and nothing left in incoming/"
is "$(cloud_state | jget /dev/stdin 'd["counts"]["new_orders"]')" 1 "one cloud order"
is "$(curl -sf "http://127.0.0.1:$OHTTP/instances" | jget /dev/stdin 'len(d)')" 1 \
	"Orthanc holds exactly one instance (the encapsulated PDF)"
is "$(curl -sf "http://127.0.0.1:$OHTTP/series?expand" | jget /dev/stdin '[x["MainDicomTags"].get("Modality") for x in d]')" \
	"['DOC']" "... in one DOC series"
is "$(ls "$T/mail"/*.eml 2>/dev/null | wc -l | tr -d ' ')" 1 "exactly one e-mail reached the SMTP listener"
is "$(for s in "$NP_HOME"/service/*/; do s6-svstat -o up "$s"; done | sort -u)" true "every service is up again"
nok "no PHI in any service log" grep -r -l -a -e 'Doe^John' -e 'MRN-000123' "$NP_HOME/log"
