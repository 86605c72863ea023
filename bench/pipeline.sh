#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench/pipeline.sh [N ...]: the whole agent, as `make run` starts it (s6,
# every service), against the chain of peers' tools a site could script
# instead, on the same N generated MR brain studies with DTI (default: a
# batch of 1, then a batch of 10; N=50 on request). Run by hand after
# `make` (not part of make check), as root or not:
#   sh bench/pipeline.sh            # 1 and 10 studies, 2 rounds each
#   sh bench/pipeline.sh 50         # ~9 GB of studies, ~40 GB free needed
#   BENCH_ROUNDS=1 sh bench/pipeline.sh 1   # smallest useful run
# The studies stay in bench/out/pipeline (2.5 GB after N=10; `make
# clean-bench` removes bench/out, `make clean` leaves it).
# Settings (environment): BENCH_ROUNDS (2), BENCH_STAB stabilization
# seconds (3), study shape BENCH_NDIR (60) BENCH_NSL (40) BENCH_SIZE (128):
# localizer, T1 and a classic DTI series of (NDIR+1) x NSL instances, plus
# an enhanced multi-frame DTI of the same frames, --ifu so each study
# passes QC. Studies are made once and kept in bench/out/pipeline/.
#
# Both sides get the studies from 4 storescu processes at once (each study
# split in 4 parts, one association per part; the 4 senders go through the
# studies in the same order). The agent: np-run.sh on a fresh home in a
# temporary folder (free ports, cloud stand-in answering at once, bodies
# discarded), until every study is in spool/uploaded. The chain: storescp
# --fork sorting by study, then gdcmanon (basic profile) over each study's
# folder, zip -0 of it, curl -T of the ZIP to the same stand-in's presigned
# PUT; one step after the other, as a cron script would, and nothing is
# made durable (no fsync).
#
# Prints per study: last instance received -> stable, -> qc-passed,
# -> ready, -> uploaded (history.jsonl of each study; the last instance is
# the newest file of the study's dicom/), and per run: wall time from the
# first instance sent to the last study uploaded, that less the
# stabilization wait (the comparable figure), the chain's wall time and the
# ratio; studies/hour and MB/s end to end; CPU seconds per study of every
# service (user+system of the service process and its reaped children,
# /proc/PID/stat) and of each chain step; peak RSS of every program seen
# (sampled from /proc every 0.2 s: a lower bound for short ones) and the
# number of processes started per study once the batch began (a service's
# daemon up before it shows as "running", not as started); bytes written to disk per byte
# received (write amplification: /proc/PID/io write_bytes less
# cancelled_write_bytes of the services and their children, the same for
# the chain's steps). Ends with the median over the rounds of each ratio
# (agent/chain wall and CPU, bytes written per byte received) per batch
# size. The machine is shared: run it twice and say so.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=${BENCH_OUT:-$TOP/bench/out}/pipeline
NS=${*:-1 10}
ROUNDS=${BENCH_ROUNDS:-2}
STAB=${BENCH_STAB:-3}
NDIR=${BENCH_NDIR:-60} NSL=${BENCH_NSL:-40} SIZE=${BENCH_SIZE:-128}
SBIN=$TOP/build/sbin BIN=$TOP/build/bin
SHIM=$TOP/build/peers/libbind127.so
export TCP_NODELAY=1
PY=/usr/bin/python3
for c in s6-svscan storescu storescp gdcmanon zip curl; do
	command -v $c >/dev/null || { echo "pipeline.sh: $c is not installed" >&2; exit 100; }
done
[ -x "$SBIN/np-recv" ] && [ -f "$SHIM" ] || { echo "pipeline.sh: run make first" >&2; exit 100; }
port() { $PY -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
waitport() { i=0; until $PY -c "import socket,sys;s=socket.socket();sys.exit(s.connect_ex(('127.0.0.1',$1)))" 2>/dev/null; do i=$((i+1)); [ $i -gt 600 ] && return 1; sleep 0.1; done; }
now() { date +%s.%N; }

# ---- the studies (made once, kept) and their 4 parts (hard links) ----
MAX=0
for n in $NS; do [ "$n" -gt $MAX ] && MAX=$n; done
SHAPE="ndir$NDIR-nsl$NSL-size$SIZE"
mkdir -p "$OUT/studies"
i=1
while [ $i -le $MAX ]; do
	s=$(printf 's%03d' $i)
	d=$OUT/studies/$s
	if [ ! -f "$d/.done-$SHAPE" ]; then
		rm -rf "$d" "$d.tmp"
		if [ $i = 1 ]; then
			echo "generating study $s ($SHAPE)..."
			$PY "$TOP/tests/data/make_mr_study.py" "$d.tmp" --ndir "$NDIR" --nsl "$NSL" --size "$SIZE" \
				--enhanced --ifu >/dev/null
			rm -f "$d.tmp/dti.bval" "$d.tmp/dti.bvec"
		else
			# The generator takes about a minute a study: the others are
			# copies of the first with every UID (and the patient ID)
			# changed, lengths kept.
			echo "making study $s (a copy of s001 with new UIDs)..."
			$PY - "$OUT/studies/s001" "$d.tmp" $i <<'PY'
import os, re, sys
src, dst, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
root = rb"1\.2\.826\.0\.1\.3680043\.8\.498\."
def uid(m):
    rest = m.group(2)
    if len(rest) < 20:  # the implementation class UID
        return m.group(0)
    new = str(int(rest) + k * 7919).encode()
    assert len(new) == len(rest)
    return m.group(1) + new
for r, _, fs in os.walk(src):
    if "/part" in r[len(src):]:
        continue
    for f in fs:
        if not f.endswith(".dcm"):
            continue
        b = open(os.path.join(r, f), "rb").read()
        b = re.sub(b"(" + root + rb")(\d+)", uid, b)
        b = b.replace(b"MRN-000123", b"MRN-%06d" % k)
        o = os.path.join(dst, os.path.relpath(r, src))
        os.makedirs(o, exist_ok=True)
        open(os.path.join(o, f), "wb").write(b)
PY
		fi
		k=0
		find "$d.tmp" -name '*.dcm' | sort | while read -r f; do
			mkdir -p "$d.tmp/part/$((k % 4))"
			ln "$f" "$d.tmp/part/$((k % 4))/$k.dcm"
			k=$((k + 1))
		done
		touch "$d.tmp/.done-$SHAPE"
		mv "$d.tmp" "$d"
	fi
	i=$((i + 1))
done

W=$(mktemp -d "${TMPDIR:-/tmp}/np-bench-pipeline.XXXXXX")
PIDS=""
RUN=""
cleanup() {
	if [ -n "$RUN" ]; then
		NP_HOME=$W/home NP_SBIN=$SBIN NP_BIN=$BIN sh "$TOP/sbin/np-run.sh" --stop >/dev/null 2>&1 || true
		kill "$RUN" 2>/dev/null || true
	fi
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

# The cloud stand-in, shared by both sides: orders finish at the first
# status poll, PUT bodies are read and discarded.
mkdir -p "$W/cloud"
$PY "$TOP/tests/peers/cloud_standin.py" --state "$W/cloud" --fault discard=1 --fault steps=1 \
	--api-key bench-api-key >"$W/cloud.log" 2>&1 &
PIDS="$PIDS $!"
i=0
while [ ! -s "$W/cloud/url" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
CLOUD=$(cat "$W/cloud/url")

# send PORT AET STUDY...: 4 storescu processes at once, each sends its part
# of every study in turn (one association per part).
send() {
	p=$1 aet=$2
	shift 2
	spids=
	for j in 0 1 2 3; do
		(for s in "$@"; do
			storescu -aec "$aet" +sd +r +sp '*.dcm' 127.0.0.1 "$p" "$OUT/studies/$s/part/$j" >/dev/null \
				2>>"$W/scu.err" || echo "$s part $j" >>"$W/scu.failed"
		done) &
		spids="$spids $!"
	done
	for j in $spids; do wait "$j"; done
	if [ -s "$W/scu.failed" ]; then
		echo "pipeline.sh: storescu failed for: $(tr '\n' ' ' <"$W/scu.failed")" >&2
		tail -5 "$W/scu.err" >&2
		exit 1
	fi
}

# cpu_io PID: "cpu_seconds net_write_bytes" of PID with its reaped children
cpu_io() {
	$PY - "$1" <<'PY'
import os, sys
p = sys.argv[1]
f = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()
cpu = sum(int(x) for x in f[11:15]) / os.sysconf("SC_CLK_TCK")
io = dict(l.split(": ") for l in open("/proc/%s/io" % p).read().splitlines())
print("%.2f %d" % (cpu, int(io["write_bytes"]) - int(io["cancelled_write_bytes"])))
PY
}

# services HOME: "name pid" of every service of the home's s6 tree
services() {
	for d in "$1"/service/*/; do
		sv_pid=$(s6-svstat -o pid "$d" 2>/dev/null || echo -1)
		if [ "$sv_pid" -gt 0 ] 2>/dev/null; then echo "$(basename "$d") $sv_pid"; fi
	done
}

# sampler HOME OUTFILE: every 0.2 s, every process whose environment has
# NP_HOME=HOME: peak VmHWM, last CPU and net write bytes, per program
# (np-queue by its source state); written to OUTFILE when told to stop.
sampler() {
	$PY - "$1" "$2" <<'PY' &
import os, signal, sys, time
home, out = sys.argv[1], sys.argv[2]
tag = ("NP_HOME=%s" % home).encode()
tck = os.sysconf("SC_CLK_TCK")
# started before the batch (the services' daemons) or during it: a start
# time (ticks since boot, /proc/PID/stat field 22) before this
began = float(open("/proc/uptime").read().split()[0]) * tck
seen = {}  # pid+start -> [key, hwm_kb, cpu, wbytes, running before the batch]
stop = False
def bye(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, bye)
while not stop:
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            if tag not in open("/proc/%s/environ" % p, "rb").read().split(b"\0"):
                continue
            st = open("/proc/%s/stat" % p).read()
            comm = st[st.index("(") + 1:st.rindex(")")]
            f = st.rsplit(")", 1)[1].split()
            key = p + ":" + f[19]
            if key not in seen:
                argv = open("/proc/%s/cmdline" % p, "rb").read().split(b"\0")
                name = comm
                if comm == "np-queue":
                    a = [x.decode() for x in argv[1:] if x and not x.startswith(b"-")]
                    name = "np-queue " + (a[0] if a else "?")
                seen[key] = [name, 0, 0.0, 0, int(f[19]) < began]
            s = seen[key]
            for l in open("/proc/%s/status" % p):
                if l.startswith("VmHWM:"):
                    s[1] = max(s[1], int(l.split()[1]))
            s[2] = (int(f[11]) + int(f[12])) / tck
            io = dict(l.split(": ") for l in open("/proc/%s/io" % p).read().splitlines())
            s[3] = int(io["write_bytes"]) - int(io["cancelled_write_bytes"])
        except (OSError, ValueError):
            pass
    time.sleep(0.2)
agg = {}
for name, hwm, cpu, wb, before in seen.values():
    a = agg.setdefault(name, [0, 0, 0.0, 0, 0])
    a[0] += not before; a[1] = max(a[1], hwm); a[2] += cpu; a[3] += wb; a[4] += before
with open(out, "w") as fo:
    # name, started during the batch, peak RSS KiB, CPU s, bytes written, running before it
    for name, a in sorted(agg.items()):
        fo.write("%s\t%d\t%d\t%.2f\t%d\t%d\n" % (name, a[0], a[1], a[2], a[3], a[4]))
PY
	SAMPLER=$!
}

# ---- the agent ----
agent() { # N ROUND STUDY...
	n=$1 r=$2
	shift 2
	H=$W/home
	rm -rf "$H"
	mkdir -p "$H"
	DP=$(port) HP=$(port)
	export NP_HOME=$H
	"$SBIN/np-init" --first-run --non-interactive >/dev/null 2>&1
	printf '{"dicom":{"bind":"127.0.0.1","port":%s,"stabilization_seconds":%s,"scan_interval_seconds":1},
		"http":{"bind":"127.0.0.1","port":%s},"scheduler":{"poll_cron":"* * * * *"},
		"cloud":{"api_url":"%s","protocol":"v1"}}' "$DP" "$STAB" "$HP" "$CLOUD" | "$BIN/np-config" merge
	printf 'bench-api-key' | "$BIN/np-config" set-secret cloud.api_key
	NP_USER=root NP_SBIN=$SBIN NP_BIN=$BIN setsid sh "$TOP/sbin/np-run.sh" >"$W/run.log" 2>&1 &
	RUN=$!
	unset NP_HOME
	waitport "$DP" || { echo "pipeline.sh: the agent did not start" >&2; cat "$W/run.log" >&2; exit 1; }
	sleep 2 # every service up and idle
	services "$H" >"$W/svc"
	while read -r name pid; do echo "$name $pid $(cpu_io "$pid")"; done <"$W/svc" >"$W/svc.0"
	sampler "$H" "$W/sampled"
	t0=$(now)
	send "$DP" NEUROPACS_SCP "$@"
	t1=$(now)
	lim=$((300 + 60 * n))
	i=0
	while :; do
		up=$(find "$H/spool/uploaded" "$H/spool/results" "$H/spool/done" -mindepth 1 -maxdepth 1 -type d \
			-name '????????-*' 2>/dev/null | wc -l)
		[ "$up" -ge "$n" ] && break
		bad=$(find "$H/spool/failed" "$H/spool/qc-failed" -mindepth 1 -maxdepth 1 -type d -name '????????-*' \
			2>/dev/null | wc -l)
		if [ "$bad" -gt 0 ] || [ $i -gt $((lim * 5)) ]; then
			echo "pipeline.sh: $up of $n studies uploaded, $bad failed; logs:" >&2
			tail -n 5 "$H"/log/*/current >&2
			exit 1
		fi
		sleep 0.2
		i=$((i + 1))
	done
	t2=$(now)
	sleep 1 # np-queue reaps its last child
	while read -r name pid; do echo "$name $pid $(cpu_io "$pid")"; done <"$W/svc" >"$W/svc.1"
	kill "$SAMPLER"
	wait "$SAMPLER" || true
	NP_HOME=$H NP_SBIN=$SBIN NP_BIN=$BIN sh "$TOP/sbin/np-run.sh" --stop >/dev/null 2>&1 || true
	wait "$RUN" 2>/dev/null || true
	RUN=""
	# per study: received (newest file of dicom/), and each state's first time
	echo "agent, $n studies, round $r: per study, seconds after its last instance was received"
	$PY - "$H" "$t0" "$t1" "$t2" "$n" "$r" "$W/agent.$n.$r" <<'PY'
import datetime, glob, json, os, sys
home, t0, t1, t2, n, r, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7]
def ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
rows = []
for h in glob.glob(home + "/spool/*/*/history.jsonl"):
    d = os.path.dirname(h)
    first = {}
    for l in open(h):
        try:
            e = json.loads(l)
        except ValueError:
            continue
        first.setdefault(e["to"], ts(e["ts"]))
    last = 0.0
    for root, _, fs in os.walk(os.path.join(d, "dicom")):
        for f in fs:
            last = max(last, os.stat(os.path.join(root, f)).st_mtime)
    rows.append((last, [first.get(k) for k in ("stable", "qc-passed", "ready", "uploaded")]))
rows.sort()
with open(out, "w") as fo:
    print("  study  last instance (s after start)  -> stable  -> qc-passed  -> ready  -> uploaded")
    for i, (last, st) in enumerate(rows):
        print("  %5d  %28.2f  %9.2f  %11.2f  %8.2f  %11.2f" % ((i + 1, last - t0) + tuple(x - last if x else float("nan") for x in st)))
    end = max(st[3] for _, st in rows)
    fo.write("%f %f %f\n" % (t1 - t0, end - t0, t2 - t0))
PY
}

# ---- the chain of peers' tools ----
CERT=$W/cert.pem
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/key.pem" -out "$CERT" -days 1 -subj /CN=bench 2>/dev/null
step() { # NAME CMD...: time CMD, append "NAME wall cpu maxrss_kb write_bytes" to $W/steps
	name=$1
	shift
	a=$(now)
	/usr/bin/time -f '%U %S %M' -o "$W/time" sh -c '"$@"; rc=$?; cat /proc/$$/io >"$0"; exit $rc' "$W/io" "$@"
	b=$(now)
	read -r st_u st_s st_m <"$W/time"
	wb=$(awk -F': ' '$1=="write_bytes"{w=$2} $1=="cancelled_write_bytes"{c=$2} END{print w-c}' "$W/io")
	echo "$name $(echo "$b - $a" | bc) $(echo "$st_u + $st_s" | bc) $st_m $wb" >>"$W/steps"
}
chain() { # N ROUND STUDY...
	n=$1 r=$2
	shift 2
	C=$W/chain
	rm -rf "$C"
	mkdir -p "$C/scp" "$C/anon" "$C/zip"
	: >"$W/steps"
	P=$(port)
	LD_PRELOAD=$SHIM storescp --fork -aet DEST -su st -od "$C/scp" "$P" 2>"$C/scp.log" &
	SCP=$!
	waitport "$P"
	c0=$(cpu_io $SCP)
	t0=$(now)
	send "$P" DEST "$@"
	t1=$(now)
	sleep 0.3 # storescp reaps its children
	c1=$(cpu_io $SCP)
	m=$(awk '/VmHWM/{print $2}' /proc/$SCP/status)
	kill $SCP
	wait $SCP 2>/dev/null || true
	echo "$c0 $c1" | awk -v w="$(echo "$t1 - $t0" | bc)" -v m="$m" '{print "storescp", w, $3-$1, m, $4-$2}' >>"$W/steps"
	for d in "$C"/scp/*/; do
		s=$(basename "$d")
		step gdcmanon gdcmanon -c "$CERT" --continue --recursive -i "$d" -o "$C/anon/$s"
		step zip sh -c "cd '$C/anon' && zip -0 -q -r '$C/zip/$s.zip' '$s'"
		step curl curl -sf -T "$C/zip/$s.zip" "$CLOUD/s3/bench/0/$s.zip" -o /dev/null
	done
	# the total is the sum of the steps' wall times: the script's own
	# bookkeeping between them (time, bc, sh) is not the chain's
	awk '
	{ W[$1]+=$2; C[$1]+=$3; if ($4>M[$1]) M[$1]=$4; B[$1]+=$5; tot+=$2; if (!($1 in o)) o[$1]=++k; nm[o[$1]]=$1 }
	END { for (i=1;i<=k;i++) { s=nm[i]; printf "%s %.2f %.2f %d %d\n", s, W[s], C[s], M[s], B[s] }
	      printf "total %.2f\n", tot }' "$W/steps" >"$W/chain.$n.$r"
	rm -rf "$C"
}

report() { # N ROUND BYTES
	n=$1 r=$2 bytes=$3
	read -r send_s end_s wait_s <"$W/agent.$n.$r"
	$PY - "$n" "$r" "$bytes" "$STAB" "$send_s" "$end_s" "$W/svc.0" "$W/svc.1" "$W/sampled" "$W/chain.$n.$r" \
		"$W/ratios" <<'PY'
import sys
n, r, nbytes, stab = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
send_s, end_s = float(sys.argv[5]), float(sys.argv[6])
def svc(p):
    return {l.split()[0]: (float(l.split()[2]), int(l.split()[3])) for l in open(p)}
s0, s1 = svc(sys.argv[7]), svc(sys.argv[8])
sampled = [l.rstrip("\n").split("\t") for l in open(sys.argv[9])]
chain = {}
for l in open(sys.argv[10]):
    f = l.split()
    chain[f[0]] = f[1:]
mb = nbytes / 1e6
agent = end_s - stab
ctot = float(chain["total"][0])
print("round %s, %d studies, %.0f MB, %.1f MB/study" % (r, n, mb, mb / n))
print("  agent: sent in %.2f s; last study uploaded at %.2f s; less stabilization %.0f s: %.2f s" % (send_s, end_s, stab, agent))
print("  chain: storescp %s s, gdcmanon %s s, zip -0 %s s, curl -T %s s: %.2f s" % (
    chain["storescp"][0], chain["gdcmanon"][0], chain["zip"][0], chain["curl"][0], ctot))
print("  agent/chain (stabilization excluded): %.2fx   (target <= 1.0)" % (agent / ctot))
print("  studies/hour: agent %.0f, chain %.0f;  MB/s end to end: agent %.1f, chain %.1f" % (
    n * 3600 / agent, n * 3600 / ctot, mb / agent, mb / ctot))
cpu = {k: s1[k][0] - s0[k][0] for k in s1 if k in s0}
wb = {k: s1[k][1] - s0[k][1] for k in s1 if k in s0}
print("  CPU s per study, agent: total %.2f = %s" % (sum(cpu.values()) / n, ", ".join(
    "%s %.2f" % (k, v / n) for k, v in sorted(cpu.items(), key=lambda x: -x[1]) if v > 0.005 * n)))
print("  CPU s per study, chain: total %.2f = %s" % (sum(float(v[1]) for k, v in chain.items() if k != "total") / n,
    ", ".join("%s %.2f" % (k, float(v[1]) / n) for k, v in chain.items() if k != "total")))
print("  bytes written per byte received: agent %.2f (%s), chain %.2f (%s)" % (
    sum(wb.values()) / nbytes, ", ".join("%s %.2f" % (k, v / nbytes) for k, v in sorted(wb.items(), key=lambda x: -x[1]) if v > 0.001 * nbytes),
    sum(int(v[3]) for k, v in chain.items() if k != "total") / nbytes,
    ", ".join("%s %.2f" % (k, int(v[3]) / nbytes) for k, v in chain.items() if k != "total")))
def started(x):  # "running" for a daemon up before the batch; processes started during it per study
    per = "%.1f" % (int(x[1]) / n)
    if int(x[5]):
        return "running + %s" % per if int(x[1]) else "running"
    return per
print("  peak RSS MB (processes started per study during the batch; running = a daemon up before it), agent: " +
    ", ".join("%s %.1f (%s)" % (x[0], int(x[2]) / 1024, started(x)) for x in sampled if x[0].startswith("np")))
print("  peak RSS MB, chain: " + ", ".join("%s %.1f" % (k, int(v[2]) / 1024) for k, v in chain.items() if k != "total"))
cagent = sum(cpu.values()) / n
cchain = sum(float(v[1]) for k, v in chain.items() if k != "total") / n
wagent = sum(wb.values()) / nbytes
wchain = sum(int(v[3]) for k, v in chain.items() if k != "total") / nbytes
with open(sys.argv[11], "a") as fo:
    fo.write("%d %s %f %f %f %f\n" % (n, r, agent / ctot, cagent / cchain if cchain else 0, wagent, wchain))
PY
}

echo "pipeline.sh: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GB", $2/1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg); studies $SHAPE, stabilization $STAB s"
for n in $NS; do
	studies=$(i=1; while [ $i -le "$n" ]; do printf 's%03d ' $i; i=$((i + 1)); done)
	bytes=0
	for s in $studies; do bytes=$((bytes + $(find "$OUT/studies/$s/part" -type f -printf '%s\n' | awk '{t+=$1} END{print t}'))); done
	r=1
	while [ $r -le "$ROUNDS" ]; do
		sync
		agent "$n" "$r" $studies
		sync
		chain "$n" "$r" $studies
		report "$n" "$r" "$bytes"
		r=$((r + 1))
	done
done
# the median over the rounds of each ratio, per batch size
echo "summary, median over $ROUNDS round(s):"
awk '
function med(s,   a, k, i, j, t) { k = split(s, a, " ")
	for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
{ if (!($1 in R)) o[++m] = $1; R[$1] = R[$1] " " $3; C[$1] = C[$1] " " $4; A[$1] = A[$1] " " $5; B[$1] = B[$1] " " $6 }
END { for (i = 1; i <= m; i++) { n = o[i]
	printf "  %d studies: agent/chain wall (stabilization excluded) %.2fx (target <= 1.0); agent/chain CPU per study %.2fx; bytes written per byte received: agent %.2f, chain %.2f\n", n, med(R[n]), med(C[n]), med(A[n]), med(B[n]) } }' "$W/ratios"
