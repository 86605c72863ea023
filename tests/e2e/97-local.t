#!/bin/sh
# np-local: local processing mode with the example pipeline, limits, timeout,
# concurrency slots and the PHI check on the pipeline's output.
. "$(dirname "$0")/../lib/tap.sh"
/usr/bin/python3 -c 'import pydicom, numpy' 2>/dev/null || skip_all "python3-pydicom not installed"
plan 14
mkdir -p "$NP_HOME/etc" "$NP_HOME/spool/tmp"
npuid=5f0c7a3e-1d2b-4c6d-8e9f-0a1b2c3d4e5f
S="$NP_HOME/spool/qc-passed/$npuid"
mkdir -p "$S"
/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$S/dicom" --ndir 6 --nsl 2 --size 16 >/dev/null 2>&1
cat > "$S/manifest.json" <<JSON
{"npuid": "$npuid", "patient": {"name": "Doe^John^Q", "id": "MRN-000123"}, "study": {"accession_number": "ACC20240001"}, "series": []}
JSON
settings() { printf '%s\n' "$1" > "$NP_HOME/etc/neuropacs.json"; }

settings "{\"local_processing\": {\"command\": \"$NP_TOP/share/local/series-features.py\"}}"
"$BIN/np-local" "$S" 2>"$T/err"; rc=$?
is "$rc" 0 "the example pipeline succeeds"
ok "features.csv is kept in deid/" test -s "$S/deid/features.csv"
is "$(head -1 "$S/deid/features.csv")" "series_index,modality,instances,rows,columns,b_values,mean,std" "features have the documented columns"
is "$(grep -c ',MR,' "$S/deid/features.csv")" 3 "one row per series"
ok "deid/manifest.json lists the file with its SHA-256" sh -c "/usr/bin/python3 -c 'import json,hashlib,sys; m=json.load(open(\"$S/deid/manifest.json\")); f=m[\"files\"][0]; sys.exit(not (m[\"kind\"]==\"features\" and f[\"sha256\"]==hashlib.sha256(open(\"$S/deid/\"+f[\"name\"],\"rb\").read()).hexdigest()))'"
nok "no DICOM or PHI in the upload set" grep -r -l -e Doe -e MRN-000123 -e DICM "$S/deid"
is "$(sqlite3 "$NP_HOME/db/agent.sqlite" "SELECT count(*) FROM events WHERE type='local_processing_completed'")" 1 "completion event recorded"

# A pipeline that copies identifying data into its output is refused.
settings '{"local_processing": {"command": "echo patient,DOE^JOHN^Q > $NP_OUTPUT/leak.csv; cp $NP_INPUT/*/*.dcm $NP_OUTPUT/ 2>/dev/null; true"}}'
"$BIN/np-local" "$S" 2>"$T/err"; rc=$?
is "$rc" 1 "a pipeline whose output holds PHI fails the study"
nok "the failure message does not quote the PHI" grep -qi doe "$T/err"
ok "the earlier upload set is untouched" test -s "$S/deid/features.csv"

settings '{"local_processing": {"command": "exit 3"}}'
"$BIN/np-local" "$S" 2>"$T/err"; rc=$?
is "$rc" 1 "a failing pipeline fails the study"
like "$(cat "$T/err")" "exited with status 3" "the reason is logged"

# Memory limit enforced for commands (address space of 1 GB).
settings '{"local_processing": {"memory_gb": 1, "command": "/usr/bin/python3 -c \"b = bytearray(3 << 30)\" && echo x > $NP_OUTPUT/f.csv"}}'
"$BIN/np-local" "$S" 2>"$T/err"; rc=$?
is "$rc" 1 "the memory limit stops a pipeline that allocates more"

# All slots busy: temporary failure (retried later by np-queue).
settings '{"local_processing": {"max_containers": 1, "command": "echo a > $NP_OUTPUT/f.csv"}}'
/usr/bin/python3 -c "
import fcntl, os, time
fd = os.open('$NP_HOME/spool/tmp/.local-slot-0', os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX); open('$T/locked', 'w').close(); time.sleep(5)" &
holder=$!
wait_for "test -e '$T/locked'" 5
"$BIN/np-local" "$S" 2>"$T/err"; rc=$?
is "$rc" 111 "with every slot busy np-local asks to retry later"
stop_pid $holder
