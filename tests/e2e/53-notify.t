#!/bin/sh
# np-notify: recorded events are sent once by webhook or e-mail when enabled,
# retried a few times, then given up; no PHI unless the study name is allowed.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/deliver.sh"
plan 21
U=5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f
DB=$NP_HOME/db/agent.sqlite
webhook_start "$T/hook"
HOOK=$HOOK_PORT
smtp_start "$T/mail"
hook_settings() {
	settings "{\"smtp\":{\"host\":\"127.0.0.1\",\"port\":$SMTP_PORT,\"security\":\"none\",\"from\":\"agent@example.test\"},
 \"notifications\":{\"method\":\"$1\",\"recipients\":\"ops@example.test\",\"webhook_url\":\"http://127.0.0.1:$2/notify\",
 \"webhook_auth\":\"bearer\",\"include_study_name\":$3}}"
}
hook_settings webhook "$HOOK" false
printf 'N0tify-Token' | "$BIN/np-config" set-secret notifications.webhook_password
"$BIN/np-notify" --pending 2>"$T/log"; rc=$?
is "$rc" 0 "--pending with no events exits 0"
sql() { sqlite3 "$DB" "$1"; }
ev() { sql "insert into events (ts, npuid, type, level, detail) values ('2026-11-27T10:00:00Z', '$U', '$1', '${2:-info}', '${3:-}')"; }
sql "insert into studies (npuid, state, order_id, study_name) values ('$U', 'results', 'ord-77', 'CANARY-NAME')"
ev qc_failed warning "checks=2 failed=1"
ev qc_passed
ev study_stabilized
ev report_delivery_failed error "report dest=0 type=rest attempts=3"
"$BIN/np-notify" --pending 2>>"$T/log"; rc=$?
is "$rc" 0 "--pending exits 0"
is "$(ls "$T/hook" | wc -l)" 2 "two enabled events sent (qc_failed, report_delivery_failed)"
is "$(sql 'select group_concat(notified) from (select notified from events order by id)')" "1,2,2,1" \
	"events marked: sent, disabled, not a notification, sent"
H=$T/hook/0001.json
is "$(jget "$H" '(lambda b: (b["event"], b["title"], b["level"], b["npuid"], b["order_id"], b["state"], b["detail"]))(json.loads(d["body"]))')" \
	"('qc_failed', 'Quality Control Failed', 'warning', '$U', 'ord-77', 'results', 'checks=2 failed=1')" \
	"webhook body: event, title, level, npuid, order id, state, detail"
is "$(jget "$H" 'd["headers"]["Authorization"]')" "Bearer N0tify-Token" "webhook bearer token from the secret"
nok "no study name unless allowed" grep -q CANARY "$T/hook/0001.json" "$T/hook/0002.json"
"$BIN/np-notify" --pending 2>>"$T/log"
is "$(ls "$T/hook" | wc -l)" 2 "a second run sends nothing again"

hook_settings webhook "$HOOK" true
ev upload_failed error "http=503"
"$BIN/np-notify" --pending 2>>"$T/log"
is "$(jget "$T/hook/0003.json" 'json.loads(d["body"])["study_name"]')" "CANARY-NAME" \
	"include_study_name adds the study name"

DEAD=$(free_port)
hook_settings webhook "$DEAD" false
ev qc_failed
"$BIN/np-notify" --pending 2>>"$T/log"; r1=$?
"$BIN/np-notify" --pending 2>>"$T/log"; r2=$?
is "$r1 $r2 $(sql 'select notified from events order by id desc limit 1')" "111 111 -2" \
	"webhook down: 111 and the failed attempts are counted"
"$BIN/np-notify" --pending 2>>"$T/log"
is "$(sql 'select notified from events order by id desc limit 1')" 3 "given up after 3 attempts"
"$BIN/np-notify" --pending 2>>"$T/log"; rc=$?
is "$rc" 0 "a given-up event is not retried"

hook_settings email "$HOOK" false
"$BIN/np-notify" upload_failed --study $U --detail "http=503 attempts=3" 2>>"$T/log"; rc=$?
is "$rc" 0 "np-notify EVENT by e-mail exits 0"
wait_for "[ -f '$T/mail/0001.eml' ]" 5
mime() { /usr/bin/python3 -c '
import email, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
exec(sys.argv[2])' "$1" "$2"; }
is "$(mime "$T/mail/0001.eml" 'print(m["Subject"], m["To"])')" "[neuropacs-agent] upload_failed ops@example.test" \
	"subject from the template, to the recipients"
like "$(mime "$T/mail/0001.eml" 'print(m.get_body(("plain",)).get_content())' | tr '\n' ' ')" \
	"^upload_failed: http=503 attempts=3 Study: $U Time: 20" "body from the template"
"$BIN/np-notify" qc_passed --study $U 2>>"$T/log"; rc=$?
is "$rc $(ls "$T/mail" | grep -c eml)" "0 1" "a disabled event is not sent"
"$BIN/np-notify" no_such_event 2>>"$T/log"; rc=$?
is "$rc" 100 "an unknown event is a usage error"
out=$("$BIN/np-notify" --test 2>>"$T/log"); rc=$?
is "$rc $out" "0 test notification sent by email" "Test Notification"
wait_for "[ -f '$T/mail/0002.eml' ]" 5
like "$(mime "$T/mail/0002.eml" 'print(m["Subject"])')" "test" "the test notification arrived"
hook_settings none "$HOOK" false
"$BIN/np-notify" --test 2>>"$T/log"; rc=$?
is "$rc" 100 "Test Notification with notifications off is refused"
nok "no PHI in the logs" grep -qaE 'CANARY|N0tify-Token' "$T/log"
