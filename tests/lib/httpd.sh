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
	_jp=$(printf '%s' "$2" | sed -E 's/\.([0-9]+)/[\1]/g; s/^([0-9]+)/[\1]/')
	jq -r ".${_jp} | if . == null then \"\" elif type == \"object\" or type == \"array\" then tojson else tostring end" "$1"
}
seed_study() {
	_d="$NP_HOME/spool/$1/$2"
	mkdir -p "$_d/results"
	cat > "$_d/manifest.json" <<EOM
{"npuid":"$2","source":"dicom","format":"dicom","created_at":"${4:-2026-11-20T10:00:00.000Z}",
 "study_name":"${3:-CANARY STUDY}","patient":{"name":"CANARY^PATIENT","id":"CANARY-PID-1","age":"061Y","sex":"F","birth_date":"19650101"},
 "study":{"study_instance_uid":"1.2.3.$$","accession_number":"CANARY-ACC","study_date":"20261120","description":"MR BRAIN"},
 "group":${5:-null},"products":["PDvMSA"],"counts":{"instances":10,"series":2,"bytes":1000},"series":[],"flags":[]}
EOM
}
