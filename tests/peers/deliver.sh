# tests/peers/deliver.sh: helpers for the delivery and notification tests
# (source after tests/lib/tap.sh).
#   results_study NPUID [opts]  make spool/results/NPUID (make_results_study.py); sets STUDY
#   storescp_start DIR PORT [storescp options...]   DCMTK storescp as a PACS (AE DEST), loopback only
#   orthanc_start DIR DICOMPORT HTTPPORT [JSON]     Orthanc (AE ORTHANC); JSON adds config keys
#   smtp_start DIR [smtp_sink.py options...]  sets SMTP_PORT; messages land in DIR
#   webhook_start DIR [webhook.py options...] sets HOOK_PORT; requests land in DIR
#   settings JSON          write $NP_HOME/etc/neuropacs.json
#   jget FILE EXPR         print a Python expression over the JSON in FILE (as d)
# Every server is stopped by PID at exit.
PEERS=$NP_TOP/tests/peers
SHIM=$PLAIN/peers/libbind127.so
results_study() {
	_u=$1; shift
	mkdir -p "$NP_HOME/spool/results"
	STUDY=$NP_HOME/spool/results/$_u
	/usr/bin/python3 "$NP_TOP/tests/data/make_results_study.py" "$STUDY" "$@" || bail "fixture failed"
}
storescp_start() {
	_d=$1 _p=$2; shift 2
	mkdir -p "$_d"
	LD_PRELOAD=$SHIM storescp -aet DEST -od "$_d" "$@" "$_p" 2>"$_d.log" &
	_pid=$!
	at_exit "stop_pid $_pid"
	wait_port "$_p" || bail "storescp did not start"
}
orthanc_start() {
	_d=$1
	mkdir -p "$_d/db"
	printf '{"Name":"NP-TEST","StorageDirectory":"%s/db","IndexDirectory":"%s/db","HttpPort":%s,"DicomPort":%s,
"DicomAet":"ORTHANC","RemoteAccessAllowed":false,"AuthenticationEnabled":false,"Plugins":[],"SaveJobs":false%s}\n' \
		"$_d" "$_d" "$3" "$2" "${4:+,$4}" >"$_d/orthanc.json"
	TCP_NODELAY=1 LD_PRELOAD=$SHIM Orthanc "$_d/orthanc.json" >"$_d/log" 2>&1 &
	_pid=$!
	at_exit "stop_pid $_pid"
	wait_for "curl -sf http://127.0.0.1:$3/system >/dev/null" 20 || bail "Orthanc did not start"
}
smtp_start() {
	_d=$1; shift
	SMTP_PORT=$(free_port)
	/usr/bin/python3 "$PEERS/smtp_sink.py" "$_d" --port "$SMTP_PORT" "$@" 2>"$_d.log" &
	SMTP_PID=$!
	at_exit "stop_pid $SMTP_PID"
	wait_port "$SMTP_PORT" || bail "smtp sink did not start"
}
webhook_start() {
	_d=$1; shift
	HOOK_PORT=${HOOK_PORT:-$(free_port)}
	/usr/bin/python3 "$PEERS/webhook.py" "$_d" --port "$HOOK_PORT" "$@" 2>"$_d.log" &
	HOOK_PID=$!
	at_exit "stop_pid $HOOK_PID"
	wait_port "$HOOK_PORT" || bail "webhook receiver did not start"
}
settings() { mkdir -p "$NP_HOME/etc" && printf '%s\n' "$1" >"$NP_HOME/etc/neuropacs.json"; }
jget() { /usr/bin/python3 -c 'import json,sys;d=json.load(open(sys.argv[1]));print(eval(sys.argv[2]))' "$1" "$2"; }
