#!/bin/sh
# DICOM TLS under the privilege split (issue 17, make run as root): np-recv
# runs as a user of its own (neuropacs-recv), so a DICOM TLS pair it cannot
# read, or one that does not match, is refused on save with the field and
# what to do. Before, the save answered 200 "reloaded", np-recv logged
# "Permission denied" and kept its old listener, and at its next restart
# exited in a loop. The certificate uploaded for HTTPS (etc/tls/server.key,
# the service user's, 0600) is such a pair. One installed as README
# "Privileges" says is taken, and storescu stores over it.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/lib/httpd.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (np-run.sh drops privileges only as root)"
command -v s6-svscan >/dev/null || skip_all "s6 not installed"
command -v setpriv >/dev/null || skip_all "setpriv (util-linux) not installed"
command -v storescu >/dev/null || skip_all "dcmtk not installed"
if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$SBIN/np-httpd" 2>/dev/null; then
	skip_all "the checkout ($NP_TOP) is not reachable by an unprivileged user (chmod o+x its parent folders)"
fi
plan 14

chmod 711 "$T"
HTTP=$(free_port) DICOM=$(free_port)
URL="http://127.0.0.1:$HTTP"
PW='Service-Password-123!'
mkdir -p "$NP_HOME/etc"
printf '{"dicom":{"port":%s,"bind":"127.0.0.1"},"http":{"port":%s,"bind":"127.0.0.1"},
 "cloud":{"api_url":"http://127.0.0.1:9","protocol":"v1"}}\n' "$DICOM" "$HTTP" >"$NP_HOME/etc/neuropacs.json"
printf '%s' "$PW" | "$BIN/np-config" set-secret cloud.service_password
rm -f "$NP_HOME/etc/secrets/http.password_hash"
NP_SBIN=$SBIN NP_BIN=$BIN setsid sh "$NP_TOP/sbin/np-run.sh" >"$T/run.log" 2>&1 &
RUN=$!
at_exit "NP_SBIN=$SBIN NP_BIN=$BIN sh '$NP_TOP/sbin/np-run.sh' --stop >/dev/null 2>&1; stop_pid $RUN"
wait_port "$HTTP" 60 && wait_port "$DICOM" 30
ok "the agent starts as root with the privilege split" grep -q 'and neuropacs-recv' "$T/run.log"
J='Content-Type: application/json'
req POST /api/auth/login -H "$J" -d "{\"password\":\"$PW\"}" >/dev/null
CK=$(grep -i '^Set-Cookie: np_session=' "$T/headers" | sed -E 's/^[^:]*: np_session=([^;]*);.*/\1/')
CSRF=$(jget "$T/body" csrf_token)
# the np-recv process of this home
pid_of() {
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = "$1" ] || continue
		tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qxF "NP_HOME=$NP_HOME" && { echo "${p#/proc/}"; return; }
	done
}
as_recv() { setpriv --reuid=neuropacs-recv --regid=neuropacs --clear-groups -- "$@"; }
/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/study" --ndir 1 --nsl 3 >/dev/null
P=$T/pki
sh "$NP_TOP/tests/peers/mkpki.sh" "$P" >/dev/null
jq -n --rawfile c "$P/server.crt" --rawfile k "$P/server.key" --rawfile a "$P/ca.crt" '{certificate: $c, private_key: $k, ca_certificate: $a}' >"$T/cert.json"
is "$(req POST /api/tls/certificate -H "Cookie: np_session=$CK" -H "X-CSRF-Token: $CSRF" -H "$J" -d @"$T/cert.json")" 200 \
	"the HTTPS certificate is uploaded (etc/tls/server.crt, server.key)"
TLSP=$(free_port)
dtls() { printf '{"dicom":{"tls":{"enabled":true,"port":%s,"cert_file":"%s","key_file":"%s"}}}' "$TLSP" "$1" "$2"; }
is "$(req PUT /api/settings -H "Cookie: np_session=$CK" -H "X-CSRF-Token: $CSRF" -H "$J" \
	-d "$(dtls etc/tls/server.crt etc/tls/server.key)")" 400 "DICOM TLS on the HTTPS key np-recv cannot read is refused"
like "$(jget "$T/body" error.message)" "dicom.tls.key_file: np-recv .*cannot read .*install -o root -g neuropacs -m 0640 KEY .*install -o root -g neuropacs -m 0644 CERT" \
	"... naming dicom.tls.key_file, np-recv's user and how to install the pair (key and certificate)"
is "$(jq -r ".dicom.tls.enabled // false" "$NP_HOME/etc/neuropacs.json")" false "... and nothing is saved"
install -o root -g neuropacs -m 0644 "$P/server.crt" "$NP_HOME/etc/tls/dicom.crt"
install -o root -g neuropacs -m 0640 "$P/client.key" "$NP_HOME/etc/tls/dicom.key"
is "$(req PUT /api/settings -H "Cookie: np_session=$CK" -H "X-CSRF-Token: $CSRF" -H "$J" \
	-d "$(dtls etc/tls/dicom.crt etc/tls/dicom.key)")" 400 "a readable key of another certificate is refused"
like "$(jget "$T/body" error.message)" "dicom.tls.key_file.*does not match" "... saying the key does not match the certificate"
install -o root -g neuropacs -m 0640 "$P/server.key" "$NP_HOME/etc/tls/dicom.key"
is "$(req PUT /api/settings -H "Cookie: np_session=$CK" -H "X-CSRF-Token: $CSRF" -H "$J" \
	-d "$(dtls etc/tls/dicom.crt etc/tls/dicom.key)")" 200 "a pair installed as documented (root:neuropacs 0640) is saved"
wait_port "$TLSP" 20
ok "np-recv listens on the DICOM TLS port" test $? = 0
TCP_NODELAY=1 storescu -aec NEUROPACS_SCP +tla +cf "$P/ca.crt" +sd +r +sp '*.dcm' 127.0.0.1 "$TLSP" "$T/study" >"$T/storescu-tls.log" 2>&1
ok "storescu stores a study over DICOM TLS" test $? = 0 || diag "$(cat "$T/storescu-tls.log")"
nok "np-recv's user still cannot read the HTTPS key" as_recv cat "$NP_HOME/etc/tls/server.key"
# s6's readiness probe asks the port np-recv listens on: under DICOM TLS the
# TLS port only (before, it asked dicom.port and np-recv was never ready)
ok "np-svcheck dicom finds np-recv ready on the TLS port" "$SBIN/np-svcheck" --home "$NP_HOME" dicom

# The key made unreadable behind the agent's back (a hand edit), then np-recv
# restarts: it cannot start, and /health says so on the port it should
# listen on, and why. Before, /health checked dicom.port, not the TLS port.
chmod 0600 "$NP_HOME/etc/tls/dicom.key"
s6-svc -r "$NP_HOME/service/np-recv"
for i in $(seq 50); do
	req GET /health >/dev/null
	[ "$(jget "$T/body" dicom.status)" = not_listening ] && break
	sleep 0.2
done
is "$(jget "$T/body" status) $(jget "$T/body" dicom.status) $(jget "$T/body" dicom.port)" "unhealthy not_listening $TLSP" \
	"/health: unhealthy, np-recv not listening on the DICOM TLS port"
like "$(jget "$T/body" dicom.reason)" "dicom.tls.key_file: np-recv .*cannot read" "... and why (the key np-recv cannot read)"
