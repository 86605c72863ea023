#!/bin/sh
# np-deliver to DICOM destinations: Encapsulated PDF and SR into storescp
# (plain and mutual TLS) and Orthanc (mutual TLS); the objects validate, carry
# the original study's identifiers in a new series, and a resend is identical.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/deliver.sh"
command -v storescp >/dev/null && command -v Orthanc >/dev/null || skip_all "dcmtk or orthanc missing"
plan 28
U=0b0c8f6e-2d1a-4b5e-9c1f-3a2b1c0d9e8f
results_study $U
ORIG=$STUDY/dicom/S001/IM00001.dcm
sh "$PEERS/mkpki.sh" "$T/pki"
P1=$(free_port) P2=$(free_port) P3=$(free_port) P4=$(free_port)
storescp_start "$T/rx" "$P1" +xa
storescp_start "$T/rxt" "$P2" +xa +tls "$T/pki/server.key" "$T/pki/server.crt" -pw +cf "$T/pki/ca.crt" -rc
orthanc_start "$T/orthanc" "$P3" "$P4" "\"DicomTlsEnabled\":true,\"DicomTlsCertificate\":\"$T/pki/server.crt\",
\"DicomTlsPrivateKey\":\"$T/pki/server.key\",\"DicomTlsTrustedCertificates\":\"$T/pki/ca.crt\",
\"DicomTlsRemoteCertificateRequired\":true"
MTLS="\"tls\":true,\"tls_ca_file\":\"$T/pki/ca.crt\",\"tls_cert_file\":\"$T/pki/client.crt\",\"tls_key_file\":\"$T/pki/client.key\""
# The storescp destination names its files relative to the agent home (as
# the Settings page would), read from there whatever folder np-deliver runs in.
mkdir -p "$NP_HOME/etc/tls" && cp "$T/pki/ca.crt" "$T/pki/client.crt" "$T/pki/client.key" "$NP_HOME/etc/tls/"
MTLS_REL="\"tls\":true,\"tls_ca_file\":\"etc/tls/ca.crt\",\"tls_cert_file\":\"etc/tls/client.crt\",\"tls_key_file\":\"etc/tls/client.key\""
settings "{\"dicom\":{\"ae_title\":\"NPAGENT\"},\"delivery\":{\"retry_delay_s\":0,\"destinations\":[
 {\"type\":\"dicom_pdf\",\"host\":\"127.0.0.1\",\"port\":$P1,\"ae_title\":\"DEST\"},
 {\"type\":\"dicom_sr\",\"host\":\"127.0.0.1\",\"port\":$P1,\"ae_title\":\"DEST\"},
 {\"type\":\"dicom_pdf\",\"host\":\"127.0.0.1\",\"port\":$P2,\"ae_title\":\"DEST\",$MTLS_REL},
 {\"type\":\"dicom_sr\",\"host\":\"127.0.0.1\",\"port\":$P3,\"ae_title\":\"ORTHANC\",$MTLS},
 {\"type\":\"dicom_pdf\",\"host\":\"127.0.0.1\",\"port\":$P3,\"ae_title\":\"ORTHANC\",$MTLS}]}}"

(cd /tmp && "$BIN/np-deliver" "$STUDY" 2>"$T/deliver.log"); rc=$?
is "$rc" 0 "np-deliver exits 0 when every destination took the results"
is "$(jget "$STUDY/deliveries.json" '",".join(e["state"] for e in d["destinations"])')" "sent,sent,sent,sent,sent" \
	"deliveries.json: five destinations sent"
PDF=$(ls "$T"/rx/PDF.* 2>/dev/null | head -1) SR=$(ls "$T"/rx/SR*.* 2>/dev/null | head -1)
ok "storescp received the Encapsulated PDF" test -s "$PDF"
ok "storescp received the SR" test -s "$SR"
ok "the PDF object passes dciodvfy" dciodvfy "$PDF"
ok "the SR passes dciodvfy" dciodvfy "$SR"
dcm2pdf "$PDF" "$T/back.pdf" >/dev/null 2>&1
ok "dcm2pdf extracts a byte-identical PDF (odd length, padded)" cmp "$T/back.pdf" "$STUDY/results/report.pdf"
dsrdump "$SR" >"$T/sr.txt" 2>&1
like "$(cat "$T/sr.txt")" 'NUM:\(,,"Atypical Parkinsonism score"\)="0.913"' "dsrdump shows the Atypical score as NUM"
like "$(cat "$T/sr.txt")" 'Comprehensive SR Document' "dsrdump parses a Comprehensive SR"
# One dcmdump per file; tag FILE NAME reads the cached dump.
for f in "$ORIG" "$PDF" "$SR"; do
	dcmdump +P StudyInstanceUID +P PatientID +P AccessionNumber +P SeriesInstanceUID +P SOPInstanceUID "$f" \
		>"$T/$(basename "$f").tags" 2>/dev/null
done
tag() { sed -n "s/.*\\[\\(.*\\)\\] *#.* $2\$/\\1/p" "$T/$(basename "$1").tags" | head -1; }
for k in StudyInstanceUID PatientID AccessionNumber; do
	is "$(tag "$PDF" $k)/$(tag "$SR" $k)" "$(tag "$ORIG" $k)/$(tag "$ORIG" $k)" "PDF and SR carry the original $k"
done
ok "patient and study attributes agree with the original images (dcentvfy)" dcentvfy "$ORIG" "$PDF" "$SR"
nok "the results are in a new series" sh -c "find '$STUDY/dicom' -name '*.dcm' -exec dcmdump +P SeriesInstanceUID {} + | grep -qF '[$(tag "$PDF" SeriesInstanceUID)]'"
ok "mutual TLS storescp got the same PDF object" cmp "$T/rxt/$(basename "$PDF")" "$PDF"
H=http://127.0.0.1:$P4
OS=$(curl -s "$H/studies" | /usr/bin/python3 -c 'import json,sys;print(" ".join(json.load(sys.stdin)))')
is "$(curl -s "$H/studies/$OS" | /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["MainDicomTags"]["StudyInstanceUID"])')" \
	"$(tag "$ORIG" StudyInstanceUID)" "Orthanc (mutual TLS) files both objects in the original study"
is "$(curl -s "$H/studies/$OS/series" | /usr/bin/python3 -c 'import json,sys;print(" ".join(sorted(s["MainDicomTags"]["Modality"] for s in json.load(sys.stdin))))')" \
	"DOC SR" "Orthanc shows a DOC and an SR series"
is "$(sqlite3 "$NP_HOME/db/agent.sqlite" "select count(*) from events where type='report_delivered' and npuid='$U'")" 1 \
	"one report_delivered event"

"$BIN/np-deliver" --resend --dest 0 "$STUDY" 2>>"$T/deliver.log"; rc=$?
is "$rc" 0 "--resend --dest 0 exits 0"
is "$(ls "$T"/rx/PDF.* | wc -l)" 1 "the resent PDF has the same SOP Instance UID (idempotent)"
is "$(jget "$STUDY/deliveries.json" 'd["destinations"][0]["attempts"], d["destinations"][1]["attempts"]')" "(1, 1)" \
	"resend of destination 0 leaves destination 1 alone"
out=$("$BIN/np-deliver" --test 2 2>>"$T/deliver.log"); rc=$?
like "$rc $out" "^0 destination [0-9]+: C-ECHO to 127.0.0.1:$P2 \(DEST\) succeeded .*no report is sent" "Test Delivery of a DICOM destination is a C-ECHO (mutual TLS)"
settings "{\"delivery\":{\"destinations\":[{\"type\":\"dicom_pdf\",\"host\":\"127.0.0.1\",\"port\":$(free_port),\"ae_title\":\"X\"}]}}"
"$BIN/np-deliver" --test 0 2>>"$T/deliver.log"; rc=$?
is "$rc" 111 "Test Delivery to a closed port is a temporary error"

# An original without Specific Character Set (GDCM's example 00191113.dcm):
# the PDF leaves out (0008,0005) (Type 1C) instead of writing it empty, and
# dciodvfy finds no error in the PDF that the original does not have.
U2=1a2b3c4d-5e6f-4a0b-8c1d-2e3f4a5b6c7d
results_study $U2; rm -rf "$STUDY/dicom"; mkdir -p "$STUDY/dicom"
cp /usr/share/doc/libgdcm3.0/examples/00191113.dcm "$STUDY/dicom/a.dcm"
settings "{\"dicom\":{\"ae_title\":\"NPAGENT\"},\"delivery\":{\"retry_delay_s\":0,\"destinations\":[
 {\"type\":\"dicom_pdf\",\"host\":\"127.0.0.1\",\"port\":$P1,\"ae_title\":\"DEST\"}]}}"
"$BIN/np-deliver" "$STUDY" 2>>"$T/deliver.log"; rc=$?
P2F=$STUDY/delivery/report_pdf.dcm
is "$rc/$(dcmdump +P SpecificCharacterSet "$P2F" 2>/dev/null | wc -l | tr -d ' ')" "0/0" "no Specific Character Set in the source: none in the PDF"
dciodvfy "$STUDY/dicom/a.dcm" 2>&1 | grep '^Error' | sed 's/ - .*//' | sort -u >"$T/orig.err"
dciodvfy "$P2F" 2>&1 | grep '^Error' | sed 's/ - .*//' | sort -u >"$T/pdf.err"
is "$(comm -13 "$T/orig.err" "$T/pdf.err")" "" "dciodvfy: no error in the PDF that the original does not have"

# No readable original instance: a permanent condition, exit 100.
U3=2b3c4d5e-6f7a-4b1c-9d2e-3f4a5b6c7d8e
results_study $U3; find "$STUDY/dicom" -type f -exec sh -c 'echo not dicom > "$1"' _ {} \;
out=$("$BIN/np-deliver" "$STUDY" 2>&1); rc=$?
like "$rc $out" "^100 .*no original DICOM instance to file the result into" "no readable original: exit 100, saying why"
is "$(jget "$STUDY/deliveries.json" 'd["destinations"][0]["state"]+"/"+str(d["destinations"][0]["attempts"])')" "failed/1" \
	"... the destination is failed after one attempt"
nok "no PHI in the logs" grep -qaE 'Doe\^John|MRN-000123|ACC20240001|CANARY' "$T/deliver.log"
