#!/bin/sh
# kill -9 of np-recv (listener and association processes) in the middle of
# a transfer loses no acknowledged instance: every instance np-scu saw a
# success response for is in incoming/, whole, and a restarted np-recv
# removes the partial file of the killed run from spool/tmp.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/recv.sh"
plan 5

/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/study" --ndir 40 --nsl 4 >/dev/null
recv_config '{}'
recv_start
: >"$T/acked"
"$PLAIN/peers/np-scu" 127.0.0.1 "$RECV_PORT" $(find "$T/study" -name '*.dcm' | sort) >"$T/acked" 2>"$T/scu.err" &
SCU=$!
wait_for "[ \$(wc -l < '$T/acked') -ge 40 ]" 30
kids=$(pgrep -P "$RECV_PID")
kill -9 "$RECV_PID" $kids
wait "$SCU"
A=$(grep -c '^0000 ' "$T/acked")
diag "$A instances acknowledged before the kill"
ok "the transfer was cut short" test "$A" -lt "$(find "$T/study" -name '*.dcm' | wc -l)"
missing=0
for u in $(awk '$1 == "0000" {print $2}' "$T/acked"); do
	[ -f "$NP_HOME"/spool/incoming/*/"$u.dcm" ] || missing=$((missing + 1))
done
is "$missing" 0 "every acknowledged instance is in incoming/"
"$NP_TOP/tests/peers/dsum.py" $(find "$NP_HOME/spool/incoming" -name '*.dcm') | cut -d' ' -f1,2 >"$T/got"
"$NP_TOP/tests/peers/dsum.py" $(find "$T/study" -name '*.dcm') | cut -d' ' -f1,2 >"$T/sent"
is "$(comm -23 "$T/got" "$T/sent" | wc -l | tr -d ' ')" 0 "every stored instance is whole"
# kill -9 returns before the processes are gone; a supervisor restarts
# np-recv only after its process died, so wait the same way (a zombie
# counts as gone: that is what np-recv must cope with).
for k in $kids; do
	wait_for "! ps -o stat= -p $k | grep -qv '^Z'" 10
done
recv_start
ok "np-recv restarts on the same home" "$PLAIN/peers/np-scu" -e 127.0.0.1 "$RECV_PORT"
is "$(ls "$NP_HOME/spool/tmp" | grep -c '^np-recv\.')" 0 "partial files of the killed run were removed"
