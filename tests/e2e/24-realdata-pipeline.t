#!/bin/sh
# Real Siemens DTI (nibabel's test data: siemens_dwi_0/_1000, 0.dcm, 1.dcm,
# one study; csa_slice_norm.dcm, another) through the receive chain:
# storescu -> np-recv -> np-stable (daemon, short stabilization) -> np-queue +
# np-qc -> np-queue + np-deid --study, as etc/s6/qc and etc/s6/prepare run
# them. Both studies fail QC on the IFU rules (real descriptions) and are
# bypassed as an administrator would: np-qc --bypass, then the move
# qc-failed -> qc-passed done here with mv (the API's bypass does it with
# np_spool_move; no tool does it alone). Outputs are read back by
# independent readers: pydicom (tests/data/check_deid_real.py), nibabel's
# csareader and MosaicWrapper, and dcm2niix when installed.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/recv.sh"
PY=/usr/bin/python3
NB=/usr/lib/python3/dist-packages/nibabel/nicom/tests/data
command -v storescu >/dev/null && command -v storescp >/dev/null || skip_all "dcmtk not installed"
[ -f "$NB/siemens_dwi_1000.dcm.gz" ] || skip_all "python3-nibabel test data not installed"
$PY -c 'import pydicom, nibabel' 2>/dev/null || skip_all "python3-pydicom or python3-nibabel not installed"
plan 16

# The files as Debian ships them; 0.dcm, 1.dcm and siemens_dwi_* share one
# Study Instance UID, csa_slice_norm.dcm is another study.
mkdir -p "$T/in/dti" "$T/in/rest"
gunzip -c "$NB/siemens_dwi_0.dcm.gz" >"$T/in/dti/siemens_dwi_0.dcm"
gunzip -c "$NB/siemens_dwi_1000.dcm.gz" >"$T/in/dti/siemens_dwi_1000.dcm"
cp "$NB/0.dcm" "$NB/1.dcm" "$T/in/dti/"
cp "$NB/csa_slice_norm.dcm" "$T/in/rest/"

recv_config '{"ae_title": "NP_TEST", "bind": "127.0.0.1", "stabilization_seconds": 2, "scan_interval_seconds": 1}'
recv_start
"$SBIN/np-stable" 2>>"$T/stable.log" &
STABLE_PID=$!
at_exit "stop_pid $STABLE_PID"
# The DTI files are implicit VR: propose only that, so nothing is converted
# on the way and the stored data sets can be compared with the sent ones.
ok "storescu sends the DTI study (4 files, implicit VR)" \
	storescu -aec NP_TEST -xi +sd +r +sp '*.dcm' 127.0.0.1 "$RECV_PORT" "$T/in/dti"
ok "storescu sends the resting-state study" \
	storescu -aec NP_TEST +sd +r +sp '*.dcm' 127.0.0.1 "$RECV_PORT" "$T/in/rest"
nstable() { ls "$NP_HOME/spool/stable" | wc -l | tr -d ' '; }
ok "np-stable stabilizes both studies" wait_for '[ "$(nstable)" = 2 ]' 30
stop_pid "$STABLE_PID"
dti=$(grep -l '35119' "$NP_HOME"/spool/stable/*/manifest.json | xargs dirname | xargs basename)
rest=$(grep -L '35119' "$NP_HOME"/spool/stable/*/manifest.json | xargs dirname | xargs basename)
cnt() { jq -r '.counts.instances' "$NP_HOME/spool/stable/$1/manifest.json"; }
is "$(cnt "$dti") $(cnt "$rest")" "4 1" "one study of 4 instances and one of 1"

# storescu re-encodes what it reads (these files do not come back
# byte-identical from any receiver), so "what was sent" is what DCMTK's
# storescp -B (bit-preserving) stores from the same two storescu runs.
SHIM=$PLAIN/peers/libbind127.so
REF_PORT=$(free_port)
mkdir -p "$T/ref"
LD_PRELOAD=$SHIM storescp -B -aet REF -od "$T/ref" "$REF_PORT" 2>"$T/ref.log" &
REF_PID=$!
at_exit "stop_pid $REF_PID"
wait_port "$REF_PORT" || bail "storescp did not start"
storescu -aec REF -xi +sd +r +sp '*.dcm' 127.0.0.1 "$REF_PORT" "$T/in/dti" &&
	storescu -aec REF +sd +r +sp '*.dcm' 127.0.0.1 "$REF_PORT" "$T/in/rest" || bail "storescu to storescp failed"
stop_pid "$REF_PID"
"$NP_TOP/tests/peers/dsum.py" "$T/ref"/* >"$T/sent"
"$NP_TOP/tests/peers/dsum.py" "$NP_HOME"/spool/stable/*/dicom/*.dcm >"$T/got"
ok "np-recv stored all 5 data sets byte-identical to what was sent" \
	sh -c "[ \$(wc -l <'$T/sent') = 5 ] && cmp '$T/sent' '$T/got'"
cmp -s "$T/sent" "$T/got" || diff "$T/sent" "$T/got" | sed 's/^/#   /'

# QC as etc/s6/qc runs it; the report lines go to the TAP output.
"$BIN/np-queue" --once stable qc-passed qc-failed -- "$BIN/np-qc" >"$T/qc.out" 2>>"$T/queue.log"
qcj() { jq -r "$2" "$NP_HOME/spool/qc-failed/$1/qc.json" 2>/dev/null; }
for s in "$dti" "$rest"; do
	diag "np-qc $s:"
	qcj "$s" '.checks[] | "  \(.status) \(.id): \(.details)"' | sed 's/^/# /'
done
is "$(qcj "$dti" '.result') $(qcj "$dti" '[.checks[]|select(.status=="fail").id]|join(",")')" \
	"failed demographics,ifu" "DTI study: QC fails on the IFU and the missing age only"
like "$(qcj "$dti" '.checks[]|select(.id=="dwi_present")|"\(.status) \(.details)"')" \
	'^pass .*"CBU_DTI_64D_1A" is diffusion-weighted \(b=0,1000; vendor_private' \
	"DTI study: dwi_present passes with b=0,1000 from the Siemens private header"
is "$(qcj "$rest" '.checks[]|select(.id=="dwi_present").status')" fail "resting-state study: dwi_present fails"

# An administrator's bypass, then de-identification as etc/s6/prepare runs it.
for s in "$dti" "$rest"; do
	"$BIN/np-qc" --bypass --by e2e "$NP_HOME/spool/qc-failed/$s" 2>>"$T/queue.log" &&
		mv "$NP_HOME/spool/qc-failed/$s" "$NP_HOME/spool/qc-passed/$s" || bail "bypass failed"
done
"$BIN/np-queue" --once qc-passed ready failed -- "$BIN/np-deid" --study 2>>"$T/queue.log"
is "$(grep -c 'ran cmd=np-deid exit=0 .*to=ready' "$T/queue.log")" 2 "np-deid --study exits 0 on both studies"
D=$NP_HOME/spool/ready/$dti/deid
R=$NP_HOME/spool/ready/$rest/deid
is "$(jq -r '"\(.files|length) \(.deidentified)"' "$D/manifest.json")" "4 true" "DTI study: 4 de-identified files"
$PY "$NP_TOP/tests/data/check_deid_real.py" "$T/in/dti" "$D" >"$T/check.dti" 2>&1
$PY "$NP_TOP/tests/data/check_deid_real.py" "$T/in/rest" "$R" >"$T/check.rest" 2>&1
sed 's/^/# dti: /' "$T/check.dti"
sed 's/^/# rest: /' "$T/check.rest"
is "$(cat "$T/check.dti") $(cat "$T/check.rest")" "ok ok" \
	"check_deid_real.py: no original identifying value, UID or unshifted date; CSA clean; diffusion kept"
ok "the station name MRC35119 (3 times in each input, CSA headers included) is in no output byte" \
	sh -c "grep -qaF MRC35119 '$T/in/dti/siemens_dwi_1000.dcm' && ! grep -rlaF MRC35119 '$D' '$R'"

# nibabel on each original and its output, paired by Instance Number and
# Rows (siemens_dwi_0 and _1000 have the same pixel data, as 0.dcm and 1.dcm).
$PY - "$T/in/dti" "$D" >"$T/nib.out" 2>&1 <<'EOF'
import glob, os, sys, warnings
warnings.simplefilter("ignore")
import numpy as np, pydicom
from nibabel.nicom import csareader, dicomwrappers
def px(p):
    d = pydicom.dcmread(p, stop_before_pixels=True)
    return (int(d.InstanceNumber), int(d.Rows))
orig = {px(p): p for p in glob.glob(os.path.join(sys.argv[1], "*.dcm"))}
for out in sorted(glob.glob(os.path.join(sys.argv[2], "*", "*.dcm"))):
    o = orig[px(out)]
    name = os.path.basename(o)
    ca = [csareader.get_csa_header(pydicom.dcmread(f), "image") for f in (o, out)]
    b = [csareader.get_b_value(c) for c in ca]
    g = [csareader.get_g_vector(c) for c in ca]
    gs = ["none" if x is None else " ".join("%.6f" % v for v in x) for x in g]
    print("csa %s b %s %s g %s %s %s" % (name, b[0], b[1], gs[0], gs[1], "same" if b[0] == b[1] and gs[0] == gs[1] else "DIFFERENT"))
    if name == "siemens_dwi_1000.dcm":
        w = [dicomwrappers.wrapper_from_file(f) for f in (o, out)]
        same = (type(w[1]).__name__ == "MosaicWrapper" and np.allclose(w[0].b_value, w[1].b_value)
                and np.allclose(w[0].b_vector, w[1].b_vector) and w[0].image_shape == w[1].image_shape)
        print("mosaic %s b %.3f %.3f bvec %s %s shape %s %s %s" % (type(w[1]).__name__, w[0].b_value, w[1].b_value,
              w[0].b_vector, w[1].b_vector, w[0].image_shape, w[1].image_shape, "same" if same else "DIFFERENT"))
        print("b1000 %s" % out)
    if name == "siemens_dwi_0.dcm":
        print("b0 %s" % out)
EOF
sed 's/^/# /' "$T/nib.out"
is "$(grep -c '^csa .* same$' "$T/nib.out")" 4 "csareader: B_value and DiffusionGradientDirection of every output equal the input's"
like "$(grep '^mosaic' "$T/nib.out")" '^mosaic MosaicWrapper b 992.051 992.051 .* same$' \
	"MosaicWrapper on the de-identified siemens_dwi_1000: same b-value, b-vector and shape"

# dcm2niix writes a .bval for 3 volumes or more: the de-identified b=0 and
# b=1000 mosaics and the b=0 again as a third instance (a new SOP Instance
# UID and Instance Number, nothing else changed).
if command -v dcm2niix >/dev/null; then
	mkdir -p "$T/n2n/in" "$T/n2n/out"
	cp "$(sed -n 's/^b0 //p' "$T/nib.out")" "$T/n2n/in/a.dcm"
	cp "$(sed -n 's/^b1000 //p' "$T/nib.out")" "$T/n2n/in/b.dcm"
	$PY -c "
import pydicom, pydicom.uid, sys
d = pydicom.dcmread(sys.argv[1])
d.SOPInstanceUID = d.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid(prefix='2.25.')
d.InstanceNumber = 3
d.save_as(sys.argv[2])" "$T/n2n/in/a.dcm" "$T/n2n/in/c.dcm"
	dcm2niix -z n -f dti -o "$T/n2n/out" "$T/n2n/in" >"$T/n2n.log" 2>&1
	sed 's/^/# dcm2niix: /' "$T/n2n.log"
	is "$(cat "$T/n2n/out/dti.bval" 2>/dev/null)" "0 1000 0" "dcm2niix converts the de-identified series: .bval 0 1000 0"
else
	echo "ok $((_tap_n + 1)) # SKIP dcm2niix not installed (deps/test.txt)"
	_tap_n=$((_tap_n + 1))
fi
nok "no station name or UID of the input in the logs" grep -Eq "MRC35119|1\.3\.12\.2\.1107\.5\.2\.32" \
	"$T/recv.log" "$T/stable.log" "$T/queue.log"
