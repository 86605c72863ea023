#!/bin/sh
# np-deid on a study full of PHI canaries: every action of the guide and of
# PS3.15 Annex E at sequence depths 0-3, checked by an independent reader.
. "$(dirname "$0")/../lib/tap.sh"
PY=/usr/bin/python3
DATA=$NP_TOP/tests/data
plan 15
$PY "$DATA/make_mr_study.py" "$T/in" --ndir 6 --nsl 4 --enhanced >/dev/null || bail "study generator failed"
cp -r "$T/in" "$T/clean"
$PY "$DATA/phi_canary.py" "$T/in" --canaries "$T/canaries.txt" --old-age >/dev/null || bail "canary failed"
"$BIN/np-deid" --report "$T/report.json" --jobs 2 "$T/in" "$T/out" 2>"$T/log"
is "$?" 0 "np-deid exits 0"
ok "OUT/manifest.json is written" test -s "$T/out/manifest.json"
out=$($PY "$DATA/check_deid.py" "$T/in" "$T/out" --canaries "$T/canaries.txt" --old-age 2>/dev/null)
like "$out" "^ok 36 files offset -?[0-9]+" "independent reader: every action, UIDs, references, pixels, private tags"
[ "${out#ok}" = "$out" ] && echo "$out" | head -20 | sed 's/^/# /'
# the checker is no rubber stamp: the input's CSA headers put back into a
# copy of the output (their station and site text after the NULs) fail it
cp -r "$T/out" "$T/leak"
$PY - "$T/in" "$T/leak" <<'EOF'
import glob, os, sys, pydicom
ins = {}
for f in glob.glob(os.path.join(sys.argv[1], "*", "*.dcm")):
    d = pydicom.dcmread(f)
    ins[(int(d.SeriesNumber), int(d.InstanceNumber))] = d
for f in glob.glob(os.path.join(sys.argv[2], "*", "*.dcm")):
    d = pydicom.dcmread(f)
    i = ins[(int(d.SeriesNumber), int(d.InstanceNumber))]
    if (0x0029, 0x1010) in i and (0x0029, 0x1010) in d:
        d[0x0029, 0x1010].value = i[0x0029, 0x1010].value
        d.save_as(f)
EOF
like "$($PY "$DATA/check_deid.py" "$T/in" "$T/leak" 2>/dev/null | grep -c 'problem: CSA header (0029,1010) keeps stale text')" "^[1-9]" \
	"checker: station and institution left in a CSA header fail it"
ok "no canary in the log" sh -c "! grep -qiF -f '$T/canaries.txt' '$T/log'"
ok "no canary in the report" sh -c "! grep -qiF -f '$T/canaries.txt' '$T/report.json'"
ok "no canary in the manifest" sh -c "! grep -qiF -f '$T/canaries.txt' '$T/out/manifest.json'"
ok "no original UID in the manifest or report" sh -c "! grep -qF '1.2.826.0.1.3680043.8.498' '$T/out/manifest.json' '$T/report.json'"
like "$(grep -c '"creator": "SIEMENS' "$T/report.json")" "^5$" "report names the kept private blocks (CSA image and series headers rebuilt)"
n=$($PY -c "import json;m=json.load(open('$T/out/manifest.json'));print(len(m['files']),m['counts']['files'],m['counts']['skipped'],m['deidentified'])")
is "$n" "36 36 2 True" "manifest lists every file, counts and skipped non-DICOM files"
ok "manifest SHA-256 matches the files" $PY -c "
import json,hashlib,sys
m=json.load(open('$T/out/manifest.json'))
sys.exit(any(hashlib.sha256(open('$T/out/'+f['path'],'rb').read()).hexdigest()!=f['sha256'] for f in m['files']))"
# dciodvfy: the clean study gives no errors after de-identification;
# the canary study gives no error that the input did not have
"$BIN/np-deid" --jobs 2 "$T/clean" "$T/clean.out" 2>/dev/null
: >"$T/clean.err"
for d in "$T"/clean.out/*/; do
	f=$(ls "$d"*.dcm | head -1)
	dciodvfy "$f" 2>&1 | grep '^Error' >>"$T/clean.err"
done
is "$(wc -l <"$T/clean.err")" 0 "dciodvfy: no errors in the de-identified clean study"
new=0
for s in 1 2 3 4; do
	i=$(ls "$T"/in/S00$s/*.dcm | head -1)
	key=$($PY -c "import pydicom;d=pydicom.dcmread('$i',stop_before_pixels=True);print(d.SeriesNumber,d.InstanceNumber)")
	o=$($PY -c "
import pydicom,glob
for f in glob.glob('$T/out/*/*.dcm'):
    d=pydicom.dcmread(f,stop_before_pixels=True)
    if '%s %s'%(d.SeriesNumber,d.InstanceNumber)=='$key': print(f);break")
	dciodvfy "$i" 2>&1 | grep '^Error' | sort -u >"$T/e.in"
	dciodvfy "$o" 2>&1 | grep '^Error' | sort -u >"$T/e.out"
	new=$((new + $(comm -13 "$T/e.in" "$T/e.out" | wc -l)))
done
is "$new" 0 "dciodvfy: no new errors on the canary study"
# the same study again gives the same pseudonyms; the kept data is byte-identical
"$BIN/np-deid" --jobs 1 "$T/in" "$T/out2" 2>/dev/null
is "$(cd "$T/out" && find . -name '*.dcm' | sort | md5sum)" "$(cd "$T/out2" && find . -name '*.dcm' | sort | md5sum)" "same key, same UIDs"
ok "same key, same bytes" sh -c "cd '$T/out' && for f in \$(find . -name '*.dcm'); do cmp -s \$f '$T/out2/'\$f || exit 1; done"
