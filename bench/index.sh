#!/bin/sh
# bench/index.sh [STUDIES...]: np-index and np-retain over a spool of
# STUDIES generated study folders (default: 10000 100000), each size in its
# own agent home under $TMPDIR (about 12 KB of disk per study: 1,000,000 is
# 12 GB and some 20 minutes of generating on a 2-core VM).
#
# For each size, wall time and peak RSS (GNU time) of
#   rebuild   np-index --rebuild over a fresh index (every manifest read,
#             one row per study, the search index kept by the triggers)
#   check     np-index --check (each folder's row, each row's folder)
#   retain-n  np-retain --dry-run (walks the finished states)
#   retain    np-retain, purging the 1% of the finished studies whose
#             history is older than retention.order_days
# beside the references on the same spool, run in turn with them:
#   rebuild   Python's sqlite3 (the same libsqlite3) reading every manifest
#             and inserting the same columns into the same schema, one
#             transaction, a prepared statement (the floor of the rebuild)
#   check     the same walk and one SELECT per folder from Python
#   retain-n  find over the finished states for history files older than
#             the cutoff
#   retain    rm -rf of the same number of folders and one DELETE of their
#             rows (without np-retain's durable renames and events)
# Per-study figures (us/study) tell what grows worse than linearly.
# Run by hand after `make`; not part of make check. Run it twice: the
# machine's other load shows in every figure.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || set -- 10000 100000
PY=/usr/bin/python3
W=$(mktemp -d "${TMPDIR:-/tmp}/np-bench-index.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
# "seconds peak_kb" of a command (output to $W/out)
tm() { /usr/bin/time -f '%e %M' -o "$W/time" "$@" >"$W/out" 2>&1 || { cat "$W/out" >&2; return 1; }; cat "$W/time"; }
row() { # name n seconds kb ref_seconds ref_kb
	awk -v name="$1" -v n="$2" -v s="$3" -v kb="$4" -v rs="$5" -v rkb="$6" 'BEGIN {
		printf "%-9s %8d %9.2f %9.0f %8.1f | %9.2f %9.0f %8.1f %6.2f\n", name, n, s, s * 1e6 / n, kb / 1024,
		rs, rs * 1e6 / n, rkb / 1024, (rs > 0 ? s / rs : 0) }'
}
printf '%-9s %8s %9s %9s %8s | %9s %9s %8s %6s\n' what studies np_s us/study np_MB ref_s us/study ref_MB ratio
for N in "$@"; do
	H=$W/h$N
	mkdir -p "$H/etc"
	t0=$(date +%s.%N)
	"$PY" "$TOP/bench/mkspool.py" "$H" "$N" 1
	sync
	echo "# $N studies: spool generated in $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-6) s, $(du -sh "$H/spool" | cut -f1)"
	export NP_HOME=$H
	DB=$H/db/agent.sqlite
	# The schema as np-index makes it, for the reference.
	"$TOP/build/bin/np-index" --check >/dev/null 2>&1 || true
	sqlite3 "$DB" .schema | grep -v '^CREATE TABLE sqlite_\|studies_fts_' >"$W/schema.sql"
	sqlite3 "$DB" "SELECT sql || ';' FROM sqlite_master WHERE name LIKE 'studies_fts_%' AND type = 'trigger'" \
		>>"$W/schema.sql"
	rm -f "$DB" "$DB-wal" "$DB-shm"
	set -- $(tm "$TOP/build/bin/np-index" --rebuild)
	s=$1 kb=$2
	set -- $(tm "$PY" "$TOP/bench/index_ref.py" rebuild "$H" "$W/schema.sql" "$W/ref.sqlite")
	row rebuild "$N" "$s" "$kb" "$1" "$2"
	set -- $(tm "$TOP/build/bin/np-index" --check)
	s=$1 kb=$2
	set -- $(tm "$PY" "$TOP/bench/index_ref.py" check "$H" "$DB")
	row check "$N" "$s" "$kb" "$1" "$2"
	# retention.order_days: 90 by default; the old histories are from 2015.
	set -- $(tm "$TOP/build/bin/np-retain" --dry-run)
	s=$1 kb=$2
	old=$(sed -n 's/.*would purge studies=\([0-9]*\).*/\1/p' "$W/out")
	set -- $(tm sh -c "cd '$H/spool' && find done failed cancelled qc-failed -mindepth 2 -maxdepth 2 \
		-name history.jsonl -mtime +90 | wc -l")
	row retain-n "$N" "$s" "$kb" "$1" "$2"
	# The reference purges a copy of the same number of other old folders.
	"$PY" "$TOP/bench/index_ref.py" oldcopy "$H" "$W/old" "$old"
	set -- $(tm "$TOP/build/bin/np-retain")
	s=$1 kb=$2
	purged=$(sed -n 's/.*purged studies=\([0-9]*\).*/\1/p' "$W/out")
	set -- $(tm sh -c "rm -rf '$W/old' && sqlite3 '$W/ref.sqlite' \"DELETE FROM studies WHERE rowid IN \
		(SELECT rowid FROM studies ORDER BY rowid LIMIT $old)\"")
	row retain "$N" "$s" "$kb" "$1" "$2"
	echo "# np-retain purged $purged of $N studies (the dry run counted $old)"
	rm -rf "$H" "$W/ref.sqlite" "$W/old"
done
echo "np = the agent's program, ref = the reference (see the header); MB = peak RSS; ratio = np_s / ref_s."
