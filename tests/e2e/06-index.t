#!/bin/sh
# np-index: the index is a cache of the spool; it survives a deleted
# database file, --check finds every disagreement, --rebuild repairs them.
[ -w /dev/shm ] && TMPDIR=/dev/shm && export TMPDIR
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/lib/spool.sh"
plan 9
a=$(mkstudy stable 0); b=$(mkstudy stable 1); c=$(mkstudy done)
"$BIN/np-queue" --once stable qc-passed qc-failed -- "$NP_TOP/tests/lib/filter.sh" 2>/dev/null
db="$NP_HOME/db/agent.sqlite"
q() { sqlite3 "$db" "$1"; }
is "$(q "select state from studies where npuid='$a'")" qc-passed "moves are indexed"
rm -f "$db" "$db-wal" "$db-shm"
out=$("$BIN/np-index" --check 2>&1); rc=$?
is "$rc" 0 "after deleting the database, --check rebuilds it and finds it consistent"
is "$(q "select count(*) from studies")" 3 "every study is back in the index"
is "$(q "select state from studies where npuid='$c'")" done "with its state"
q "update studies set state='ready' where npuid='$b'; insert into studies (npuid, state) values ('ghost', 'done')"
out=$("$BIN/np-index" --check 2>/dev/null); rc=$?
is "$rc" 1 "--check exits 1 when index and spool disagree"
like "$out" "^$b: spool state qc-failed, index state ready" "it names the study and both states"
like "$out" "ghost: in the index but not in the spool" "and rows without a study"
"$BIN/np-index" --rebuild 2>/dev/null
"$BIN/np-index" --check >/dev/null 2>&1; is "$?" 0 "--rebuild repairs the index"
"$BIN/np-index" --check --rebuild >/dev/null 2>&1; is "$?" 100 "--check and --rebuild together is a usage error"
