#!/bin/sh
# np-atna: the audit trail as IHE ATNA audit messages (DICOM PS3.15 A.5) in
# RFC 5424 syslog to a collector on 127.0.0.1 (tests/peers/syslog_recv.py):
# over TLS (RFC 5425 octet counting) every audit action and audited pipeline
# event arrives once, valid against the shipped RELAX NG schema, with the
# right EventID; no PHI of the study (the canary) with the default settings,
# the Patient ID but never the name with atna.include_patient_ids; the
# collector down for a while, then up: every record arrives exactly once;
# rows retention deleted before they were sent are reported; UDP (RFC
# 5426); POST /api/settings/test-atna; the s6 service.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
plan 32
RNG=$NP_TOP/share/schema/atna/audit-message.rng
PY=/usr/bin/python3
sh "$NP_TOP/tests/peers/mkpki.sh" "$T/pki"
S=cccccccc-1111-4111-8111-111111111111
seed_study done $S
db="$NP_HOME/db/agent.sqlite"
R=$(free_port)
OUT=$T/recv.jsonl
start_recv() {
	$PY "$NP_TOP/tests/peers/syslog_recv.py" --tls --port "$R" --cert "$T/pki/server.crt" --key "$T/pki/server.key" \
		--out "$OUT" 2>>"$T/recv.log" &
	RECV=$!
	wait_port "$R" 10
}
start_recv
at_exit 'kill $RECV 2>/dev/null'
"$BIN/np-config" merge <<EOF
{"atna":{"enabled":true,"host":"localhost","port":$R,"ca_file":"$T/pki/ca.crt","site_id":"North Hospital"},
 "cloud":{"api_url":"https://cloud.example.test/api"}}
EOF
start_httpd --insecure-no-auth
req GET /api/audit >/dev/null

# Every audit action np-httpd, np-study and np-init record, and every event
# type np-atna sends, one row each at its own time (the key to count them).
rows=0
audit() { # ts-second action npuid detail outcome
	rows=$((rows + 1))
	sqlite3 "$db" "INSERT INTO audit (ts, actor, role, client, action, npuid, detail, outcome) VALUES
	 ('2026-11-27T10:00:$1.000Z', 'alice@example.test', 'admin', '10.1.2.3', '$2', NULLIF('$3',''), NULLIF('$4',''), '$5')"
}
event() { # ts-second type npuid detail level
	sqlite3 "$db" "INSERT INTO events (ts, npuid, type, level, detail) VALUES
	 ('2026-11-27T11:00:$1.000Z', NULLIF('$3',''), '$2', '$5', NULLIF('$4',''))"
}
audit 01 login '' method=password success
audit 02 login '' method=password failure
audit 03 logout '' '' success
audit 04 reveal $S scope=study success
audit 05 reveal '' scope=list success
audit 06 bypass_qc $S '' success
audit 07 force_stable $S '' success
audit 08 retry $S state=failed success
audit 09 cancel $S state=queued refused
audit 10 delete $S state=done success
audit 11 manual_delivery $S scope=study success
audit 12 settings_change '' 'keys=["dicom.port"]' success
audit 13 certificate_upload '' '' success
audit 14 sessions_revoked '' reason=password_change success
audit 15 password_resync '' source=settings success
audit 16 saml_sp_key_rotated '' source=np-init success
audit 17 audit_export '' format=csv success
audit 18 some_future_action '' '' success
event 01 new_dataset_received $S 'source=dicom format=dicom series=2 instances=10' info
event 02 upload_succeeded $S 'order o-1: 10 files in 1 ZIPs' info
event 03 upload_failed $S 'cloud answered 503' error
event 04 report_delivered $S destinations=1 info
event 05 report_delivery_failed $S 'destination 1 (dicom_pdf): refused' error
event 06 study_purged $S done info
event 07 association_rejected '' 'peer=127.0.0.9:40000 calling_ae=ROGUE called_ae=NEUROPACS_SCP reason=calling AE not recognized' warning
event 08 qc_passed $S 'passed' info
events=7

req POST /api/settings/test-atna >"$T/code"
is "$(cat "$T/code")" 200 "POST /api/settings/test-atna sends a test message"
like "$(jget "$T/body" message)" "over TLSv1\.[23] .*certificate was verified" "... and says how (TLS, certificate verified)"

"$SBIN/np-atna" 2>>"$T/atna.log" &
ATNA=$!
at_exit 'kill $ATNA 2>/dev/null'
# rows + events + the test's own audit row + application start + the test message
want=$((rows + events + 3))
n() { [ -f "$OUT" ] && wc -l <"$OUT" | tr -d ' ' || echo 0; }
wait_for '[ "$(n)" -ge '$want' ]' 30
sleep 1
is "$(n)" "$want" "the collector receives one message per audited row, the start and the test ($want)"

# xml N: message N of the receiver's file
msgs() { $PY -c 'import json,sys
for i,l in enumerate(open(sys.argv[1])):
    d=json.loads(l); open("%s/m%03d.xml" % (sys.argv[2], i), "w").write(d.get("msg", "<error/>"))' "$1" "$2"; }
mkdir -p "$T/m1" && msgs "$OUT" "$T/m1"
xmllint --noout --relaxng "$RNG" "$T"/m1/*.xml >"$T/xmllint.log" 2>&1
is "$(grep -c ' validates$' "$T/xmllint.log")" "$want" "every message validates against the DICOM audit message schema (RELAX NG)"
is "$(jq -s 'map(select(.error)) | length' "$OUT")" 0 "every frame is RFC 5425 octet counting around an RFC 5424 message"
is "$(jq -r '[.pri, .version, .app, .msgid, .sd, .bom] | map(tostring) | join(" ")' "$OUT" | sort -u)" \
	"85 1 neuropacs-agent IHE+RFC-3881 - true" "... PRI 85 (authpriv.notice), version 1, MSGID IHE+RFC-3881, UTF-8 BOM"

# eid ACTION: the EventID of the message with local code ACTION
eid() { grep -l "csd-code=\"$1\" codeSystemName=\"99NEUROPACS\"" "$T"/m1/*.xml | head -1 | xargs -r xmllint --xpath 'string(//EventID/@csd-code)' 2>/dev/null; }
is "$(eid login) $(eid logout) $(eid sessions_revoked)" "110114 110114 110113" \
	"login and logout are User Authentication, a session revocation a Security Alert"
is "$(eid reveal) $(eid bypass_qc) $(eid delete) $(eid manual_delivery)" "110103 110103 110105 110102" \
	"reveal and QC bypass: Instances Accessed; delete: DICOM Study Deleted; a manual delivery: Begin Transferring"
is "$(eid settings_change) $(eid audit_export) $(eid some_future_action)" "110113 110101 110113" \
	"settings change: Security Alert; audit export: Audit Log Used; an unknown action still goes out"
is "$(eid new_dataset_received) $(eid upload_succeeded) $(eid report_delivered) $(eid study_purged)" \
	"110104 110106 110104 110105" "received: Instances Transferred; sent to the cloud: Export; delivered; purged"
is "$(eid association_rejected) $(eid application_start) $(eid atna_test)" "110113 110100 110100" \
	"a refused association: Security Alert; np-atna's start and the test: Application Activity"
is "$(eid qc_passed)" "" "events of no security relevance (qc_passed) are not sent"
f=$(grep -l 'csd-code="login"' "$T"/m1/*.xml | xargs grep -l 'EventOutcomeIndicator="4"')
like "$(cat "$f")" 'UserID="alice@example.test" UserIsRequestor="true" NetworkAccessPointID="10.1.2.3" NetworkAccessPointTypeCode="2"' \
	"a failed login: outcome 4, the user and the client's address"
f=$(grep -l 'csd-code="new_dataset_received"' "$T"/m1/*.xml)
like "$(cat "$f")" 'EventActionCode="C".*csd-code="110180".*ParticipantObjectTypeCodeRole="1"' \
	"a received study names the study (110180) and the patient"
is "$(xmllint --xpath 'string(//ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole="1"]/@ParticipantObjectID)' "$f")" \
	"$("$SBIN/np-atna" --print | grep 'csd-code="reveal"' | head -1 | xmllint --xpath 'string(//ParticipantObjectIdentification[@ParticipantObjectTypeCodeRole="1"]/@ParticipantObjectID)' -)" \
	"the patient's pseudonym is the same in every message"
like "$(cat "$T"/m1/*.xml)" 'AuditEnterpriseSiteID="North Hospital"' "the site ID of the settings is sent"
nok "no PHI of the study leaves by default (name, Patient ID, accession, Study UID)" \
	grep -Eq "CANARY|1\.2\.3\.[0-9]" "$OUT"

# The collector down for a while: records wait in the index, then each
# arrives once.
kill $RECV
wait $RECV 2>/dev/null
for s in 41 42 43 44 45; do audit $s login '' method=password success; done
sleep 3
like "$(cat "$T/atna.log")" "unavailable, records wait in the index|closed the connection" "np-atna notices the collector is gone"
mv "$OUT" "$T/recv1.jsonl"
start_recv
wait_for '[ "$(n)" -ge 5 ]' 40
sleep 2
is "$(jq -r .msg "$OUT" | grep -o 'EventDateTime="2026-11-27T10:00:4[1-5][^"]*"' | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')" \
	"1 1 1 1 1 " "collector back: the five records made meanwhile arrive, each once"
is "$(cat "$T/recv1.jsonl" "$OUT" | jq -r .msg | grep -c 'EventDateTime="2026-11-27T10:00:4')" 5 "... and none went twice"

# A restart of np-atna sends Application Stop, then nothing again.
kill $ATNA
wait $ATNA 2>/dev/null
"$SBIN/np-atna" 2>>"$T/atna.log" &
ATNA=$!
wait_for '[ "$(jq -r .msg "$OUT" | grep -c "110120")" -ge 1 ]' 20
sleep 2
is "$(jq -r .msg "$OUT" | grep -c 'csd-code="110121"')" 1 "np-atna stopping sends Application Stop"
is "$(jq -r .msg "$OUT" | grep -c 'csd-code="login" codeSystemName="99NEUROPACS"')" 5 "a restart sends nothing twice (cursor in the index)"
kill $ATNA
wait $ATNA 2>/dev/null

# Rows retention deleted before they were sent: a Security Alert says which.
# (retention deletes the oldest rows: the newest stays and keeps the rowids growing)
for s in 51 52 53; do event $s new_dataset_received $S source=dicom info; done
event 54 report_delivered $S destinations=1 info
sqlite3 "$db" "DELETE FROM events WHERE ts LIKE '2026-11-27T11:00:5_.000Z' AND ts < '2026-11-27T11:00:54'"
: >"$OUT"
"$SBIN/np-atna" --once 2>>"$T/atna.log"
is "$?" 0 "np-atna --once sends what waits"
like "$(jq -r .msg "$OUT" | tr '\n' ' ')" 'csd-code="110133".*csd-code="records_lost".*csd-code="report_delivered"' \
	"rows deleted unsent are reported (Audit Recording Stopped), then following goes on"
like "$(jq -r .msg "$OUT" | grep records_lost | xmllint --xpath 'string(//ParticipantObjectDetail/@value)' - | base64 -d)" \
	"table=events first_id=[0-9]+ last_id=[0-9]+ count=3" "... naming the table and the rowids lost"

# atna.include_patient_ids: the Patient ID, Study UID and accession, never the name.
"$BIN/np-config" merge <<EOF
{"atna":{"include_patient_ids":true}}
EOF
"$SBIN/np-atna" --print >"$T/ids.xml"
like "$(grep new_dataset_received "$T/ids.xml")" 'ParticipantObjectID="1\.2\.3\.[0-9]+".*ParticipantObjectID="CANARY-PID-1"' \
	"include_patient_ids sends the real Patient ID and Study Instance UID"
nok "... but never the patient's name" grep -q "CANARY^PATIENT" "$T/ids.xml"

# UDP (RFC 5426): one message per datagram, nothing to confirm.
U=$(free_port)
$PY "$NP_TOP/tests/peers/syslog_recv.py" --udp --port "$U" --out "$T/udp.jsonl" 2>>"$T/recv.log" &
UDP=$!
at_exit 'kill $UDP 2>/dev/null'
sleep 0.5
"$BIN/np-config" merge <<EOF
{"atna":{"transport":"udp","port":$U}}
EOF
like "$("$SBIN/np-atna" --test 2>&1)" "over UDP" "np-atna --test over UDP says what it can"
wait_for '[ -s "$T/udp.jsonl" ]' 5
like "$(jq -r .msg "$T/udp.jsonl")" 'csd-code="110100"' "... and the collector gets it"
kill $UDP
"$BIN/np-config" merge <<EOF
{"atna":{"port":$(free_port)}}
EOF
req POST /api/settings/test-atna >"$T/code"
is "$(cat "$T/code") $(jget "$T/body" error.code)" "502 atna_failed" "a UDP port nobody listens on: the test says so (502)"

# The s6 service: np-svscan installs it; it runs as the back-end.
"$SBIN/np-svscan" --prepare-only
ok "np-svscan installs the np-atna service" test -x "$NP_HOME/service/np-atna/run"
like "$(cat "$NP_HOME/service/np-atna/run")" 'NP_AS_BACKEND.*np-atna' "... run with the back-end's identity"
