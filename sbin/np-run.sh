#!/bin/sh
# np-run.sh: what `make run` and `make demo` start. Creates the agent home on
# first run and runs the s6 supervision tree in the foreground until Ctrl-C.
#
# --demo also supervises the Neuropacs cloud stand-in of the source tree
# (tests/peers/cloud_standin.py --demo) on 127.0.0.1:${NP_DEMO_CLOUD_PORT:-3002}
# and points the home at it (cloud.api_url, cloud.api_key, cloud.demo). Its
# results are synthetic and say so ("DEMO - synthetic analysis, not for
# clinical use" in every report; the UI shows a DEMO banner).
set -eu
demo=0
case ${1:-} in
--demo) demo=1 ;;
"") ;;
*) echo "usage: np-run.sh [--demo]" >&2; exit 100 ;;
esac
top=$(cd "$(dirname "$0")/.." && pwd)
home=${NP_HOME:-$top/var}
sbin=${NP_SBIN:-$top/build/sbin}
bin=${NP_BIN:-$top/build/bin}
export NP_HOME="$home" PATH="$sbin:$bin:$PATH"
standin=$top/tests/peers/cloud_standin.py
cport=${NP_DEMO_CLOUD_PORT:-3002}
demokey=demo-api-key

if [ $demo = 1 ]; then
	if [ ! -f "$standin" ]; then
		echo "np-run.sh: --demo needs the source tree (tests/peers/cloud_standin.py is not in $top)" >&2
		exit 100
	fi
	if ! /usr/bin/python3 -c 'import cryptography' 2>/dev/null; then
		echo "np-run.sh: --demo needs /usr/bin/python3 with python3-cryptography (see deps/demo.txt)" >&2
		exit 100
	fi
	first=0
	[ -e "$home/etc/neuropacs.json" ] || first=1
	np-init --first-run --non-interactive
	# First run only (later changes stay): listen on loopback only, as a
	# demo is not for a real PACS; a newcomer sees results within minutes
	# (short stabilization, status polled every minute).
	[ $first = 0 ] || echo '{"dicom":{"bind":"127.0.0.1","stabilization_seconds":10},"http":{"bind":"127.0.0.1"},
		"scheduler":{"poll_cron":"* * * * *"}}' | np-config merge
	echo "{\"cloud\":{\"api_url\":\"http://127.0.0.1:$cport\",\"protocol\":\"v1\",\"demo\":true}}" | np-config merge
	printf '%s' "$demokey" | np-config set-secret cloud.api_key
else
	[ -x "$sbin/np-init" ] && [ ! -e "$home/etc/neuropacs.json" ] && np-init --first-run
fi
np-config check >/dev/null
echo "neuropacs-agent: home $home"
echo "neuropacs-agent: UI http://localhost:$(np-config get http.port)/"
echo "neuropacs-agent: DICOM port $(np-config get dicom.port), AE title $(np-config get dicom.ae_title)"
if [ $demo = 1 ]; then
	echo "neuropacs-agent: DEMO: cloud stand-in on http://127.0.0.1:$cport; its results are synthetic, not for clinical use"
elif [ "$(np-config get cloud.demo)" = true ]; then
	echo "neuropacs-agent: warning: cloud.demo is set: the UI says DEMO (this home was made by make demo?)"
elif [ -z "$(np-config get cloud.api_url)" ]; then
	echo "neuropacs-agent: cloud not configured: studies are held before upload (see Settings)"
fi
echo "neuropacs-agent: press Ctrl-C to stop"
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
	cp "$top/etc/s6/np-sched/log/run" "$svc/log/run.new"
	mv "$svc/log/run.new" "$svc/log/run"
	mkdir -p "$home/demo-cloud"
elif [ -d "$svc" ]; then
	# A plain run of a home that once ran the demo: no stand-in.
	rm -rf "$svc"
fi
trap 's6-svscanctl -t "$home/service" 2>/dev/null || true' INT TERM
np-svscan &
wait $! || true
wait 2>/dev/null || true
