#!/bin/sh
# np-deid fails a study as a whole: nothing appears on any failure, exit
# status says why, and a crash before the commit leaves nothing finished.
. "$(dirname "$0")/../lib/tap.sh"
PY=/usr/bin/python3
DATA=$NP_TOP/tests/data
plan 13
$PY "$DATA/make_mr_study.py" "$T/in" --ndir 2 --nsl 2 >/dev/null || bail "study generator failed"
nofiles() { [ -z "$(ls -A "$T/$1" 2>/dev/null)" ] && [ -z "$(ls -a "$T" | grep "^\.$1\.tmp")" ]; }
# a truncated instance fails the whole study
cp -r "$T/in" "$T/trunc"
f=$(ls "$T"/trunc/S003/*.dcm | head -1)
head -c 900 "$f" >"$T/x" && mv "$T/x" "$f"
"$BIN/np-deid" "$T/trunc" "$T/out1" 2>"$T/log1"
is "$?" 100 "truncated file: exit 100"
ok "truncated file: no OUT, no temp folder" nofiles out1
like "$(cat "$T/log1")" "file [0-9]+ of the input: malformed DICOM" "the error says which file (by number) and why"
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
