#!/bin/sh
# kill -9 of np-recv (listener and association processes) in the middle of
# a transfer loses no acknowledged instance: every instance np-scu saw a
# success response for is in incoming/, whole, and a restarted np-recv
# removes the partial file of the killed run from spool/incoming/.tmp.
# A power cut loses more: files whose pages were not written back yet. An
# acknowledged instance is durable in np-recv's instance log (spool/wal/),
# not as its own file, so the test deletes every acknowledged file after
# the kill, as a power cut may, and checks that np-recv at start (and
# np-stable before it takes a study) writes them all back, byte for byte.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/recv.sh"
plan 17

# 40 directions x 10 slices: at about 3,000 instances a second the transfer
# lasts longer than the test takes to see 40 acknowledgements and kill
/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/study" --ndir 40 --nsl 10 >/dev/null
find "$T/study" -name '*.dcm' | sort >"$T/files"
recv_config '{}'

# send_and_kill N [NP-SCU OPTIONS]: send the study ($T/files), kill -9
# np-recv once N instances are acknowledged, wait until its processes are
# gone; $T/acked lists the UIDs.
send_and_kill() {
	recv_start
	: >"$T/scu.out"
	n=$1
	shift
	"$PLAIN/peers/np-scu" "$@" 127.0.0.1 "$RECV_PORT" $(cat "$T/files") >"$T/scu.out" 2>"$T/scu.err" &
	SCU=$!
	# every 10 ms: the whole transfer may take a fraction of a second
	_i=0
	while [ "$(wc -l <"$T/scu.out")" -lt "$n" ] && [ $_i -lt 3000 ]; do
		sleep 0.01
		_i=$((_i + 1))
	done
	kids=$(pgrep -P "$RECV_PID")
	kill -9 "$RECV_PID" $kids
	wait "$SCU"
	awk '$1 == "0000" {print $2}' "$T/scu.out" >"$T/acked"
	# kill -9 returns before the processes are gone; a supervisor restarts
	# np-recv only after its process died, so wait the same way (a zombie
	# counts as gone: that is what np-recv must cope with).
	for k in $kids; do
		wait_for "! ps -o stat= -p $k | grep -qv '^Z'" 10
	done
}
# missing DIR: acknowledged instances not under DIR
missing() {
	m=0
	for u in $(cat "$T/acked"); do
		[ -n "$(find "$1" -name "$u.dcm" | head -1)" ] || m=$((m + 1))
	done
	echo $m
}
# whole DIR: stored instances under DIR that are not the sent data set
# (dsum.py stops at the first file that is not Part 10: those count too)
whole() {
	find "$1" -name '*.dcm' >"$T/stored"
	"$NP_TOP/tests/peers/dsum.py" $(cat "$T/stored") 2>/dev/null | cut -d' ' -f1,2 >"$T/got"
	"$NP_TOP/tests/peers/dsum.py" $(cat "$T/files") | cut -d' ' -f1,2 >"$T/sent"
	echo $(($(comm -23 "$T/got" "$T/sent" | wc -l) + $(wc -l <"$T/stored") - $(wc -l <"$T/got")))
}
# power_cut: delete every acknowledged file, as a power cut may before
# write-back (the folders were made durable when they were created).
power_cut() {
	for u in $(cat "$T/acked"); do
		find "$NP_HOME/spool/incoming" -name "$u.dcm" -delete
	done
}

send_and_kill 40
A=$(wc -l <"$T/acked")
diag "$A instances acknowledged before the kill"
ok "the transfer was cut short" test "$A" -lt "$(wc -l <"$T/files")"
is "$(missing "$NP_HOME/spool/incoming")" 0 "every acknowledged instance is in incoming/"
is "$(whole "$NP_HOME/spool/incoming")" 0 "every stored instance is whole"
power_cut
is "$(missing "$NP_HOME/spool/incoming")" "$A" "the power cut took every acknowledged file"
recv_start
ok "np-recv restarts on the same home" "$PLAIN/peers/np-scu" -e 127.0.0.1 "$RECV_PORT"
is "$(ls "$NP_HOME/spool/incoming/.tmp" | grep -c '^np-recv\.')" 0 "partial files of the killed run were removed"
is "$(missing "$NP_HOME/spool/incoming")" 0 "np-recv wrote every acknowledged instance back from its log"
is "$(whole "$NP_HOME/spool/incoming")" 0 "and whole"
like "$(cat "$T/recv.log")" "instance log slot-[0-9]* replayed: [0-9]* instances logged, [0-9]* written again" \
	"np-recv logs the replay"
recv_stop

# The same cut, and np-stable runs before np-recv comes back.
rm -rf "$NP_HOME/spool/incoming/"*
send_and_kill 20
A=$(wc -l <"$T/acked")
power_cut
recv_config '{"stabilization_seconds": 1}'
"$SBIN/np-stable" --once 2>"$T/stable.err"
is "$(missing "$NP_HOME/spool/incoming")" 0 "np-stable wrote every acknowledged instance back first"
# the write-back is a new arrival: the study is quiet a second later
sleep 1.5
"$SBIN/np-stable" --once 2>>"$T/stable.err"
st=$(find "$NP_HOME/spool/stable" -mindepth 1 -maxdepth 1 -type d | head -1)
ok "np-stable took the study" test -n "$st"
is "$(missing "$st")" 0 "with every acknowledged instance"
is "$(whole "$st")" 0 "and whole"

# One association logs more than its 32 MiB slot holds: 512x512 instances
# (about 520 KiB, 63 to a slot), one every 20 ms. At the 64th the slot is
# checkpointed (syncfs, a new generation) and logging starts over; the kill
# comes after that, and the power cut takes the files logged since (those
# before were made durable by the checkpoint).
rm -rf "$NP_HOME/spool/incoming/"* "$NP_HOME/spool/stable/"*
/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/big" --size 512 --ndir 4 --nsl 18 >/dev/null
find "$T/big" -name '*.dcm' | sort >"$T/files"
recv_config '{}'
: >"$T/recv.log"
send_and_kill 80 -d 20
A=$(wc -l <"$T/acked")
diag "$A of $(wc -l <"$T/files") instances of 520 KiB acknowledged before the kill"
ok "the transfer went past one slot and was cut short" test "$A" -ge 70 -a "$A" -lt "$(wc -l <"$T/files")"
tail -n +64 "$T/acked" >"$T/since"
for u in $(cat "$T/since"); do
	find "$NP_HOME/spool/incoming" -name "$u.dcm" -delete
done
recv_start
"$PLAIN/peers/np-scu" -e 127.0.0.1 "$RECV_PORT" >/dev/null
is "$(missing "$NP_HOME/spool/incoming")" 0 "np-recv wrote back every instance logged since the checkpoint"
is "$(whole "$NP_HOME/spool/incoming")" 0 "and whole"
like "$(cat "$T/recv.log")" "instance log slot-0 replayed: [0-9]* instances logged, $(($(wc -l <"$T/since"))) written again" \
	"the replay wrote back just those (the checkpoint's generation has no record of the others)"
recv_stop
