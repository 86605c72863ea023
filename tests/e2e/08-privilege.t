#!/bin/sh
# Least privilege under make run as root (sbin/np-run.sh, np-privileges.sh):
# no service runs as root; each runs as the service user with the groups of
# its role; np-httpd and np-recv, the two that face the network, cannot read
# the cloud API key or the service password (np-httpd reads the password's
# hash, np-recv no secret at all), nor a back-end service's memory or
# environment; np-recv binds port 104 with CAP_NET_BIND_SERVICE alone; the
# UI still logs in and shows the cloud key as set; the back-end still reads it.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/lib/httpd.sh"
. "$NP_TOP/tests/peers/cloud.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (np-run.sh drops privileges only as root)"
command -v s6-svscan >/dev/null || skip_all "s6 not installed"
command -v setpriv >/dev/null || skip_all "setpriv (util-linux) not installed"
# A checkout under /root (0700) is out of any service user's reach: np-run.sh
# then runs everything as root with a warning (its own choice, checked here
# by the warning only).
if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$SBIN/np-httpd" 2>/dev/null; then
	skip_all "the checkout ($NP_TOP) is not reachable by an unprivileged user (chmod o+x its parent folders)"
fi
plan 74

# The service user must reach the home: tap.sh's folder is root's, 0700.
chmod 711 "$T"
HTTP=$(free_port)
URL="http://127.0.0.1:$HTTP"
PW='Service-Password-123!'
KEY=api-key-of-the-cloud-0123456789
mkdir -p "$NP_HOME/etc"
# DICOM on port 104 when free (the capability at work), else a free port.
DICOM=104
ss -ltn 2>/dev/null | grep -q ':104 ' && DICOM=$(free_port)
printf '{"dicom":{"port":%s,"bind":"127.0.0.1","stabilization_seconds":1,"scan_interval_seconds":1},"http":{"port":%s,"bind":"127.0.0.1"},
 "cloud":{"api_url":"http://127.0.0.1:9","protocol":"v1"}}\n' "$DICOM" "$HTTP" >"$NP_HOME/etc/neuropacs.json"
printf '%s' "$PW" | "$BIN/np-config" set-secret cloud.service_password
printf '%s' "$KEY" | "$BIN/np-config" set-secret cloud.api_key
rm -f "$NP_HOME/etc/secrets/http.password_hash" # np-run.sh makes it, np-httpd may not

NP_SBIN=$SBIN NP_BIN=$BIN setsid sh "$NP_TOP/sbin/np-run.sh" >"$T/run.log" 2>&1 &
RUN=$!
at_exit "NP_SBIN=$SBIN NP_BIN=$BIN sh '$NP_TOP/sbin/np-run.sh' --stop >/dev/null 2>&1; stop_pid $RUN"
wait_port "$HTTP" 60 && wait_port "$DICOM" 30
ok "the agent starts as root: UI and DICOM port answer" test $? = 0
grep -q 'services run as neuropacs .* and neuropacs-recv' "$T/run.log"
ok "np-run.sh says the services run as neuropacs and neuropacs-recv" test $? = 0

U=$(id -u neuropacs) UR=$(id -u neuropacs-recv)
gid() { getent group "$1" | cut -d: -f3; }
GBASE=$(gid neuropacs) GCLOUD=$(gid neuropacs-cloud) GKEYS=$(gid neuropacs-keys)
# pid_of NAME: the process named NAME of this home.
pid_of() {
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = "$1" ] || continue
		tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qxF "NP_HOME=$NP_HOME" && { echo "${p#/proc/}"; return; }
	done
}
field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# creds PID: "uid gid groups" of a process (real uid and gid, supplementary list)
creds() { echo "$(field "$1" Uid) $(field "$1" Gid) $(awk '$1 == "Groups:" { $1 = ""; print }' "/proc/$1/status" | tr ' ' '\n' | sort -n | xargs)"; }
for i in $(seq 50); do [ -n "$(pid_of np-sched)" ] && [ -n "$(pid_of np-stable)" ] && break; sleep 0.2; done
HTTPD=$(pid_of np-httpd) RECV=$(pid_of np-recv) SCHED=$(pid_of np-sched) STABLE=$(pid_of np-stable)
QUEUE=$(pid_of np-queue) LOGGER=$(pid_of s6-log)
sorted() { echo "$1 $2 $(shift 2; echo "$@" | tr ' ' '\n' | sort -n | xargs)"; }
is "$(creds "$HTTPD")" "$U $GKEYS $GBASE" "np-httpd runs as neuropacs, gid neuropacs-keys, group neuropacs (the data)"
is "$(creds "$RECV")" "$UR $GBASE " "np-recv runs as neuropacs-recv, a user of its own, group neuropacs, no other group"
is "$(creds "$SCHED")" "$(sorted "$U" "$GCLOUD" "$GKEYS" "$GBASE")" "np-sched runs as neuropacs, gid neuropacs-cloud, groups neuropacs-keys and neuropacs"
is "$(creds "$STABLE")" "$(sorted "$U" "$GCLOUD" "$GKEYS" "$GBASE")" "np-stable: the back-end's groups"
is "$(creds "$QUEUE")" "$(sorted "$U" "$GCLOUD" "$GKEYS" "$GBASE")" "the queue services: the back-end's groups"
is "$(creds "$LOGGER")" "$U $GBASE " "the loggers run as neuropacs, group neuropacs"
is "$(field "$RECV" CapEff) $(field "$HTTPD" CapEff) $(field "$SCHED" CapEff)" \
	"0000000000000400 0000000000000000 0000000000000000" \
	"np-recv has CAP_NET_BIND_SERVICE alone, the others no capability"

S=$NP_HOME/etc/secrets
# as PID CMD...: run CMD with the uid, gid and groups of process PID.
as() {
	_p=$1; shift
	_g=$(awk '$1 == "Groups:" { $1 = ""; print }' "/proc/$_p/status" | xargs | tr ' ' ',')
	if [ -n "$_g" ]; then _g=--groups=$_g; else _g=--clear-groups; fi
	setpriv --reuid="$(field "$_p" Uid)" --regid="$(field "$_p" Gid)" "$_g" -- "$@"
}
nok "the service user (s6-setuidgid neuropacs) cannot read the cloud API key" s6-setuidgid neuropacs cat "$S/cloud.api_key"
nok "np-httpd's user cannot read the cloud API key" as "$HTTPD" cat "$S/cloud.api_key"
nok "np-httpd's user cannot read the service password" as "$HTTPD" cat "$S/cloud.service_password"
ok "np-httpd's user reads the password hash" as "$HTTPD" cat "$S/http.password_hash"
nok "np-recv's user cannot read the cloud API key" as "$RECV" cat "$S/cloud.api_key"
nok "np-recv's user cannot read the password hash" as "$RECV" cat "$S/http.password_hash"
is "$(as "$SCHED" cat "$S/cloud.api_key")" "$KEY" "the back-end (np-sched's user) reads the cloud API key"
nok "np-httpd's user cannot read a back-end service's memory map (no ptrace)" as "$HTTPD" cat "/proc/$SCHED/maps"
nok "np-httpd's user cannot change the mode of the API key" as "$HTTPD" chmod 0444 "$S/cloud.api_key"

# The UI works on the hash and sees the key as set without reading it.
J='Content-Type: application/json'
is "$(req POST /api/auth/login -H "$J" -d "{\"password\":\"$PW\"}")" 200 "the service password logs in to the UI"
CK=$(grep -i '^Set-Cookie: np_session=' "$T/headers" | sed -E 's/^[^:]*: np_session=([^;]*);.*/\1/')
CSRF=$(jget "$T/body" csrf_token)
req GET /api/settings -H "Cookie: np_session=$CK" >/dev/null
is "$(jget "$T/body" cloud.api_key)" "********" "Settings show the cloud API key as set"

# np-httpd cannot read the service password: saving the same one again is
# told apart by its login hash. Before, it counted as a change and ended
# every other session.
H2="$T/headers"
is "$(req POST /api/auth/login -H "$J" -d "{\"password\":\"$PW\"}")" 200 "a second session logs in"
CK2=$(grep -i '^Set-Cookie: np_session=' "$H2" | sed -E 's/^[^:]*: np_session=([^;]*);.*/\1/')
is "$(req PUT /api/settings -H "Cookie: np_session=$CK" -H "X-CSRF-Token: $CSRF" -H "$J" \
	-d "{\"cloud\":{\"service_password\":\"$PW\"}}")" 200 "the same service password saved again"
is "$(jq -c .changed "$T/body")" "[]" "... is no change"
is "$(req GET /api/auth/session -H "Cookie: np_session=$CK2" >/dev/null; jq -r .authenticated "$T/body")" true \
	"... and the other session goes on"

# np-httpd sees each service's state and tells the one that owns a changed
# setting (s6-svc -h): s6-supervise makes supervise/ root's, and np-run.sh
# opens it to the group neuropacs-keys. Before, every service read
# "unknown" and a new DICOM port waited for a restart.
for i in $(seq 50); do
	req GET /api/status -H "Cookie: np_session=$CK" >/dev/null
	[ "$(jq -r '[.services[]] | unique | join(" ")' "$T/body")" = up ] && break
	sleep 0.2
done
is "$(jq -r '[.services[]] | unique | join(" ")' "$T/body")" up "np-httpd reads every service's state (all up)" ||
	diag "$(cat "$T/body"; ls -la "$NP_HOME/service/np-recv/supervise")"
NEW=$(free_port)
is "$(req PUT /api/settings -H "Cookie: np_session=$CK" -H "X-CSRF-Token: $CSRF" -H "$J" \
	-d "{\"dicom\":{\"port\":$NEW}}")" 200 "a new DICOM port is saved"
is "$(jq -r '[.applied[] | select(.service == "np-recv") | .action] | join(" ")' "$T/body")" reloaded \
	"... and np-recv is told (reloaded), not 'could not be told'"
wait_port "$NEW" 20
ok "np-recv listens on the new port without a restart" test $? = 0

# A secret written while the agent runs is the service user's file, which
# every service (one uid) could read: it is sealed to root's key of its
# group. The admin sets a new cloud API key on the Settings page: np-httpd
# writes it but can no more read it than np-recv; the back-end opens it and
# the cloud accepts it.
NEWKEY=new-api-key-set-on-the-settings-page-42
cloud_start "$T/cloud" --api-key "$NEWKEY"
is "$(req PUT /api/settings -H "Cookie: np_session=$CK" -H "X-CSRF-Token: $CSRF" -H "$J" \
	-d "{\"cloud\":{\"api_url\":\"$CLOUD_URL\",\"api_key\":\"$NEWKEY\"}}")" 200 "a new cloud API key is saved from the page"
# etc/secrets is root's: what a service writes goes to etc/sealed
as "$HTTPD" cat "$NP_HOME/etc/sealed/cloud.api_key" >"$T/seen.httpd" 2>&1
as "$RECV" cat "$NP_HOME/etc/sealed/cloud.api_key" >"$T/seen.recv" 2>&1
is "$(cut -c1-13 "$T/seen.httpd")" "np-sealed-v1:" "the key np-httpd wrote is sealed"
ok "neither np-httpd's nor np-recv's user reads the new key from it" sh -c "! grep -q '$NEWKEY' '$T/seen.httpd' '$T/seen.recv'"
nok "np-httpd's user cannot read the key that opens it" as "$HTTPD" cat "$S/.seal-cloud.key"
ok "the back-end opens it: the cloud accepts the new key (np-cloud refresh-token as np-sched's user)" \
	as "$SCHED" "$BIN/np-cloud" refresh-token
nok "... and np-httpd's user cannot use it" as "$HTTPD" "$BIN/np-cloud" refresh-token
# The session key np-httpd made at its first start: sealed to the keys'
# group, which np-recv is not in.
is "$(cut -c1-13 "$NP_HOME/etc/sealed/http.session_key")" "np-sealed-v1:" "the session key np-httpd made is sealed ..."
nok "... and np-recv's user cannot even open it" as "$RECV" cat "$NP_HOME/etc/sealed/http.session_key"

# np-recv, a user of its own, can neither signal the others nor change what
# they read; the home and etc/secrets are root's.
nok "np-recv's user cannot signal np-httpd" as "$RECV" kill -0 "$HTTPD"
nok "np-recv's user cannot change the settings" as "$RECV" sh -c "echo >>'$NP_HOME/etc/neuropacs.json'"
nok "np-recv's user cannot move etc/secrets away" as "$RECV" mv "$S" "$S.x"
nok "no service can rename what is in the home (root's)" as "$HTTPD" mv "$NP_HOME/etc" "$NP_HOME/etc.x"
# A PACS sends a study: np-recv stores it as its own user, np-stable (the
# back-end's user) moves the folder on through the group.
/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/study" --ndir 1 --nsl 3 >/dev/null
TCP_NODELAY=1 storescu -aec NEUROPACS_SCP +sd +r +sp '*.dcm' 127.0.0.1 "$NEW" "$T/study" >"$T/storescu.log" 2>&1
ok "storescu stores a study on np-recv" test $? = 0
for i in $(seq 100); do
	moved=$(cd "$NP_HOME/spool" && find . -mindepth 2 -maxdepth 2 -type d ! -name '.*' ! -path './incoming/*' ! -path './tmp/*' ! -path './wal/*' | head -1)
	[ -n "$moved" ] && break
	sleep 0.2
done
ok "np-stable, another user, moved np-recv's folder on ($moved)" test -n "$moved"
f=$(find "$NP_HOME/spool/$moved" -name '*.dcm' | head -1)
is "$(stat -c %u "$f")" "$UR" "... its instances are np-recv's user's, through the group"

# Root writing while services own the folder (np-config merge, as the README
# tells an admin): a link a service left under any temporary name is never
# followed. Before, np_write_atomic wrote through etc/.neuropacs.json.tmp.<pid>
# and chowned by path: any file of the host became the service user's.
printf 'VICTIM\n' >"$T/victim" && chmod 0600 "$T/victim"
as "$HTTPD" /usr/bin/python3 -c "
import os
d = '$NP_HOME/etc/settings'
for p in range(2, 32769):
    os.symlink('$T/victim', '%s/.neuropacs.json.tmp.%d' % (d, p))
"
echo '{"dicom":{"max_wait_minutes":201}}' | "$BIN/np-config" merge
is "$(cat "$T/victim") $(stat -c '%U %a' "$T/victim")" "VICTIM root 600" "root's np-config merge follows no link a service planted"
is "$(jq -r .dicom.max_wait_minutes "$NP_HOME/etc/neuropacs.json")" 201 "... and the setting is saved"
is "$(stat -c %U "$(readlink -f "$NP_HOME/etc/neuropacs.json")")" neuropacs "... in a file of the service user's"
nok "np-httpd's user cannot move etc/secrets away (etc is root's)" as "$HTTPD" mv "$S" "$NP_HOME/etc/settings/x"

# np-recv reaches only what it writes: no index, no study np-stable took.
nok "np-recv's user cannot open the index (the audit trail, the sessions)" as "$RECV" sqlite3 "$NP_HOME/db/agent.sqlite" "select count(*) from audit"
nok "np-recv's user cannot reach a study np-stable took" as "$RECV" ls "$NP_HOME/spool/$moved"
nok "... nor ask for a study to be deleted (spool/.marks)" as "$RECV" touch "$NP_HOME/spool/.marks/x.json"
# A refused association still reaches the index, through np-stable.
TCP_NODELAY=1 echoscu -aec NOT_US 127.0.0.1 "$NEW" >/dev/null 2>&1
for i in $(seq 50); do
	n=$(sqlite3 "$NP_HOME/db/agent.sqlite" "select count(*) from events where type='association_rejected'")
	[ "$n" -ge 1 ] && break
	sleep 0.2
done
ok "a refused association is recorded in the index (np-recv -> spool/events -> np-stable)" test "$n" -ge 1

# Refresh token on the Settings page: np-httpd may not read the credentials,
# so it drops the cached token for the back-end to renew, and says so
# (before: "cloud protocol v1 needs the secret cloud.api_key: permission denied").
is "$(req POST /api/cloud/refresh-token -H "Cookie: np_session=$CK" -H "X-CSRF-Token: $CSRF")" 200 "Refresh token answers under the split"
like "$(jget "$T/body" message)" "readable by the back-end only" "... saying the back-end renews the token"

# Third review: np-recv may pass through spool but rename nothing in it,
# has no access to the logs, and root reads the settings file only when it
# is a regular file (a FIFO there hung np-config, a link made it read any
# file of the host).
nok "np-recv's user cannot rename a state folder in spool" as "$RECV" mv "$NP_HOME/spool/done" "$NP_HOME/spool/.done-x"
nok "np-recv's user cannot replace spool/incoming" as "$RECV" mv "$NP_HOME/spool/incoming" "$NP_HOME/spool/incoming.x"
nok "np-recv's user cannot read the logs" as "$RECV" ls "$NP_HOME/log"
SET=$NP_HOME/etc/settings/neuropacs.json
cp "$SET" "$T/settings.bak" && chmod 0644 "$T/settings.bak"
as "$HTTPD" sh -c "rm -f '$SET' && mkfifo '$SET'"
timeout 10 "$BIN/np-config" get http.port >/dev/null 2>"$T/fifo.err"
rc=$?
ok "root's np-config does not hang on a FIFO in place of the settings (rc $rc)" test "$rc" != 124
like "$(cat "$T/fifo.err")" "not a regular file" "... it says the settings are not a regular file"
as "$HTTPD" sh -c "rm -f '$SET' && cp '$T/settings.bak' '$SET'"
# Fourth review: np-stable builds a study in spool/tmp, which np-recv could
# write (and swap the build for a link); np-recv's own temporary files are in
# spool/incoming/.tmp now.
nok "np-recv's user cannot enter spool/tmp (np-stable's builds, uploads, imports)" as "$RECV" ls "$NP_HOME/spool/tmp"

# Issue 17: a study's cloud status and its cancel under the split. np-httpd
# may not read the cloud credentials: the status is what the back-end last
# recorded (as of its last poll), and the cloud's part of a cancel goes to
# the back-end (np-stable), which tells the cloud. Before: 400 "... needs the
# secret cloud.api_key: ... Permission denied", and a cancel answered "the
# cloud could not be told (it refused)" though the cloud was never asked.
# Cloud protocol v1 has no cancel call: the answer says so under the split
# too. Before, it said the back-end would tell the cloud, which it then
# could not. The study waits for its next poll (the cloud is unreachable):
# nobody holds it when the cancel comes. (The v1 stand-in above would
# answer its made-up order "Bucket not found" and fail it first.)
echo '{"cloud":{"api_url":"http://127.0.0.1:9"}}' | "$BIN/np-config" merge
V1=5e5e5e5e-0000-4000-8000-0000000000a1
mkdir -p "$T/up-$V1"
printf '{"npuid":"%s","source":"dicom","format":"dicom"}\n' "$V1" >"$T/up-$V1/manifest.json"
printf '{"order_id":"ord-v1-1","status":"Processing","protocol":"v1"}\n' >"$T/up-$V1/order.json"
chown -R neuropacs:neuropacs "$T/up-$V1" && chmod -R g+rwX "$T/up-$V1"
mv "$T/up-$V1" "$NP_HOME/spool/uploaded/$V1"
wait_for "'$BIN/np-queue' --home '$NP_HOME' --waiting 2>/dev/null | grep -q $V1" 60
is "$(req POST "/api/studies/$V1/cancel" -H "Cookie: np_session=$CK" -H "X-CSRF-Token: $CSRF")" 200 \
	"Cancel of an uploaded study under cloud protocol v1 answers 200" || diag "$(cat "$T/body")"
like "$(jget "$T/body" message)" "v1 has no cancel" "... saying v1 has no cancel (not that the back-end tells the cloud)"
ok "... and hands nothing to the back-end" test ! -e "$NP_HOME/spool/.marks/$V1.cloud-cancel.json"
cloud_start "$T/cloud2" --password "$PW" --fault steps=100000
echo "{\"cloud\":{\"api_url\":\"$CLOUD_URL\",\"protocol\":\"v2\",\"service_user\":\"svc\"}}" | "$BIN/np-config" merge
V=5e5e5e5e-0000-4000-8000-000000000017
/usr/bin/python3 "$NP_TOP/tests/data/make_ready_study.py" "$T/ready-$V" "$T/study" >/dev/null
chown -R neuropacs:neuropacs "$T/ready-$V" && chmod -R g+rwX "$T/ready-$V"
mv "$T/ready-$V" "$NP_HOME/spool/ready/$V"
wait_for "[ -d '$NP_HOME/spool/uploaded/$V' ]" 60
ok "the back-end uploads a study to the v2 cloud stand-in (uploaded)" test -d "$NP_HOME/spool/uploaded/$V"
OID=$(jq -r .order_id "$NP_HOME/spool/uploaded/$V/order.json")
is "$(req GET "/api/studies/$V/status" -H "Cookie: np_session=$CK")" 200 "the cloud status of an uploaded study answers 200 under the split" ||
	diag "$(cat "$T/body")"
nok "... with no 'Permission denied' in it" grep -qi "permission denied" "$T/body"
is "$(jq -r '"\(.live) \(.order.order_id) \(.order.status)"' "$T/body")" "false $OID $(jq -r .status "$NP_HOME/spool/uploaded/$V/order.json")" \
	"... the order as the back-end recorded it (not live)"
like "$(jget "$T/body" as_of)" '^20[0-9-]*T[0-9:]*Z$' "... and as of when (the back-end's last poll)"
is "$(req POST "/api/studies/$V/cancel" -H "Cookie: np_session=$CK" -H "X-CSRF-Token: $CSRF")" 200 "Cancel of an uploaded study answers 200 under the split" ||
	diag "$(cat "$T/body")"
nok "... and does not say the cloud refused" grep -Eq "refused|could not be told" "$T/body"
like "$(jget "$T/body" message)" "the cloud will be told by the back-end" "... but that the back-end tells the cloud"
wait_for "grep -q '\"call\": \"/cancel-order\"' '$T/cloud2/requests.jsonl'" 20
ok "the cloud stand-in receives the cancel of the order within seconds" grep -q "\"call\": \"/cancel-order\"" "$T/cloud2/requests.jsonl"
wait_for "[ \"\$(jq -r .cancel_scope '$NP_HOME/spool/cancelled/$V/order.json')\" = cloud ]" 10
is "$(jq -r '"\(.status) \(.cancel_scope)"' "$NP_HOME/spool/cancelled/$V/order.json")" "Cancelled cloud" "order.json records that the cloud was told"
is "$(grep -c '"call": "/cancel-order"' "$T/cloud2/requests.jsonl")" 1 "... told once"
ok "the hand-over is done with (spool/.marks)" test ! -e "$NP_HOME/spool/.marks/$V.cloud-cancel.json"
