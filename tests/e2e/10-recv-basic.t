#!/bin/sh
# np-recv with DCMTK peers on loopback: C-ECHO, C-STORE of a study stored
# byte-identical, the incoming/ contract (npuid, source.json, .lock), called
# and calling AE rejections (logged, recorded as events), re-sent instances,
# SIGHUP reload, SIGTERM, no PHI in the log; --aet takes an AE title by the
# rules of dicom.ae_title (refused with the reason, exit 100, never cut).
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/recv.sh"
command -v storescu >/dev/null || skip_all "dcmtk not installed"
plan 30

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
is "$(ls "$NP_HOME/spool/incoming/.tmp" | wc -l | tr -d ' ')" 0 "nothing left in np-recv's temporary folder (spool/incoming/.tmp)"

nok "wrong called AE is rejected" echoscu -aec OTHER 127.0.0.1 "$RECV_PORT"
# np-recv logs and records a rejection after sending it: echoscu may be back first
wait_for "grep -q 'association rejected' '$T/recv.log'" 10
like "$(grep 'association rejected' "$T/recv.log" | tail -1)" 'reason=called-AE-title-not-recognized' "called AE rejection logged with its reason"
nok "calling AE not in the allowed list is rejected" echoscu -aet INTRUDER -aec NP_TEST 127.0.0.1 "$RECV_PORT"
wait_for "grep -q 'calling_ae=INTRUDER' '$T/recv.log' && [ \$(ls '$NP_HOME/spool/events' | wc -l) -ge 2 ]" 10
like "$(grep 'association rejected' "$T/recv.log" | tail -1)" 'calling_ae=INTRUDER .*reason=calling-AE-title-not-recognized' "calling AE rejection logged"
# np-recv does not open the index: it leaves each event in spool/events,
# which np-stable takes in on its next pass.
is "$(ls "$NP_HOME/spool/events" | wc -l | tr -d ' ')" 2 "each rejection is left for the index in spool/events"
"$SBIN/np-stable" --once 2>/dev/null
is "$(sqlite3 "$NP_HOME/db/agent.sqlite" "select count(*) from events where type='association_rejected'")" 2 "rejections recorded as events (np-stable's pass)"
is "$(ls "$NP_HOME/spool/events" | wc -l | tr -d ' ')" 0 "... and taken out of spool/events"
printf '{"type":"sessions_revoked","detail":"x"}' >"$NP_HOME/spool/events/1-forged.json"
"$SBIN/np-stable" --once 2>"$T/stable.err"
is "$(sqlite3 "$NP_HOME/db/agent.sqlite" "select count(*) from events where type='sessions_revoked'")" 0 "an event of a kind np-recv never records is not taken"
like "$(cat "$T/stable.err")" 'dropped an event file np-recv could not have written' "... and np-stable says so"

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

# --aet: a title the settings would refuse is refused before np-recv listens
# (a timeout stands for "it started anyway").
recv_config '{"bind": "127.0.0.1", "ae_title": "NP_TEST", "allowed_calling_aets": ["ECHOSCU"]}'
aet() { _o=$(timeout 10 "$SBIN/np-recv" --port "$(free_port)" --aet "$1" 2>&1); echo "$_o rc=$?" | tr '\n' ' '; }
out=$(aet NEUROPACS_AE_X177)
like "$out" 'rc=100 $' "--aet of 17 characters: exit 100"
like "$out" 'np-recv: fatal: - --aet: at most 16 characters \(got 17\)' "... saying which option and why (not cut to 16)"
like "$(aet 'NP\TEST')" 'an AE title cannot contain a backslash.*rc=100 $' "--aet with a backslash is refused"
like "$(aet '    ')" 'an AE title cannot be only spaces.*rc=100 $' "--aet of only spaces is refused"
recv_start --aet NEUROPACS_AE_X16
ok "--aet of 16 characters is our AE title" echoscu -aec NEUROPACS_AE_X16 127.0.0.1 "$RECV_PORT"
like "$(grep 'listening' "$T/recv.log" | tail -1)" 'ae=NEUROPACS_AE_X16 ' "... in full"
recv_stop
