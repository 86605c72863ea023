#!/bin/sh
# np-recv against slow senders: peers that trickle their A-ASSOCIATE-RQ a
# byte a second are dropped when ARTIM runs out (a deadline from the
# accept, not a wait per read), connections from one address beyond
# dicom.max_associations_per_address are refused at once (A-ASSOCIATE-RJ
# transient, local-limit-exceeded), and a real PACS (storescu from another
# address) stores its study while that load runs. A P-DATA PDU begun must
# arrive at NP_UL_MIN_RATE (8 KiB/s, at least 10 s). The instance log
# slots a burst of associations made are removed once it is over.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/recv.sh"
command -v storescu >/dev/null || skip_all "dcmtk not installed"
python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.2", 0))' 2>/dev/null || skip_all "no 127.0.0.2 on loopback"
plan 23

SLOW="/usr/bin/python3 $NP_TOP/tests/peers/slow_rq.py"
/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/study" --ndir 1 --nsl 4 >/dev/null
N=$(find "$T/study" -name '*.dcm' | wc -l | tr -d ' ')
# ARTIM 8 s: a trickled request (about 120 bytes, one a second) never
# completes in it; 8 associations in all, 4 from one address.
recv_config '{"bind": "127.0.0.1", "ae_title": "NP_TEST", "max_associations": 8, "max_associations_per_address": 4, "artim_seconds": 8, "idle_seconds": 300}'
NP_RECV_WAL_TRIM_SECONDS=2 recv_start

# 12 slow peers from 127.0.0.2 (more than max_associations), one peer from
# 127.0.0.1 that trickles a P-DATA PDU once associated.
$SLOW "$RECV_PORT" NP_TEST 127.0.0.2 12 trickle 1 40 "$T/ready" >"$T/slow.out" 2>"$T/slow.err" &
SLOW_PID=$!
at_exit "kill $SLOW_PID 2>/dev/null"
$SLOW "$RECV_PORT" NP_TEST 127.0.0.1 1 pdata 1 40 >"$T/pdata.out" 2>&1 &
PDATA_PID=$!
at_exit "kill $PDATA_PID 2>/dev/null"
wait_for "test -f '$T/ready'" 20
sleep 1

# The PACS comes while the slow peers hold their slots.
t0=$(date +%s)
ok "storescu of $N instances gets through beside 12 slow peers" timeout 30 storescu -aec NP_TEST +sd +r +sp '*.dcm' 127.0.0.1 "$RECV_PORT" "$T/study"
t1=$(date +%s)
ok "... within a few seconds ($((t1 - t0)) s)" test $((t1 - t0)) -le 15
is "$(incoming_count)" "$N" "every instance is in incoming/"

wait "$SLOW_PID"
wait "$PDATA_PID"
diag "slow peers: $(tr '\n' ',' <"$T/slow.out")"
diag "pdata peer: $(cat "$T/pdata.out")"
is "$(grep -c ' rj-2-3-2 ' "$T/slow.out")" 8 "8 of 12 slow peers from one address refused at once (transient, local-limit-exceeded)"
is "$(awk '$2 ~ /^rj/ && $3 < 5' "$T/slow.out" | wc -l | tr -d ' ')" 8 "... without waiting"
is "$(awk '$2 == "closed"' "$T/slow.out" | wc -l | tr -d ' ')" 4 "the 4 let in were dropped"
is "$(awk '$2 == "closed" && $3 >= 6 && $3 <= 25' "$T/slow.out" | wc -l | tr -d ' ')" 4 "... by the ARTIM deadline (8 s from the accept), not after each byte"
like "$(cat "$T/pdata.out")" '^0 (abort|closed) ([89]|1[0-9]|2[0-5])\.' "a P-DATA PDU trickled after association is aborted (10 s floor at 8 KiB/s)"
like "$(grep 'association refused' "$T/recv.log" | head -1)" 'already open \(from this address, dicom.max_associations_per_address\) peer=127\.0\.0\.2:' "the per-address refusal is logged"
ok "... a few lines for a flood, not one per connection" test "$(grep -c 'association refused' "$T/recv.log")" -le 4
like "$(grep -c 'ARTIM expired: A-ASSOCIATE-RQ not complete within 8 s' "$T/recv.log")" '^4$' "the ARTIM drops are logged"
like "$(grep 'timed out reading a PDU' "$T/recv.log" | head -1)" 'slower than 8192 bytes/s' "the slow PDU is logged"
nok "no PHI in the log" grep -Eq 'Doe|John|SSN' "$T/recv.log"

# Instance log slots: 6 associations at once (two addresses, 3 each) make
# 6 slots of 32 MiB; once they are gone and np-recv has had no more than
# the 4 made at start in use for NP_RECV_WAL_TRIM_SECONDS, it is 4 again.
slots() { ls "$NP_HOME/spool/wal" | grep -c '^slot-'; }
$SLOW "$RECV_PORT" NP_TEST 127.0.0.3 3 hold 4 30 >"$T/hold3.out" 2>&1 &
H3=$!
$SLOW "$RECV_PORT" NP_TEST 127.0.0.4 3 hold 4 30 >"$T/hold4.out" 2>&1 &
H4=$!
wait "$H3"
wait "$H4"
peak=$(slots)
is "$peak/$(cat "$T/hold3.out" "$T/hold4.out" | grep -c released)" "6/6" "a burst of 6 associations makes 6 log slots"
wait_for "test \$(ls '$NP_HOME/spool/wal' | grep -c '^slot-') -eq 4" 30
is "$(slots)" 4 "idle, they shrink back to the 4 made at start"
recv_stop

# Slow senders from 4 addresses, each within its share (2 of 8), fill
# dicom.max_associations and connect again whenever they are cut off; ARTIM
# (30 s) would free nothing during the test. A new connection takes the
# place of the oldest one still sending its request, so storescu from
# 127.0.0.1 every 2 s gets in (the slow peers only push each other out).
: >"$T/recv.log"
recv_config '{"bind": "127.0.0.1", "ae_title": "NP_TEST", "max_associations": 8, "max_associations_per_address": 2, "artim_seconds": 30, "idle_seconds": 300}'
recv_start
for a in 2 3 4 5; do
	$SLOW "$RECV_PORT" NP_TEST "127.0.0.$a" 2 retrickle 1 28 "$T/ready$a" >"$T/re$a.out" 2>&1 &
	eval "RE$a=\$!"
	at_exit "kill \$RE$a 2>/dev/null"
done
wait_for "test -f '$T/ready2' -a -f '$T/ready3' -a -f '$T/ready4' -a -f '$T/ready5'" 20
sleep 1
F=$(find "$T/study" -name '*.dcm' | head -1)
tries=0 oks=0 t0=$(date +%s)
while [ $(($(date +%s) - t0)) -lt 20 ]; do
	tries=$((tries + 1))
	timeout 15 storescu -aec NP_TEST 127.0.0.1 "$RECV_PORT" "$F" 2>>"$T/storescu.err" && oks=$((oks + 1))
	sleep 2
done
for a in 2 3 4 5; do eval "wait \$RE$a"; done
diag "storescu $oks of $tries; slow peers: $(cat "$T"/re?.out | awk '{print $2}' | sort | uniq -c | tr '\n' ' ')"
ok "storescu beside slow senders from 4 addresses filling dicom.max_associations: $oks of $tries (>= 90%)" \
	test $((oks * 10)) -ge $((tries * 9)) -a "$tries" -ge 6
is "$(cat "$T"/re?.out | awk '$2 ~ /^(ac|rj)/' | wc -l | tr -d ' ')" 0 "no slow peer was answered (no association, no refusal)"
ok "slow peers were given up for new connections, long before ARTIM" \
	test "$(cat "$T"/re?.out | awk '$2 == "closed" && $3 < 25' | wc -l)" -ge "$oks"
like "$(grep 'gave up peer' "$T/recv.log" | head -1)" 'dicom.max_associations reached: gave up peer=127\.0\.0\.[2-5]:[0-9]+, which had not sent its whole A-ASSOCIATE-RQ in [0-9]+ s, for peer=' "the eviction is logged"
ok "... a few lines, not one per connection ($(grep -c 'gave up peer' "$T/recv.log"))" test "$(grep -c 'gave up peer' "$T/recv.log")" -le 8
is "$(grep -c 'ARTIM expired:' "$T/recv.log")" 0 "... and the evicted are not logged as ARTIM drops"
recv_stop

# On the TLS port ARTIM covers the handshake too: a ClientHello sent a byte
# a second is cut off at the deadline (OpenSSL waits per read).
P=$T/pki
sh "$NP_TOP/tests/peers/mkpki.sh" "$P" >/dev/null
recv_config "{\"bind\": \"127.0.0.1\", \"ae_title\": \"NP_TEST\", \"artim_seconds\": 4,
  \"tls\": {\"enabled\": true, \"cert_file\": \"$P/server.crt\", \"key_file\": \"$P/server.key\"}}"
recv_start
$SLOW "$RECV_PORT" NP_TEST 127.0.0.1 2 tls 1 20 >"$T/tls.out" 2>&1
diag "TLS peers: $(tr '\n' ',' <"$T/tls.out")"
is "$(awk '$2 == "closed" && $3 >= 3 && $3 <= 15' "$T/tls.out" | wc -l | tr -d ' ')" 2 "a trickled TLS handshake is dropped at the ARTIM deadline (4 s)"
is "$(grep -c 'ARTIM expired: no TLS handshake within 4 s' "$T/recv.log")" 2 "... and logged"
recv_stop
