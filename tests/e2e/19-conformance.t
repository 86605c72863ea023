#!/bin/sh
# The DICOM Conformance Statement is true: read from np-conformance --json
# (the facts the statement is printed from), every SOP class and transfer
# syntax it lists is proposed by storescu and accepted by np-recv, a sample
# of what it says is refused is refused with the stated reason (PS3.8
# presentation context results 3 and 4), each C-STORE status it states is
# produced by the stated condition, and what it says np-deliver proposes is
# what storescp logs. The manual page lints clean and np-httpd serves the
# same statement at /api/conformance.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/recv.sh"
. "$NP_TOP/tests/peers/deliver.sh"
. "$NP_TOP/tests/lib/httpd.sh"
command -v storescu >/dev/null && command -v storescp >/dev/null || skip_all "dcmtk not installed"
command -v jq >/dev/null || skip_all "jq not installed"

CF=$NP_TOP/tests/peers/conformance.py
S=$T/statement.json
"$BIN/np-conformance" --json >"$S"
ok "np-conformance --json is JSON" jq -e .scp "$S"
is "$(jq '(.scp.sop_classes|length) > 150 and (.scp.transfer_syntaxes|length) > 20' "$S")" true \
	"the statement lists the Storage SOP Classes and transfer syntaxes"
"$BIN/np-conformance" --man >"$T/np-conformance.7"
is "$(mandoc -Tlint -W warning "$T/np-conformance.7" 2>&1)" "" "np-conformance(7) lints clean"
for s in "MR Image Storage" "1.2.840.10008.1.2.4.90" "Implementation Class UID" "TLS_RSA_WITH_AES_128_CBC_SHA" "113100" "A700"; do
	grep -qF "$s" "$T/np-conformance.7" || echo "# missing in the manual page: $s"
done
ok "... and states classes, syntaxes, identity, TLS suites, de-identification codes and statuses" \
	sh -c "for s in 'MR Image Storage' 1.2.840.10008.1.2.4.90 'Implementation Class UID' TLS_RSA_WITH_AES_128_CBC_SHA 113100 A700; do grep -qF \"\$s\" '$T/np-conformance.7' || exit 1; done"

# ---- SCP: negotiation, in a few associations of up to 121 contexts ----
recv_config '{"ae_title": "NP_CONF", "bind": "127.0.0.1"}'
recv_start
MRF=$T/mr.dcm
cp /usr/lib/python3/dist-packages/pydicom/data/test_files/MR_small.dcm "$MRF"
PROFILES=$("$CF" cfg "$S" "$T/c.cfg" "$T/c.expect")
for p in $PROFILES; do
	storescu -d -aec NP_CONF -xf "$T/c.cfg" "$p" 127.0.0.1 "$RECV_PORT" "$MRF" >"$T/$p.log" 2>&1
	"$CF" check "$T/c.expect" "$p" "$T/$p.log" >"$T/$p.check"
	n=$(grep -c "^$p " "$T/c.expect")
	case $p in
	SOP*) what="every listed SOP class (profile $p) is accepted" ;;
	TS) what="every listed transfer syntax is accepted (MR Image Storage)" ;;
	REF) what="unlisted classes and syntaxes are refused with the stated reason (3 or 4)" ;;
	esac
	is "$(grep -v '^checked' "$T/$p.check" | head -3)$(tail -1 "$T/$p.check")" "checked $n" "$what"
done
like "$(grep -c 'association peer=.*instances=1 ' "$T/recv.log")" '^[4-9]' "... and the file of each association was stored"
their() { sed -n "s/.*Their $1: *\([0-9A-Z_.][0-9A-Z_.]*\) *\$/\1/p" "$2" | sort -u; }
is "$(their 'Implementation Class UID' "$T/SOP1.log")" \
	"$(jq -r .implementation_class_uid "$S")" "the implementation class UID np-recv sends is the stated one"
is "$(their 'Implementation Version Name' "$T/SOP1.log")" \
	"$(jq -r .implementation_version_name "$S")" "... and so is the implementation version name"
ok "Verification is accepted (echoscu)" echoscu -aec NP_CONF 127.0.0.1 "$RECV_PORT"

# ---- SCP: each stated C-STORE status under its stated condition ----
codes=$(jq -r '.scp.statuses[].code' "$S" | sort | tr '\n' ' ')
is "$codes" "0000 A700 A900 C000 " "the statement states 0000, A700, A900 and C000"
like "$(grep 'DIMSE Status' "$T/TS.log" | head -1)" '0x0000' "0000: storescu's instance was stored"
is "$(/usr/bin/python3 "$PEERS/pdu.py" "$RECV_PORT" NP_CONF wrongclass)" "status a900" \
	"A900: a C-STORE whose SOP Class UID is not its context's"
is "$(/usr/bin/python3 "$PEERS/pdu.py" "$RECV_PORT" NP_CONF nostudy)" "status a900" \
	"A900: a data set without Study Instance UID"
# A Part 10 file whose data set breaks off inside its first element.
/usr/bin/python3 - "$MRF" "$T/bad.dcm" <<'EOF'
import sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
raw = open(sys.argv[1], "rb").read()
i = raw.index(b"\x08\x00", 132 + 12 + int.from_bytes(raw[140:144], "little"))
open(sys.argv[2], "wb").write(raw[:i] + b"\x08\x00\x16\x00UI\xff\x7f1.2.3")
EOF
like "$("$PLAIN/peers/np-scu" -c NP_CONF 127.0.0.1 "$RECV_PORT" "$T/bad.dcm" 2>&1)" '^c000 ' \
	"C000: a data set that cannot be parsed"
recv_stop
NP_RECV_FAULT_ENOSPC=0 recv_start
storescu -d -aec NP_CONF 127.0.0.1 "$RECV_PORT" "$MRF" >"$T/full.log" 2>&1
like "$(grep 'DIMSE Status' "$T/full.log" | head -1)" '0xa700' "A700: the disk is full (ENOSPC)"
recv_stop

# ---- SCU: what np-deliver proposes, from storescp's debug log ----
U=0b0c8f6e-2d1a-4b5e-9c1f-3a2b1c0d9e8f
results_study $U
SP=$(free_port)
storescp_start "$T/rx" "$SP" -d +xa
settings "{\"dicom\":{\"ae_title\":\"NPAGENT\"},\"delivery\":{\"destinations\":[
 {\"type\":\"dicom_pdf\",\"host\":\"127.0.0.1\",\"port\":$SP,\"ae_title\":\"DEST\"},
 {\"type\":\"dicom_sr\",\"host\":\"127.0.0.1\",\"port\":$SP,\"ae_title\":\"DEST\"}]}}"
"$BIN/np-deliver" "$STUDY" 2>"$T/deliver.log"
ok "np-deliver sent both objects" sh -c "test \$(ls '$T/rx' | wc -l) -eq 2"
"$BIN/np-deliver" --test 0 2>>"$T/deliver.log"
sleep 0.3
L=$T/rx.log
# storescp names abstract syntaxes the way DCMTK spells them: the SOP class
# name without spaces; the one transfer syntax np-deliver proposes for them
# (Explicit VR Little Endian) is DCMTK's LittleEndianExplicit.
proposed=$(awk '/A-ASSOCIATE-RQ/{rq=1} /A-ASSOCIATE-AC/{rq=0} rq && /Abstract Syntax:/{print $NF}' "$L" | sort -u | tr '\n' ' ')
want=$(jq -r '.scu.sop_classes[].name' "$S" | sed 's/ //g; s/^Verification$/VerificationSOPClass/; s/^/=/' | sort | tr '\n' ' ')
is "$proposed" "$want" "np-deliver proposes exactly the stated SOP classes (PDF, SR, Verification)"
is "$(grep -c 'Context ID:.*(Proposed)' "$L")" 3 "... one presentation context per association"
ts_pdf=$(awk '/Abstract Syntax: =EncapsulatedPDFStorage/{f=1} f && /=LittleEndian/{print $NF; exit}' "$L")
is "$ts_pdf" "=LittleEndianExplicit" "... the PDF in Explicit VR Little Endian, as stated"
is "$(jq -r '.scu.sop_classes[] | select(.name=="Encapsulated PDF Storage") | .transfer_syntaxes' "$S")" \
	"1.2.840.10008.1.2.1" "... which the statement names by UID"
is "$(their 'Implementation Class UID' "$L")" \
	"$(jq -r .implementation_class_uid "$S")" "np-deliver's implementation class UID is the stated one"
is "$(their 'Max PDU Receive Size' "$L" | grep -v '^0$')" "$(jq -r .scu.max_pdu "$S")" \
	"... and so is its maximum PDU"

# ---- the same statement from np-httpd ----
start_httpd --insecure-no-auth
is "$(req GET /api/conformance)" 200 "GET /api/conformance answers without a login"
like "$(grep -i '^content-type' "$T/headers")" 'text/html' "... with an HTML page"
ok "... the statement's page (lists CT Image Storage)" grep -q 'CT Image Storage' "$T/body"
req GET '/api/conformance?format=json' >/dev/null
is "$(jq -S . "$T/body" | cksum)" "$(jq -S . "$S" | cksum)" "?format=json is np-conformance --json"
done_testing
