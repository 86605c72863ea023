#!/bin/sh
# np-run.sh: what `make run` starts. Creates the agent home on first run and
# runs the s6 supervision tree in the foreground until Ctrl-C.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
home=${NP_HOME:-$top/var}
bin=${NP_BIN:-$top/build/bin}
"$bin/np-config" --home "$home" check >/dev/null
mkdir -p "$home/service" "$home/log"
for svc in "$top"/etc/s6/*/; do
	[ -f "$svc/run" ] || continue
	name=$(basename "$svc")
	[ -e "$home/service/$name" ] || cp -R "$svc" "$home/service/$name"
done
echo "neuropacs-agent: home $home"
echo "neuropacs-agent: UI http://localhost:$("$bin/np-config" --home "$home" get http.port)/"
echo "neuropacs-agent: DICOM port $("$bin/np-config" --home "$home" get dicom.port), AE title $("$bin/np-config" --home "$home" get dicom.ae_title)"
echo "neuropacs-agent: press Ctrl-C to stop"
export NP_HOME="$home" PATH="$bin:$top/build/sbin:$PATH"
trap 's6-svscanctl -t "$home/service" 2>/dev/null || true' INT TERM
s6-svscan "$home/service" &
wait $! || true
wait 2>/dev/null || true
