#!/bin/sh
# np-run.sh: what `make run` starts. Creates the agent home on first run and
# runs the s6 supervision tree in the foreground until Ctrl-C.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
home=${NP_HOME:-$top/var}
sbin=${NP_SBIN:-$top/build/sbin}
bin=${NP_BIN:-$top/build/bin}
export NP_HOME="$home" PATH="$sbin:$bin:$PATH"
[ -x "$sbin/np-init" ] && [ ! -e "$home/etc/neuropacs.json" ] && np-init --first-run
np-config check >/dev/null
echo "neuropacs-agent: home $home"
echo "neuropacs-agent: UI http://localhost:$(np-config get http.port)/"
echo "neuropacs-agent: DICOM port $(np-config get dicom.port), AE title $(np-config get dicom.ae_title)"
[ -n "$(np-config get cloud.api_url)" ] || echo "neuropacs-agent: cloud not configured: studies are held before upload (see Settings)"
echo "neuropacs-agent: press Ctrl-C to stop"
np-svscan --prepare-only
trap 's6-svscanctl -t "$home/service" 2>/dev/null || true' INT TERM
np-svscan &
wait $! || true
wait 2>/dev/null || true
