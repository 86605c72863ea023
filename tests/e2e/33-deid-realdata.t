#!/bin/sh
# np-deid on real DICOM files shipped by Debian packages (pydicom, nibabel,
# dicom3tools, GDCM test data) and their DCMTK/GDCM transcodes to every
# transfer syntax np-recv accepts, one run per file plus study folders, each
# output checked by an independent reader (tests/data/check_deid_real.py).
. "$(dirname "$0")/../lib/tap.sh"
PY=/usr/bin/python3
DATA=$NP_TOP/tests/data
for t in dcmconv dcmcrle dcmcjpeg dcmcjpls gdcmconv dciodvfy; do
	command -v $t >/dev/null 2>&1 || skip_all "$t not installed (deps/test.txt)"
done
$PY -c 'import pydicom, nibabel' 2>/dev/null || skip_all "python3-pydicom or python3-nibabel not installed"
[ -d /usr/lib/python3/dist-packages/pydicom/data/test_files ] || skip_all "no pydicom test files"
[ -x "$BIN/np-deid" ] || bail "no $BIN/np-deid (make san)"
plan 9
C=$T/corpus
$PY "$DATA/realdata_corpus.py" "$C" >"$T/corpus.log" 2>&1 || { cat "$T/corpus.log"; bail "corpus builder failed"; }
sed 's/^/# /' "$T/corpus.log"
like "$(grep -c . "$C/corpus.tsv")" "^[0-9]{3}$" "the corpus has at least 100 cases"
is "$(grep -c '^transcode-' "$C/corpus.tsv")" 32 "4 files transcoded to 8 transfer syntaxes"

# one np-deid run per case: a refusal belongs to its file
: >"$C/results.tsv"
while IFS='	' read -r id kind src ts expect reason origin; do
	if [ "$kind" = file ]; then d=$C/cases/$id; else d=$C/studies/$id; fi
	"$BIN/np-deid" --jobs 1 "$d/in" "$d/out" 2>"$d/err"
	rc=$?
	line=$(grep -E ': (error|fatal):|ERROR|runtime error' "$d/err" | head -1 | sed 's/^np-deid: //' | tr '\t' ' ')
	printf '%s\t%s\t%s\n' "$id" "$rc" "$line" >>"$C/results.tsv"
done <"$C/corpus.tsv"
is "$(cut -f2 "$C/results.tsv" | grep -cvE '^(0|100)$')" 0 "np-deid exits 0 or 100 on every file (no crash, no temporary error)"
[ "$(cut -f2 "$C/results.tsv" | grep -cvE '^(0|100)$')" = 0 ] ||
	awk -F'\t' '$2 != 0 && $2 != 100 { print "#   " $0 }' "$C/results.tsv"

$PY "$DATA/check_deid_real.py" --corpus "$C" >"$T/check.out" 2>&1
ok "the checker ran on every case" test -s "$C/summary.txt"
sed 's/^/# /' "$T/check.out"
val() { sed -n "s/^$1=//p" "$C/summary.txt"; }
is "$(val leaking)" 0 "no identifying value, original UID, unshifted date, meta, pixel, CSA or diffusion finding on any accepted file"
is "$(val new_dciodvfy)" 0 "no dciodvfy error that the input did not have"
is "$(val must_not_accepted)" "" "accepted: Siemens DWI (and transcodes), MR_small family, CT_small, rtdose_rle, reportsi, deflated"
is "$(val unexpected_refused)" "" "refused only: files of the expected-refused list"

# the checker is no rubber stamp: an unmodified copy of a Siemens DWI file as
# "output" shows every kind of leak, and UN-encoded PHI is seen decoded
mkdir -p "$T/self/out/s" "$T/self/un/s"
cp "$C"/cases/nibabel-siemens_dwi_1000.dcm/in/*.dcm "$T/self/out/s/o.dcm"
cp "$C"/cases/pydicom-rtdose_rle.dcm/in/*.dcm "$T/self/un/s/o.dcm"
echo '{"files":[{"path":"s/o.dcm"}]}' >"$T/self/out/manifest.json"
cp "$T/self/out/manifest.json" "$T/self/un/manifest.json"
k=$( ($PY "$DATA/check_deid_real.py" "$T/self/out/s/o.dcm" "$T/self/out"; $PY "$DATA/check_deid_real.py" "$T/self/un/s/o.dcm" "$T/self/un") |
	sed -n 's/^finding: \([a-z-]*\): .*/\1/p' | sort -u | tr '\n' ' ')
s=$($PY "$DATA/check_deid_real.py" "$T/self/un/s/o.dcm" "$T/self/un" | grep -c "element: (0010,0010) PatientName .*Lastname")
is "$k$s" "csa date element meta raw raw-uid uid 1" "checker self-test: a copy of the input fails every check, UN decoded"
