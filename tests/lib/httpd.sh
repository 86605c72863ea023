# tests/lib/httpd.sh: start np-httpd for a test and talk to it with curl.
# Source after tap.sh. Gives: start_httpd [ARGS...] (sets PORT URL HTTPD_PID),
# req METHOD PATH [CURL ARGS...] (prints the status; body in $T/body,
# headers in $T/headers), seed_study STATE NPUID [NAME] (a study folder with a
# manifest full of fake PHI; call before start_httpd so the index is built
# from the spool), jget FILE PATH (a value from a JSON file).
start_httpd() {
	PORT=$(free_port)
	URL="http://127.0.0.1:$PORT"
	"$SBIN/np-httpd" --port "$PORT" --vendor "$PLAIN/vendor" "$@" 2>>"$T/httpd.log" &
	HTTPD_PID=$!
	at_exit "stop_pid $HTTPD_PID"
	wait_port "$PORT" 20 || bail "np-httpd did not start: $(tail -5 "$T/httpd.log")"
}
stop_httpd() { stop_pid "$HTTPD_PID"; }
req() {
	_m=$1; _p=$2; shift 2
	curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' -X "$_m" "$@" "$URL$_p"
}
jget() {
	/usr/bin/python3 -c '
import json,sys
v=json.load(open(sys.argv[1]))
for k in sys.argv[2].split(".") if sys.argv[2] else []:
    v=v[int(k)] if isinstance(v,list) else v.get(k)
print(json.dumps(v) if isinstance(v,(dict,list)) else ("" if v is None else v))' "$1" "$2"
}
seed_study() {
	_d="$NP_HOME/spool/$1/$2"
	mkdir -p "$_d/results"
	cat > "$_d/manifest.json" <<EOM
{"npuid":"$2","source":"dicom","format":"dicom","created_at":"${4:-2026-11-20T10:00:00.000Z}",
 "study_name":"${3:-CANARY STUDY}","patient":{"name":"CANARY^PATIENT","id":"CANARY-PID-1","age":"061Y","sex":"F","birth_date":"19650101"},
 "study":{"study_instance_uid":"1.2.3.$RANDOM","accession_number":"CANARY-ACC","study_date":"20261120","description":"MR BRAIN"},
 "group":${5:-null},"products":["PDvMSA"],"counts":{"instances":10,"series":2,"bytes":1000},"series":[],"flags":[]}
EOM
}
