#!/bin/sh
# np-stable and np-import read headers only: their peak memory does not grow
# with the pixel data of the largest instance (issue 21: an 80 MB enhanced DTI
# instance took np-stable to 110 MB, GDCM's ReadUpToTag loading the Pixel
# Data it stops at). Peaks are those of the plain build (ASan's shadow memory
# would hide them), read from /usr/bin/time; the bound is an order of
# magnitude, far from both the old and the new figure.
# np-deid holds one instance: its output leaves the large values (pixel
# data) in the input buffer and writes them from there, so it peaks at
# about the instance (it held the instance twice, input and output).
. "$(dirname "$0")/../lib/tap.sh"
plan 14
PY=/usr/bin/python3
D=$NP_TOP/tests/data
[ -x /usr/bin/time ] || skip_all "no /usr/bin/time"
[ -x "$PLAIN/sbin/np-stable" ] || skip_all "no plain build"
mkdir -p "$NP_HOME/etc"
"$PY" "$D/make_mr_study.py" "$T/study" --ndir 6 --nsl 4 --enhanced >/dev/null || bail "study generator failed"
rm -f "$T/study/dti.bval" "$T/study/dti.bvec"
# One more series: a single instance of 64 MiB of pixel data (4096 x 8192 x 16 bit).
MB=64
"$PY" - "$T/study" "$MB" <<'PY' || bail "big instance"
import glob, os, sys
import pydicom
from pydicom.uid import generate_uid
src = sorted(glob.glob(os.path.join(sys.argv[1], "S001", "*.dcm")))[0]
ds = pydicom.dcmread(src)
ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
ds.SeriesInstanceUID = generate_uid()
ds.SeriesNumber = 99
ds.SeriesDescription = "big"
ds.Rows, ds.Columns = 4096, int(sys.argv[2]) * 128
ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
ds.PixelData = bytes(ds.Rows * ds.Columns * 2)
os.makedirs(os.path.join(sys.argv[1], "S099"))
ds.save_as(os.path.join(sys.argv[1], "S099", "IM00001.dcm"), write_like_original=False)
PY
size=$(stat -c %s "$T/study/S099/IM00001.dcm")
limit=$((size / 2048 + 40 * 1024)) # KiB: half the instance plus 40 MiB
# peak: exit status and peak KiB of a command (its output in $T/out, errors in $T/log)
peak() { /usr/bin/time -f %M -o "$T/rss" "$@" >"$T/out" 2>>"$T/log"; echo "$? $(cat "$T/rss")"; }
small() { [ "$1" -lt "$limit" ]; }

uid=$("$PY" "$D/incoming_from.py" "$NP_HOME" "$T/study")
npuid=$(cat "$NP_HOME/spool/incoming/$uid/npuid")
# (--force: the plain build has no fake clock to skip the quiet period)
set -- $(peak "$PLAIN/sbin/np-stable" --force "$npuid")
is "$1" 0 "np-stable --force exits 0"
st=$NP_HOME/spool/stable/$npuid
ok "the study is stable" test -f "$st/manifest.json"
diag "np-stable peak ${2} KiB, instance $((size / 1024)) KiB, bound $limit KiB"
ok "np-stable's peak (${2} KiB) stays under half the largest instance plus 40 MiB ($limit KiB)" small "$2"
m() { jq -r "$1" "$st/manifest.json"; }
is "$(m '.counts.instances')" 37 "every instance counted"
is "$(m '.series[]|select(.number==99)|"\(.instances) \(.bytes)"')" "1 $size" "the big instance's series: one instance, its bytes"
is "$(m '[.series[]|select(.sop_classes[0]=="1.2.840.10008.5.1.4.1.1.4.1")|.frames,.diffusion.directions]|join(" ")')" \
	"32 6" "the enhanced series: frames and directions from its per-frame groups"

# np-import reads the same headers.
set -- $(peak "$PLAIN/bin/np-import" "$T/study")
is "$1" 0 "np-import exits 0"
diag "np-import peak ${2} KiB"
ok "np-import's peak (${2} KiB) stays under the same bound" small "$2"
id=$(cat "$T/out")
is "$(jq -r '.counts.instances' "$NP_HOME/spool/stable/$id/manifest.json" 2>/dev/null)" 37 "np-import counts every instance"

# np-deid's parse tree: an enhanced instance of 2440 frames of 16 x 16 (2 MB)
# held 40 MB of element arrays reserved 32 at a time for items of a few
# elements (51 MB peak; about 20 MB now).
"$PY" "$D/make_mr_study.py" "$T/many" --enhanced --size 16 --nsl 40 --ndir 60 >/dev/null || bail "study generator failed"
set -- $(peak "$PLAIN/bin/np-deid" "$T/many/S004" "$T/many-out")
is "$1" 0 "np-deid exits 0"
diag "np-deid peak ${2} KiB on a 2440-frame instance of $(($(stat -c %s "$T/many/S004/IM00001.dcm") / 1024)) KiB"
ok "np-deid's peak (${2} KiB) on a header of thousands of items stays under 35 MiB" [ "$2" -lt 35840 ]

# np-deid on the 64 MiB instance: one copy of it, not two (138 MB before).
dlimit=$((size * 13 / 10240 + 40 * 1024)) # KiB: 1.3 x the instance plus 40 MiB
set -- $(peak "$PLAIN/bin/np-deid" "$T/study/S099" "$T/big-out")
is "$1" 0 "np-deid exits 0 on the 64 MiB instance"
diag "np-deid peak ${2} KiB on an instance of $((size / 1024)) KiB, bound $dlimit KiB"
ok "np-deid's peak (${2} KiB) stays under 1.3 x the instance plus 40 MiB ($dlimit KiB)" [ "$2" -lt "$dlimit" ]
out=$(find "$T/big-out" -name '*.dcm')
is "$("$PY" -c 'import sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
print(ds.Rows, ds.Columns, len(ds.PixelData), ds.PixelData.count(0))' "$out")" "4096 8192 67108864 67108864" \
	"its output holds the pixel data whole"
