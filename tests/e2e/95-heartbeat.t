#!/bin/sh
# np-heartbeat: only what the telemetry settings allow reaches the cloud (v2),
# nothing on v1, nothing when disabled.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/cloud.sh"
plan 7
cloud_start "$T/cloud"
beats() { grep -c '"/heartbeat"' "$T/cloud/requests.jsonl" 2>/dev/null || echo 0; }
last() { grep '"/heartbeat"' "$T/cloud/requests.jsonl" | tail -1; }

SETTINGS_EXTRA=',"telemetry":{"include_system_metrics":false,"include_order_stats":false,"include_health":true}'
cloud_home v2
"$BIN/np-heartbeat" 2>/dev/null
is "$(beats)" 1 "a heartbeat is sent over v2"
b=$(last)
like "$b" '"agent_id"' "it names the agent"
nok "system metrics and order counts stay out when not allowed" sh -c "printf '%s' '$b' | grep -q -e memory_total -e qc-passed"
SETTINGS_EXTRA=',"telemetry":{"include_system_metrics":true,"include_order_stats":true}'
cloud_home v2
"$BIN/np-heartbeat" 2>/dev/null
like "$(last)" 'memory_total.*|qc-passed' "they are included when the settings allow them"
SETTINGS_EXTRA=',"telemetry":{"heartbeat_enabled":false}'
cloud_home v2
"$BIN/np-heartbeat" 2>/dev/null
is "$(beats)" 2 "nothing is sent when the heartbeat is disabled"
SETTINGS_EXTRA=''
cloud_home v1
"$BIN/np-heartbeat" 2>"$T/err"; rc=$?
is "$rc/$(beats)" "0/2" "protocol v1 has no heartbeat: nothing sent, no error"
like "$(cat "$T/err")" "v1 has no heartbeat" "and the log says why"
