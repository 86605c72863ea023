#!/bin/sh
# np-sched: jobs on cron expressions from the settings, with a fake clock
# (NP_FAKE_NOW): a scheduled group report fires without new completions, a run
# missed while stopped runs once, SIGHUP re-reads the schedule, missing
# programs are skipped.
. "$(dirname "$0")/../lib/tap.sh"
plan 14
export TZ=UTC
MK=$NP_TOP/tests/data/make_group_study.py
P=Atypical/MSAp/PSP-v1.0
DB=$NP_HOME/db/agent.sqlite
mkdir -p "$NP_HOME/spool/done" "$NP_HOME/etc" "$T/hook" "$T/fakebin"

# A webhook recorder and a stand-in heartbeat program found through $PATH.
hport=$(free_port)
cat > "$T/hook.py" <<'PY'
import itertools, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
out, n = sys.argv[1], itertools.count(1)
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        open(os.path.join(out, "%04d.tmp" % next(n)), "wb").write(body)
        for f in os.listdir(out):
            if f.endswith(".tmp"): os.rename(os.path.join(out, f), os.path.join(out, f[:-4] + ".body"))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
HTTPServer(("127.0.0.1", int(sys.argv[2])), H).serve_forever()
PY
/usr/bin/python3 "$T/hook.py" "$T/hook" "$hport" & hpid=$!
at_exit "stop_pid $hpid"
wait_port "$hport" || bail "webhook listener did not start"
printf '#!/bin/sh\necho run >> "%s/heartbeats"\n' "$T" > "$T/fakebin/np-heartbeat"
chmod +x "$T/fakebin/np-heartbeat"
# np-sched looks for a job's program next to itself first: run a copy from
# fakebin so the stand-in np-heartbeat wins over the real one.
cp "$SBIN/np-sched" "$T/fakebin/np-sched"
SCHED=$T/fakebin/np-sched
export PATH="$T/fakebin:$BIN:$SBIN:$PATH"

settings() { # $1 = group report cron
	cat > "$NP_HOME/etc/neuropacs.json" <<JSON
{"scheduler": {"poll_cron": "0 8 * * *", "metrics_cron": "0 0 1 1 *", "retention_cron": "0 0 1 1 *"},
 "telemetry": {"heartbeat_cron": "0 8 * * *"},
 "groups": {"schedule_enabled": true, "schedule_cron": "$1",
  "delivery": {"type": "rest", "url": "http://127.0.0.1:$hport/r", "body_template": "{\"file\":\"{filename}\"}"}}}
JSON
}
settings "0 8 * * mon"
a=$($MK "$NP_HOME" done --order O-1 --result "$P:Atypical=0.5")
"$BIN/np-group" create G --products "$P" 2>/dev/null
"$BIN/np-group" assign G "$a" 2>/dev/null
posts() { ls "$T/hook" | grep -c '\.body$'; }

mon=$(date -u -d '2026-11-30 08:00' +%s) # a Monday
list=$(NP_FAKE_NOW=$((mon - 3600)) "$SCHED" --list)
like "$list" "poll +0 8 \* \* \* +enabled +next=2026-11-30 08:00 UTC np-queue" "--list shows the poll cadence and its next run"
like "$list" "group-reports +0 8 \* \* mon +enabled +next=2026-11-30 08:00 UTC np-report" "and the group report schedule"

NP_FAKE_NOW=$((mon - 2)) "$SCHED" 2> "$T/sched.log" & pid=$!
wait_for '[ "$(posts)" -ge 1 ]' 15
is "$(posts)" 1 "the scheduled report is sent at 08:00 without new completions"
wait_for '[ -s "$T/heartbeats" ]' 5
ok "a job's program is found through PATH (heartbeat)" test -s "$T/heartbeats"
stop_pid $pid
like "$(cat "$T/sched.log")" "job group-reports started" "the run is logged"
like "$(cat "$T/sched.log")" "job poll skipped: np-queue is not installed|job poll started" "missing programs are skipped, not fatal"
is "$(sqlite3 "$DB" "SELECT value FROM kv WHERE key='sched_last:group-reports'")" "$mon" "the last run is kept in the index"
is "$(sqlite3 "$DB" "SELECT type FROM events WHERE type LIKE 'group_report%'")" "group_report_sent" "the sent event is recorded"

# Stopped over the next Monday: the missed run happens once at start.
NP_FAKE_NOW=$((mon + 7 * 86400 + 3600)) "$SCHED" --once 2>> "$T/sched.log"
is "$(posts)" 2 "a run missed while stopped runs once at start"
NP_FAKE_NOW=$((mon + 7 * 86400 + 3660)) "$SCHED" --once 2>> "$T/sched.log"
is "$(posts)" 2 "and only once"

# SIGHUP: a new schedule takes effect without a restart.
settings "0 9 * * mon"
NP_FAKE_NOW=$((mon + 14 * 86400 + 55)) "$SCHED" 2> "$T/hup.log" & pid=$!
wait_for 'grep -q "started jobs" "$T/hup.log"' 10
settings "1 8 * * mon"
kill -HUP $pid
wait_for '[ "$(posts)" -ge 3 ]' 15
is "$(posts)" 3 "after SIGHUP the new schedule fires"
stop_pid $pid
like "$(cat "$T/hup.log")" "reloading settings" "the reload is logged"

# No overlapping runs: a clock 60 times as fast makes the heartbeat due every
# second while each run takes two.
printf '#!/bin/sh\necho start >> "%s/slow"\nsleep 2\necho end >> "%s/slow"\n' "$T" "$T" > "$T/fakebin/np-heartbeat"
sed -i 's/"heartbeat_cron": "0 8 \* \* \*"/"heartbeat_cron": "* * * * *"/' "$NP_HOME/etc/neuropacs.json"
NP_FAKE_NOW=$((mon + 21 * 86400)) NP_FAKE_RATE=60 "$SCHED" 2> "$T/slow.log" & pid=$!
wait_for 'grep -q "job heartbeat still running" "$T/slow.log"' 15
stop_pid $pid
like "$(cat "$T/slow.log")" "job heartbeat still running \(pid [0-9]+\): this run is skipped" "a job still running is not started again"
nok "runs never overlap (no start after start)" sh -c "tr '\\n' ' ' < '$T/slow' | grep -q 'start start'"
