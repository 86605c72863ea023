#!/bin/sh
# make_ts_set.sh SRC.dcm OUTDIR: one copy of an MR image per transfer syntax
# (new SOP Instance UIDs), made with dcmtk and gdcmconv as in real PACS
# traffic, plus HTJ2K/MPEG/HEVC stand-ins (a J2K data set relabelled: the
# receiver stores data sets as they are and never decodes them).
set -eu
SRC=$1 OUT=$2
mkdir -p "$OUT/base"
/usr/bin/python3 - "$SRC" "$OUT/base" <<'PY'
import sys, pydicom
src, out = sys.argv[1], sys.argv[2]
for i in range(1, 19):
    d = pydicom.dcmread(src)
    uid = "%s.%d" % (d.SOPInstanceUID[:58], i)
    d.SOPInstanceUID = uid
    d.file_meta.MediaStorageSOPInstanceUID = uid
    d.save_as("%s/%02d.dcm" % (out, i))
PY
B=$OUT/base
cp "$B/01.dcm" "$OUT/ele.dcm"
dcmconv +ti "$B/02.dcm" "$OUT/ile.dcm"
dcmconv +tb "$B/03.dcm" "$OUT/ebe.dcm"
dcmconv +td "$B/04.dcm" "$OUT/def.dcm"
dcmcjpeg +eb "$B/05.dcm" "$OUT/jb.dcm"
dcmcjpeg +ee "$B/06.dcm" "$OUT/je.dcm"
dcmcjpeg +el "$B/07.dcm" "$OUT/jl14.dcm"
dcmcjpeg +e1 "$B/08.dcm" "$OUT/jlsv1.dcm"
dcmcjpls "$B/09.dcm" "$OUT/jls.dcm"
dcmcjpls +en "$B/10.dcm" "$OUT/jlsn.dcm"
gdcmconv --j2k "$B/11.dcm" "$OUT/j2kl.dcm"
# gdcmconv --lossy adds a SourceImageSequence of undefined length, which
# storescu re-encodes with explicit lengths: write it that way up front.
gdcmconv --j2k --lossy -r 10 "$B/12.dcm" "$OUT/j2k.tmp"
dcmconv +e "$OUT/j2k.tmp" "$OUT/j2k.dcm"
rm -f "$OUT/j2k.tmp"
dcmcrle "$B/13.dcm" "$OUT/rle.dcm"
mkdir -p "$OUT/other"
/usr/bin/python3 - "$B" "$OUT/other" <<'PY'
import os, struct, subprocess, sys
b, out = sys.argv[1], sys.argv[2]
ts = {"htj2k": "1.2.840.10008.1.2.4.201", "mpeg2": "1.2.840.10008.1.2.4.100",
      "mpeg4": "1.2.840.10008.1.2.4.102", "hevc": "1.2.840.10008.1.2.4.107"}
def elem(e, vr, v):
    if len(v) % 2:
        v += b"\0" if vr == b"UI" else b" "
    if vr == b"OB":
        return struct.pack("<HH2sHI", 2, e, vr, 0, len(v)) + v
    return struct.pack("<HH2sH", 2, e, vr, len(v)) + v
for i, (name, uid) in enumerate(ts.items()):
    tmp = "%s/%s.j2k.dcm" % (out, name)
    subprocess.run(["gdcmconv", "--j2k", "%s/%02d.dcm" % (b, 14 + i), tmp], check=True)
    raw = open(tmp, "rb").read()
    os.unlink(tmp)
    off, meta = 132, []
    while struct.unpack_from("<H", raw, off)[0] == 2:
        e = struct.unpack_from("<H", raw, off + 2)[0]
        vr = raw[off + 4:off + 6]
        if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT"):
            n, hl = struct.unpack_from("<I", raw, off + 8)[0], 12
        else:
            n, hl = struct.unpack_from("<H", raw, off + 6)[0], 8
        v = raw[off + hl:off + hl + n]
        if e == 0x10:
            v = uid.encode()
        if e != 0:
            meta.append(elem(e, vr, v))
        off += hl + n
    body = b"".join(meta)
    with open("%s/%s.dcm" % (out, name), "wb") as f:
        f.write(raw[:132] + elem(0, b"UL", struct.pack("<I", len(body))) + body + raw[off:])
PY
rm -rf "$B"
