#!/bin/sh
# Settings that take effect, and never disturb work (issue 17): the whole
# appliance under s6 (np-svscan) with the cloud stand-in.
# (a) A setting of np-upload saved while a study is mid-upload: only the
#     services whose settings changed are told; the upload's np-queue and its
#     np-upload keep their PIDs, a service the agent does not ship (as make
#     demo's cloud stand-in) is never signalled, the study ends done.
# (b) http.port: the API answers 200 first, then np-httpd restarts on the new
#     port (the old one closes); tls.enabled without a certificate is refused
#     (no lock-out); with one uploaded, the port speaks HTTPS.
# (c) dicom.port and dicom.ae_title: echoscu/storescu reach the new port and
#     AE title, the old port is closed; agent.mode restarts prepare only.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/deliver.sh"
. "$NP_TOP/tests/peers/cloud.sh"
command -v s6-svscan >/dev/null || skip_all "s6 not installed"
command -v echoscu >/dev/null || skip_all "dcmtk not installed"
plan 44

DICOM=$(free_port) HTTP=$(free_port)
cloud_start "$T/cloud" --fault steps=1
SETTINGS_EXTRA=",\"dicom\":{\"port\":$DICOM,\"stabilization_seconds\":1,\"scan_interval_seconds\":1},
 \"http\":{\"port\":$HTTP,\"bind\":\"127.0.0.1\"}"
cloud_home v1
"$SBIN/np-init" --first-run --non-interactive >/dev/null 2>&1
"$SBIN/np-svscan" --prepare-only >/dev/null 2>&1
# A service of this home the agent does not ship: a HUP or a TERM ends it.
mkdir -p "$NP_HOME/service/foreign"
printf '#!/bin/sh\nexec sleep 100000\n' >"$NP_HOME/service/foreign/run"
chmod 755 "$NP_HOME/service/foreign/run"

"$SBIN/np-svscan" >>"$T/svscan.log" 2>&1 &
SVSCAN=$!
at_exit "s6-svscanctl -t '$NP_HOME/service' 2>/dev/null; stop_pid $SVSCAN"
ok "the supervised tree starts" sh -c ". '$NP_TOP/tests/lib/tap.sh' >/dev/null; wait_port $HTTP 30 && wait_port $DICOM 30"
nsvc=$(ls -d "$NP_HOME"/service/*/ | wc -l | tr -d ' ')
nup() { for s in "$NP_HOME"/service/*/; do s6-svstat -o up "$s" 2>/dev/null; done | grep -c true; }
wait_for '[ "$(nup)" = "$nsvc" ]' 10
pid_of() { s6-svstat -o pid "$NP_HOME/service/$1"; }
# alive PID: running (a killed process may stay a zombie for a while)
alive() { _st=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$_st" ] && [ "${_st#Z}" = "$_st" ]; }
pids() { for s in np-httpd np-recv np-stable np-sched qc prepare upload deliver foreign; do printf '%s=%s ' $s "$(pid_of $s)"; done; }

BASE="http://127.0.0.1:$HTTP"
PW='Service-Password-123!'
curl -s -c "$T/jar" -H 'Content-Type: application/json' -d "{\"password\":\"$PW\"}" "$BASE/api/auth/login" >"$T/login.json"
CSRF=$(jget "$T/login.json" 'd["csrf_token"]')
# put JSON: PUT /api/settings on $BASE; the status is printed, the body is in $T/put.json
put() {
	curl -s -k ${CACERT:+--cacert "$CACERT"} -b "$T/jar" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' \
		-X PUT -d "$1" -o "$T/put.json" -w '%{http_code}' "$BASE/api/settings"
}
# action SERVICE: what the last answer says was done for SERVICE
action() { jget "$T/put.json" "next((a['action'] for a in d.get('applied', []) if a['service'] == '$1'), '')"; }

# ---- (a) a setting of np-upload saved while a study is mid-upload ----
NPUID=6a1f0c3e-0000-4000-8000-000000000065
/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/src" --ndir 6 --nsl 4 >/dev/null
/usr/bin/python3 "$NP_TOP/tests/data/make_ready_study.py" "$T/stage/$NPUID" "$T/src" >/dev/null
cloud_ctl '{"slow_ms":700}'
before=$(pids)
mv "$T/stage/$NPUID" "$NP_HOME/spool/ready/$NPUID"
ok "the upload starts" wait_for "[ -d '$NP_HOME/spool/ready/.work/$NPUID' ]" 20
UPQ=$(pid_of upload)
UP=$(pgrep -P "$UPQ" -x np-upload | head -1)
like "$UP" '^[0-9]+$' "np-upload runs under the upload service's np-queue"
is "$(put '{"upload":{"max_retries":4}}')" 200 "a setting of np-upload is saved mid-upload"
is "$(jget "$T/put.json" 'd["changed"]')" "['upload.max_retries']" "... the answer names the changed key"
is "$(action upload)" applied "... and says np-upload applies it at its next run, nothing restarted"
is "$(jget "$T/put.json" 'len(d["applied"])')" 1 "... no other service was told"
sleep 1
ok "np-upload was not interrupted (PID $UP still at work)" alive "$UP"
is "$(pids)" "$before" "no service was restarted, the foreign one included"
# np-queue on SIGHUP: lets its command finish, then exits for s6 to start it again.
s6-svc -h "$NP_HOME/service/upload"
sleep 0.5
ok "a SIGHUP to upload's np-queue leaves np-upload at work" alive "$UP"
cloud_ctl '{"slow_ms":0}'
ok "the upload finishes" wait_for "[ -d '$NP_HOME/spool/uploaded/$NPUID' ]" 60
ok "... then upload's np-queue restarts" \
	wait_for "[ \"\$(pid_of upload)\" != '$UPQ' ] && s6-svstat -o up '$NP_HOME/service/upload' | grep -q true" 10
poll() { PATH="$BIN:$SBIN:$PATH" "$BIN/np-queue" --once uploaded results failed -- np-poll >>"$T/poll.log" 2>&1; }
i=0
while [ $i -lt 30 ] && [ ! -d "$NP_HOME/spool/done/$NPUID" ] && [ ! -d "$NP_HOME/spool/failed/$NPUID" ]; do
	poll; sleep 0.5; i=$((i + 1))
done
ok "the study ends done" wait_for "[ -d '$NP_HOME/spool/done/$NPUID' ]" 20
is "$(cloud_state | jget /dev/stdin 'd["counts"]["new_orders"]')" 1 "... with one cloud order"
is "$(grep -c '"to":"failed"' "$NP_HOME/spool/done/$NPUID/history.jsonl")" 0 "... and never failed on the way"

# A setting nobody reads at start: applied, no signal at all.
before=$(pids)
is "$(put '{"retention":{"log_days":45}}')" 200 "a retention setting is saved"
is "$(action np-sched)" applied "... applied at the next run of its job"
is "$(pids)" "$before" "... no service restarted"

# ---- (c) dicom.port and dicom.ae_title ----
DICOM2=$(free_port)
before=$(pids)
is "$(put "{\"dicom\":{\"port\":$DICOM2,\"ae_title\":\"NEWSCP\"}}")" 200 "dicom.port and dicom.ae_title are saved"
is "$(action np-recv)" reloaded "... np-recv re-reads them"
ok "echoscu reaches the new port and AE title" wait_for "echoscu -aec NEWSCP 127.0.0.1 $DICOM2 >/dev/null 2>&1" 10
nok "... the old port is closed" echoscu -aec NEWSCP 127.0.0.1 "$DICOM"
nok "... the old AE title is refused" echoscu -aec NEUROPACS_SCP 127.0.0.1 "$DICOM2"
is "$(pids)" "$before" "... and no service was restarted"
# A new bind address on the same port: np-recv gives its port to the new listener.
is "$(put '{"dicom":{"bind":"127.0.0.1"}}')" 200 "dicom.bind is saved"
ok "... np-recv listens on 127.0.0.1 only" \
	wait_for "grep -q 'listening bind=127.0.0.1 port=$DICOM2' '$NP_HOME/log/np-recv/current'" 10
ok "... and storescu sends to it" \
	storescu -aec NEWSCP 127.0.0.1 "$DICOM2" "$(find "$T/src" -name '*.dcm' | head -1)"

# agent.mode is read by prepare's run script: prepare, and only it, restarts.
PREP=$(pid_of prepare)
is "$(put '{"agent":{"mode":"local"}}')" 200 "agent.mode is saved"
is "$(action prepare)" restarted "... prepare restarts to apply it"
ok "... with a new process" wait_for "[ \"\$(pid_of prepare)\" != '$PREP' ] && s6-svstat -o up '$NP_HOME/service/prepare' | grep -q true" 10
ok "... now running local processing" wait_for "ps -o args= -p \"\$(pid_of prepare)\" | grep -q np-local" 10

# ---- (b) np-httpd's own address ----
HTTP2=$(free_port)
is "$(put "{\"http\":{\"port\":$HTTP2}}")" 200 "http.port is saved (the answer comes first)"
is "$(jget "$T/put.json" "[a['url'] for a in d['applied'] if a['service'] == 'np-httpd'][0]")" \
	"http://127.0.0.1:$HTTP2/" "... and says where np-httpd is restarting"
ok "the API answers on the new port within seconds" \
	wait_for "curl -sf http://127.0.0.1:$HTTP2/api/health >/dev/null" 10
ok "... the old port is closed" wait_for "! curl -s http://127.0.0.1:$HTTP/api/health >/dev/null" 5
BASE="http://127.0.0.1:$HTTP2"
ok "... and the session still works there" curl -sf -b "$T/jar" "$BASE/api/settings"

is "$(put '{"tls":{"enabled":true}}')" 400 "HTTPS without a certificate is refused (no lock-out)"
like "$(jget "$T/put.json" 'd["error"]["message"]')" 'certificate' "... with a message about the certificate"
sh "$NP_TOP/tests/peers/mkpki.sh" "$T/pki"
/usr/bin/python3 -c 'import json,sys;print(json.dumps({"certificate":open(sys.argv[1]).read(),"private_key":open(sys.argv[2]).read(),"ca_certificate":open(sys.argv[3]).read()}))' \
	"$T/pki/server.crt" "$T/pki/server.key" "$T/pki/ca.crt" >"$T/cert.json"
code=$(curl -s -b "$T/jar" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' -d @"$T/cert.json" \
	-o /dev/null -w '%{http_code}' "$BASE/api/tls/certificate")
is "$code" 200 "a certificate is uploaded"
is "$(put '{"tls":{"enabled":true}}')" 200 "HTTPS is switched on"
is "$(jget "$T/put.json" "[a['url'] for a in d['applied'] if a['service'] == 'np-httpd'][0]")" \
	"https://127.0.0.1:$HTTP2/" "... the answer gives the https address"
ok "the port speaks HTTPS within seconds" \
	wait_for "curl -sf --cacert '$T/pki/ca.crt' https://127.0.0.1:$HTTP2/api/health >/dev/null" 10
nok "... and no longer plain HTTP" curl -sf "http://127.0.0.1:$HTTP2/api/health"
is "$(for s in "$NP_HOME"/service/*/; do s6-svstat -o up "$s"; done | sort -u)" true "every service is up"
