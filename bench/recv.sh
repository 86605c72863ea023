#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench/recv.sh: np-recv against DCMTK storescp (--fork) and Orthanc on the
# same generated MR studies, sent by storescu over 1 association and over 4
# parallel associations. Run by hand (not part of make check):
#   make && sh bench/recv.sh            # realistic instance sizes (below)
#   BENCH_SET=small BENCH_QUICK=1 sh bench/recv.sh   # smallest useful run
# Needs storescu, storescp, Orthanc (not with BENCH_QUICK), pgrep,
# /usr/bin/time and /usr/bin/python3 (make deps); checked first.
# Settings (environment):
#   BENCH_SET    realistic (default) or small
#   BENCH_NSL    slices per volume of the small set (30)
#   BENCH_QUICK  set (to 1): storescp and np-recv only, no Orthanc, no
#                in-process or association set-up runs (for comparing
#                np-recv builds run after run)
#   BENCH_NPRECV another np-recv binary to measure (default build/sbin/np-recv)
#   BENCH_ROUNDS rounds of the storescp / np-recv runs, one after the other
#                (3): each figure is the run of the median wall time, and
#                the 4-association ratio is given for every round too (a
#                run on this VM's disk can take twice as long as the next)
#   BENCH_OUT    working folder (default bench/out; about 6 GB after a
#                quick realistic run of 3 rounds, the received copies kept
#                until the next run: `make clean-bench` removes bench/out)
# The small set is one study of ~1900 11 KB instances: for comparing
# builds quickly, not for sizing (np-agent(7) SIZING uses the realistic set).
# The realistic set (the default, ~230 MB, ~1840
# instances) is three studies: 2D MR at 256x256 (DTI, ~130 KB instances),
# 2D MR at 512x512 (~520 KB) and one at 128x128 with an enhanced
# multi-frame DTI (one ~31 MB instance beside ~33 KB ones).
# Targets (issue 21): over 4 associations np-recv spends at most 1.2x the
# CPU per instance it spends over 1, and its 4-association wall time is at
# or below storescp's.
# Prints, per receiver and run: wall seconds, instances/s, MB/s, receiver
# CPU seconds (user+sys, children included), peak RSS, bytes the receiver
# wrote to disk per byte received (/proc/PID/io write_bytes less
# cancelled_write_bytes, read once the receiver has reaped every
# association process, which adds their I/O to its own; "n/a" when an
# association was still running after 10 s, or when the figure is below
# half a byte written per byte received, which no receiver that keeps the
# files can be),
# and ratios against
# storescp; plus this disk's fsync-per-file limit (write + fsync + rename +
# fsync of the folder, one file at a time, files of the study's median
# size), which bounds any receiver that makes each instance durable before
# answering. storescp and Orthanc do not fsync.
# Also measures two alternatives: np-recv without its instance log
# (np-recv-nolog, NP_RECV_NOLOG=1: each instance written once, then its
# file and folder fsynced), what removing the log's second copy of each
# instance would cost; and np-recv serving associations in-process
# (NP_RECV_INPROCESS=1) instead of a process each, over 1 association and
# with 200 back-to-back C-ECHO associations.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=${BENCH_OUT:-$TOP/bench/out}
NSL=${BENCH_NSL:-30}
SHIM=$TOP/build/peers/libbind127.so
NPRECV=${BENCH_NPRECV:-$TOP/build/sbin/np-recv}
QUICK=${BENCH_QUICK:-}
ROUNDS=${BENCH_ROUNDS:-3}
export TCP_NODELAY=1
# every peer tool before anything is measured
tools="storescu storescp pgrep /usr/bin/time /usr/bin/python3"
[ -n "$QUICK" ] || tools="$tools Orthanc"
for c in $tools; do
	command -v $c >/dev/null || { echo "recv.sh: $c is not installed (make deps)" >&2; exit 100; }
done
[ -x "$NPRECV" ] && [ -f "$SHIM" ] && [ -x "$TOP/build/peers/np-scu" ] || { echo "recv.sh: run make first" >&2; exit 100; }
mkdir -p "$OUT"
port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
waitport() { i=0; until /usr/bin/python3 -c "import socket,sys;s=socket.socket();sys.exit(s.connect_ex(('127.0.0.1',$1)))" 2>/dev/null; do i=$((i+1)); [ $i -gt 200 ] && return 1; sleep 0.05; done; }
now() { date +%s.%N; }

SET=${BENCH_SET:-realistic}
# gen NAME ARGS...: one study of the set in $STUDY/NAME, made once
gen() {
	name=$1
	shift
	if [ ! -f "$STUDY/$name/.done" ]; then
		rm -rf "$STUDY/$name"
		echo "generating $name (make_mr_study.py $*)..."
		/usr/bin/python3 "$TOP/tests/data/make_mr_study.py" "$STUDY/$name" "$@" >/dev/null
		rm -f "$STUDY/$name/dti.bval" "$STUDY/$name/dti.bvec"
		touch "$STUDY/$name/.done"
	fi
}
case $SET in
small)
	STUDY=$OUT/study
	if [ ! -f "$STUDY/.done-$NSL" ]; then
		rm -rf "$STUDY"
		echo "generating the study (--ndir 60 --nsl $NSL)..."
		/usr/bin/python3 "$TOP/tests/data/make_mr_study.py" "$STUDY" --ndir 60 --nsl "$NSL" >/dev/null
		touch "$STUDY/.done-$NSL"
	fi
	;;
realistic)
	STUDY=$OUT/set-realistic
	gen mr256 --size 256 --ndir 30 --nsl 24 --seed 2
	gen mr512 --size 512 --ndir 6 --nsl 16 --seed 3
	gen enhanced128 --size 128 --ndir 30 --nsl 30 --enhanced --seed 4
	;;
*) echo "recv.sh: BENCH_SET is small or realistic" >&2; exit 100 ;;
esac
find "$STUDY" -name '*.dcm' | sort >"$OUT/files"
N=$(wc -l <"$OUT/files")
BYTES=$(xargs cat <"$OUT/files" | wc -c)
MB=$(echo "$BYTES" | awk '{printf "%.1f", $1/1e6}')
# Outputs of an earlier run are moved aside now and deleted at the end, not
# between the runs: on ext4 without a journal, creating a file skips every
# inode freed in the last minutes (recently_deleted() in the kernel), one by
# one, so a receiver that runs just after a large delete pays for it.
TRASH=$OUT/trash.$$
mkdir -p "$TRASH"
for d in "$OUT"/rx-* "$OUT"/echo-* "$OUT"/part "$OUT"/fsync "$OUT"/durable; do
	if [ -e "$d" ]; then mv "$d" "$TRASH/"; fi
done
# four parts of the study for the 4-association runs (hard links)
i=0
while read -r f; do
	d=$OUT/part/$((i % 4))
	mkdir -p "$d"
	ln "$f" "$d/$i.dcm"
	i=$((i + 1))
done <"$OUT/files"
echo "set $SET: $N instances, $MB MB; load average $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
# np-recv writes each instance of up to NP_WAL_MAX (1 MiB) twice: to its
# file and, with a header of a few hundred bytes rounded up to 4 KiB, to the instance
# log; larger ones once (then fsynced). The least it can write:
WALMIN=$(xargs stat -c %s <"$OUT/files" | awk -v b="$BYTES" '
	{ if ($1 <= 1048576) { n++; w += int(($1 + 400 + 4095) / 4096) * 4096; l += $1 } }
	END { printf "%.2f %d %.0f", 1 + w / b, n, 100 * l / b }')
echo "instance log: $(echo "$WALMIN" | cut -d' ' -f2) of $N instances ($(echo "$WALMIN" | cut -d' ' -f3)% of the bytes) are logged as well as written: np-recv writes at least $(echo "$WALMIN" | cut -d' ' -f1) bytes per byte received"
WALMIN=${WALMIN%% *}

# ---- what durability costs on this disk, one file at a time ----
# fsync: write + fsync + rename + fsync of the folder, what a receiver
# without a log does per instance. durable: what np-recv's instance log does
# (one direct, synchronous write of the file and a 4 KiB-rounded header
# into space written before), the least any receiver can spend to make an
# instance durable here. Prints files/s and CPU ms per file.
MED=$(xargs stat -c %s <"$OUT/files" | sort -n | awk '{a[NR]=$1} END {print a[int(NR/2)+1]}')
durability() {
	/usr/bin/python3 - "$1" "$OUT/$1" "$MED" 300 <<'PY'
import mmap, os, sys, time, resource
mode, d, size, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
os.makedirs(d + "/tmp"); os.makedirs(d + "/dst")
data = os.urandom(size)
dfd = os.open(d + "/dst", os.O_RDONLY | os.O_DIRECTORY)
rec = (size + 256 + 4095) // 4096 * 4096
if mode == "durable":
    with open(d + "/log", "wb") as f:
        f.write(b"\0" * rec * n); f.flush(); os.fsync(f.fileno())
    buf = mmap.mmap(-1, rec)
    buf.write(os.urandom(rec))
    log = os.open(d + "/log", os.O_WRONLY | os.O_DIRECT | os.O_DSYNC)
ru = resource.getrusage(resource.RUSAGE_SELF)
cpu0 = ru.ru_utime + ru.ru_stime
t = time.time()
for i in range(n):
    if mode == "durable":
        os.pwrite(log, buf, i * rec)
        continue
    p = "%s/tmp/%d" % (d, i)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    os.write(fd, data); os.fsync(fd); os.close(fd)
    os.rename(p, "%s/dst/%d" % (d, i)); os.fsync(dfd)
el = time.time() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
print("%.1f %.4f" % (n / el, (ru.ru_utime + ru.ru_stime - cpu0) * 1000 / n))
PY
}
FS=$(durability fsync)
FSCPU=${FS#* }
FS=${FS% *}
echo "fsync-per-file limit: $FS files/s, $FSCPU CPU ms per file (files of $MED bytes, one at a time)"
DW=$(durability durable)
DWCPU=${DW#* }
DW=${DW% *}
echo "durable write: $DW writes/s, $DWCPU CPU ms per write (one O_DIRECT|O_DSYNC write of $MED bytes + header)"

# run NAME ASSOC START_CMD... : start a receiver under /usr/bin/time, send, stop.
RESULTS=$OUT/results
: >"$RESULTS"
run() {
	name=$1 assoc=$2 kind=$3 round=${4:-1}
	P=$(port)
	R=$OUT/rx-$name-$assoc-$round
	mkdir -p "$R"
	case $kind in
	nprecv | nprecv-inproc | nprecv-nolog)
		mkdir -p "$R/home/etc"
		printf '{"dicom": {"ae_title": "DEST"}}\n' >"$R/home/etc/neuropacs.json"
		# once before the measured run: np-recv writes its instance log
		# slots (4 x 32 MiB) the first time it starts on a home
		"$NPRECV" --home "$R/home" --port "$P" 2>"$R/log.first" &
		waitport "$P" || { echo "recv.sh: $NPRECV did not listen on port $P within 10 s (see $R/log.first)" >&2; exit 1; }
		kill $!
		wait $! || true
		if [ "$kind" = nprecv-inproc ]; then export NP_RECV_INPROCESS=1; fi
		if [ "$kind" = nprecv-nolog ]; then export NP_RECV_NOLOG=1; fi
		/usr/bin/time -f '%U %S %M' -o "$R/time" "$NPRECV" --home "$R/home" --port "$P" 2>"$R/log" &
		unset NP_RECV_INPROCESS NP_RECV_NOLOG
		;;
	storescp)
		# --fork: one process per association, as a site runs it (without,
		# the 4 associations are served one after the other)
		LD_PRELOAD=$SHIM /usr/bin/time -f '%U %S %M' -o "$R/time" storescp --fork -aet DEST -od "$R" "$P" 2>"$R/log" &
		;;
	orthanc)
		mkdir -p "$R/db"
		H=$(port)
		printf '{"Name":"BENCH","StorageDirectory":"%s/db","IndexDirectory":"%s/db","HttpPort":%s,"DicomPort":%s,"DicomAet":"DEST","RemoteAccessAllowed":false,"AuthenticationEnabled":false,"Plugins":[],"SaveJobs":false,"DicomAlwaysAllowStore":true}\n' \
			"$R" "$R" "$H" "$P" >"$R/orthanc.json"
		LD_PRELOAD=$SHIM /usr/bin/time -f '%U %S %M' -o "$R/time" Orthanc "$R/orthanc.json" >"$R/log" 2>&1 &
		;;
	esac
	pid=$!
	waitport "$P" || { echo "recv.sh: $name did not listen on port $P within 10 s (see $R/log)" >&2; exit 1; }
	# The previous receiver's files written out first: storescp leaves
	# its 240 MB in the page cache, and the next receiver's writes (and
	# np-recv's syncfs) would otherwise pay for them.
	sync
	t0=$(now)
	if [ "$assoc" = 1 ]; then
		storescu -aec DEST +sd +r +sp '*.dcm' 127.0.0.1 "$P" "$STUDY" >/dev/null 2>"$R/scu.err"
	else
		scus=
		for p in "$OUT"/part/*; do
			storescu -aec DEST +sd +r +sp '*.dcm' 127.0.0.1 "$P" "$p" >/dev/null 2>>"$R/scu.err" &
			scus="$scus $!"
		done
		for j in $scus; do wait "$j" || true; done
	fi
	t1=$(now)
	# /usr/bin/time's child is the receiver: signal it, not time itself
	rpid=$(pgrep -P "$pid" | head -1)
	# What it wrote: /proc/PID/io counts a process's own writes (O_DIRECT
	# ones included) and those of the children it has reaped, nothing of a
	# child still running. An association process may still be finishing
	# (its last fsyncs, exit) when storescu returns: wait until the receiver
	# has none left, up to 10 s, else the figure is not measured (-1).
	i=0
	while pgrep -P "$rpid" >/dev/null && [ $i -lt 100 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	if pgrep -P "$rpid" >/dev/null; then
		wb=-1
	else
		wb=$(awk -F': ' '$1=="write_bytes"{w=$2} $1=="cancelled_write_bytes"{c=$2} END{print w-c}' "/proc/$rpid/io")
	fi
	kill "$rpid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
	got=$(find "$R" -type f \( -name '*.dcm' -o -name 'MR.*' \) | wc -l)
	[ "$kind" = storescp ] && got=$(find "$R" -maxdepth 1 -type f -name '*.*.*' | wc -l)
	[ "$kind" = orthanc ] && got=$(find "$R/db" -type f -size +1k | wc -l)
	read -r u s rss <<EOF
$(tail -n 1 "$R/time")
EOF
	echo "$name $assoc $t0 $t1 $u $s $rss $got $wb $round" >>"$RESULTS"
}

round=1
while [ $round -le "$ROUNDS" ]; do
	for a in 1 4; do
		run storescp $a storescp $round
		run np-recv $a nprecv $round
		run np-recv-nolog $a nprecv-nolog $round
		[ -n "$QUICK" ] || [ $round -gt 1 ] || run orthanc $a orthanc
	done
	round=$((round + 1))
done
[ -n "$QUICK" ] || run np-recv-inproc 1 nprecv-inproc

# ---- association set-up cost: fork per association vs in-process ----
echoes() {
	name=$1 kind=$2
	P=$(port)
	R=$OUT/echo-$name
	mkdir -p "$R/home/etc"
	printf '{"dicom": {"ae_title": "DEST"}}\n' >"$R/home/etc/neuropacs.json"
	if [ "$kind" = inproc ]; then export NP_RECV_INPROCESS=1; fi
	"$NPRECV" --home "$R/home" --port "$P" 2>"$R/log" &
	pid=$!
	unset NP_RECV_INPROCESS
	waitport "$P" || { echo "recv.sh: np-recv did not listen on port $P within 10 s (see $R/log)" >&2; exit 1; }
	t0=$(now)
	i=0
	while [ $i -lt 200 ]; do "$TOP/build/peers/np-scu" -c DEST -e 127.0.0.1 "$P" >/dev/null; i=$((i + 1)); done
	t1=$(now)
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	echo "$t0 $t1" | awk -v n="$name" '{printf "200 C-ECHO associations, %-22s %.2f ms each\n", n":", ($2-$1)*1000/200}'
}
if [ -z "$QUICK" ]; then
	echoes fork-per-association fork
	echoes in-process inproc
fi

echo
awk -v n="$N" -v mb="$MB" -v fs="$FS" -v dwcpu="$DWCPU" -v bytes="$BYTES" -v walmin="$WALMIN" -v rounds="$ROUNDS" '
# every run of a receiver (name, assoc) is kept; its figures are those of
# the run of median wall time
{ name=$1; a=$2; w=$4-$3; key=name" "a
  if (!(key in R)) order[++k]=key
  i=++R[key]; RW[key,i]=w; RC[key,i]=$5+$6; RSYS[key,i]=$6; RM[key,i]=$7; RG[key,i]=$8; RB[key,i]=$9 }
function median(key,   i, j, t, idx, m) {
  m=R[key]; for (i=1; i<=m; i++) idx[i]=i
  for (i=1; i<=m; i++) for (j=i+1; j<=m; j++) if (RW[key,idx[j]] < RW[key,idx[i]]) { t=idx[i]; idx[i]=idx[j]; idx[j]=t }
  return idx[int((m+1)/2)] }
# bytes written per byte received, or n/a when not measured (see the header)
function wr(key) { if (!(key in B) || B[key] < bytes / 2) { nwr++; return "n/a" } return sprintf("%.2f", B[key]/bytes) }
END {
  for (i=1; i<=k; i++) { key=order[i]; j=median(key)
    W[key]=RW[key,j]; C[key]=RC[key,j]; S[key]=RSYS[key,j]; M[key]=RM[key,j]; G[key]=RG[key,j]; B[key]=RB[key,j]
    lo=hi=RW[key,1]; for (r=2; r<=R[key]; r++) { if (RW[key,r] < lo) lo=RW[key,r]; if (RW[key,r] > hi) hi=RW[key,r] }
    SPREAD[key]=sprintf("%.2f-%.2f", lo, hi) }
  printf "%d round%s, each receiver run once a round, one after the other; every figure of a row is from the run of median wall time, min-max s the wall of every run; stored: instances found on disk after the run\n", rounds, (rounds > 1 ? "s" : "")
  printf "%-16s %5s %8s %9s %7s %8s %12s %9s %8s %9s %9s %11s\n", "receiver", "assoc", "wall s", "inst/s", "MB/s", "cpu s", "cpu ms/inst", "peak RSS", "stored", "wr/rx", "vs storescp", "min-max s"
  for (i=1; i<=k; i++) { key=order[i]; split(key, p, " ")
    ref="storescp " p[2]
    printf "%-16s %5s %8.2f %9.1f %7.1f %8.2f %12.3f %7.1fMB %8d %9s %9.2fx %11s\n", p[1], p[2], W[key], n/W[key], mb/W[key], C[key], C[key]*1000/n, M[key]/1024, G[key], wr(key), W[key]/W[ref], SPREAD[key] }
  printf "\nbytes written per byte received (wr/rx): np-recv %s (1 assoc), %s (4 assoc); storescp %s, %s; np-recv%s least, file + instance log: %.2f\n", wr("np-recv 1"), wr("np-recv 4"), wr("storescp 1"), wr("storescp 4"), "\047s", walmin
  if (nwr) printf "n/a: write_bytes not measured (an association process still running 10 s after the senders finished, or under half a byte per byte received: its I/O was not reaped into the receiver\047s count)\n"
  printf "\n(limits and floors below: measured once, before the receivers ran; this disk\047s flush time can change tenfold within minutes)\n"
  printf "fsync-per-file limit %.1f files/s (bounds np-recv-nolog; np-recv\047s log makes one durable write per instance instead); np-recv over 1 association: %.2fx that limit\n", fs, (n/W["np-recv 1"])/fs
  ratio = W["np-recv 4"]/W["storescp 4"]; met = 0
  printf "np-recv 4 assoc wall / storescp 4 assoc wall: %.2f (medians; target <= 1, issue 21: %s); round by round:", ratio, ratio <= 1 ? "MET" : "NOT MET"
  for (r=1; r<=R["np-recv 4"]; r++) { x = RW["np-recv 4",r]/RW["storescp 4",r]; met += x <= 1; printf " %.2f", x }
  printf " (%d of %d rounds at or below 1)\n", met, R["np-recv 4"]
  c1 = C["np-recv 1"]*1000/n; c4 = C["np-recv 4"]*1000/n
  printf "np-recv CPU per instance: %.3f ms (1 assoc), %.3f ms (4 assoc) = %.2fx (target <= 1.2, issue 21: %s); storescp %.3f, %.3f ms = %.2fx\n", c1, c4, c4/c1, c4/c1 <= 1.2 ? "MET" : "NOT MET", C["storescp 1"]*1000/n, C["storescp 4"]*1000/n, C["storescp 4"]/C["storescp 1"]
  printf "np-recv without its instance log (each instance written once, file and folder fsynced): wr/rx %s, %s; wall / storescp %.2f (1 assoc), %.2f (4 assoc), np-recv with it %.2f, %.2f\n", wr("np-recv-nolog 1"), wr("np-recv-nolog 4"), W["np-recv-nolog 1"]/W["storescp 1"], W["np-recv-nolog 4"]/W["storescp 4"], W["np-recv 1"]/W["storescp 1"], W["np-recv 4"]/W["storescp 4"]
  printf "np-recv CPU per instance / storescp: %.2f (1 assoc), %.2f (4 assoc) (no target)\n", C["np-recv 1"]/C["storescp 1"], C["np-recv 4"]/C["storescp 4"]
  # With one association and one operation at a time nothing overlaps the
  # fsyncs: sender + network (what storescp takes) plus the fsync limit is
  # the floor for a receiver that fsyncs each file before it answers.
  fl = W["storescp 1"] + n/fs
  printf "1 association floor (storescp wall + fsync limit for %d files): %.2f s; np-recv %.2f s = %.2fx that floor\n", n, fl, W["np-recv 1"], W["np-recv 1"]/fl
  # A receiver that makes each instance durable does at least what storescp
  # does in the kernel (receive, create, write: its system CPU) plus one
  # durable write.
  for (a=1; a<=4; a+=3) { ref="storescp " a
    fl = S[ref]*1000/n + dwcpu
    printf "CPU floor for a durable receiver, %d assoc: storescp system %.3f + durable write %.3f = %.3f ms/inst = %.2fx storescp; np-recv %.2fx that floor\n", a, S[ref]*1000/n, dwcpu, fl, fl/(C[ref]*1000/n), (C["np-recv " a]*1000/n)/fl }
}' "$RESULTS"
rm -rf "$TRASH"
sync
