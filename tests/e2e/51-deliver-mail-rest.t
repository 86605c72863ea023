#!/bin/sh
# np-deliver by e-mail (STARTTLS + AUTH, MIME attachment) and REST (PUT,
# basic auth, custom header, templated JSON body with the base64 report);
# failure reports follow failure_delivery; Test Delivery; templates checked.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/deliver.sh"
plan 21
U=7d3e2f10-4c5b-4a69-8e7f-6a5b4c3d2e1f
results_study $U --no-dicom
sh "$PEERS/mkpki.sh" "$T/pki"
smtp_start "$T/mail" --cert "$T/pki/server.crt" --key "$T/pki/server.key" --user agent --password 'Sm7p-Secret'
webhook_start "$T/hook"
settings "{\"smtp\":{\"host\":\"localhost\",\"port\":$SMTP_PORT,\"security\":\"starttls\",\"username\":\"agent\",
  \"from\":\"agent@example.test\",\"ca_file\":\"$T/pki/ca.crt\"},
 \"delivery\":{\"retry_delay_s\":0,\"destinations\":[
  {\"type\":\"email\",\"recipients\":\"ris@example.test, doc@example.test\",\"format\":\"pdf\",
   \"subject_template\":\"Report {order_id} ({status})\",\"email_body_template\":\"Study {npuid}\\nProduct {product}\\nAccession [{accession}]\"},
  {\"type\":\"rest\",\"url\":\"http://127.0.0.1:$HOOK_PORT/results?site=1\",\"method\":\"PUT\",\"auth\":\"basic\",
   \"username\":\"hook\",\"headers\":{\"X-Site\":\"lab-7\"},\"format\":\"pdf\",\"include_identifiers\":true,
   \"body_template\":\"{\\\"id\\\":\\\"{npuid}\\\",\\\"order\\\":\\\"{order_id}\\\",\\\"acc\\\":\\\"{accession}\\\",\\\"file\\\":\\\"{filename}\\\",\\\"pdf\\\":\\\"{report_base64}\\\"}\"}]}}"
printf 'Sm7p-Secret' | "$BIN/np-config" set-secret smtp.password
printf 'H00k-Pass' | "$BIN/np-config" set-secret delivery.destinations.1.password

"$BIN/np-deliver" "$STUDY" 2>"$T/deliver.log"; rc=$?
is "$rc" 0 "np-deliver exits 0"
wait_for "[ -f '$T/mail/0001.eml' ]" 5
M=$T/mail/0001
is "$(jget "$M.json" 'd["tls"], d["auth_user"], sorted(d["rcpt_tos"])')" \
	"(True, 'agent', ['doc@example.test', 'ris@example.test'])" "mail went over STARTTLS with AUTH to both recipients"
mime() { /usr/bin/python3 -c '
import email, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
exec(sys.argv[2])' "$M.eml" "$1"; }
is "$(mime 'print(m["Subject"])')" "Report 5f0c6b1e-8a7d-4c39-9e51-0d2f7a3b6c41 (Completed)" "subject from the template"
is "$(mime 'print(m.get_body(("plain",)).get_content().strip())')" \
	"$(printf 'Study %s\nProduct Atypical/MSAp/PSP-v1.0\nAccession []' $U)" "body from the template; no accession by default"
is "$(mime 'a=list(m.iter_attachments())[0]; print(a.get_content_type(), a.get_filename())')" \
	"application/pdf neuropacs-5f0c6b1e-8a7d-4c39-9e51-0d2f7a3b6c41.pdf" "the report is a named PDF attachment"
mime 'sys.stdout.buffer.write(list(m.iter_attachments())[0].get_content())' >"$T/att.pdf"
ok "the attachment decodes to the report, byte for byte" cmp "$T/att.pdf" "$STUDY/results/report.pdf"

H=$T/hook/0001.json
is "$(jget "$H" 'd["method"], d["path"], d["headers"]["X-Site"], d["headers"]["Content-Type"]')" \
	"('PUT', '/results?site=1', 'lab-7', 'application/json')" "REST: PUT with the custom header and JSON body"
is "$(jget "$H" '__import__("base64").b64decode(d["headers"]["Authorization"].split()[1]).decode()')" \
	"hook:H00k-Pass" "REST: basic auth with the stored secret"
is "$(jget "$H" '(lambda b: (b["id"], b["order"], b["acc"], b["file"]))(json.loads(d["body"]))')" \
	"('$U', '5f0c6b1e-8a7d-4c39-9e51-0d2f7a3b6c41', 'ACC20240001', 'neuropacs-5f0c6b1e-8a7d-4c39-9e51-0d2f7a3b6c41.pdf')" \
	"REST: templated body (accession only with include_identifiers)"
/usr/bin/python3 -c 'import base64,json,sys;sys.stdout.buffer.write(base64.b64decode(json.loads(json.load(open(sys.argv[1]))["body"])["pdf"]))' "$H" >"$T/rest.pdf"
ok "REST: {report_base64} decodes to the report" cmp "$T/rest.pdf" "$STUDY/results/report.pdf"

# A failure report follows failure_delivery (here e-mail, the TXT report attached).
F=9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d
results_study $F --failure --no-dicom
cp "$NP_HOME/etc/neuropacs.json" "$T/settings.json"
/usr/bin/python3 - "$NP_HOME/etc/neuropacs.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["failure_delivery"] = {"type": "email", "recipients": "ops@example.test", "format": "txt",
                         "subject_template": "Failure {order_id} {status}"}
json.dump(d, open(sys.argv[1], "w"))
PY
"$BIN/np-deliver" "$STUDY" 2>>"$T/deliver.log"; rc=$?
is "$rc" 0 "failure report delivered (exit 0)"
wait_for "[ -f '$T/mail/0002.eml' ]" 5
M=$T/mail/0002
is "$(mime 'print(m["Subject"], list(m.iter_attachments())[0].get_filename())')" \
	"Failure 5f0c6b1e-8a7d-4c39-9e51-0d2f7a3b6c41 Failed neuropacs-5f0c6b1e-8a7d-4c39-9e51-0d2f7a3b6c41-failure.txt" \
	"failure report mail carries results/failure.txt"
is "$(jget "$STUDY/deliveries.json" 'd["kind"], d["destinations"][0]["state"]')" "('failure', 'sent')" \
	"deliveries.json records the failure report delivery"
is "$(ls "$T/hook" | wc -l)" 1 "the failure report did not go to the result destinations"

# A study np-poll moved to failed/ (no queue runs there): np-deliver --failures,
# once; the failure report even though a partial result file exists.
G=0c1d2e3f-4a5b-4c6d-8e7f-8a9b0c1d2e3f
results_study $G --failure --no-dicom
mkdir -p "$NP_HOME/spool/failed" && mv "$STUDY" "$NP_HOME/spool/failed/$G"
printf '{}' >"$NP_HOME/spool/failed/$G/results/result.json"
"$BIN/np-deliver" --failures 2>>"$T/deliver.log"; r1=$?
"$BIN/np-deliver" --failures 2>>"$T/deliver.log"; r2=$?
wait_for "[ -f '$T/mail/0003.eml' ]" 5
is "$r1 $r2 $(ls "$T/mail" | grep -c eml)" "0 0 3" "--failures sends a failed/ study's failure report once"

out=$("$BIN/np-deliver" --test 0 2>>"$T/deliver.log"); rc=$?
is "$rc $out" "0 test report sent to destination 1 (email)" "Test Delivery by e-mail (destinations counted from 1, as on the Settings page)"
wait_for "[ -f '$T/mail/0004.eml' ]" 5
M=$T/mail/0004
is "$(mime 'a=list(m.iter_attachments())[0]; print(a.get_filename(), a.get_content()[:5])')" \
	"neuropacs-test.pdf b'%PDF-'" "the test mail carries a generated PDF"
out=$("$BIN/np-deliver" --test 1 2>>"$T/deliver.log"); rc=$?
is "$rc" 0 "Test Delivery by REST"

# Wrong SMTP password: permanent, nothing stored.
printf 'wrong' | "$BIN/np-config" set-secret smtp.password
"$BIN/np-deliver" --test 0 2>>"$T/deliver.log"; rc=$?
is "$rc" 100 "a refused SMTP login is a permanent error"

# Templates: an unknown placeholder makes the settings invalid.
/usr/bin/python3 - "$NP_HOME/etc/neuropacs.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["delivery"]["destinations"][0]["subject_template"] = "Report {orderid}"
json.dump(d, open(sys.argv[1], "w"))
PY
out=$("$BIN/np-config" check 2>&1); rc=$?
like "$rc $out" "^100 .*delivery\.destinations\.0\.subject_template: unknown placeholder \{orderid\}" \
	"an unknown placeholder is refused with the setting's name"
nok "no PHI or secret in the logs" grep -qaE 'Doe\^John|MRN-000123|ACC20240001|CANARY|Sm7p-Secret|H00k-Pass' "$T/deliver.log"
