#!/bin/sh
# np-queue: exit-status routing, backoff and attempt cap, crash recovery,
# concurrency limit, SIGTERM, and new arrivals in daemon mode.
# Many small fsyncs: keep the agent home on tmpfs when there is one.
[ -w /dev/shm ] && TMPDIR=/dev/shm && export TMPDIR
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/lib/spool.sh"
plan 35
F=$NP_TOP/tests/lib/filter.sh
Q="$BIN/np-queue"
runs() { { tr '\n' ' ' < "$NP_HOME/spool/$(where "$1")/$1/runs"; } 2>/dev/null | sed 's/ $//'; }
json_of() { /usr/bin/python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }

# --- routing by exit status ---
a=$(mkstudy stable 0); b=$(mkstudy stable 1); c=$(mkstudy stable 100); d=$(mkstudy stable 111)
"$Q" --once --max-attempts 3 --backoff-base 0 stable qc-passed qc-failed -- "$F" 2> "$T/log"
is "$?" 0 "np-queue --once exits 0 when studies were routed (even to failed/)"
is "$(where "$a")" qc-passed "exit 0 moves to TO"
is "$(where "$b")" qc-failed "exit 1 moves to FAIL"
is "$(where "$c")" failed "exit 100 moves to failed/"
is "$(where "$d")" failed "exit 111 retried until the attempt cap, then failed/"
is "$(runs "$d")" "1 2 3" "three attempts, NP_QUEUE_ATTEMPT counts them"
is "$(runs "$a")" "1" "a successful study runs once"
is "$(history_of "$a")" "stable>qc-passed" "history.jsonl records the move once"
like "$(tail -n 1 "$NP_HOME/spool/failed/$c/history.jsonl")" '"reason":"filter.sh exit 100"' "the failure reason is recorded"
like "$(grep "$a" "$T/log")" "^np-queue: info: $a ran cmd=filter.sh exit=0 seconds=[0-9.]+ attempt=1 to=qc-passed\$" "one log line per run"
is "$(sqlite3 "$NP_HOME/db/agent.sqlite" "select count(*) from events where type='queue_failed'")" 2 "an event for each study sent to failed/"
is "$(sqlite3 "$NP_HOME/db/agent.sqlite" "select state from studies where npuid='$b'")" qc-failed "the index follows the move"
is "$(ls -A "$NP_HOME/spool/stable/.work" "$NP_HOME/spool/stable/.queue" | grep -c json)" 0 "nothing left claimed or journalled"

# --- backoff survives restarts ---
e=$(mkstudy stable 111)
now=$(date +%s)
"$Q" --once --max-attempts 5 --backoff-base 100 --backoff-cap 1000 stable qc-passed qc-failed -- "$F" 2>/dev/null
j="$NP_HOME/spool/stable/.queue/$e.json"
is "$(where "$e"):$(json_of "$j" attempts)" "stable:1" "a temporary failure returns the study with attempts=1"
nt=$(json_of "$j" next_try | cut -d. -f1)
ok "first retry is 50..100 s away (base 100 with jitter)" test "$nt" -ge $((now + 49)) -a "$nt" -le $((now + 102))
"$Q" --once --max-attempts 5 --backoff-base 100 --backoff-cap 1000 stable qc-passed qc-failed -- "$F" 2>/dev/null
is "$(runs "$e")" "1" "a restarted runner honours the stored next_try"
NP_FAKE_NOW=$((now + 200)) "$Q" --once --max-attempts 5 --backoff-base 100 --backoff-cap 1000 stable qc-passed qc-failed -- "$F" 2>/dev/null
is "$(runs "$e")" "1 2" "once due, it runs again"
nt=$(json_of "$j" next_try | cut -d. -f1)
ok "second retry is 100..200 s later (exponential)" test "$nt" -ge $((now + 299)) -a "$nt" -le $((now + 402))
NP_FAKE_NOW=$((now + 500)) "$Q" --once --max-attempts 5 --backoff-base 100 --backoff-cap 120 stable qc-passed qc-failed -- "$F" 2>/dev/null
nt=$(json_of "$j" next_try | cut -d. -f1)
ok "the cap bounds the delay (cap 120: 60..120 s)" test "$nt" -ge $((now + 559)) -a "$nt" -le $((now + 622))
rm -rf "$NP_HOME/spool/stable/$e" "$j"

# --- recovery of claimed studies and of interrupted moves ---
f=$(mkstudy stable 0); mkdir -p "$NP_HOME/spool/stable/.work"; mv "$NP_HOME/spool/stable/$f" "$NP_HOME/spool/stable/.work/"
g=$(mkstudy stable 0); mv "$NP_HOME/spool/stable/$g" "$NP_HOME/spool/stable/.work/"
printf '{"attempts":0,"next_try":0,"last_exit":1,"to":"qc-failed","reason":"filter.sh exit 1"}\n' > "$NP_HOME/spool/stable/.queue/$g.json"
"$Q" --once stable qc-passed qc-failed -- "$F" 2> "$T/log"
is "$(where "$f"):$(runs "$f")" "qc-passed:1" "a study left claimed by a crash is returned and run"
is "$(where "$g"):$(runs "$g")" "qc-failed:" "a journalled move is finished without running the command again"
like "$(cat "$T/log")" "$f recovered claimed study" "recovery is logged"

# --- concurrency limit ---
for i in 1 2 3 4 5 6; do mkstudy stable 0 >/dev/null; done
FILTER_SLEEP=0.4 FILTER_LOG="$T/conc" "$Q" --once --jobs 2 stable qc-passed qc-failed -- "$F" 2>/dev/null
max=$(awk '/^start/{n++; if (n>m) m=n} /^end/{n--} END{print m}' "$T/conc")
is "$max" 2 "--jobs 2 runs two commands at a time, never more"
is "$(grep -c ^end "$T/conc")" 6 "every command ran to its end"
is "$(ls "$NP_HOME/spool/stable" | wc -l)" 0 "all six were processed"

# --- daemon mode: new arrivals, SIGTERM lets the running command finish ---
"$Q" --poll 30 stable qc-passed qc-failed -- "$F" 2> "$T/dlog" &
qpid=$!
at_exit "kill $qpid 2>/dev/null"
sleep 0.3
h=$(mkstudy stable 0)
ok "a new study is picked up at once (inotify, poll is 30 s)" wait_for "[ -d '$NP_HOME/spool/qc-passed/$h' ]" 3
ok "np-queue is still running" kill -0 "$qpid"
kill -TERM "$qpid"; wait "$qpid"; rc=$?
is "$rc" 0 "SIGTERM: np-queue exits 0"
k=$(mkstudy stable 0)
FILTER_SLEEP=1 "$Q" --poll 30 stable qc-passed qc-failed -- "$F" 2> "$T/dlog" &
qpid=$!
wait_for "[ -d '$NP_HOME/spool/stable/.work/$k' ]" 5
kill -TERM "$qpid"; wait "$qpid"; rc=$?
is "$rc:$(where "$k")" "0:qc-passed" "SIGTERM while a command runs: it finishes and the study moves on"
m=$(mkstudy stable 0)
FILTER_SLEEP=5 "$Q" --poll 30 stable qc-passed qc-failed -- "$F" 2> "$T/dlog" &
qpid=$!
wait_for "[ -d '$NP_HOME/spool/stable/.work/$m' ]" 5
t0=$(date +%s)
kill -TERM "$qpid"; sleep 0.2; kill -TERM "$qpid"; wait "$qpid"; rc=$?
is "$rc:$(where "$m")" "0:stable" "a second SIGTERM interrupts the command and returns the study"
ok "and does not wait for the command" test $(($(date +%s) - t0)) -le 3
ok "an interrupted run does not count as an attempt" test ! -e "$NP_HOME/spool/stable/.queue/$m.json"

# --- usage and the runner lock ---
"$Q" stable qc-passed 2>/dev/null; is "$?" 100 "usage errors exit 100"
"$Q" --once incoming stable failed -- true 2>/dev/null; is "$?" 100 "incoming is not a runner stage"
FILTER_SLEEP=2 "$Q" --poll 30 stable qc-passed qc-failed -- "$F" 2>/dev/null &
qpid=$!
sleep 0.3
"$Q" --once stable qc-passed qc-failed -- "$F" 2> "$T/log"; rc=$?
is "$rc" 111 "a second runner on the same stage exits 111"
kill -TERM "$qpid"; wait "$qpid"
