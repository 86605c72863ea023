#!/bin/sh
# Group reports leave by e-mail and by webhook: auto-send on completion (once per
# completion, again after a study added later completes), manual send, Test
# Delivery, send failures, events; no PHI on the wire or in the logs.
. "$(dirname "$0")/../lib/tap.sh"
plan 20
MK=$NP_TOP/tests/data/make_group_study.py
P=Atypical/MSAp/PSP-v1.0
DB=$NP_HOME/db/agent.sqlite
mkdir -p "$NP_HOME/spool/done" "$NP_HOME/etc"

SMTP=$NP_TOP/tests/peers/smtp_sink.py
HOOK=$NP_TOP/tests/peers/webhook.py
sport=$(free_port); hport=$(free_port)
mkdir -p "$T/mail" "$T/hook"
/usr/bin/python3 "$SMTP" "$T/mail" --port "$sport" 2>"$T/smtp.log" & spid=$!
/usr/bin/python3 "$HOOK" "$T/hook" --port "$hport" 2>"$T/hook.log" & hpid=$!
at_exit "stop_pid $spid; stop_pid $hpid"
wait_port "$sport" || bail "SMTP listener did not start"
wait_port "$hport" || bail "webhook listener did not start"

cat > "$NP_HOME/etc/neuropacs.json" <<JSON
{"smtp": {"host": "127.0.0.1", "port": $sport, "security": "none", "from": "agent@example.org"},
 "groups": {"auto_send_on_complete": true,
  "delivery": {"type": "email", "recipients": "cohort@example.org, pi@example.org",
   "subject_template": "Group {group_name}: {report_type} ({count} studies)",
   "email_body_template": "Report {filename} attached.",
   "url": "http://127.0.0.1:$hport/reports",
   "body_template": "{\"group\":\"{group_name}\",\"file\":\"{filename}\",\"count\":\"{count}\",\"csv\":\"{report_base64}\"}"}}}
JSON
# finish ID FROM: the pipeline moved a study to done (folder and index).
finish() { mv "$NP_HOME/spool/$2/$1" "$NP_HOME/spool/done/$1" && sqlite3 "$DB" "UPDATE studies SET state='done' WHERE npuid='$1'"; }
# csv_of_mail FILE: the CSV attachment of an e-mail, plus "name=<attachment file name>"
csv_of_mail() {
	/usr/bin/python3 - "$1" <<'PY'
import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
for p in m.walk():
    if p.get_filename():
        sys.stdout.write(p.get_payload(decode=True).decode()); print("name=" + p.get_filename())
print("subject=" + m["Subject"]); print("to=" + m["To"])
PY
}
mails() { ls "$T/mail" | grep -c '\.eml$'; }

a=$($MK "$NP_HOME" done --order O-1 --result "$P:Atypical=0.913" --result "$P:FWpSN=0.28" --created 2026-11-20T10:00:00.000Z)
b=$($MK "$NP_HOME" done --order O-2 --result "$P:Atypical=0.2" --result "$P:FWpSN=0.31" --created 2026-11-20T11:00:00.000Z)
mkdir -p "$NP_HOME/spool/results" "$NP_HOME/spool/uploaded"
c=$($MK "$NP_HOME" results --order O-3 --result "$P:Atypical=0.7" --result "$P:FWpSN=0.5" --created 2026-11-20T12:00:00.000Z)
"$BIN/np-group" create "Cohort 1" --products "$P" 2>>"$T/log"
"$BIN/np-group" assign "Cohort 1" "$a" "$b" "$c" 2>>"$T/log"

"$BIN/np-report" --auto 2>>"$T/log"
is "$(mails)" 0 "nothing is sent while a study is still processing"
finish "$c" results
"$BIN/np-report" --auto 2>>"$T/log"
is "$(mails)" 1 "the report is e-mailed when the group completes"
csv_of_mail "$T/mail/0001.eml" > "$T/m1"
CR=$(printf '\r')
is "$(head -3 "$T/m1")" "npuid,order_id,state,date,$P:Atypical,$P:FWpSN$CR
$a,O-1,done,2026-11-20,0.913,0.28$CR
$b,O-2,done,2026-11-20,0.2,0.31$CR" "the attachment is the CSV with the expected rows"
like "$(sed -n 4p "$T/m1")" "^$c,O-3,done,2026-11-20,0.7,0.5" "the third study's row"
like "$(grep '^name=' "$T/m1")" "^name=Cohort_1_prediction_indexes_[0-9-]{10}\.csv$" "the attachment is named by the template"
is "$(grep '^subject=' "$T/m1")" "subject=Group Cohort 1: prediction_indexes (3 studies)" "subject from the template"
like "$(grep '^to=' "$T/m1")" "cohort@example.org, pi@example.org" "sent to every recipient"
"$BIN/np-report" --auto 2>>"$T/log"
is "$(mails)" 1 "sent once per completion"
is "$(sqlite3 "$DB" "SELECT group_concat(type, ' ') FROM (SELECT type FROM events ORDER BY id)")" \
	"group_processing_completed group_report_sent" "completion and sent events"

d=$($MK "$NP_HOME" uploaded --order O-4 --result "$P:Atypical=0.6" --result "$P:FWpSN=0.4" --created 2026-11-20T13:00:00.000Z)
"$BIN/np-group" assign "Cohort 1" "$d" 2>>"$T/log"
like "$("$BIN/np-group" list)" "4 studies	3 finished	open" "a fourth study re-opens the group"
"$BIN/np-report" --auto 2>>"$T/log"
is "$(mails)" 1 "no report while the fourth study is processing"
finish "$d" uploaded
"$BIN/np-report" --auto 2>>"$T/log"
is "$(mails)" 2 "the report is sent again when the fourth study completes"
csv_of_mail "$T/mail/0002.eml" > "$T/m2"
like "$(sed -n 5p "$T/m2")" "^$d,O-4,done,2026-11-20,0.6,0.4" "the new report includes the fourth study"

# REST webhook, manual send and Test Delivery
sed -i 's/"type": "email"/"type": "rest"/' "$NP_HOME/etc/neuropacs.json"
"$BIN/np-report" --send "Cohort 1" 2>>"$T/log"
is "$(ls "$T/hook" | grep -c '\.json$')" 1 "manual send posts to the webhook"
/usr/bin/python3 - "$T/hook/0001.json" > "$T/h1" <<'PY'
import base64, json, sys
r = json.load(open(sys.argv[1])); b = json.loads(r["body"])
print(r["method"], b["group"], b["count"], b["file"].endswith(".csv"))
sys.stdout.write(base64.b64decode(b["csv"]).decode())
PY
is "$(head -1 "$T/h1")" "POST Cohort 1 4 True" "the body template is filled (group, count, file name)"
is "$(sed -n 2,6p "$T/h1")" "$(head -5 "$T/m2")" "the webhook carries the same CSV, base64"
"$BIN/np-report" --test 2>>"$T/log"
is "$(/usr/bin/python3 -c 'import json,sys;print(json.loads(json.load(open(sys.argv[1]))["body"])["group"])' "$T/hook/0002.json" 2>&1)" \
	test "Test Delivery sends a sample report"

sed -i "s/:$hport/:1/" "$NP_HOME/etc/neuropacs.json"
"$BIN/np-report" --send "Cohort 1" 2>>"$T/log"; rc=$?
is "$rc" 111 "an unreachable endpoint is a temporary error"
is "$(sqlite3 "$DB" "SELECT type FROM events ORDER BY id DESC LIMIT 1")" "group_report_send_failed" "send failed event"
nok "no PHI in mails, webhook bodies or logs" grep -rqs CANARY "$T/mail" "$T/hook" "$T/log"
