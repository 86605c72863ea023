#!/bin/sh
# np-deid fails a study as a whole when an image cannot be de-identified:
# nothing appears, the exit status and the error say why and which file
# (the first in path order, whatever the number of jobs), and a crash
# before the commit leaves nothing finished. Files that are not images and
# cannot be de-identified (palettes, DICOMDIRs, files without UIDs) are
# excluded with their reason instead.
. "$(dirname "$0")/../lib/tap.sh"
PY=/usr/bin/python3
DATA=$NP_TOP/tests/data
plan 24
$PY "$DATA/make_mr_study.py" "$T/in" --ndir 2 --nsl 2 >/dev/null || bail "study generator failed"
nofiles() { [ -z "$(ls -A "$T/$1" 2>/dev/null)" ] && [ -z "$(ls -a "$T" | grep "^\.$1\.tmp")" ]; }
# a truncated instance fails the whole study
cp -r "$T/in" "$T/trunc"
f=$(ls "$T"/trunc/S003/*.dcm | head -1)
head -c 900 "$f" >"$T/x" && mv "$T/x" "$f"
"$BIN/np-deid" "$T/trunc" "$T/out1" 2>"$T/log1"
is "$?" 100 "truncated file: exit 100"
ok "truncated file: no OUT, no temp folder" nofiles out1
like "$(cat "$T/log1")" "input file S003/IM00001.dcm: malformed DICOM" "the error names the file and says why"
# two broken files: the first in path order is named, with 1 or 2 jobs
f2=$(ls "$T"/trunc/S003/*.dcm | tail -1)
head -c 700 "$f2" >"$T/x" && mv "$T/x" "$f2"
for j in 1 2; do
	"$BIN/np-deid" --jobs $j "$T/trunc" "$T/out1j$j" 2>"$T/log1j$j"
done
like "$(cat "$T/log1j1")" "input file S003/IM00001.dcm:" "--jobs 1 names the first broken file"
like "$(cat "$T/log1j2")" "input file S003/IM00001.dcm:" "--jobs 2 names the same file"
# in study mode np-recv names files after original UIDs: such a file is
# named by number and SOP class, never by its path
U=1.2.826.0.1.3680043.2.1125.77
mkdir -p "$T/tstudy" && cp -r "$T/trunc" "$T/tstudy/dicom" && mkdir "$T/tstudy/dicom/$U"
mv "$T/tstudy/dicom/S003/IM00001.dcm" "$T/tstudy/dicom/$U/$U.5.dcm"
"$BIN/np-deid" --study "$T/tstudy" 2>"$T/log1s"
like "$(cat "$T/log1s")" "input file [0-9]+ of [0-9]+ \\(SOP class 1.2.840.10008.5.1.4.1.1.4\\): malformed DICOM" "study mode: a UID-named file by number and SOP class"
nok "study mode: no original UID in the error" grep -q "$U" "$T/log1s"
# what a study may carry beside its images: excluded, with the reason
PYD=/usr/lib/python3/dist-packages/pydicom/data
cp -r "$T/in" "$T/extra"
cp "$PYD/palettes/hotiron.dcm" "$PYD/palettes/winter.dcm" "$T/extra/"
cp "$PYD/test_files/dicomdirtests/DICOMDIR" "$PYD/test_files/dicomdirtests/DICOMDIR-nooffset" "$T/extra/"
cp "$PYD/test_files/rtplan_truncated.dcm" "$T/extra/"
"$BIN/np-deid" "$T/extra" "$T/outx" 2>"$T/logx"
is "$?" 0 "palettes, DICOMDIRs and a broken RT plan beside the images: exit 0"
is "$(jq '.counts.excluded' "$T/outx/manifest.json")" 5 "five files excluded"
like "$(jq -r '.excluded[] | select(.input == "DICOMDIR-nooffset") | .reason' "$T/outx/manifest.json")" \
	"^a DICOMDIR that does not parse" "a DICOMDIR that does not parse is still a DICOMDIR"
like "$(jq -r '.excluded[] | select(.input == "rtplan_truncated.dcm") | .reason' "$T/outx/manifest.json")" \
	"^malformed DICOM" "a broken file without pixel data is excluded with its reason"
is "$(jq -r '.excluded[] | select(.input == "winter.dcm") | .reason' "$T/outx/manifest.json")" \
	"not an instance of a study: no Study Instance UID" "the manifest gives the reason per file"
like "$(cat "$T/logx")" "warning: - input file DICOMDIR excluded: a DICOMDIR" "the log names each excluded file"
is "$(jq '.counts.files' "$T/outx/manifest.json")" "$(find "$T/in" -name '*.dcm' | wc -l)" "every image is in the output"
# a Part 10 file whose dataset is garbage
cp -r "$T/in" "$T/garbage"
f=$(ls "$T"/garbage/S002/*.dcm | head -1)
{ head -c 340 "$f"; head -c 4000 /dev/urandom; } >"$T/x" && mv "$T/x" "$f"
"$BIN/np-deid" "$T/garbage" "$T/out2" 2>/dev/null
is "$?" 100 "garbage dataset: exit 100"
ok "garbage dataset: no OUT" nofiles out2
# GDCM cannot parse it either (the independent check agrees)
nok "GDCM agrees the file is broken" gdcmdump "$f"
# an OUT that exists is never overwritten
mkdir -p "$T/exists"
"$BIN/np-deid" "$T/in" "$T/exists" 2>/dev/null
is "$?" 100 "existing OUT: exit 100"
# no DICOM at all
mkdir -p "$T/empty" && echo hello >"$T/empty/readme.txt"
"$BIN/np-deid" "$T/empty" "$T/out3" 2>/dev/null
is "$?" 100 "no DICOM instances: exit 100"
# unusable key
printf 'short' >"$T/short.key"
"$BIN/np-deid" --key "$T/short.key" "$T/in" "$T/out4" 2>/dev/null
is "$?" 100 "a key shorter than 16 bytes: exit 100"
# a crash just before the commit leaves no deid/; the re-run converges
S=$T/study
mkdir -p "$S" && cp -r "$T/in" "$S/dicom"
NP_CRASH_AT=deid-before-rename "$BIN/np-deid" --study "$S" 2>/dev/null
is "$?" 77 "crash point reached"
ok "after the crash: no deid/" test ! -e "$S/deid"
"$BIN/np-deid" --study "$S" 2>/dev/null
is "$?" 0 "re-run after the crash exits 0"
is "$(ls -a "$S" | grep -c '^\.deid\.tmp')" 0 "re-run removed the crashed temp folder"
