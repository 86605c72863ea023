#!/bin/sh
# np-recv keeps the head of each data set in memory to find its UIDs; when
# the Study Instance UID lies further (a large private element before it),
# it still finds it, for instances larger than its 1 MiB write buffer (made
# durable by fsync, not through the instance log), in
# implicit, explicit and deflated syntaxes, and stores each one whole.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/recv.sh"
command -v storescu >/dev/null || skip_all "dcmtk not installed"
plan 4

/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/study" --ndir 1 --nsl 1 >/dev/null
SRC=$(find "$T/study/S002" -name '*.dcm' | head -1)
mkdir -p "$T/deep"
/usr/bin/python3 - "$SRC" "$T/deep" <<'PY'
import os, sys, pydicom
from pydicom.uid import ImplicitVRLittleEndian, ExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian, generate_uid
src, out = sys.argv[1], sys.argv[2]
for i, (ts, big) in enumerate([(ImplicitVRLittleEndian, 70000), (ExplicitVRLittleEndian, 1200000),
                               (DeflatedExplicitVRLittleEndian, 1200000), (ExplicitVRLittleEndian, 20)]):
    ds = pydicom.dcmread(src)
    ds.private_block(0x0009, "NP DEEP TEST", create=True).add_new(0x01, "OB", os.urandom(big))
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.10.543.%d" % (i + 1)
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ts
    ds.is_implicit_VR = ts == ImplicitVRLittleEndian
    ds.is_little_endian = True
    ds.save_as("%s/%d.dcm" % (out, i), write_like_original=False)
PY
recv_config '{"ae_title": "NP_DEEP"}'
recv_start
ok "storescu sends the four instances as they are" \
	storescu -aec NP_DEEP -xf "$NP_TOP/tests/peers/storescu-ts.cfg" EachTS 127.0.0.1 "$RECV_PORT" "$T/deep"/*.dcm
is "$(incoming_count)" 4 "every instance stored"
is "$(ls "$NP_HOME/spool/incoming" | sort | tr '\n' ' ')" \
	"1.2.826.0.1.3680043.10.543.1 1.2.826.0.1.3680043.10.543.2 1.2.826.0.1.3680043.10.543.3 1.2.826.0.1.3680043.10.543.4 " \
	"each under its own Study Instance UID"
"$NP_TOP/tests/peers/dsum.py" "$T/deep"/*.dcm | sort >"$T/sent"
"$NP_TOP/tests/peers/dsum.py" $(find "$NP_HOME/spool/incoming" -name '*.dcm') | sort >"$T/got"
ok "data sets identical to what was sent" cmp "$T/sent" "$T/got"
