#!/bin/sh
# np-metrics (snapshot, alerts with hysteresis) and np-retain (purges PHI).
. "$(dirname "$0")/../lib/tap.sh"
plan 17
settings() { printf '%s\n' "$1" > "$NP_HOME/etc/neuropacs.json"; }
events() { sqlite3 "$NP_HOME/db/agent.sqlite" "SELECT count(*) FROM events WHERE type='$1'"; }
# recoveries of one alert: on a loaded machine another alert (CPU load) may
# rise and recover between the runs, and make check saw such a second one
recovered() { sqlite3 "$NP_HOME/db/agent.sqlite" "SELECT count(*) FROM events WHERE type='metric_recovered' AND detail LIKE 'alert=$1 %'"; }
"$BIN/np-config" get dicom.port >/dev/null 2>&1
mkdir -p "$NP_HOME/etc"

out=$("$BIN/np-metrics" --json --no-alerts 2>/dev/null)
ok "np-metrics prints a JSON snapshot" sh -c "printf '%s' '$out' | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"system\"][\"cpu_count\"] >= 1 and d[\"system\"][\"memory_total\"] > 0 and \"incoming\" in d[\"queues\"] and len(d[\"agent_id\"]) == 36'"
id1=$(printf '%s' "$out" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["agent_id"])')
id2=$("$BIN/np-metrics" --json --no-alerts --no-store 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["agent_id"])')
is "$id2" "$id1" "the agent id is stable across runs"
n=$(sqlite3 "$NP_HOME/db/agent.sqlite" "SELECT count(*) FROM metrics WHERE name='memory_total'")
is "$n" 1 "a snapshot is stored once (and not with --no-store)"

settings '{"notifications": {"thresholds": {"memory_percent": 1}}}'
"$BIN/np-metrics" 2>/dev/null
is "$(events high_memory)" 1 "memory above the threshold raises high_memory"
"$BIN/np-metrics" 2>/dev/null
is "$(events high_memory)" 1 "an active alert is not raised again"
settings '{"notifications": {"thresholds": {"memory_percent": 100}}}'
"$BIN/np-metrics" 2>/dev/null
is "$(recovered high_memory)" 1 "back under the threshold raises metric_recovered once"
"$BIN/np-metrics" 2>/dev/null
is "$(recovered high_memory)" 1 "recovery is reported once"

# Retention: two old studies (one done, one qc-failed), one recent, one old but still active.
mkstudy() { # state npuid age_days
	d="$NP_HOME/spool/$1/$2"; mkdir -p "$d/dicom"
	printf '{"npuid":"%s","patient":{"name":"CANARY^RETAIN^%s"},"study":{}}\n' "$2" "$2" > "$d/manifest.json"
	echo 'PHI CANARY^RETAIN pixel' > "$d/dicom/a.dcm"
	printf '{"to":"%s"}\n' "$1" > "$d/history.jsonl"
	touch -d "$3 days ago" "$d/history.jsonl"
}
mkstudy done 11111111-1111-4111-8111-111111111111 100
mkstudy qc-failed 22222222-2222-4222-8222-222222222222 100
mkstudy done 33333333-3333-4333-8333-333333333333 10
mkstudy uploaded 44444444-4444-4444-8444-444444444444 100
mkdir -p "$NP_HOME/log/np-recv"
echo old > "$NP_HOME/log/np-recv/@400000006000000000000000.s"; touch -d '40 days ago' "$NP_HOME/log/np-recv/@400000006000000000000000.s"
echo new > "$NP_HOME/log/np-recv/current"; touch -d '40 days ago' "$NP_HOME/log/np-recv/current"
rm -f "$NP_HOME"/db/agent.sqlite*
settings '{"retention": {"order_days": 90, "log_days": 30}}'
"$BIN/np-index" --rebuild 2>/dev/null || "$BIN/np-metrics" --no-alerts 2>/dev/null
is "$(sqlite3 "$NP_HOME/db/agent.sqlite" "SELECT count(*) FROM studies WHERE patient_name LIKE 'CANARY%'")" 4 "the index holds the four studies"
out=$("$BIN/np-retain" --dry-run 2>&1)
like "$out" "would purge studies=2 " "--dry-run counts the two expired studies"
ok "--dry-run removes nothing" test -d "$NP_HOME/spool/done/11111111-1111-4111-8111-111111111111"
"$BIN/np-retain" 2>/dev/null; rc=$?
is "$rc" 0 "np-retain exits 0"
nok "the expired done study is gone" test -e "$NP_HOME/spool/done/11111111-1111-4111-8111-111111111111"
nok "the expired qc-failed study is gone" test -e "$NP_HOME/spool/qc-failed/22222222-2222-4222-8222-222222222222"
ok "recent and active studies are kept" sh -c "test -d '$NP_HOME/spool/done/33333333-3333-4333-8333-333333333333' && test -d '$NP_HOME/spool/uploaded/44444444-4444-4444-8444-444444444444'"
hits=$(cat "$NP_HOME"/db/agent.sqlite* | grep -a -c -e 'CANARY^RETAIN^11111111' -e 'CANARY^RETAIN^22222222')
is "$hits" 0 "the purged studies' PHI is gone from the database files"
nok "no purged PHI left anywhere in the spool" sh -c "grep -r -l -e 'CANARY^RETAIN^1111' -e 'CANARY^RETAIN^2222' '$NP_HOME/spool'"
ok "old rotated logs are removed, current is kept" sh -c "! test -e '$NP_HOME/log/np-recv/@400000006000000000000000.s' && test -e '$NP_HOME/log/np-recv/current'"
