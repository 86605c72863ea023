#!/bin/sh
# np-deid --study: STUDYDIR/dicom -> STUDYDIR/deid with the offset and UID map
# in STUDYDIR/private; determinism per key; date removal; NIfTI studies.
. "$(dirname "$0")/../lib/tap.sh"
PY=/usr/bin/python3
DATA=$NP_TOP/tests/data
plan 18
S=$T/spool/qc-passed/0d7c3f0e-6a43-4c4e-9a51-3f1c2b7d9e11
mkdir -p "$S"
$PY "$DATA/make_mr_study.py" "$S/dicom" --ndir 6 --nsl 4 >/dev/null || bail "study generator failed"
$PY "$DATA/phi_canary.py" "$S/dicom" --canaries "$T/canaries.txt" >/dev/null || bail "canary failed"
"$BIN/np-deid" --study "$S" 2>"$T/log"
is "$?" 0 "study mode exits 0"
ok "deid/ holds the manifest" test -s "$S/deid/manifest.json"
is "$(stat -c %a "$S/private")" 700 "private/ is 0700"
is "$(stat -c %a "$NP_HOME/etc/secrets/deid.key")" 600 "the key is created 0600"
off=$($PY -c "import json;print(json.load(open('$S/private/deid.json'))['date_offset_days'])")
like "$off" "^-?[1-9][0-9]*$" "the per-study offset is kept in private/deid.json"
ok "the UID map is kept in private/" grep -q "^study	" "$S/private/uidmap.tsv"
like "$(grep -c "npuid\|0d7c3f0e" "$T/log")" "^[1-9]" "log lines carry the npuid"
out=$($PY "$DATA/check_deid.py" "$S/dicom" "$S/deid" --canaries "$T/canaries.txt" 2>/dev/null)
like "$out" "^ok 35 files offset $off\$" "independent reader agrees, offset as stored"
ok "nothing of the study's PHI in the log" sh -c "! grep -qiF -f '$T/canaries.txt' '$T/log'"
# a re-run (crash after deid/ appeared, or a retry) converges to the same output
cp "$S/deid/manifest.json" "$T/m1"
"$BIN/np-deid" --study "$S" 2>/dev/null
is "$($PY -c "import json;print(sorted(f['path'] for f in json.load(open('$T/m1'))['files'])==sorted(f['path'] for f in json.load(open('$S/deid/manifest.json'))['files']))")" True "re-run: same UIDs"
# a late series of the same study maps into the same pseudonymous study
L=$T/spool/qc-passed/late
mkdir -p "$L/dicom" && cp -r "$S/dicom/S002" "$L/dicom/"
"$BIN/np-deid" --study "$L" 2>/dev/null
is "$($PY -c "import json;print(list(json.load(open('$L/deid/manifest.json'))['studies'])==list(json.load(open('$S/deid/manifest.json'))['studies']))")" True "late series: same pseudonymous study UID"
is "$(cat "$L/private/deid.json" | $PY -c 'import json,sys;print(json.load(sys.stdin)["date_offset_days"])')" "$off" "late series: same offset"
# another key gives other pseudonyms
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/other.key"
"$BIN/np-deid" --key "$T/other.key" "$S/dicom" "$T/other" 2>/dev/null
is "$($PY -c "import json;print(list(json.load(open('$T/other/manifest.json'))['studies'])==list(json.load(open('$S/deid/manifest.json'))['studies']))")" False "different key: different UIDs"
# --remove-dates: every DA/DT/TM emptied, (0028,0303) REMOVED
"$BIN/np-deid" --remove-dates --keep-accession --remove-software-versions "$S/dicom" "$T/nodates" 2>/dev/null
out=$($PY "$DATA/check_deid.py" "$S/dicom" "$T/nodates" --remove-dates 2>/dev/null)
like "$out" "problem: \(0008,0050\) kept|^ok" "remove-dates: every date and time removed"
ok "keep-accession keeps the accession number" sh -c "dcmdump +P 0008,0050 \$(find '$T/nodates' -name '*.dcm' | head -1) | grep -q QZXACC"
# NIfTI studies are linked as they are
N=$T/spool/qc-passed/nifti
mkdir -p "$N/nifti" && echo "fake nifti" >"$N/nifti/dti.nii.gz" && echo "0 1000" >"$N/nifti/dti.bval"
"$BIN/np-deid" --study "$N" 2>/dev/null
is "$($PY -c "import json;m=json.load(open('$N/deid/manifest.json'));print(m['format'],m['deidentified'],len(m['files']))")" "nifti False 2" "NIfTI: linked as is, manifest says so"
is "$(stat -c %i "$N/nifti/dti.nii.gz")" "$(stat -c %i "$N/deid/dti.nii.gz")" "NIfTI: hard link, no copy"
# the same instances twice (the second copy implicit VR, so other bytes):
# the copy listed first is kept whatever the number of workers
mkdir -p "$T/dup" && cp -r "$S/dicom" "$T/dup/a" && cp -r "$S/dicom" "$T/dup/b"
$PY -c "
import glob,pydicom
for f in glob.glob('$T/dup/b/*/*.dcm'):
    d=pydicom.dcmread(f); d.file_meta.TransferSyntaxUID=pydicom.uid.ImplicitVRLittleEndian
    d.is_implicit_VR=True; d.is_little_endian=True; d.save_as(f)" || bail "implicit VR copy failed"
"$BIN/np-deid" --jobs 1 "$T/dup" "$T/dup1" 2>/dev/null && "$BIN/np-deid" --jobs 2 "$T/dup" "$T/dup2" 2>/dev/null
sums() { (cd "$1" && find . -type f ! -name manifest.json | sort | xargs md5sum); }
is "$(sums "$T/dup2")" "$(sums "$T/dup1")" "duplicates: the first-listed copy wins with 1 and 2 workers"
