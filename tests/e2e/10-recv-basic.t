#!/bin/sh
# np-recv with DCMTK peers on loopback: C-ECHO, C-STORE of a study stored
# byte-identical, the incoming/ contract (npuid, source.json, .lock), called
# and calling AE rejections (logged, recorded as events), re-sent instances,
# SIGHUP reload, SIGTERM, no PHI in the log.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/recv.sh"
command -v storescu >/dev/null || skip_all "dcmtk not installed"
plan 20

/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/study" --ndir 6 --nsl 4 >/dev/null
N=$(find "$T/study" -name '*.dcm' | wc -l | tr -d ' ')
recv_config '{"ae_title": "NP_TEST", "allowed_calling_aets": ["ECHOSCU", "STORESCU", "NP_SCU"]}'
recv_start

ok "C-ECHO" echoscu -aec NP_TEST 127.0.0.1 "$RECV_PORT"
ok "C-STORE of $N instances" storescu -aec NP_TEST +sd +r +sp '*.dcm' 127.0.0.1 "$RECV_PORT" "$T/study"
is "$(incoming_count)" "$N" "every instance is in incoming/"
is "$(ls "$NP_HOME/spool/incoming" | wc -l | tr -d ' ')" 1 "one study folder"
S=$(ls -d "$NP_HOME"/spool/incoming/*)
"$NP_TOP/tests/peers/dsum.py" $(find "$T/study" -name '*.dcm') >"$T/sent"
"$NP_TOP/tests/peers/dsum.py" "$S"/*.dcm >"$T/got"
ok "data sets are byte-identical to what was sent" cmp "$T/sent" "$T/got"
ok "stored files are Part 10 (dcmftest)" dcmftest "$S"/*.dcm
ok "npuid is a UUIDv4" grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "$S/npuid"
like "$(cat "$S/source.json")" '"calling_ae": ?"STORESCU".*"first_arrival"' "source.json records the calling AE and first arrival"
ok ".lock exists for np-stable" test -f "$S/.lock"
is "$(ls "$NP_HOME/spool/tmp" | wc -l | tr -d ' ')" 0 "nothing left in spool/tmp"

nok "wrong called AE is rejected" echoscu -aec OTHER 127.0.0.1 "$RECV_PORT"
like "$(grep 'association rejected' "$T/recv.log" | tail -1)" 'reason=called-AE-title-not-recognized' "called AE rejection logged with its reason"
nok "calling AE not in the allowed list is rejected" echoscu -aet INTRUDER -aec NP_TEST 127.0.0.1 "$RECV_PORT"
like "$(grep 'association rejected' "$T/recv.log" | tail -1)" 'calling_ae=INTRUDER .*reason=calling-AE-title-not-recognized' "calling AE rejection logged"
is "$(sqlite3 "$NP_HOME/db/agent.sqlite" "select count(*) from events where type='association_rejected'")" 2 "rejections recorded as events"

F=$(find "$T/study" -name '*.dcm' | head -1)
ok "re-sending an instance succeeds" storescu -aec NP_TEST 127.0.0.1 "$RECV_PORT" "$F"
is "$(incoming_count)" "$N" "a re-sent instance replaces the old one"

recv_config '{"ae_title": "NP_TEST", "allowed_calling_aets": ["INTRUDER"]}'
kill -HUP "$RECV_PID"
wait_for "grep -q 'settings reloaded' '$T/recv.log'" 10
ok "SIGHUP reloads the allowed calling AE titles" echoscu -aet INTRUDER -aec NP_TEST 127.0.0.1 "$RECV_PORT"

kill -TERM "$RECV_PID"
wait "$RECV_PID"
is "$?" 0 "SIGTERM stops np-recv with status 0"
nok "no PHI in the log" grep -Eq 'Doe|John|SSN' "$T/recv.log"
