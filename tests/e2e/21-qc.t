#!/bin/sh
# np-qc: each check's pass and fail on generated DICOM studies and NIfTI bundles.
. "$(dirname "$0")/../lib/tap.sh"
plan 48
PY=/usr/bin/python3
D=$NP_TOP/tests/data
mkdir -p "$NP_HOME/etc"
"$PY" "$D/make_mr_study.py" "$T/base" --ndir 6 --nsl 2 >/dev/null || bail "study generator failed"
rm -f "$T/base/dti.bval" "$T/base/dti.bvec"
# variant [np-import options --] [qc_variant passes separated by ';']: prints the study dir
variant() {
	v=$(mktemp -d "$T/v.XXXXXX"); cp -r "$T/base/." "$v"
	imp=""
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do imp="$imp $1"; shift; done
	[ $# -gt 0 ] && shift
	if [ $# -gt 0 ]; then "$PY" "$D/qc_variant.py" "$v" "$@" >/dev/null || return 1; fi
	id=$("$BIN/np-import" $imp "$v" 2>>"$T/log") || return 1
	echo "$NP_HOME/spool/stable/$id"
}
qc() { "$BIN/np-qc" --quiet "$1" 2>>"$T/log"; echo $?; }
st() { jq -r --arg id "$2" '.checks[]|select(.id==$id)|.status' "$1/qc.json"; }
det() { jq -r --arg id "$2" '.checks[]|select(.id==$id)|.details' "$1/qc.json"; }
sql() { sqlite3 "$NP_HOME/db/agent.sqlite" "$1"; }

# A study following the IFU: everything passes, acquisition is only a warning.
"$PY" "$D/qc_variant.py" "$T/base" --only DTI --set "0008,103E=neuropacs DTI" >/dev/null
good=$(variant -- --set "0008,1030=MRI Brain with DTI Non-Contrast")
"$PY" "$D/qc_variant.py" "$T/base" --only neuropacs --set "0008,103E=ep2d_diff_DTI_6dir_b1000" >/dev/null
is "$(qc "$good")" 0 "IFU-compliant study passes (exit 0)"
is "$(jq -r '[.checks[].status]|join(",")' "$good/qc.json")" "pass,pass,pass,pass,pass,warning,pass" "every check passes but the acquisition warning"
like "$(det "$good" acquisition)" "6 diffusion directions.*at least 30" "acquisition warning names the value and the rule"
npuid=$(basename "$good")
is "$(sql "select qc_result from studies where npuid='$npuid'")" passed "index qc_result"
is "$(sql "select count(*) from events where npuid='$npuid' and type='qc_passed'")" 1 "qc_passed event"

base=$(variant)
is "$(qc "$base")" 1 "generated study fails IFU descriptions (exit 1)"
like "$(det "$base" ifu)" 'study description is "MRI BRAIN WITH DTI", expected exactly "MRI Brain with DTI Non-Contrast"' "IFU details say what was found and expected"
is "$(st "$base" mri_series)/$(st "$base" dwi_present)/$(st "$base" lossless)" "pass/pass/pass" "MRI, DWI and lossless pass"
is "$(sql "select count(*) from events where npuid='$(basename "$base")' and type='qc_failed'")" 1 "qc_failed event"

s=$(variant -- --only DTI --strip-diffusion --set "0008,103E=t2_tse_tra" --set "0018,1030=t2_tse_tra")
qc "$s" >/dev/null
is "$(st "$s" dwi_present)" fail "no diffusion series: dwi_present fails"

s=$(variant -- --set "0008,0060=CT")
qc "$s" >/dev/null
is "$(st "$s" mri_series)" fail "no MR series: mri_series fails"
is "$(det "$s" mri_series)" "no MR series; modalities in the study: CT; send the brain MRI study with its DTI series" \
	"mri_series names the modalities found"

s=$(variant -- --del 0010,1010 --del 0010,0040)
qc "$s" >/dev/null
is "$(st "$s" demographics)" fail "no age and sex: demographics fails"
like "$(det "$s" demographics)" "age is missing.*sex is missing" "demographics details"
s=$(variant --age 50 --sex M -- --del 0010,1010 --del 0010,0040)
qc "$s" >/dev/null
is "$(st "$s" demographics)" pass "age and sex from the upload form pass"
s=$(variant -- --set 0010,1010=030Y)
qc "$s" >/dev/null
like "$(det "$s" ifu)" "age 30 years is below the IFU minimum of 40" "IFU minimum age"

s=$(variant -- --only DTI --ts 1.2.840.10008.1.2.4.50 --set 0028,2110=01)
qc "$s" >/dev/null
is "$(st "$s" lossless)" fail "lossy transfer syntax fails"
like "$(det "$s" lossless)" "1.2.840.10008.1.2.4.50.*0028,2110" "lossless details name the syntax and (0028,2110)"

# Syntaxes newer than GDCM: HTJ2K Lossless passes, HTJ2K (possibly lossy) fails.
s=$(variant -- --only DTI --ts 1.2.840.10008.1.2.4.201)
qc "$s" >/dev/null
is "$(st "$s" lossless)/$(jq -r .counts.unreadable "$s/manifest.json")" pass/0 "HTJ2K Lossless is read and passes"
s=$(variant -- --only DTI --ts 1.2.840.10008.1.2.4.203)
qc "$s" >/dev/null
like "$(det "$s" lossless)" "1.2.840.10008.1.2.4.203" "HTJ2K that may be lossy fails, by name"

s=$(variant -- --only localizer --set 0028,0301=YES)
qc "$s" >/dev/null
is "$(st "$s" burned_in_phi)" warning "Burned In Annotation flags a warning"

# Diffusion from real vendor files (Debian's pydicom and nibabel test data):
# private elements count only under their private creator, in any block.
"$PY" "$D/vendor_dwi.py" "$T/vd" >/dev/null 2>&1 || bail "vendor_dwi.py failed"
dwi() { id=$("$BIN/np-import" --age 50 --sex M "$T/vd/$1" 2>>"$T/log") && s=$NP_HOME/spool/stable/$id &&
	echo "$s" > "$T/last" && qc "$s" >/dev/null &&
	echo "$(st "$s" dwi_present) $(jq -r '[.series[].diffusion.b_values[]]|join(",")' "$s/manifest.json")"; }
is "$(dwi ge_ct)" "fail " "GE CT: GEMS_ACQU_01 (0019,1027) is not diffusion"
is "$(dwi philips_t1)" "fail " "Philips T1 MPRAGE: (2005,1415) = 1 is not diffusion"
is "$(dwi philips_dwi)" "pass 1000" "Philips (2001,xx03) FL under Philips Imaging DD 001"
is "$(dwi siemens_dwi)" "pass 0,1000" "nibabel's Siemens DWI passes, b-values 0 and 1000"
is "$(dwi siemens_b0)" "fail 0" "a b=0 series alone is not a diffusion series"
like "$(det "$(cat "$T/last")" dwi_present)" "CBU_DTI_64D_1A.*b=0 volumes only" "the b0-only series is named"
is "$(dwi siemens_block)" "pass 1000" "SIEMENS MR HEADER in block 0x12, another creator's (0019,100C) ignored"
is "$(dwi siemens_other)" "fail " "(0019,100C) under another creator is not a b-value"
is "$(dwi siemens_csa)" "pass 1000" "Siemens b-value from the CSA image header alone"
is "$(dwi ge_dwi)" "pass 1000" "GE (0043,xx39) under GEMS_PARM_01 in block 0x11, less 10^9"

# Duplicates: 6 files, 2 SOP Instance UIDs; the first by path stays.
dwi siemens_dup >/dev/null; s=$(cat "$T/last")
is "$(jq -r '[.counts.instances,.counts.duplicates,.series[0].instances,.series[0].description]|join(",")' "$s/manifest.json")" \
	"2,4,2,CBU_DTI_64D_1A" "duplicate SOP Instance UIDs count once, the first by path is described"
is "$(ls "$s/dicom" | wc -l | tr -d ' ')" 2 "one copy of each instance is kept"
like "$(det "$s" mri_series)" "4 file\(s\) repeated the SOP Instance UID" "QC says how many duplicates there were"

# A DICOMDIR beside the images is recognized, not counted as unreadable.
mkdir -p "$T/dd/IMG"; cp "$T/vd/siemens_dwi/"*.dcm "$T/dd/IMG/"
cp /usr/lib/python3/dist-packages/pydicom/data/test_files/dicomdirtests/DICOMDIR "$T/dd/DICOMDIR"
id=$("$BIN/np-import" --age 50 --sex M "$T/dd" 2>"$T/dd.log"); s=$NP_HOME/spool/stable/$id; cat "$T/dd.log" >>"$T/log"
is "$(jq -r '[.counts.instances,.counts.unreadable,.counts.dicomdir]|join(",")' "$s/manifest.json")/$(ls "$s/dicom" | wc -l | tr -d ' ')" \
	"2,0,1/2" "DICOMDIR: counted as such, not unreadable, left out of the study"
like "$(cat "$T/dd.log")" "1 DICOMDIR file\(s\)" "the upload log names the DICOMDIR"
nok "no 'not readable DICOM' warning for a DICOMDIR" grep -q "not readable" "$T/dd.log"
mkdir "$T/dd2"; cp "$T/dd/DICOMDIR" "$T/dd2/"
like "$("$BIN/np-import" --age 50 --sex M "$T/dd2" 2>&1)" "only a DICOMDIR" "an upload of only a DICOMDIR is refused, saying so"

# Bypass by an administrator; a re-run keeps it.
"$BIN/np-qc" --bypass --by alice "$base" 2>>"$T/log"
is "$(jq -r '.result+","+.bypass.by' "$base/qc.json")" "bypassed,alice" "bypass recorded with who"
is "$(qc "$base")" 0 "a bypassed study passes on re-run"
is "$(st "$base" ifu)" bypassed "failed check shown as bypassed"

# Settings turn DICOM QC off: checks are bypassed and pass.
echo '{"qc": {"dicom_enabled": false}}' > "$NP_HOME/etc/neuropacs.json"
s=$(variant -- --set "0008,0060=CT")
is "$(qc "$s")/$(jq -r '[.checks[].status]|unique|join(",")' "$s/qc.json")" "0/bypassed" "disabled DICOM QC: all bypassed, passes"
rm "$NP_HOME/etc/neuropacs.json"

# NIfTI bundles.
nifti() { rm -rf "$T/nb"; "$PY" "$D/make_nifti_bundle.py" "$T/nb" "$@"; id=$("$BIN/np-import" "$T/nb" 2>>"$T/log") && echo "$NP_HOME/spool/stable/$id"; }
s=$(nifti --age 061Y --sex F)
is "$(qc "$s")/$(jq -r '[.checks[].status]|join(",")' "$s/qc.json")" "0/pass,pass,pass,pass" "complete NIfTI bundle passes"
s=$(nifti --age 061Y --sex F --no-bvec)
qc "$s" >/dev/null
like "$(st "$s" dti_files): $(det "$s" dti_files)" "fail: .*\.bvec file is missing" "missing .bvec fails"
s=$(nifti --age 061Y --sex F --extra-bvals 2)
qc "$s" >/dev/null
like "$(det "$s" dti_files)" "lists 34 b-values but the NIfTI file has 32 volumes" "b-value count must match the volumes"
s=$(nifti --sex F --key-style snake)
qc "$s" >/dev/null
is "$(st "$s" sidecar_demographics)" fail "sidecar without age fails"
s=$(nifti --age 045Y --sex M --key-style camel --nb0 1 --ndir 12)
qc "$s" >/dev/null
is "$(st "$s" sidecar_demographics)/$(st "$s" acquisition)" "pass/warning" "camelCase sidecar keys; few directions warn"

nok "no PHI in the logs" grep -Eq "Doe|MRN-000123|19700101" "$T/log"
