#!/bin/sh
# The whole appliance under s6 (np-svscan): Orthanc sends a study to np-recv;
# it is stabilized, QC-passed, de-identified, uploaded to the cloud stand-in,
# its results fetched, an encapsulated PDF delivered back to Orthanc and an
# e-mail to the SMTP listener, all visible through the API. Then the whole
# tree is killed with -9 mid-pipeline and restarted: nothing lost, nothing
# delivered twice.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/deliver.sh"
. "$NP_TOP/tests/peers/cloud.sh"
command -v Orthanc >/dev/null || skip_all "orthanc not installed"
command -v s6-svscan >/dev/null || skip_all "s6 not installed"
plan 15

DICOM=$(free_port) HTTP=$(free_port) ODICOM=$(free_port) OHTTP=$(free_port)
cloud_start "$T/cloud"
smtp_start "$T/mail"
orthanc_start "$T/orthanc" "$ODICOM" "$OHTTP" "\"DicomModalities\":{\"agent\":{\"AET\":\"NEUROPACS_SCP\",\"Host\":\"127.0.0.1\",\"Port\":$DICOM}}"
SETTINGS_EXTRA=",\"dicom\":{\"port\":$DICOM,\"stabilization_seconds\":2,\"scan_interval_seconds\":1},
 \"http\":{\"port\":$HTTP,\"bind\":\"127.0.0.1\"},
 \"smtp\":{\"host\":\"127.0.0.1\",\"port\":$SMTP_PORT,\"security\":\"none\",\"from\":\"agent@example.test\"},
 \"delivery\":{\"destinations\":[{\"type\":\"dicom_pdf\",\"host\":\"127.0.0.1\",\"port\":$ODICOM,\"ae_title\":\"ORTHANC\"},
   {\"type\":\"email\",\"recipients\":\"radiology@example.test\",\"format\":\"pdf\"}]}"
cloud_home v1
"$SBIN/np-init" --first-run --non-interactive >/dev/null 2>&1

start_tree() {
	"$SBIN/np-svscan" >>"$T/svscan.log" 2>&1 &
	SVSCAN=$!
	wait_port "$HTTP" 30 && wait_port "$DICOM" 30
}
stop_tree() { s6-svscanctl -t "$NP_HOME/service" 2>/dev/null; stop_pid "$SVSCAN"; }
at_exit 'stop_tree'
state_of() { # npuid -> its spool state
	for s in incoming stable qc-passed qc-failed ready uploaded results done failed cancelled; do
		[ -d "$NP_HOME/spool/$s/$1" ] || [ -d "$NP_HOME/spool/$s/.work/$1" ] && { echo $s; return; }
	done
}
# np-sched polls the cloud on its cron (every minute at best); the test polls
# the same way, faster.
poll() { PATH="$BIN:$SBIN:$PATH" "$BIN/np-queue" --once uploaded results failed -- np-poll >>"$T/poll.log" 2>&1; }

ok "the supervised tree starts (UI and DICOM ports answer)" start_tree
# the UI and DICOM ports answering does not mean s6-svscan has spawned the
# last supervisor yet: give every service a few seconds to come up
nsvc=$(ls -d "$NP_HOME"/service/*/ | wc -l | tr -d ' ')
nup() { for s in "$NP_HOME"/service/*/; do s6-svstat -o up "$s" 2>/dev/null; done | grep -c true; }
wait_for '[ "$(nup)" = "$nsvc" ]' 10
is "$(nup)" "$nsvc" "every service is up under s6"

/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/study" --ndir 6 --nsl 2 --size 32 >/dev/null
# Descriptions as the IFU requires them, so the study passes QC.
/usr/bin/python3 - "$T/study" <<'PY'
import os, sys, pydicom
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        if not f.endswith(".dcm"):
            continue
        p = os.path.join(root, f)
        ds = pydicom.dcmread(p)
        ds.StudyDescription = "MRI Brain with DTI Non-Contrast"
        if "DTI" in str(ds.get("SeriesDescription", "")):
            ds.SeriesDescription = "neuropacs DTI"
        ds.save_as(p)
PY
N=$(find "$T/study" -name '*.dcm' | wc -l | tr -d ' ')
for f in $(find "$T/study" -name '*.dcm'); do curl -sf -X POST "http://127.0.0.1:$OHTTP/instances" --data-binary "@$f" >/dev/null; done
SID=$(curl -sf "http://127.0.0.1:$OHTTP/studies" | tr -d '[]" \n')
R=$(curl -sf -X POST "http://127.0.0.1:$OHTTP/modalities/agent/store" -d "{\"Resources\":[\"$SID\"],\"Synchronous\":true}")
like "$R" '"FailedInstancesCount" *: *0' "Orthanc sends the study to the agent"

wait_for '[ -n "$(ls "$NP_HOME/spool/uploaded" "$NP_HOME/spool/ready" 2>/dev/null | grep -v "^/\|^$\|^\.work")" ]' 90
NPUID=$(ls "$NP_HOME/spool/uploaded" "$NP_HOME/spool/ready" 2>/dev/null | grep -E '^[0-9a-f-]{36}$' | head -1)
like "$NPUID" '^[0-9a-f-]{36}$' "the study was stabilized, QC-passed and de-identified on its own (state $(state_of "$NPUID"))"
is "$(jget "$NP_HOME/spool/$(state_of "$NPUID")/$NPUID/manifest.json" 'd["counts"]["instances"]')" "$N" "all $N instances are in the study"

# Crash the whole tree mid-pipeline, restart it: the study must still finish.
# s6-svscan, every s6-supervise of this home (found by its working folder:
# its command line names only the service) and their children. Other
# homes' supervisors on the machine are left alone.
sups=$(for p in $(pgrep -x s6-supervise); do
	case $(readlink "/proc/$p/cwd" 2>/dev/null) in "$NP_HOME"/service/*) echo "$p" ;; esac
done)
pids="$sups $(for p in $sups; do pgrep -P "$p"; done)"
kill -9 $SVSCAN $pids 2>/dev/null
wait "$SVSCAN" 2>/dev/null
sleep 1
ok "after kill -9 of the whole tree it starts again" start_tree
# gone, or a zombie that PID 1 has not reaped yet (dead all the same)
ok "... with no supervisor left from before" \
	wait_for "! ps -o stat= -p '$(echo $sups | tr ' ' ',')' | grep -qv '^Z'" 10

wait_for "[ -d '$NP_HOME/spool/uploaded/$NPUID' ]" 60
i=0
while [ $i -lt 60 ] && [ ! -d "$NP_HOME/spool/done/$NPUID" ] && [ ! -d "$NP_HOME/spool/failed/$NPUID" ]; do
	poll; sleep 1; i=$((i + 1))
done
is "$(state_of "$NPUID")" done "the study completes: results fetched and delivered"
ok "results are in every format" sh -c "ls '$NP_HOME/spool/done/$NPUID/results/' | grep -q json && ls '$NP_HOME/spool/done/$NPUID/results/' | grep -q pdf"

series=$(curl -sf "http://127.0.0.1:$OHTTP/studies/$SID" | jget /dev/stdin 'len(d["Series"])')
pdfs=$(for s in $(curl -sf "http://127.0.0.1:$OHTTP/series?expand" | jget /dev/stdin '" ".join(x["ID"] for x in d if x["MainDicomTags"].get("Modality")=="DOC")'); do echo $s; done | wc -l | tr -d ' ')
is "$pdfs" 1 "Orthanc received exactly one encapsulated PDF"
like "$series" '^[4-9]$' "... in the original study, next to its images"
is "$(ls "$T/mail"/*.eml 2>/dev/null | wc -l | tr -d ' ')" 1 "exactly one e-mail reached the SMTP listener"

api=$(curl -sf "http://127.0.0.1:$HTTP/api/health")
like "$api" '"ok"' "the API answers"
nok "the PHI canary never reached the cloud stand-in" grep -r -l -a -e 'Doe^John' -e 'MRN-000123' "$T/cloud"
nok "no PHI in any service log" grep -r -l -a -e 'Doe^John' -e 'MRN-000123' "$NP_HOME/log"
