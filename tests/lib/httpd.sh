# tests/lib/httpd.sh: start np-httpd for a test and talk to it with curl.
# Source after tap.sh. Gives: start_httpd [ARGS...] (sets PORT URL HTTPD_PID),
# req METHOD PATH [CURL ARGS...] (prints the status; body in $T/body,
# headers in $T/headers; a JSON answer is kept in $NP_API_LOG when set, see
# api_keep), seed_study STATE NPUID [NAME] (a study folder with a manifest
# full of fake PHI; call before start_httpd so the index is built from the
# spool), jget FILE PATH (a value from a JSON file).
start_httpd() {
	PORT=${PORT:-$(free_port)}
	URL="http://127.0.0.1:$PORT"
	"$SBIN/np-httpd" --port "$PORT" --vendor "$PLAIN/vendor" "$@" 2>>"$T/httpd.log" &
	HTTPD_PID=$!
	at_exit "stop_pid $HTTPD_PID"
	wait_port "$PORT" 20 || bail "np-httpd did not start: $(tail -5 "$T/httpd.log")"
}
stop_httpd() { stop_pid "$HTTPD_PID"; }
req() {
	_m=$1; _p=$2; shift 2
	_st=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' -X "$_m" "$@" "$URL$_p")
	_rc=$?
	[ -z "${NP_API_LOG:-}" ] || api_keep "$_m" "$_p" "$_st"
	printf '%s' "$_st"
	return $_rc
}
# api_keep METHOD PATH STATUS: with NP_API_LOG (a folder; make check sets it),
# a copy of the answer in $T/body when it is JSON from /api or /health, for
# tests/e2e/zz-openapi-answers.t to validate against the OpenAPI document.
# One file per answer: a line "METHOD STATUS TEST PATH", then the body.
# No python here: it runs for every request of every test.
api_keep() {
	case $2 in /api | /api[/?]* | /health | /health[/?]*) ;; *) return 0 ;; esac
	[ "$1" != HEAD ] && [ "$3" != 000 ] && [ -s "$T/body" ] || return 0
	grep -qi '^content-type: *application/json' "$T/headers" 2>/dev/null || return 0
	_kf=$(mktemp "$NP_API_LOG/${0##*/}.XXXXXX") || return 0
	{ printf '%s %s %s %s\n' "$1" "$3" "${0##*/}" "$2" && cat "$T/body"; } >"$_kf"
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
