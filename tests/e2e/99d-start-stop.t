#!/bin/sh
# Start and stop as an admin does (issue 17, 5): sbin/np-run.sh (what make
# run and make demo start) in a process group of its own, as in a terminal.
# Ctrl-C (SIGINT to the group) three times in a row, with a start in
# between: every process of the home ends each time and the UI port is
# free. kill -9 of the group, and of every process of the home: the next
# start takes over by itself (no "s6-log: fatal: unable to lock" loop, every
# service up, /health answers). make stop from another shell stops it. make
# demo takes HTTP_PORT / DICOM_PORT, and a home made by np-init first still
# gets the demo's first-run settings (once).
. "$(dirname "$0")/../lib/tap.sh"
# As root, np-run.sh runs the services as the user neuropacs, which cannot enter
# this test's folder (0700): keep them as root here (08-privilege tests the split).
export NP_USER=root
command -v s6-svscan >/dev/null || skip_all "s6 not installed"
command -v setsid >/dev/null || skip_all "setsid (util-linux) not installed"
/usr/bin/python3 -c 'import cryptography' 2>/dev/null || skip_all "python3-cryptography not installed"
plan 46

HTTP=$(free_port) DICOM=$(free_port) CPORT=$(free_port)
export NP_SBIN=$SBIN NP_BIN=$BIN NP_DEMO_CLOUD_PORT=$CPORT
"$SBIN/np-init" --first-run --non-interactive >/dev/null 2>&1
echo "{\"dicom\":{\"port\":$DICOM},\"http\":{\"port\":$HTTP,\"bind\":\"127.0.0.1\"}}" | "$BIN/np-config" merge

MYSID=$(cut -d' ' -f6 /proc/$$/stat)
# home_procs: live processes of this home (NP_HOME=home in their
# environment, or working in it), but not this test's own (its session).
home_procs() {
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		st=$(cat "$p/stat" 2>/dev/null) || continue
		st=${st##*) }
		set -- $st
		[ "$1" != Z ] && [ "$1" != X ] && [ "$4" != "$MYSID" ] || continue
		if { tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -qxF "NP_HOME=$NP_HOME" ||
			case $(readlink "$p/cwd" 2>/dev/null) in "$NP_HOME" | "$NP_HOME"/*) true ;; *) false ;; esac; then
			echo "$pid"
		fi
	done
}
show_procs() { for p in $(home_procs); do ps -o pid=,args= -p "$p"; done; }
port_free() { ! /usr/bin/python3 -c "import socket,sys;s=socket.socket();s.settimeout(0.5);sys.exit(s.connect_ex(('127.0.0.1',$1)))"; }
nsvc() { ls -d "$NP_HOME"/service/*/ 2>/dev/null | wc -l | tr -d ' '; }
nup() { for s in "$NP_HOME"/service/*/; do s6-svstat -o up "$s" 2>/dev/null; done | grep -c true; }
all_up() { [ "$(nup)" = "$(nsvc)" ]; }
health() { curl -sf "http://127.0.0.1:$HTTP/api/health" >/dev/null; }

# start [--demo]: np-run.sh in a new session (its own process group, as a
# terminal's foreground job); RUN is its pid and group. Waits until every
# service is up, then until /health answers. A background job of a script
# starts with SIGINT ignored (and a shell cannot trap a signal ignored on
# entry); a terminal's job does not: env --default-signal restores that.
start() {
	env --default-signal=INT setsid sh "$NP_TOP/sbin/np-run.sh" "$@" >>"$T/run.log" 2>&1 &
	RUN=$!
	# its own s6-svscan first: a tree left from before may still be up
	wait_for 'pgrep -P $RUN -x s6-svscan >/dev/null' 60 && wait_for 'all_up' 60 && wait_for health 30
}
# Whatever a failed test leaves is stopped (np-svscan --stop: this home only).
at_exit "\"\$SBIN/np-svscan\" --stop --grace 2 --home '$NP_HOME' >/dev/null 2>&1; kill -9 -\$RUN 2>/dev/null"
stopped() { wait_for "! kill -0 $RUN 2>/dev/null" 30; }

# (a) Ctrl-C three times in a row, the demo (with the cloud stand-in).
for round in 1 2 3; do
	ok "demo start $round: every service up, /health answers" start --demo
	is "$(cut -d' ' -f5 /proc/$RUN/stat) $(s6-svstat -o up "$NP_HOME/service/demo-cloud")" "$RUN true" \
		"... np-run.sh leads its process group, the stand-in is up"
	kill -INT -$RUN
	ok "Ctrl-C $round: np-run.sh ends" stopped
	wait_for '[ -z "$(home_procs)" ]' 10
	left=$(show_procs)
	is "$left" "" "... and no process of the home is left"
	ok "... the UI port is free" port_free $HTTP
	ok "... so is the stand-in's" port_free $CPORT
done
grep -q 'unable to lock' "$T/run.log" && diag "$(grep -c 'unable to lock' "$T/run.log") 'unable to lock' lines"
nok "no s6-log lock was ever fought over" grep -q 'unable to lock' "$T/run.log"
: >"$T/run.log"

# (b) kill -9 of the process group (np-run.sh: s6-svscan runs in a session
# of its own; in older versions s6-svscan and every s6-supervise were in it,
# while services and loggers ran on): the next start takes over.
ok "start" start
before=$(home_procs | tr '\n' ' ')
kill -9 -$RUN
wait "$RUN" 2>/dev/null
t0=$(date +%s)
ok "after kill -9 of the group it starts again" start
t1=$(date +%s)
ok "... within 10 s" test $((t1 - t0)) -le 10
still=""
for p in $before; do kill -0 "$p" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && still="$still $p"; done
is "$still" "" "... with no process left from before"
pids=$(for s in "$NP_HOME"/service/*/ "$NP_HOME"/service/*/log/; do s6-svstat -o pid "$s" 2>&1; done | tr '\n' ' ')
sleep 3
is "$(for s in "$NP_HOME"/service/*/ "$NP_HOME"/service/*/log/; do s6-svstat -o pid "$s" 2>&1; done | tr '\n' ' ')" "$pids" \
	"... services and loggers stay up (no restart loop)"
nok "... and no s6-log says 'unable to lock'" grep -q 'unable to lock' "$T/run.log"

# kill -9 of every process of the home (s6-svscan, s6-supervise, services,
# loggers, np-run.sh): stale s6 state only; the next start recovers.
all=$(home_procs)
kill -9 $all 2>/dev/null
wait "$RUN" 2>/dev/null
wait_for '[ -z "$(home_procs)" ]' 10
t0=$(date +%s)
ok "after kill -9 of every process of the home it starts again" start
t1=$(date +%s)
ok "... within 10 s" test $((t1 - t0)) -le 10
ok "... /health answers" health
nok "... no 'unable to lock'" grep -q 'unable to lock' "$T/run.log"
# s6-notifyoncheck's readiness poller ends once np-httpd answers; np-httpd,
# its parent after the exec, reaps it (it stayed a zombie for good).
zombies() {
	for p in $(pgrep -x np-httpd); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qxF "NP_HOME=$NP_HOME" || continue
		ps --ppid "$p" -o stat= | grep -c '^Z'
	done
}
ok "np-httpd leaves no zombie child" wait_for '[ "$(zombies)" = 0 ]' 10

# A second np-run.sh on a running home is refused and stops nothing.
timeout 30 sh "$NP_TOP/sbin/np-run.sh" >"$T/second.log" 2>&1
is "$?" 100 "a second np-run.sh on the same home is refused"
like "$(cat "$T/second.log")" "already runs" "... saying that it already runs"
ok "... and the first one still serves" all_up

# (c) make stop from another shell (its own session, as a second terminal).
setsid make -s -C "$NP_TOP" stop NP_HOME="$NP_HOME" DEMO_HOME="$T/no-demo-home" >"$T/stop.log" 2>&1 </dev/null
is "$?" 0 "make stop from another shell succeeds"
ok "... np-run.sh ends" stopped
is "$(show_procs)" "" "... no process of the home is left"
ok "... the UI port is free" port_free $HTTP
like "$(cat "$T/stop.log")" "nothing runs for $T/no-demo-home" "... and it says when a home has nothing running"

# (d) make demo with HTTP_PORT / DICOM_PORT, on a home made by np-init.
like "$(make -n -s -C "$NP_TOP" demo HTTP_PORT=8181 DICOM_PORT=11113 2>/dev/null | grep 'np-run.sh')" \
	'HTTP_PORT=8181 DICOM_PORT=11113 sh sbin/np-run.sh --demo' "make demo passes HTTP_PORT and DICOM_PORT to np-run.sh"
export NP_HOME="$T/home2"
"$SBIN/np-init" --first-run --non-interactive >/dev/null 2>&1
HTTP=$(free_port) DICOM=$(free_port)
export HTTP_PORT=$HTTP DICOM_PORT=$DICOM
start --demo
unset HTTP_PORT DICOM_PORT
ok "the demo listens on HTTP_PORT and DICOM_PORT" sh -c ". '$NP_TOP/tests/lib/tap.sh' >/dev/null; wait_port $HTTP 5 && wait_port $DICOM 5"
is "$("$BIN/np-config" get http.port) $("$BIN/np-config" get dicom.port)" "$HTTP $DICOM" "... and keeps them in the settings"
is "$("$BIN/np-config" get dicom.bind) $("$BIN/np-config" get http.bind) $("$BIN/np-config" get dicom.stabilization_seconds)" \
	"127.0.0.1 127.0.0.1 10" "a home made by np-init first gets the demo's first-run settings"
is "$("$BIN/np-config" get scheduler.poll_cron)" "* * * * *" "... polling every minute"
kill -INT -$RUN
stopped
echo '{"dicom":{"stabilization_seconds":3}}' | "$BIN/np-config" merge
start --demo
is "$("$BIN/np-config" get dicom.stabilization_seconds)" 3 "the first-run settings are applied once: later changes stay"
kill -TERM -$RUN
ok "TERM stops it as Ctrl-C does" stopped
is "$(show_procs)" "" "... every process of the home"
