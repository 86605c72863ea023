#!/bin/sh
# np-import: folders, ZIPs, NIfTI bundles, metadata precedence, group upload, hostile ZIPs.
. "$(dirname "$0")/../lib/tap.sh"
plan 43
PY=/usr/bin/python3
D=$NP_TOP/tests/data
"$PY" "$D/make_mr_study.py" "$T/study" --ndir 6 --nsl 2 >/dev/null || bail "study generator failed"
sql() { sqlite3 "$NP_HOME/db/agent.sqlite" "$1"; }
man() { jq -r "$2" "$NP_HOME/spool/stable/$1/manifest.json"; }
imp() { "$BIN/np-import" "$@" 2>>"$T/log"; }
empty_spool() { [ -z "$(ls "$NP_HOME/spool/tmp")" ] && [ "$(ls "$NP_HOME/spool/stable" | wc -l)" = "$1" ]; }

id=$(imp --name "Trial 4: visit/2" --age 61 --sex female --accession FORM-1 --product AIDP --product PD-v2 "$T/study")
ok "folder import prints an npuid" test -d "$NP_HOME/spool/stable/$id/dicom"
is "$(man "$id" '[.source,.format,.counts.instances,.study_name]|join(",")')" "upload,dicom,19,Trial 4: visit/2" "lands in stable/ with source upload"
is "$(man "$id" '[.patient.age,.patient.sex,.study.accession_number]|join(",")')" "061Y,F,FORM-1" "form values normalised"
is "$(man "$id" '.products|join(",")')" "AIDP,PD-v2" "--product is repeatable"
is "$(sql "select state||','||stable||','||source from studies where npuid='$id'")" "stable,1,upload" "indexed"
is "$(sql "select count(*) from events where npuid='$id' and type='new_dataset_received'")" 1 "new_dataset_received event"
ok "the source folder is left as it was" test -f "$T/study/S001/IM00001.dcm"

# ZIP with a sidecar: sidecar beats DICOM, the form beats the sidecar.
echo '{"patient_age": "90+", "PatientSex": "M", "accessionNumber": "SIDE-7"}' > "$T/study/sidecar.json"
(cd "$T/study" && zip -qr "$T/study.zip" .)
id=$(imp "$T/study.zip")
is "$(man "$id" '[.patient.age,.patient.sex,.study.accession_number,.metadata_sources.age]|join(",")')" "090Y,M,SIDE-7,sidecar" "sidecar over DICOM (90+ becomes 090Y)"
id=$(imp --sex F "$T/study.zip")
is "$(man "$id" '[.patient.sex,.metadata_sources.sex,.patient.age]|join(",")')" "F,form,090Y" "form over sidecar"
rm "$T/study/sidecar.json"

# Validation errors name the field and the rule.
out=$("$BIN/np-import" --name "ab" "$T/study" 2>&1); rc=$?
like "$rc $out" "^100 .*study name: must be 5-50 characters" "bad study name refused (100)"
like "$("$BIN/np-import" --age 45years "$T/study" 2>&1)" "patient age: expected NNNY" "bad age refused"
like "$("$BIN/np-import" --sex X "$T/study" 2>&1)" "patient sex: expected M, F, MALE or FEMALE" "bad sex refused"
echo '{"PatientAge": "forty"}' > "$T/bad.json"; mkdir "$T/s2"; cp -r "$T/study/S001" "$T/s2/"; cp "$T/bad.json" "$T/s2/"
like "$("$BIN/np-import" "$T/s2" 2>&1)" "sidecar PatientAge: not a valid age" "bad sidecar age refused"

# NIfTI: bundle, missing sidecar, mixed upload.
"$PY" "$D/make_nifti_bundle.py" "$T/nb" --age 055Y --sex M --ndir 30 --mismatch-prefix
id=$(imp "$T/nb")
is "$(man "$id" '[.format,.nifti.volumes,.patient.age,(.flags|join(";"))]|join(",")')" "nifti,32,055Y,nifti_prefix_mismatch" "NIfTI bundle imported, prefix mismatch flagged"
"$PY" "$D/make_nifti_bundle.py" "$T/nb2" --no-json
like "$("$BIN/np-import" "$T/nb2" 2>&1)" "NIfTI uploads need a JSON sidecar" "NIfTI without sidecar refused"
cp "$T/nb/dwi.nii.gz" "$T/s2/"
like "$("$BIN/np-import" "$T/s2" 2>&1)" "mixes DICOM and NIfTI" "mixed DICOM and NIfTI refused"
nii=/usr/lib/python3/dist-packages/nibabel/nicom/tests/data
mkdir "$T/siemens"; zcat "$nii/siemens_dwi_0.dcm.gz" > "$T/siemens/a.dcm"; zcat "$nii/siemens_dwi_1000.dcm.gz" > "$T/siemens/b.dcm"
id=$(imp --age 50 --sex M "$T/siemens")
is "$(man "$id" '.series[0].diffusion.indicators|join(",")')" "vendor_private,image_type,description" "nibabel's Siemens DWI: vendor private diffusion tags found"
is "$(man "$id" '.series[0].diffusion.b_values|join(",")')" "0,1000" "Siemens b-values from (0019,100C)"
before=$(ls "$NP_HOME/spool/stable" | wc -l)

# Group upload: a folder of ZIPs, one bad.
mkdir "$T/grp"; cp "$T/study.zip" "$T/grp/a.zip"; (cd "$T/nb" && zip -q "$T/grp/b.zip" *); echo junk > "$T/grp/c.zip"
out=$("$BIN/np-import" --group-upload "$T/grp" --group "Cohort B" --product AIDP 2>>"$T/log"); rc=$?
is "$rc $(echo "$out" | grep -c '^[0-9a-f-]\{36\}	')" "100 2" "group upload imports the good ZIPs, reports the bad one"
like "$out" "FAILED	c.zip	" "the refused archive is named on stdout"
is "$(sql "select count(*) from studies where group_name='Cohort B'")" 2 "all in the group"
before=$((before + 2))
like "$("$BIN/np-import" --group "Cohort B" --product OTHER "$T/study" 2>&1)" "every study of group Cohort B must use the group's products" "a group keeps one product list"

# Hostile archives: refused, nothing left behind.
"$PY" "$D/make_hostile_zips.py" "$T/hz" "$T/study/S001"
for z in traversal absolute symlink device bomb many truncated notzip; do
	out=$(NP_IMPORT_MAX_BYTES=20000000 NP_IMPORT_MAX_ENTRIES=2000 "$BIN/np-import" "$T/hz/$z.zip" 2>&1); rc=$?
	case $z in
	traversal|absolute) want="unsafe name" ;; symlink) want="is a link" ;; device) want="device" ;;
	bomb) want="expands beyond" ;; many) want="more than 2000 entries" ;; *) want="corrupt or truncated|not a readable" ;;
	esac
	like "$rc $out" "^100 .*($want)" "$z.zip refused"
done
# Each unsafe entry name is refused saying what is wrong with it, never
# echoing the name (it may hold a patient's name).
"$PY" - "$T/hn" "$T/study/S001" <<'PY'
import os, sys, zipfile
out, src = sys.argv[1], sys.argv[2]
os.makedirs(out)
dcm = next(os.path.join(r, n) for r, _, ns in os.walk(src) for n in sorted(ns) if n.endswith(".dcm"))
data = open(dcm, "rb").read()
names = {"long": "DOE^JANE-" + "x" * 4991, "part": "DOE^JANE/" + "y" * 300 + ".dcm",
         "ctrl": "DOE^JANE\x1b]0;owned\x07.dcm", "del": "DOE^JANE\x7f.dcm", "dotdot": "DOE^JANE/../../evil.dcm",
         "abs": "/tmp/DOE^JANE.dcm", "drive": "C:\\DOE^JANE.dcm", "deep": "/".join(["d"] * 70) + "/DOE^JANE.dcm",
         "dots": "./."}
for k, n in names.items():
    with zipfile.ZipFile(os.path.join(out, k + ".zip"), "w") as z:
        z.writestr("ok.dcm", data)
        z.writestr(zipfile.ZipInfo(n), data)
PY
for c in "long:is too long (5000 bytes; at most 4095)" "part:has a component of 304 bytes (at most 255)" \
	"ctrl:has a control character (byte 0x1b at position 9)" "del:has a control character (byte 0x7f at position 9)" \
	"dotdot:has a '..' component" "abs:is an absolute path (it starts with '/')" \
	"drive:is an absolute path (it starts with a drive letter)" "deep:is too deep (more than 64 levels)" \
	"dots:names no file"; do
	z=${c%%:*} want=${c#*:}
	out=$("$BIN/np-import" "$T/hn/$z.zip" 2>&1); rc=$?
	if [ "$rc" = 100 ] && printf '%s' "$out" | grep -qF "entry 2 has an unsafe name: it $want"; then
		_tap_result 0 "$z: the unsafe name is refused saying it $want"
	else _tap_result 1 "$z: the unsafe name is refused saying it $want"; diag "rc=$rc $out"; fi
	printf '%s\n' "$out" >> "$T/unsafe.out"
done
nok "the refusals never echo the name" grep -q "DOE" "$T/unsafe.out"
ok "nothing partial in the spool, nothing written outside" empty_spool "$before"
ok "no traversal victim" test ! -e "$T/evil.dcm" -a ! -e /tmp/np-evil-absolute.dcm
nok "no PHI in the logs" grep -Eq "Doe|MRN-000123|19700101" "$T/log"
