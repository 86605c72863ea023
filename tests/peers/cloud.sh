# tests/peers/cloud.sh: start/stop the Neuropacs cloud stand-in (source it
# after tests/lib/tap.sh).
#   cloud_start DIR [stand-in options...]  sets CLOUD_URL and CLOUD_PID; stopped at exit
#   cloud_ctl JSON                         switch faults at run time (POST /_control)
#   cloud_state                            print the stand-in's counters (JSON)
#   cloud_home [protocol]                  point $NP_HOME's settings at the stand-in
#                                          ($CLOUD_EXTRA: more cloud keys; $SETTINGS_EXTRA: more sections)
#   cloud_mkca DIR                         test CA + server cert for 127.0.0.1 (ca.crt, srv.crt, srv.key)
CLOUD_PEER=$NP_TOP/tests/peers/cloud_standin.py
cloud_start() {
	_cd=$1; shift
	mkdir -p "$_cd"
	rm -f "$_cd/url"
	/usr/bin/python3 "$CLOUD_PEER" --port 0 --state "$_cd" "$@" 2>"$_cd/stderr" &
	CLOUD_PID=$!
	at_exit "stop_pid $CLOUD_PID"
	wait_for "[ -s '$_cd/url' ]" 20 || bail "cloud stand-in did not start: $(cat "$_cd/stderr")"
	CLOUD_URL=$(cat "$_cd/url")
	CLOUD_DIR=$_cd
}
cloud_ctl() { curl -sk -o /dev/null -X POST --data "$1" "$CLOUD_URL/_control"; }
cloud_state() { curl -sk "$CLOUD_URL/_state"; }
cloud_home() {
	mkdir -p "$NP_HOME/etc"
	printf '{"cloud":{"api_url":"%s","protocol":"%s","service_user":"svc"%s}%s}\n' "$CLOUD_URL" "${1:-v1}" \
		"${CLOUD_EXTRA:-}" "${SETTINGS_EXTRA:-}" >"$NP_HOME/etc/neuropacs.json"
	printf 'test-api-key' | "$BIN/np-config" set-secret cloud.api_key
	printf 'Service-Password-123!' | "$BIN/np-config" set-secret cloud.service_password
}
cloud_mkca() {
	mkdir -p "$1"
	(cd "$1" && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
		-subj "/CN=np test CA" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign &&
	 openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=127.0.0.1" &&
	 printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > ext.cnf &&
	 openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 -extfile ext.cnf
	) >/dev/null 2>&1
}
# A study folder in spool/ready/ with a de-identified set (tests/data/make_ready_study.py).
# cloud_study NPUID [--pad-mb N]; sets STUDY.
cloud_study() {
	_u=$1; shift
	[ -d "$T/src" ] || /usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/src" --ndir 6 --nsl 4 >/dev/null
	for _s in ready uploaded results done failed cancelled tmp; do mkdir -p "$NP_HOME/spool/$_s"; done
	mkdir -p "$NP_HOME/db"
	"$BIN/np-config" check >/dev/null 2>&1
	STUDY=$NP_HOME/spool/ready/$_u
	/usr/bin/python3 "$NP_TOP/tests/data/make_ready_study.py" "$STUDY" "$T/src" "$@"
}
# cloud_clone NEWNPUID [STATE]: copy the last cloud_study (without order/results) to a new study; sets STUDY.
cloud_clone() {
	_src=${CLOUD_SRC:-$STUDY}
	CLOUD_SRC=$_src
	STUDY=$NP_HOME/spool/${2:-ready}/$1
	mkdir -p "$STUDY"
	cp -a "$_src/deid" "$_src/dicom" "$STUDY/"
	sed "s/$(basename "$_src")/$1/" "$_src/manifest.json" >"$STUDY/manifest.json"
}
# Events recorded for a study: "type type ...".
cloud_events() { sqlite3 "$NP_HOME/db/agent.sqlite" "SELECT type FROM events WHERE npuid='$1' ORDER BY id" | tr '\n' ' ' | sed 's/ $//'; }
