#!/bin/sh
# Cloud v1: a study split into several ZIPs survives kill -9 mid-upload; the
# re-run resumes at the next ZIP without a new order or a repeated ZIP.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/cloud.sh"
plan 9
U=7a0c2b1e-3d4f-4a5b-8c6d-7e8f9a0b1c2d
cloud_study $U --pad-mb 12
cloud_start "$T/cloud"
SETTINGS_EXTRA=',"upload":{"zip_part_mb":5}' cloud_home v1
o() { /usr/bin/python3 -c 'import json,sys;d=json.load(open(sys.argv[1]));exec("print("+sys.argv[2]+")")' "$STUDY/order.json" "$1"; }
acked() { o 'sum(1 for p in d.get("parts",[]) if p.get("etag"))' 2>/dev/null || echo 0; }

cloud_ctl '{"slow_ms": 250}'
"$BIN/np-upload" "$STUDY" 2>"$T/up1.log" &
pid=$!
wait_for '[ "$(acked)" -ge 1 ]' 60
kill -9 $pid; wait $pid 2>/dev/null
n1=$(acked)
is "$(o 'len(d["parts"])')" 3 "the set is planned as 3 ZIPs of at most 5 MiB"
like "$n1" '^[12]$' "killed after $n1 acknowledged ZIP(s)"
cloud_ctl '{"slow_ms": 0}'
"$BIN/np-upload" "$STUDY" 2>"$T/up2.log"; rc=$?
is "$rc" 0 "the re-run finishes the upload"
is "$(acked)" 3 "every ZIP acknowledged"
st=$(cloud_state)
OID=$(o 'd["order_id"]')
j() { printf '%s' "$st" | /usr/bin/python3 -c 'import json,sys;d=json.load(sys.stdin);exec("print("+sys.argv[1]+")")' "$1"; }
is "$(j 'd["counts"]["new_orders"]')" 1 "one order, never re-created"
is "$(j 'sorted(d["orders"]["'$OID'"]["zips"].items())')" "[('0', 1), ('1', 1), ('2', 1)]" "each ZIP completed exactly once"
is "$(grep -c "\"path\": \"/s3/$OID/0/" "$CLOUD_DIR/requests.jsonl")" 1 "the first ZIP's bytes were sent once"
like "$(cat "$T/up2.log")" "zip=3/3" "resumed run logs the remaining ZIPs"
nok "resumed run did not resend ZIP 1" grep -q "zip=1/3" "$T/up2.log"
