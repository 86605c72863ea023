#!/bin/sh
# Crash convergence (np-spool(7)): np-queue is killed at every named crash
# point (NP_CRASH_AT, test builds _exit(77) there), re-run, and every study
# must end exactly once in its expected state with one history line, an index
# that matches the spool, and nothing left claimed or journalled.
# Many small fsyncs: keep the agent home on tmpfs when there is one.
[ -w /dev/shm ] && TMPDIR=/dev/shm && export TMPDIR
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/lib/spool.sh"
POINTS="claim.renamed queue.claimed queue.ran queue.routing move.renamed move.history queue.moved queue.deferred"
plan $(($(echo $POINTS | wc -w) * 4 + 1))
F=$NP_TOP/tests/lib/filter.sh
queue() { "$BIN/np-queue" --once --max-attempts 2 --backoff-base 0 stable qc-passed qc-failed -- "$F" 2>>"$T/log"; }
base=$NP_HOME
for p in $POINTS; do
	export NP_HOME="$base-$p"
	a=$(mkstudy stable 0); b=$(mkstudy stable 1); c=$(mkstudy stable 100); d=$(mkstudy stable 111)
	NP_CRASH_AT=$p queue; rc1=$?
	NP_CRASH_AT=$p queue; rc2=$?
	queue; rc3=$?
	is "$rc1:$rc3" "77:0" "$p: the runner crashed there, and a clean re-run succeeds (2nd crash run: $rc2)"
	got="$(where "$a") $(where "$b") $(where "$c") $(where "$d")"
	is "$got" "qc-passed qc-failed failed failed" "$p: each study exactly once, in its expected state"
	got="$(history_of "$a")|$(history_of "$b")|$(history_of "$c")|$(history_of "$d")"
	is "$got" "stable>qc-passed|stable>qc-failed|stable>failed|stable>failed" "$p: one history line per study"
	left=$(ls -A "$NP_HOME/spool/stable" "$NP_HOME/spool/stable/.work" "$NP_HOME/spool/stable/.queue" | grep -cv -e '^\.' -e '^$' -e ':$')
	"$BIN/np-index" --check >/dev/null 2>&1; irc=$?
	is "$left:$irc" "0:0" "$p: nothing left in stable, .work or the journal; the index matches the spool"
done
# At least one per crash point between the journalled intent and its removal.
n=$(grep -c 'finished interrupted move' "$T/log")
ok "recovery finished the journalled moves ($n) instead of re-running filters" test "$n" -ge 4
