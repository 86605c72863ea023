#!/bin/sh
# make demo's entry point (sbin/np-run.sh --demo), run non-interactively on
# free ports: it supervises the cloud stand-in beside the agent and points
# the home at it; a study sent with storescu comes back as a result that
# says everywhere that it is synthetic (API, JSON, text and PDF reports,
# e-mail), and the UI's status endpoint reports demo mode. Ctrl-C (TERM)
# stops the whole tree, stand-in included.
. "$(dirname "$0")/../lib/tap.sh"
# As root, np-run.sh runs the services as the user neuropacs, which cannot enter
# this test's folder (0700): keep them as root here (08-privilege tests the split).
export NP_USER=root
. "$NP_TOP/tests/peers/deliver.sh"
command -v s6-svscan >/dev/null || skip_all "s6 not installed"
command -v storescu >/dev/null || skip_all "dcmtk not installed"
/usr/bin/python3 -c 'import cryptography' 2>/dev/null || skip_all "python3-cryptography not installed"
plan 22

DICOM=$(free_port) HTTP=$(free_port) CPORT=$(free_port)
NOTICE='DEMO - synthetic analysis, not for clinical use'
PW='Service-Password-123!'
smtp_start "$T/mail"
# An existing home (ports of this test, an e-mail destination): the demo
# must keep it and only point its cloud settings at the stand-in.
settings "{\"dicom\":{\"port\":$DICOM,\"stabilization_seconds\":2,\"scan_interval_seconds\":1},
 \"http\":{\"port\":$HTTP,\"bind\":\"127.0.0.1\"},
 \"smtp\":{\"host\":\"127.0.0.1\",\"port\":$SMTP_PORT,\"security\":\"none\",\"from\":\"agent@example.test\"},
 \"delivery\":{\"destinations\":[{\"type\":\"email\",\"recipients\":\"radiology@example.test\",\"format\":\"pdf\"}]}}"
printf '%s' "$PW" | "$BIN/np-config" set-secret cloud.service_password

NP_SBIN=$SBIN NP_BIN=$BIN NP_DEMO_CLOUD_PORT=$CPORT sh "$NP_TOP/sbin/np-run.sh" --demo >"$T/run.log" 2>&1 &
RUN=$!
ok "the demo starts: UI, DICOM and the cloud stand-in answer" sh -c "
	. '$NP_TOP/tests/lib/tap.sh' >/dev/null; wait_port $HTTP 60 && wait_port $DICOM 30 && wait_port $CPORT 30"
SVSCAN=$(pgrep -P $RUN -x s6-svscan)
at_exit "kill $RUN 2>/dev/null; s6-svscanctl -t '$NP_HOME/service' 2>/dev/null; stop_pid $RUN; stop_pid ${SVSCAN:-$RUN}"
like "$(cat "$T/run.log")" "DEMO: cloud stand-in on http://127.0.0.1:$CPORT" "it says it runs the demo cloud"
is "$("$BIN/np-config" get cloud.api_url) $("$BIN/np-config" get cloud.demo)" "http://127.0.0.1:$CPORT true" \
	"the home points at the stand-in, in demo mode"
is "$("$BIN/np-config" get http.port)" "$HTTP" "the home's own settings are kept"
ok "the stand-in is a supervised service of the home" s6-svstat -o up "$NP_HOME/service/demo-cloud"

/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/study" --ndir 6 --nsl 2 --size 32 --ifu >/dev/null
ok "storescu sends a study" storescu -aec NEUROPACS_SCP +sd +r +sp '*.dcm' 127.0.0.1 "$DICOM" "$T/study"

# np-sched polls the cloud every minute in the demo; the test polls faster.
poll() { PATH="$BIN:$SBIN:$PATH" "$BIN/np-queue" --once uploaded results failed -- np-poll >>"$T/poll.log" 2>&1; }
wait_for '[ -n "$(ls "$NP_HOME/spool/uploaded" 2>/dev/null | grep -E "^[0-9a-f-]{36}$")" ]' 90
NPUID=$(ls "$NP_HOME/spool/uploaded" 2>/dev/null | grep -E '^[0-9a-f-]{36}$' | head -1)
like "$NPUID" '^[0-9a-f-]{36}$' "the study was stabilized, QC-passed, de-identified and uploaded to the stand-in"
i=0
while [ $i -lt 30 ] && [ ! -d "$NP_HOME/spool/done/$NPUID" ] && [ ! -d "$NP_HOME/spool/failed/$NPUID" ]; do
	poll; sleep 1; i=$((i + 1))
done
ok "the study completes" test -d "$NP_HOME/spool/done/$NPUID"

api() { curl -sf -b "$T/jar" "http://127.0.0.1:$HTTP$1"; }
curl -sf -c "$T/jar" -H 'Content-Type: application/json' -d "{\"password\":\"$PW\"}" \
	"http://127.0.0.1:$HTTP/api/auth/login" >/dev/null
api /api/status >"$T/status.json"
is "$(jget "$T/status.json" 'd["demo"]')" True "/api/status says demo (the UI shows its DEMO banner)"
is "$(jget "$T/status.json" '" ".join(sorted(k for k, v in d["services"].items() if v == "up"))')" \
	"deliver demo-cloud np-atna np-httpd np-recv np-sched np-stable prepare qc upload" "... and shows every service up"
like "$(api "/api/results?size=100")" "\"npuid\": *\"$NPUID\"" "the result is listed by the API"
like "$(api "/api/results/$NPUID?format=json")" "\"notice\": *\"$NOTICE\"" "the JSON result carries the DEMO notice"
like "$(api "/api/results/$NPUID?format=txt" | head -1)" "^$NOTICE\$" "the text report starts with it"
api "/api/results/$NPUID?format=pdf" >"$T/report.pdf"
pdftotext "$T/report.pdf" "$T/report.txt" 2>/dev/null
is "$(grep -c "$NOTICE" "$T/report.txt")" 2 "the PDF report shows it first and last"
nok "... and does not claim neuropacs produced the result" grep -q "produced by neuropacs" "$T/report.txt"
"$BIN/np-group" create Demo --products Atypical/MSAp/PSP-v1.0 2>/dev/null
"$BIN/np-group" assign Demo "$NPUID" 2>/dev/null
"$BIN/np-report" Demo >"$T/group.csv" 2>/dev/null
is "$(head -1 "$T/group.csv" | tr -d '\r' | awk -F, '{print $NF}') $(sed -n 2p "$T/group.csv" | tr -d '\r' | sed 's/.*,"//; s/"$//')" \
	"notice $NOTICE" "the group report CSV has a notice column saying so"
wait_for 'ls "$T/mail"/*.eml >/dev/null 2>&1' 20
like "$(grep -i '^Subject:' "$T/mail"/*.eml)" '^Subject: \[DEMO\] ' "the e-mail subject starts with [DEMO]"
ok "... and its body with the notice" grep -q "$NOTICE" "$T/mail"/*.eml
rm -f "$T/mail"/*.eml
echo '{"notifications":{"method":"email","recipients":"ops@example.test"}}' | "$BIN/np-config" merge
ok "a notification e-mail is sent (Test Notification)" "$BIN/np-notify" --test
like "$(grep -i '^Subject:' "$T/mail"/*.eml)" '^Subject: \[DEMO\] ' "notification e-mails are marked [DEMO] too"

kill -TERM $RUN
ok "TERM stops the demo (as Ctrl-C does)" wait_for "! kill -0 $RUN 2>/dev/null" 30
nok "... with the stand-in and every service" pgrep -f "$NP_HOME/"
