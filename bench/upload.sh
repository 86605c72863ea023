#!/bin/sh
# bench/upload.sh [SET_MB] [RSS_SET_MB]: np-upload vs curl -T of the same ZIP
# bytes to the same kind of sink (the cloud stand-in's presigned PUT, bodies
# discarded), over HTTP and HTTPS on loopback; then np-upload's peak RSS on a
# bigger set. Run by hand after `make`; not part of make check. Needs curl,
# openssl, bc, /usr/bin/time and /usr/bin/python3 (make deps); checked first.
#   SET_MB       size of the timed set (default 1024)
#   RSS_SET_MB   size of the RSS set (default 2048)
#   NP_UPLOAD    the np-upload binary to time (default build/bin/np-upload;
#                set it to an older build to compare before/after)
# Smallest useful run: sh bench/upload.sh 64 128.
# Target (issue 21): np-upload about 1.17x curl -T over HTTPS at 1 GiB, with
# about 30 MB peak RSS (the RSS set). np-upload sends 15 MiB ZIPs
# (upload.zip_part_mb) one at a time, each with three API round trips
# (initiate, presigned URL, complete) beside its PUT, plus the order's
# own calls; curl -T only PUTs. On a small set these fixed costs dominate
# and the ratio is well above the 1 GiB figure.
# The sets are made in a temporary folder ($TMPDIR), removed at the end;
# other benchmarks leave theirs in bench/out: `make clean-bench`.
# Each line also gives the disk bytes the process wrote (/proc/PID/io
# write_bytes, its waited children included) and the bytes it passed to
# write(2) and send(2) (wchar).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
SET_MB=${1:-1024}
RSS_MB=${2:-2048}
B=$TOP/build/bin
UPLOAD=${NP_UPLOAD:-$B/np-upload}
for c in curl openssl bc /usr/bin/time /usr/bin/python3; do
	command -v $c >/dev/null || { echo "upload.sh: $c is not installed (make deps)" >&2; exit 100; }
done
[ -x "$UPLOAD" ] && [ -x "$B/np-config" ] || { echo "upload.sh: run make first" >&2; exit 100; }
W=$(mktemp -d "${TMPDIR:-/tmp}/np-bench-upload.XXXXXX")
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT INT TERM
export NP_HOME=$W/home
mkdir -p "$NP_HOME/etc" "$NP_HOME/db"
for s in ready uploaded failed tmp; do mkdir -p "$NP_HOME/spool/$s"; done

# A de-identified set of SET_MB MiB in 512 KiB "instances" (incompressible).
mkset() { # DIR MB
	mkdir -p "$1/deid/S1"
	/usr/bin/python3 - "$1/deid/S1" "$2" <<'PY'
import os, sys
d, mb = sys.argv[1], int(sys.argv[2])
blk = os.urandom(1 << 20)
for i in range(mb * 2):
    with open(os.path.join(d, "IM%06d.dcm" % i), "wb") as f:
        f.write(blk[(i % 2) * 524288:][:524288])
PY
	echo '{"npuid":"x","patient":{"age":"060Y","sex":"F"},"products":["Atypical/MSAp/PSP-v1.0"]}' >"$1/manifest.json"
}

standin() { # NAME [tls]; sets URL
	mkdir -p "$W/$1"
	if [ "${2:-}" = tls ]; then
		(cd "$W" && [ -f ca.crt ] || {
			openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 -subj "/CN=bench CA" \
				-addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign >/dev/null 2>&1
			openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=127.0.0.1" >/dev/null 2>&1
			printf 'subjectAltName=IP:127.0.0.1\n' >ext.cnf
			openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 1 \
				-extfile ext.cnf >/dev/null 2>&1; })
		/usr/bin/python3 "$TOP/tests/peers/cloud_standin.py" --state "$W/$1" --fault discard=1 \
			--tls-cert "$W/srv.crt" --tls-key "$W/srv.key" >/dev/null 2>&1 &
	else
		/usr/bin/python3 "$TOP/tests/peers/cloud_standin.py" --state "$W/$1" --fault discard=1 >/dev/null 2>&1 &
	fi
	PIDS="$PIDS $!"
	i=0; while [ ! -s "$W/$1/url" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	URL=$(cat "$W/$1/url")
}

settings() { # URL
	printf '{"cloud":{"api_url":"%s","ca_file":"%s"}}\n' "$1" "$W/ca.crt" >"$NP_HOME/etc/neuropacs.json"
	printf 'test-api-key' | "$B/np-config" set-secret cloud.api_key
}

now() { date +%s.%N; }
io_of() { awk '$1 == "write_bytes:" { w = $2 } $1 == "wchar:" { c = $2 } END { printf "write_bytes %.0f wchar %.0f", w, c }' "$1"; }

# Run np-upload on a fresh copy of the set; prints seconds; leaves order.json in $W/last-order.json.
run_upload() { # SETDIR
	u=$(/usr/bin/python3 -c 'import uuid;print(uuid.uuid4())')
	mkdir -p "$NP_HOME/spool/ready/$u"
	cp -al "$1/deid" "$NP_HOME/spool/ready/$u/deid"
	cp "$1/manifest.json" "$NP_HOME/spool/ready/$u/"
	t0=$(now)
	/usr/bin/time -f "%M %e %U %S" -o "$W/rss" sh -c '"$@"; s=$?; cat /proc/$$/io >"$0"; exit $s' "$W/io" \
		"$UPLOAD" "$NP_HOME/spool/ready/$u" 2>"$W/upload.log"
	t1=$(now)
	cp "$NP_HOME/spool/ready/$u/order.json" "$W/last-order.json"
	echo "# np-upload rss/elapsed/user/sys: $(cat "$W/rss") $(io_of "$W/io")" >&2
	rm -rf "$NP_HOME/spool/ready/$u"
	echo "$t1 - $t0" | bc
}

# The same ZIPs np-upload made (same plan, stored entries), for curl -T.
make_zips() { # SETDIR OUTDIR
	/usr/bin/python3 - "$1/deid" "$W/last-order.json" "$2" <<'PY'
import json, os, sys, zipfile
deid, order, out = sys.argv[1:]
files = sorted(os.path.relpath(os.path.join(r, f), deid) for r, _, fs in os.walk(deid) for f in fs)
os.makedirs(out, exist_ok=True)
for i, p in enumerate(json.load(open(order))["parts"]):
    with zipfile.ZipFile(os.path.join(out, "z%04d.zip" % i), "w", zipfile.ZIP_STORED) as z:
        for f in files[p["first"]:p["first"] + p["count"]]:
            z.write(os.path.join(deid, f), os.path.basename(f))
PY
}

run_curl() { # URL ZIPDIR
	list=$(ls "$2" | tr '\n' ',' | sed 's/,$//')
	t0=$(now)
	(cd "$2" && /usr/bin/time -f "%M %e %U %S" -o "$W/rss" sh -c '"$@"; s=$?; cat /proc/$$/io >"$0"; exit $s' "$W/io" \
		curl -s --cacert "$W/ca.crt" -T "{$list}" "$1/s3/bench/0/" -o /dev/null)
	t1=$(now)
	echo "# curl rss/elapsed/user/sys: $(cat "$W/rss") $(io_of "$W/io")" >&2
	echo "$t1 - $t0" | bc
}

echo "# set: $SET_MB MiB in 512 KiB files; sink: cloud stand-in presigned PUT (bodies discarded)"
echo "# target (issue 21): HTTPS ratio about 1.17 at 1024 MiB; on a small set the API calls per ZIP dominate"
mkset "$W/set" "$SET_MB"
standin http
HTTP=$URL
standin https tls
HTTPS=$URL
for proto in HTTP HTTPS; do
	eval url=\$$proto
	settings "$url"
	tu=$(run_upload "$W/set")
	[ -d "$W/zips" ] || make_zips "$W/set" "$W/zips"
	tc=$(run_curl "$url" "$W/zips")
	zb=$(du -sb "$W/zips" | cut -f1)
	printf '%-5s np-upload %6.2f s (%6.0f MB/s, packaging + API calls included)   curl -T %6.2f s (%6.0f MB/s)   ratio %.2f\n' \
		"$proto" "$tu" "$(echo "$zb / $tu / 1000000" | bc -l)" "$tc" "$(echo "$zb / $tc / 1000000" | bc -l)" \
		"$(echo "$tu / $tc" | bc -l)"
done
rm -rf "$W/zips" "$W/set"
mkset "$W/big" "$RSS_MB"
settings "$HTTPS"
tb=$(run_upload "$W/big")
read -r rss _ user sys <"$W/rss"
printf 'RSS   np-upload of a %s MiB set over HTTPS: peak RSS %.1f MiB (target about 30), elapsed %.1f s, user %s s, sys %s s\n' \
	"$RSS_MB" "$(echo "$rss / 1024" | bc -l)" "$tb" "$user" "$sys"
