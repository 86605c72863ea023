#!/bin/sh
# Status that tells the truth (issue 17.4): a study delivered to 2 of 4
# destinations (a webhook peer down, a recipient the SMTP server refuses) is
# "Delivered 2/4 (2 failed)" with the reasons per destination and no secret
# of a URL; a study with no destination is "Results ready (no delivery
# configured)"; the status of an order that is over is the stored one, the
# cloud not asked; a failed study has no report to offer; the File download
# of the logs with "All services" holds every service's lines.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
. "$NP_TOP/tests/peers/deliver.sh"
plan 28
jq_b() { jq -r "$1" "$T/body"; }

# U: four destinations, two of which fail.
U=6a1b2c3d-4e5f-4a60-8b71-2c3d4e5f6a7b
results_study $U --no-dicom
smtp_start "$T/mail" --reject-rcpt nobody@example.test
webhook_start "$T/hook"
DEAD=$(free_port)
settings "{\"smtp\":{\"host\":\"127.0.0.1\",\"port\":$SMTP_PORT,\"security\":\"none\",\"from\":\"agent@example.test\"},
 \"delivery\":{\"retry_delay_s\":0,\"destinations\":[
  {\"type\":\"rest\",\"name\":\"RIS\",\"url\":\"http://127.0.0.1:$HOOK_PORT/r\"},
  {\"type\":\"rest\",\"name\":\"Down\",\"url\":\"http://127.0.0.1:$DEAD/r?token=Url-S3cret\"},
  {\"type\":\"email\",\"recipients\":\"nobody@example.test\",\"format\":\"pdf\"},
  {\"type\":\"email\",\"recipients\":\"ris@example.test\",\"format\":\"pdf\"}]}}"
# np-queue's last try decides every destination now (a queue would spread the
# attempts over hours).
NP_QUEUE_LAST_TRY=1 "$BIN/np-deliver" "$STUDY" 2>"$T/deliver.log"
is "$(jq -r '[.destinations[].state] | join(",")' "$STUDY/deliveries.json")" "sent,failed,failed,sent" \
	"np-deliver: 2 of 4 destinations failed"
mkdir -p "$NP_HOME/spool/done"
mv "$STUDY" "$NP_HOME/spool/done/$U"

# V: no destination configured.
V=7b2c3d4e-5f60-4a71-8c82-3d4e5f6a7b8c
results_study $V --no-dicom
settings '{"delivery":{"destinations":[]}}'
"$BIN/np-deliver" "$STUDY" 2>>"$T/deliver.log"
mv "$STUDY" "$NP_HOME/spool/done/$V"

# W: a recorded error naming a URL with a user, a password and a query.
W=8c3d4e5f-6071-4a82-8d93-4e5f6a7b8c9d
results_study $W --no-dicom
cat >"$STUDY/deliveries.json" <<'EOF'
{"kind":"results","destinations":[{"index":0,"type":"rest","name":"","key":"k","state":"failed","attempts":3,
 "error":"REST request failed: http://hook:Pw-S3cret@ris.example.test:8443/in?token=Q-S3cret&mrn=1 refused"}]}
EOF
mv "$STUDY" "$NP_HOME/spool/done/$W"

# F: an order that failed at the cloud; the results folder holds no report.
F=9d4e5f60-7182-4a93-8ea4-5f6a7b8c9d0e
results_study $F --failure --no-dicom
echo '{"order_id":"5f0c6b1e-8a7d-4c39-9e51-0d2f7a3b6c41","status":"Failed","info":"input QC error","at":"2026-11-20T10:00:00Z","files":["failure.txt"]}' \
	>"$STUDY/results/failure.json"
mkdir -p "$NP_HOME/spool/failed"
mv "$STUDY" "$NP_HOME/spool/failed/$F"
echo '{"order_id":"5f0c6b1e-8a7d-4c39-9e51-0d2f7a3b6c41","downloaded_at":"2026-11-21T09:30:00Z","files":["report.pdf"]}' \
	>"$NP_HOME/spool/done/$U/results/index.json"

# Logs of two services, as s6-log writes them.
mkdir -p "$NP_HOME/log/np-recv" "$NP_HOME/log/deliver"
printf '2026-11-20 10:00:01.000000000 np-recv: info: - association from STORESCU\n2026-11-20 10:00:03.000000000 np-recv: info: - association released\n' \
	>"$NP_HOME/log/np-recv/current"
printf '2026-11-20 10:00:02.000000000 np-deliver: info: %s delivered dest=0 type=rest\n' $U >"$NP_HOME/log/deliver/current"

"$BIN/np-index" --rebuild 2>>"$T/deliver.log"
start_httpd --insecure-no-auth

is "$(req GET '/api/studies?state=done&size=50')" 200 "list the delivered studies"
row() { jq -c --arg id "$1" '.items[] | select(.npuid == $id) | .delivery' "$T/body"; }
is "$(row $U | jq -r '.label')" "Delivered 2/4 (2 failed)" "2 of 4 failed: Delivered 2/4 (2 failed)"
is "$(row $U | jq -r '[.total,.sent,.failed,.pending] | join(" ")')" "4 2 2 0" "... with the counts"
is "$(row $U | jq -r '[.items[] | "\(.destination):\(.type):\(.state)"] | join(" ")')" \
	"1:rest:sent 2:rest:failed 3:email:failed 4:email:sent" "... and each destination's state, numbered from 1"
like "$(row $U | jq -r '.items[1].error')" "REST request failed" "the peer down: its reason"
like "$(row $U | jq -r '.items[2].error')" "550" "the refused recipient: the SMTP answer"
is "$(row $V | jq -r '.label')" "Results ready (no delivery configured)" "no destination: Results ready (no delivery configured)"
is "$(row $V | jq -r '.total')" 0 "... total 0"
is "$(row $W | jq -r '.items[0].error')" "REST request failed: http://ris.example.test:8443/... refused" \
	"an error's URL keeps only its host and port"
nok "no secret of a URL and no PHI in the list" grep -qE 'S3cret|mrn=|CANARY|ACC2024' "$T/body"

is "$(req GET /api/study-info/$U)" 200 "study information"
is "$(jq_b '.delivery.label')" "Delivered 2/4 (2 failed)" "study information has the same delivery summary"
is "$(req GET "/api/results?size=50")" 200 "the Results list"
is "$(jq -r --arg id $U '.items[] | select(.npuid == $id) | .delivery.label' "$T/body")" "Delivered 2/4 (2 failed)" \
	"... and its rows too"

# No cloud is configured here: asking it could only fail.
is "$(req GET /api/studies/$U/status)" 200 "status of a delivered study"
is "$(jq_b '[.live, .order.status, .order.results_at] | join(" ")')" "false Completed 2026-11-21T09:30:00Z" \
	"is the stored final state (Completed, results received at), not the cloud's"
is "$(req GET /api/studies/$F/status)" 200 "status of a failed study"
is "$(jq_b '[.live, .order.status, .order.failure.info] | join("|")')" "false|Failed|input QC error" \
	"is the stored failure with its reason"
is "$(req GET "/api/reports?neuropacsId=$F")" 404 "a failed study has no report"
is "$(req HEAD "/api/reports?neuropacsId=$U" -I)" 200 "HEAD tells whether a report exists (the UI offers Download only then)"

is "$(req GET '/api/logs/download?format=file')" 200 "File download of all services"
like "$(grep -i '^content-disposition' "$T/headers")" 'filename="neuropacs-logs.log"' "... as neuropacs-logs.log"
is "$(cut -c1-19 "$T/body" | tr '\n' ' ')" "2026-11-20 10:00:01 2026-11-20 10:00:02 2026-11-20 10:00:03 " \
	"... the lines of every service merged by time"
ok "... each as its service wrote it" grep -q "np-deliver: info: $U delivered" "$T/body"
is "$(req GET '/api/logs/download?format=file&service=np-recv')" 200 "one service's file still downloads"
is "$(grep -c . "$T/body")" 2 "... with its lines only"
is "$(req GET '/api/logs/download?format=file&service=../etc')" 400 "a bad service name is refused"
