#!/bin/sh
# bench/index.sh [STUDIES...]: np-index and np-retain over a spool of
# STUDIES generated study folders (default: 10000 100000), each size in its
# own agent home under $TMPDIR (about 12 KB of disk per study: 1,000,000 is
# some 12 GB; bench/mkspool.py generated a 1,000,000-study spool in 170 s
# on this 2-core VM). Smallest useful run: sh bench/index.sh 10000.
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
# machine's other load shows in every figure. KEEP=DIR: each spool is made
# once as DIR/hSTUDIES and kept for the next run (the retain step purges 1%
# of its old studies each time; the folders of bench/out/ are git-ignored,
# e.g. KEEP=bench/out; `make clean-bench` removes bench/out). Without KEEP
# the spools are made anew each run and removed at its end.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || set -- 10000 100000
PY=/usr/bin/python3
W=$(mktemp -d "${TMPDIR:-/tmp}/np-bench-index.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
# "seconds peak_kb cpu_seconds" of a command (output to $W/out)
tm() {
	/usr/bin/time -f '%e %M %U %S' -o "$W/time" "$@" >"$W/out" 2>&1 || { cat "$W/out" >&2; return 1; }
	awk '{print $1, $2, $3 + $4}' "$W/time"
}
row() { # name n seconds kb cpu ref_seconds ref_kb ref_cpu
	awk -v name="$1" -v n="$2" -v s="$3" -v kb="$4" -v c="$5" -v rs="$6" -v rkb="$7" -v rc="$8" 'BEGIN {
		printf "%-9s %8d %8.2f %8.2f %8.0f %7.1f | %8.2f %8.2f %8.0f %7.1f %6.2f\n", name, n, s, c, c * 1e6 / n,
		kb / 1024, rs, rc, rc * 1e6 / n, rkb / 1024, (rc > 0 ? c / rc : 0) }'
}
printf '%-9s %8s %8s %8s %8s %7s | %8s %8s %8s %7s %6s\n' what studies np_s np_cpu us_cpu np_MB ref_s ref_cpu \
	us_cpu ref_MB ratio
for N in "$@"; do
	H=${KEEP:-$W}/h$N
	if [ ! -d "$H/spool" ]; then
		mkdir -p "$H/etc"
		t0=$(date +%s.%N)
		"$PY" "$TOP/bench/mkspool.py" "$H" "$N" 1
		sync
		echo "# $N studies: spool generated in $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-6) s"
	fi
	echo "# $N studies: $(find "$H/spool" -mindepth 2 -maxdepth 2 -type d | wc -l) folders, $(du -sh "$H/spool" | cut -f1)"
	export NP_HOME=$H
	DB=$H/db/agent.sqlite
	# The schema as np-index makes it, for the reference.
	"$TOP/build/bin/np-index" --check >/dev/null 2>&1 || true
	sqlite3 "$DB" .schema | grep -v '^CREATE TABLE sqlite_\|studies_fts_' >"$W/schema.sql"
	sqlite3 "$DB" "SELECT sql || ';' FROM sqlite_master WHERE name LIKE 'studies_fts_%' AND type = 'trigger'" \
		>>"$W/schema.sql"
	rm -f "$DB" "$DB-wal" "$DB-shm"
	set -- $(tm "$TOP/build/bin/np-index" --rebuild)
	s=$1 kb=$2 c=$3
	set -- $(tm "$PY" "$TOP/bench/index_ref.py" rebuild "$H" "$W/schema.sql" "$W/ref.sqlite")
	row rebuild "$N" "$s" "$kb" "$c" "$1" "$2" "$3"
	set -- $(tm "$TOP/build/bin/np-index" --check)
	s=$1 kb=$2 c=$3
	set -- $(tm "$PY" "$TOP/bench/index_ref.py" check "$H" "$DB")
	row check "$N" "$s" "$kb" "$c" "$1" "$2" "$3"
	# retention.order_days: 90 by default; the old histories are from 2015.
	set -- $(tm "$TOP/build/bin/np-retain" --dry-run)
	s=$1 kb=$2 c=$3
	old=$(sed -n 's/.*would purge studies=\([0-9]*\).*/\1/p' "$W/out")
	set -- $(tm sh -c "cd '$H/spool' && find done failed cancelled qc-failed -mindepth 2 -maxdepth 2 \
		-name history.jsonl -mtime +90 | wc -l")
	row retain-n "$N" "$s" "$kb" "$c" "$1" "$2" "$3"
	# The reference purges a copy of the same number of other old folders.
	"$PY" "$TOP/bench/index_ref.py" oldcopy "$H" "$W/old" "$old"
	set -- $(tm "$TOP/build/bin/np-retain")
	s=$1 kb=$2 c=$3
	purged=$(sed -n 's/.*purged studies=\([0-9]*\).*/\1/p' "$W/out")
	set -- $(tm sh -c "rm -rf '$W/old' && sqlite3 '$W/ref.sqlite' \"DELETE FROM studies WHERE rowid IN \
		(SELECT rowid FROM studies ORDER BY rowid LIMIT $old)\"")
	row retain "$N" "$s" "$kb" "$c" "$1" "$2" "$3"
	echo "# np-retain purged $purged of $N studies (the dry run counted $old)"
	[ -n "${KEEP:-}" ] || rm -rf "$H"
	rm -rf "$W/ref.sqlite" "$W/old"
done
echo "np = the agent's program, ref = the reference (see the header); s = wall, cpu = user + system seconds,"
echo "us_cpu = CPU microseconds per study, MB = peak RSS; ratio = np_cpu / ref_cpu (wall time on this shared"
echo "machine follows the other load)."
