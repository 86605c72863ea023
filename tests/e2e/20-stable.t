#!/bin/sh
# np-stable: hand-made incoming/ folders following the np-recv contract.
. "$(dirname "$0")/../lib/tap.sh"
plan 27
PY=/usr/bin/python3
D=$NP_TOP/tests/data
mkdir -p "$NP_HOME/etc"
"$PY" "$D/make_mr_study.py" "$T/study" --ndir 6 --nsl 4 >/dev/null || bail "study generator failed"
"$PY" "$D/qc_variant.py" "$T/study" --private "0009,NEUROPACS,01,LO,AIDP\\PD-v2" >/dev/null
sql() { sqlite3 "$NP_HOME/db/agent.sqlite" "$1"; }
later() { echo $(( $(date +%s) + ${1:-3600} )); }
stable() { NP_FAKE_NOW=$(later "${2:-3600}") "$SBIN/np-stable" --once 2>>"$T/log"; }

uid=$("$PY" "$D/incoming_from.py" "$NP_HOME" "$T/study" --ae MODALITY1)
in="$NP_HOME/spool/incoming/$uid"
npuid=$(cat "$in/npuid")
"$SBIN/np-stable" --once 2>>"$T/log"
ok "a fresh study stays in incoming/" test -d "$in"
is "$(sql "select state||','||stable from studies where npuid='$npuid'")" "incoming,0" "incoming study indexed with Stable = No"

# An association still holds the study: never cut it, however quiet.
# (np-recv holds flock(LOCK_SH) on .lock while an association may write)
"$PY" -c 'import fcntl,sys,time; f=open(sys.argv[1],"a"); fcntl.flock(f,fcntl.LOCK_SH); time.sleep(30)' "$in/.lock" & holder=$!
at_exit "kill $holder 2>/dev/null"
wait_for "! flock -xn '$in/.lock' true" 5
stable
ok "a study held by an association is not stabilized" test -d "$in"
kill $holder; wait $holder 2>/dev/null

stable
st="$NP_HOME/spool/stable/$npuid"
ok "quiet and unlocked: moved to stable/<npuid>" test -f "$st/manifest.json"
ok "incoming folder is gone" test ! -e "$in"
is "$(ls "$st/dicom" | wc -l)" 35 "every instance is in dicom/"
ok "no bookkeeping files left in dicom/" test ! -e "$st/dicom/.lock" -a ! -e "$st/dicom/npuid"
m() { jq -r "$1" "$st/manifest.json"; }
is "$(m .npuid)" "$npuid" "npuid comes from the receiver's npuid file"
is "$(m '.counts.series,.counts.instances' | tr '\n' ' ')" "3 35 " "counts per study"
is "$(m '.series[2].instances')" 28 "counts per series"
is "$(m .source_ae)" MODALITY1 "calling AE from source.json"
is "$(m '.patient.age+.patient.sex')" "054YM" "demographics"
is "$(m '.series[2].diffusion.indicators|join(",")')" "standard,vendor_private,image_type,description" "diffusion indicators"
is "$(m '.series[2].diffusion.directions')" 6 "diffusion directions counted"
is "$(m '.transfer_syntaxes|join(",")')" "1.2.840.10008.1.2.1" "transfer syntaxes"
is "$(m '.products|join(",")')" "Atypical/MSAp/PSP-v1.0" "default products when no product tag is set"
is "$(sql "select group_concat(type) from events where npuid='$npuid'")" "study_stabilized,new_dataset_received" "events recorded once"
is "$(sql "select state||','||stable||','||instances from studies where npuid='$npuid'")" "stable,1,35" "index updated"

# Settings: product tag and group auto-assignment.
cat > "$NP_HOME/etc/neuropacs.json" <<J
{"dicom": {"product_tag": {"group": "0009", "element": "1001", "creator": "NEUROPACS"}},
 "groups": {"auto_assign": true, "auto_assign_group": "Cohort A"}}
J
# Late arrival: the same StudyInstanceUID after it was stabilized.
uid2=$("$PY" "$D/incoming_from.py" "$NP_HOME" "$T/study/S002")
is "$uid2" "$uid" "late instances reuse the StudyInstanceUID"
n2=$(cat "$NP_HOME/spool/incoming/$uid/npuid")
stable
st2="$NP_HOME/spool/stable/$n2"
is "$(jq -r '.linked_npuid' "$st2/manifest.json")" "$npuid" "late arrival is a new study linked to the earlier npuid"
is "$(jq -r '.products|join(",")' "$st2/manifest.json")" "AIDP,PD-v2" "products from the custom private tag"
is "$(jq -r '.group' "$st2/manifest.json")" "Cohort A" "auto-assigned group"

# --force by npuid, and a maximum wait.
rm -f "$NP_HOME/etc/neuropacs.json"
"$PY" "$D/incoming_from.py" "$NP_HOME" "$T/study/S001" --study-uid 1.2.3.3 >/dev/null
n3=$(cat "$NP_HOME"/spool/incoming/*/npuid)
is "$("$SBIN/np-stable" --force "$n3" 2>>"$T/log")" "$n3" "--force prints the npuid"
is "$(jq -r '.flags|join(",")' "$NP_HOME/spool/stable/$n3/manifest.json")" "forced" "forced study is flagged"

"$PY" "$D/incoming_from.py" "$NP_HOME" "$T/study/S001" --study-uid 1.2.3.4 --first 2020-01-01T00:00:00.000Z >/dev/null
n4=$(cat "$NP_HOME"/spool/incoming/*/npuid)
"$SBIN/np-stable" --once 2>>"$T/log"
is "$(jq -r '.flags|join(",")' "$NP_HOME/spool/stable/$n4/manifest.json" 2>/dev/null)" "max_wait_exceeded" "still trickling after the maximum wait: stabilized and flagged"

# Crash after the manifest is written: a re-run converges.
"$PY" "$D/incoming_from.py" "$NP_HOME" "$T/study/S001" --study-uid 1.2.3.5 >/dev/null
n5=$(cat "$NP_HOME"/spool/incoming/*/npuid)
NP_CRASH_AT=stable.manifest stable 2>/dev/null
stable
is "$(ls "$NP_HOME/spool/stable/$n5/dicom" | wc -l) $(ls "$NP_HOME/spool/tmp" | wc -l) $(sql "select count(*) from events where npuid='$n5'")" "3 0 2" "crash mid-build: re-run finishes it once, nothing left in tmp"

nok "no PHI in the logs" grep -Eq "Doe|MRN-000123|19700101" "$T/log"
