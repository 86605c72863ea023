#!/bin/sh
# np-upload streams each ZIP from deid/ into its PUT (issue 21): no ZIP lands
# on disk while a slowed cloud takes the parts; what the cloud receives (v1 and
# v2) are ZIPs unzip -t accepts, with the planned entries and the files' bytes,
# of the size and SHA-256 order.json records; a file that changes size after
# the plan fails the upload with a clear error before its ZIP is sent.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/cloud.sh"
command -v unzip >/dev/null 2>&1 || skip_all "unzip not installed"
plan 14
U1=46464646-0000-4000-8000-000000000001
U2=46464646-0000-4000-8000-000000000002
U3=46464646-0000-4000-8000-000000000003
cloud_study $U1 --pad-mb 12
cloud_clone $U2
cloud_clone $U3
cloud_start "$T/cloud"

# Runs np-upload on study $1 while it lists every *.zip under NP_HOME every
# 50 ms; sets rc, polls and zips (the names seen).
upload_watched() {
	rm -f "$T/rc"
	("$BIN/np-upload" "$NP_HOME/spool/ready/$1" 2>"$T/$1.log"; echo $? >"$T/rc") &
	pid=$!
	polls=0 zips=""
	while [ ! -s "$T/rc" ]; do
		zips="$zips$(find "$NP_HOME" -name '*.zip' 2>/dev/null)"
		polls=$((polls + 1))
		sleep 0.05
	done
	wait $pid
	rc=$(cat "$T/rc")
}

# The received ZIPs of study $1 against its order.json and deid/: prints one
# line per problem, nothing when all is well.
check_received() {
	/usr/bin/python3 - "$NP_HOME/spool/ready/$1" "$CLOUD_DIR" "$2" <<'PY'
import hashlib, json, os, subprocess, sys, zipfile
study, cloud, proto = sys.argv[1:]
order = json.load(open(os.path.join(study, "order.json")))
deid = os.path.join(study, "deid")
files = sorted(os.path.relpath(os.path.join(r, f), deid) for r, _, fs in os.walk(deid) for f in fs
               if not f.startswith("."))
files.remove("manifest.json")
for i, p in enumerate(order["parts"]):
    z = os.path.join(cloud, "uploads", order["order_id"], "%d.zip" % i)
    if not os.path.exists(z):
        print("zip %d: not received" % i)
        continue
    t = subprocess.run(["unzip", "-tq", z], capture_output=True, text=True)
    if t.returncode != 0:
        print("zip %d: unzip -t: %s" % (i, t.stdout + t.stderr))
    data = open(z, "rb").read()
    if len(data) != p["bytes"] or hashlib.sha256(data).hexdigest() != p["sha256"]:
        print("zip %d: %d bytes sha %s, order.json says %s %s" % (i, len(data), hashlib.sha256(data).hexdigest(),
                                                                 p["bytes"], p["sha256"]))
    part = files[p["first"]:p["first"] + p["count"]]
    want = (["sidecar.json"] if i == 0 and proto == "v1" else []) + [os.path.basename(f) for f in part]
    with zipfile.ZipFile(z) as zf:
        if zf.namelist() != want:
            print("zip %d: entries %s, want %s" % (i, zf.namelist()[:5], want[:5]))
            continue
        for f in part:
            if zf.read(os.path.basename(f)) != open(os.path.join(deid, f), "rb").read():
                print("zip %d: %s differs from deid/" % (i, f))
PY
}

n=0
for proto in v1 v2; do
	n=$((n + 1))
	eval u=\$U$n
	SETTINGS_EXTRA=',"upload":{"zip_part_mb":5}' cloud_home $proto
	cloud_ctl '{"slow_ms": 300}'
	upload_watched $u
	is "$rc" 0 "$proto: the upload succeeds"
	ok "$proto: spool watched while the parts were on the wire ($polls looks)" [ "$polls" -ge 10 ]
	is "$zips" "" "$proto: no ZIP file ever appeared under the home"
	is "$(check_received $u $proto)" "" "$proto: the cloud got every ZIP: unzip -t passes, planned entries, deid/'s bytes, size and SHA-256 as order.json"
	like "$(cat "$T/$u.log")" "zip uploaded .*zip=3/3 bytes=[0-9]+ sha256=[0-9a-f]{64}" "$proto: each ZIP's size and SHA-256 are logged"
done
cloud_ctl '{"slow_ms": 0}'

# A file of the last ZIP grows while the first ZIP is on the wire (after the
# run listed deid/ and made its plan).
SETTINGS_EXTRA=',"upload":{"zip_part_mb":5}' cloud_home v1
S3=$NP_HOME/spool/ready/$U3
cloud_ctl '{"slow_ms": 300}'
"$BIN/np-upload" "$S3" 2>"$T/u3.log" &
pid=$!
o3() { /usr/bin/python3 -c 'import json,sys;d=json.load(open(sys.argv[1]));exec("print("+sys.argv[2]+")")' "$S3/order.json" "$1" 2>/dev/null; }
wait_for '[ "$(o3 "sum(1 for p in d.get(\"parts\",[]) if p.get(\"etag\"))")" = 1 ]' 60
grown=$(/usr/bin/python3 - "$S3" <<'PY'
import json, os, sys
study = sys.argv[1]
order = json.load(open(os.path.join(study, "order.json")))
deid = os.path.join(study, "deid")
files = sorted(os.path.relpath(os.path.join(r, f), deid) for r, _, fs in os.walk(deid) for f in fs)
files.remove("manifest.json")
last = order["parts"][-1]
f = files[last["first"] + last["count"] - 1]
with open(os.path.join(deid, f), "ab") as out:
    out.write(b"x" * 10)
print(f)
PY
)
wait $pid
is "$?" 1 "the upload fails for good"
like "$(cat "$T/u3.log")" "upload failed: the de-identified set changed: $grown is [0-9]+ bytes, [0-9]+ when the upload was planned" "with a clear error naming the file"
OID3=$(o3 'd["order_id"]')
last=$(o3 'len(d["parts"])-1')
is "$(grep -c "\"path\": \"/s3/$OID3/$last/" "$CLOUD_DIR/requests.jsonl")" 0 "the changed ZIP was never PUT"
is "$(o3 'd["status"]')" Failed "order.json says Failed"
