#!/bin/sh
# /metrics with several agents behind one Prometheus (np-agent(7) SIZING):
# np-metrics' snapshot comes out a series per supervised service
# (np_service_up{service="np-recv"}) and per spool state (np_queue_depth
# {state=...}), as np-metrics --json lists them, not one unlabelled value
# of whichever row came first; HELP and TYPE once per metric; label values
# escaped; no login needed (np-httpd(8)). And np-metrics' "runtime" says
# docker only inside a container: a VM made from a Docker image keeps
# /.dockerenv (issue 21).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
plan 15
"$BIN/np-config" get dicom.port >/dev/null 2>&1
SV=$NP_HOME/service
WEIRD='we"ird\x'
for s in np-recv np-sched "$WEIRD"; do mkdir -p "$SV/$s"; printf '#!/bin/sh\nexec sleep 600\n' >"$SV/$s/run"; chmod +x "$SV/$s/run"; done
# np-recv supervised (up), the other two not (down)
s6-supervise "$SV/np-recv" 2>>"$T/s6.log" &
SUP=$!
at_exit "s6-svc -xd '$SV/np-recv' 2>/dev/null; stop_pid $SUP"
wait_for "[ \"\$(s6-svstat -o up '$SV/np-recv' 2>/dev/null)\" = true ]" 20 || diag "np-recv did not come up"

"$BIN/np-metrics" --json --no-alerts >"$T/snap.json" 2>>"$T/metrics.log"
is "$(jq -r '.services | keys | length' "$T/snap.json")" 3 "np-metrics --json lists the 3 services"
start_httpd
is "$(req GET /metrics)" 200 "/metrics answers without a login (Prometheus scrapes without a session)"
M=$T/body
is "$(grep -cE '^np_service_up\{service="([^"\\]|\\.)*"\} [01]$' "$M")" 3 "one np_service_up line per supervised service, with a service label"
is "$(grep -c '^np_service_uptime_seconds{service="' "$M")" 3 "... and one np_service_uptime_seconds line each"
ok "np_service_up{service=\"np-recv\"} is 1 (supervised, up)" grep -qx 'np_service_up{service="np-recv"} 1' "$M"
ok "np_service_up{service=\"np-sched\"} is 0 (down)" grep -qx 'np_service_up{service="np-sched"} 0' "$M"
ok "a label value's quote and backslash are escaped" grep -qxF 'np_service_up{service="we\"ird\\x"} 0' "$M"
is "$(grep -c '^np_queue_depth{state="[a-z-]*"} [0-9]*$' "$M")" "$(jq -r '.queues | length' "$T/snap.json")" \
	"one np_queue_depth line per spool state of the snapshot"
ok "... np_queue_depth{state=\"incoming\"} among them" grep -q '^np_queue_depth{state="incoming"} 0$' "$M"
nok "no unlabelled np_service_up, np_service_uptime_seconds or np_queue_depth" \
	grep -qE '^np_(service_up|service_uptime_seconds|queue_depth) ' "$M"
is "$(sed -n 's/^# TYPE \([^ ]*\) .*/\1/p' "$M" | sort | uniq -d | tr '\n' ' ')" "" "each TYPE line once per metric name"
is "$(sed -n 's/^# HELP \([^ ]*\) .*/\1/p' "$M" | sort | tr '\n' ' ')" "$(sed -n 's/^# TYPE \([^ ]*\) .*/\1/p' "$M" | sort | tr '\n' ' ')" \
	"a HELP line for each metric, once"
# a service removed is gone from the next snapshot's series
rm -rf "$SV/np-sched"
"$BIN/np-metrics" --no-alerts 2>>"$T/metrics.log"
req GET /metrics >/dev/null
is "$(grep -c '^np_service_up{' "$M")" 2 "the latest snapshot only: a removed service's series is gone"

# runtime: what the kernel shows of a container (the files np_runtime reads)
container=native
for f in /.dockerenv /run/.containerenv; do [ -e "$f" ] && diag "$f exists"; done
diag "cgroup: $(tr '\n' ' ' </proc/self/cgroup)"
diag "root mount: $(awk '$5 == "/"' /proc/self/mountinfo | cut -c1-160 | tr '\n' ' ')"
if [ -e /run/.containerenv ] || grep -qE 'docker|containerd|kubepods|libpod' /proc/self/cgroup ||
	awk '$5 == "/"' /proc/self/mountinfo | grep -qE 'docker|containerd|kubepods|libpod|containers/storage'; then
	container=docker
fi
[ -n "${SINGULARITY_CONTAINER:-}${APPTAINER_CONTAINER:-}" ] && container=singularity
is "$(jq -r .runtime "$T/snap.json")" "$container" "np-metrics' runtime is $container here (/.dockerenv alone is no container)"
printf '{"agent": {"runtime": "singularity"}}\n' >"$NP_HOME/etc/neuropacs.json"
want=singularity; [ "$container" = native ] || want=$container
is "$("$BIN/np-metrics" --json --no-alerts --no-store 2>>"$T/metrics.log" | jq -r .runtime)" "$want" \
	"outside a container the admin's agent.runtime is reported"
