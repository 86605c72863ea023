#!/bin/sh
# bench/deid.sh: np-deid against gdcmanon, dcmodify and cp -r on one generated
# study. Run by hand from the top of a built checkout:
#   sh bench/deid.sh [NDIR] [NSL] [JOBS]     (default 60 dirs x 40 slices = 2483 files)
# Prints files/s, MB/s, ratios and peak RSS. Caches are warm for every tool (each input
# is read once before timing); outputs go to the same file system.
# Every run writes a fresh folder and no output is deleted before the end:
# ext4 without a journal (as on the build machine) skips inodes freed in the
# last 30 s when it allocates one (fs/ext4/ialloc.c, recently_deleted), and
# scans all of them for every new file, so a tool timed right after the
# previous tool's 2,500 files were deleted pays several times what the first
# one did. ROUNDS runs of each tool are interleaved; the fastest is shown.
# Files deleted by anything else on the same file system in those 30 s cost
# the same: when cp -r takes several times its usual 0.1 s, the machine is
# in that state and the figures are not comparable with a quiet run (np-deid
# then also spends CPU spinning on the series folder's lock; see its CPU
# against np-deid-1job's).
# cp -r does not make its copy durable; np-deid must (syncfs, then rename),
# so cp+syncfs is the like-for-like line and cp -r the lower bound.
# Issue 21's figures for this stage: np-deid 1.1-1.4x cp -r, 5-7x faster
# than gdcmanon. Smallest useful run: sh bench/deid.sh 10 10 1.
# Everything goes to a temporary folder under $TMPDIR, removed at the end;
# other benchmarks keep their studies in bench/out: `make clean-bench`.
set -eu
NDIR=${1:-60}
NSL=${2:-40}
JOBS=${3:-$(nproc)}
ROUNDS=${ROUNDS:-2}
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=${TMPDIR:-/tmp}/np-bench-deid.$$
trap 'rm -rf "$B"' EXIT INT TERM
mkdir -p "$B/home"
export NP_HOME=$B/home
/usr/bin/python3 "$TOP/tests/data/make_mr_study.py" "$B/in" --ndir "$NDIR" --nsl "$NSL" >/dev/null
rm -f "$B/in/dti.bval" "$B/in/dti.bvec"
N=$(find "$B/in" -type f | wc -l)
BYTES=$(du -sb "$B/in" | cut -f1)
cat $(find "$B/in" -type f) >/dev/null
now() { date +%s.%N; }
# user + system seconds of all finished children: the second line of `times`,
# which must run in this shell (not in a command substitution)
cpu() { times >"$B/times"; sed -n 2p "$B/times" | sed 's/m/ /g; s/s//g' | awk '{ print $1 * 60 + $2 + $3 * 60 + $4 }'; }
# run NAME CMD...: time CMD once, writing a new $B/out (the previous one is
# kept, renamed, until the end; see above)
k=0
run() {
	name=$1
	shift
	k=$((k + 1))
	[ ! -e "$B/out" ] || mv "$B/out" "$B/done.$k"
	sync
	cpu >"$B/c0"
	t0=$(now)
	"$@" >/dev/null 2>&1 || { echo "$name failed" >&2; return 1; }
	t1=$(now)
	cpu >"$B/c1"
	echo "$name $(echo "$t1 - $t0" | bc) $(echo "$(cat "$B/c1") - $(cat "$B/c0")" | bc)"
}
gdcmanon_all() {
	mkdir -p "$B/out"
	gdcmanon --continue --dumb --recursive --input "$B/in" --output "$B/out" \
		--remove 0010,0010 --remove 0010,0020 --remove 0008,0090 --remove 0008,0080 --remove 0008,0081 \
		--remove 0008,1070 --remove 0008,1050 --remove 0008,0050 --remove 0018,1000 --remove 0010,1040
}
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$B/k.pem" -out "$B/c.pem" -days 1 -subj /CN=bench 2>/dev/null
gdcmanon_basic() {
	mkdir -p "$B/out"
	gdcmanon -c "$B/c.pem" --continue --recursive -i "$B/in" -o "$B/out"
}
# cp -r and then what np-deid does before its commit: syncfs of the output's
# file system (np-deid's output is durable when it appears; cp's is not)
cp_durable() {
	cp -r "$B/in" "$B/out" && sync -f "$B/out"
}
dcmodify_all() {
	cp -r "$B/in" "$B/out"
	find "$B/out" -type f -name '*.dcm' -print0 | xargs -0 -n 500 -P "$JOBS" dcmodify -nb -ie \
		-ea "(0010,0010)" -ea "(0010,0020)" -ea "(0010,0030)" -ea "(0010,1040)" -ea "(0010,2154)" \
		-ea "(0008,0090)" -ea "(0008,0080)" -ea "(0008,0081)" -ea "(0008,1010)" -ea "(0008,1050)" \
		-ea "(0008,1070)" -ea "(0008,0050)" -ea "(0018,1000)" -ea "(0010,1000)" -ea "(0010,0021)" -ep
}
echo "study: $N files, $((BYTES / 1048576)) MB, jobs $JOBS, load average $(cut -d' ' -f1-3 /proc/loadavg)"
R=$(
	i=0
	while [ $i -lt "$ROUNDS" ]; do
		i=$((i + 1))
		run cp cp -r "$B/in" "$B/out"
		run cp+syncfs cp_durable
		run np-deid "$TOP/build/bin/np-deid" --jobs "$JOBS" "$B/in" "$B/out"
		run np-deid-1job "$TOP/build/bin/np-deid" --jobs 1 "$B/in" "$B/out"
		run gdcmanon-basic gdcmanon_basic
		run dcmodify dcmodify_all
	done
)
# peak RSS (untimed runs, output in $B/rss.NAME): np-deid's should follow
# --jobs, not the size of the study
rss() {
	name=$1
	shift
	/usr/bin/time -f %M -o "$B/rss" "$@" "$B/in" "$B/rss.$name" >/dev/null 2>&1 && echo "$(($(cat "$B/rss") / 1024)) MB"
}
RSS="peak RSS: np-deid $(rss j "$TOP/build/bin/np-deid" --jobs "$JOBS") (--jobs $JOBS), \
$(rss 1 "$TOP/build/bin/np-deid" --jobs 1) (--jobs 1); cp -r $(rss cp cp -r)"
echo "$R" | awk -v n="$N" -v b="$BYTES" -v rounds="$ROUNDS" '
	!($1 in t) { order[++no] = $1 }
	!($1 in t) || $2 < t[$1] { t[$1] = $2; c[$1] = $3 }
	END {
		printf "fastest of %d rounds\n", rounds
		printf "%-16s %8s %8s %10s %8s\n", "tool", "wall s", "cpu s", "files/s", "MB/s"
		for (i = 1; i <= no; i++) {
			k = order[i]
			printf "%-16s %8.2f %8.2f %10.0f %8.1f\n", k, t[k], c[k], n / t[k], b / 1048576 / t[k]
		}
		if (t["np-deid"] > 0) {
			printf "wall: np-deid %.1fx gdcmanon, %.1fx dcmodify; %.2fx the time of cp -r, %.2fx cp -r + syncfs\n",
				t["gdcmanon-basic"] / t["np-deid"], t["dcmodify"] / t["np-deid"], t["np-deid"] / t["cp"],
				t["np-deid"] / t["cp+syncfs"]
			printf "cpu:  np-deid %.1fx less than gdcmanon, %.1fx less than dcmodify; %.2fx cp -r\n",
				c["gdcmanon-basic"] / c["np-deid"], c["dcmodify"] / c["np-deid"], c["np-deid"] / c["cp"]
		}
	}'
echo "$RSS"
