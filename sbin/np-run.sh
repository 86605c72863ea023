#!/bin/sh
# np-run.sh: what `make run` and `make demo` start. Creates the agent home on
# first run and runs the s6 supervision tree until Ctrl-C, or until
# `np-run.sh --stop` (make stop) from another shell. Either way every
# process of the home's tree ends (np-svscan --stop: s6 brings the services
# down, SIGKILL after timeout-kill, then whatever is left). A start after a
# crash or kill -9 first ends what the earlier run left behind (processes
# still holding the ports or s6-log locks); a home that another np-run.sh
# runs is refused.
#
# HTTP_PORT and DICOM_PORT, when set, become http.port and dicom.port in
# the home's settings before the start (make demo HTTP_PORT=8080).
#
# Run as root, the services do not run as root (see "Privileges" in the
# README): np-run.sh makes the system user $NP_USER (default neuropacs) and
# the groups neuropacs, neuropacs-cloud and neuropacs-keys when missing,
# gives the home to that user, and each service its own identity (setpriv,
# util-linux): the back-end services (gid neuropacs-cloud, group
# neuropacs-keys), np-httpd (gid neuropacs-keys), np-recv and the loggers
# (gid neuropacs, no other group; np-recv keeps CAP_NET_BIND_SERVICE alone,
# as an ambient capability, for port 104). Secrets are root's, mode 0440:
# cloud.api_key and cloud.service_password of group neuropacs-cloud (the
# back-end only), every other secret of group neuropacs-keys (the back-end
# and np-httpd); np-recv reads none. The distinct primary groups also keep
# one service from tracing another (ptrace, /proc/PID/mem). NP_USER=root
# keeps everything as root (a home the service user cannot reach).
# Not root, everything runs as the invoking user, as before.
#
# --demo also supervises the Neuropacs cloud stand-in of the source tree
# (tests/peers/cloud_standin.py --demo) on 127.0.0.1:${NP_DEMO_CLOUD_PORT:-3002}
# and points the home at it (cloud.api_url, cloud.api_key, cloud.demo). Its
# results are synthetic and say so ("DEMO - synthetic analysis, not for
# clinical use" in every report; the UI shows a DEMO banner). The first
# demo run of a home (even one made by np-init before) also sets the demo's
# first-run settings; the marker file .demo-first-run in the home says it
# was done, later changes stay.
set -eu
demo=0 stop=0
case ${1:-} in
--demo) demo=1 ;;
--stop) stop=1 ;;
"") ;;
*) echo "usage: np-run.sh [--demo | --stop]" >&2; exit 100 ;;
esac
top=$(cd "$(dirname "$0")/.." && pwd)
home=${NP_HOME:-$top/var}
sbin=${NP_SBIN:-$top/build/sbin}
bin=${NP_BIN:-$top/build/bin}
export NP_HOME="$home" PATH="$sbin:$bin:$PATH"
standin=$top/tests/peers/cloud_standin.py
cport=${NP_DEMO_CLOUD_PORT:-3002}
demokey=demo-api-key
pidfile=$home/service/.np-run.pid

if [ $stop = 1 ]; then
	if [ ! -x "$sbin/np-svscan" ]; then
		echo "neuropacs-agent: nothing runs for $home ($sbin/np-svscan is not built)"
		exit 0
	fi
	rc=0
	np-svscan --stop || rc=$?
	case $rc in
	0) echo "neuropacs-agent: stopped $home" ;;
	1) echo "neuropacs-agent: nothing runs for $home" ;;
	*) exit $rc ;;
	esac
	exit 0
fi

# One np-run.sh per home: a second one would stop the first one's tree.
old=$(cat "$pidfile" 2>/dev/null || true)
case $old in
'' | *[!0-9]*) ;;
*)
	if [ "$old" != $$ ] && tr '\0' '\n' 2>/dev/null <"/proc/$old/cmdline" | grep -q 'np-run\.sh$' &&
		tr '\0' '\n' <"/proc/$old/environ" 2>/dev/null | grep -qxF "NP_HOME=$home"; then
		echo "np-run.sh: $home already runs (np-run.sh pid $old): stop it first (Ctrl-C there, or make stop)" >&2
		exit 100
	fi
	;;
esac
# What an earlier run left behind (its np-run.sh killed, a crash): a tree
# still up, or services and loggers without their supervisor.
rc=0
[ ! -x "$sbin/np-svscan" ] || np-svscan --stop || rc=$?
[ $rc -le 1 ] || exit $rc

port_ok() {
	case $2 in
	'' | *[!0-9]*) echo "np-run.sh: $1 must be a port number (1-65535), not \"$2\"" >&2; exit 100 ;;
	esac
	[ "$2" -ge 1 ] && [ "$2" -le 65535 ] || { echo "np-run.sh: $1 must be a port number (1-65535), not $2" >&2; exit 100; }
}
[ -z "${HTTP_PORT:-}" ] || port_ok HTTP_PORT "$HTTP_PORT"
[ -z "${DICOM_PORT:-}" ] || port_ok DICOM_PORT "$DICOM_PORT"

if [ $demo = 1 ]; then
	if [ ! -f "$standin" ]; then
		echo "np-run.sh: --demo needs the source tree (tests/peers/cloud_standin.py is not in $top)" >&2
		exit 100
	fi
	if ! /usr/bin/python3 -c 'import cryptography' 2>/dev/null; then
		echo "np-run.sh: --demo needs /usr/bin/python3 with python3-cryptography (see deps/demo.txt)" >&2
		exit 100
	fi
	np-init --first-run --non-interactive
	# First demo run of this home only (later changes stay), whoever made
	# the home: listen on loopback only, as a demo is not for a real PACS;
	# a newcomer sees results within minutes (short stabilization, status
	# polled every minute).
	if [ ! -e "$home/.demo-first-run" ]; then
		echo '{"dicom":{"bind":"127.0.0.1","stabilization_seconds":10},"http":{"bind":"127.0.0.1"},
			"scheduler":{"poll_cron":"* * * * *"}}' | np-config merge
		: >"$home/.demo-first-run"
	fi
	echo "{\"cloud\":{\"api_url\":\"http://127.0.0.1:$cport\",\"protocol\":\"v1\",\"demo\":true}}" | np-config merge
	printf '%s' "$demokey" | np-config set-secret cloud.api_key
else
	[ -x "$sbin/np-init" ] && [ ! -e "$home/etc/neuropacs.json" ] && np-init --first-run
fi
[ -z "${HTTP_PORT:-}" ] || echo "{\"http\":{\"port\":$HTTP_PORT}}" | np-config merge
[ -z "${DICOM_PORT:-}" ] || echo "{\"dicom\":{\"port\":$DICOM_PORT}}" | np-config merge
np-config check >/dev/null
echo "neuropacs-agent: home $home"
# the scheme and the DICOM port the services will use (HTTPS, DICOM TLS)
scheme=http
[ "$(np-config get tls.enabled)" != true ] || scheme=https
echo "neuropacs-agent: UI $scheme://localhost:$(np-config get http.port)/"
if [ "$(np-config get dicom.tls.enabled)" = true ]; then
	echo "neuropacs-agent: DICOM TLS port $(np-config get dicom.tls.port), AE title $(np-config get dicom.ae_title)"
else
	echo "neuropacs-agent: DICOM port $(np-config get dicom.port), AE title $(np-config get dicom.ae_title)"
fi
if [ $demo = 1 ]; then
	echo "neuropacs-agent: DEMO: cloud stand-in on http://127.0.0.1:$cport; its results are synthetic, not for clinical use"
elif [ "$(np-config get cloud.demo)" = true ]; then
	echo "neuropacs-agent: warning: cloud.demo is set: the UI says DEMO (this home was made by make demo?)"
elif [ -z "$(np-config get cloud.api_url)" ]; then
	echo "neuropacs-agent: cloud not configured: studies are held before upload (see Settings)"
fi
echo "neuropacs-agent: press Ctrl-C to stop (or make stop from another shell)"
np-svscan --prepare-only
svc=$home/service/demo-cloud
if [ $demo = 1 ]; then
	# An extra service of this home only (np-svscan leaves folders it does
	# not ship alone); the stand-in keeps its state in $home/demo-cloud.
	mkdir -p "$svc/log"
	cat >"$svc/run.new" <<EOF
#!/bin/sh
# make demo: the Neuropacs cloud stand-in; every result is marked DEMO.
exec 2>&1
exec /usr/bin/python3 "$standin" --demo --fault steps=1 --port $cport --state "$home/demo-cloud" --api-key $demokey
EOF
	chmod 755 "$svc/run.new"
	mv "$svc/run.new" "$svc/run"
	echo 5000 >"$svc/timeout-kill"
	cp "$top/etc/s6/np-sched/log/run" "$svc/log/run.new"
	mv "$svc/log/run.new" "$svc/log/run"
	mkdir -p "$home/demo-cloud"
elif [ -d "$svc" ]; then
	# A plain run of a home that once ran the demo: no stand-in.
	rm -rf "$svc"
fi
# Last, as it gives the home (spool and index made just above) to the
# service user when root.
. "$top/sbin/np-privileges.sh"
np_privileges "$home" "$sbin" "$bin"
# s6-svscan runs in a session of its own: Ctrl-C reaches this script only,
# which stops the tree in order. Sent to every s6-supervise, SIGINT would
# make each one exit at once without waiting for its service (the bug of
# leftover services holding the UI port and s6-log locks).
stopping() {
	trap '' INT TERM HUP
	echo "neuropacs-agent: stopping (Ctrl-C again to kill at once)"
	np-svscan --stop || true
}
trap stopping INT TERM HUP
trap 'rm -f "$pidfile"' EXIT
echo $$ >"$pidfile"
setsid -w np-svscan &
svscan=$!
np_privileges_control "$home" &
wait $svscan || true
wait 2>/dev/null || true
# s6-svscan ended (stopped, or killed): nothing of the tree outlives it.
np-svscan --stop 2>/dev/null || true
