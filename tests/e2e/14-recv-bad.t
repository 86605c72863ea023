#!/bin/sh
# np-recv against bad input from a scripted peer (tests/peers/pdu.py):
# garbage, truncated PDUs, lengths beyond the data, PDVs for a context that
# was not accepted, a data set whose SOP Instance UID differs from the
# command's, a Color Palette context (refused: not a patient's instance), an
# instance without Study Instance UID, a C-STORE on another class's context, a peer vanishing mid-instance, a full disk (fault injection),
# an unsafe Study Instance UID, ARTIM. Nothing partial may reach incoming/.
# SIGTERM during an instance: it is finished and acknowledged first. Last,
# np-recv without its instance log.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/recv.sh"
plan 29
PDU=$NP_TOP/tests/peers/pdu.py
recv_config '{"artim_seconds": 1}'
# the disk "fills up" after 1 MB of data set bytes per association
NP_RECV_FAULT_ENOSPC=1000000 recv_start
run() { /usr/bin/python3 "$PDU" "$RECV_PORT" NEUROPACS_SCP "$@" 2>&1; }

is "$(run contexts)" "pc 1 0 pc 3 3 pc 5 4" "contexts: storage accepted, C-FIND class and unknown syntax refused with their reasons"
is "$(run garbage)" "abort" "an unknown PDU type gets an A-ABORT"
is "$(run truncated-rq)" "sent" "a truncated A-ASSOCIATE-RQ ..."
is "$(run biglen)" "abort" "a P-DATA longer than the announced maximum gets an A-ABORT"
is "$(run pdvlen)" "abort" "a PDV longer than its PDU gets an A-ABORT"
is "$(run badpc)" "abort" "a PDV for a context that was not accepted gets an A-ABORT"
is "$(run truncated-pdu)" "sent" "a P-DATA cut short ..."
is "$(run mismatch)" "status a900" "a data set whose SOP Instance UID differs from the command gets A900"
is "$(run vanish)" "vanished" "a peer vanishing mid-instance ..."
is "$(run big)" "status a700" "a full disk gets A700"
is "$(run palette)" "pc 1 0 pc 3 3" "a Color Palette context is refused at negotiation (not a patient's instance)"
like "$(grep 'contexts refused' "$T/recv.log" | tail -1)" "calling=BADPEER abstract_syntaxes=1.2.840.10008.5.1.4.39.1 \\(Color Palette Storage, not a patient's instance\\)" \
	"... and the refused class is logged by UID and name"
is "$(run nostudy)" "status a900" "an instance without Study Instance UID gets A900"
like "$(grep 'without Study Instance UID' "$T/recv.log" | tail -1)" "status=A900 sop_class=1.2.840.10008.5.1.4.1.1.4 \\(MR Image Storage\\) calling=BADPEER" \
	"... logged with its SOP class"
is "$(run wrongclass)" "status a900" "a C-STORE whose SOP Class is not its context's gets A900"
like "$(grep 'not its presentation context' "$T/recv.log" | tail -1)" "sop_class=1.2.840.10008.5.1.4.1.1.2 \\(CT Image Storage\\) context=1.2.840.10008.5.1.4.1.1.4 " \
	"... and is logged (it was not)"
is "$(incoming_count)" 0 "nothing of the refused, vanished or disk-full instances reached incoming/"
wait_for "[ -z \"\$(ls '$NP_HOME/spool/incoming/.tmp')\" ]" 5
is "$(ls "$NP_HOME/spool/incoming/.tmp" | wc -l | tr -d ' ')" 0 "and no partial file stays in spool/incoming/.tmp"
is "$(run store)" "status 0000" "np-recv still serves a good instance afterwards"
is "$(run unsafe)" "status 0000" "an unsafe Study Instance UID is stored ..."
U=$(ls "$NP_HOME/spool/incoming" | grep '^unsafe-')
like "$U" '^unsafe-[0-9a-f]{32}$' "... under a safe name"
like "$(cat "$NP_HOME/spool/incoming/$U/source.json")" '"unsafe_study_uid": ?true' "... and flagged in source.json"
like "$(run artim)" "closed after [12] s" "a silent peer is dropped when ARTIM expires"
kill -0 "$RECV_PID"
is "$?" 0 "np-recv survived it all"

run slow >"$T/slow" &
SLOW=$!
sleep 0.7
kill -TERM "$RECV_PID"
wait "$SLOW"
is "$(cat "$T/slow")" "status 0000 then abort" "SIGTERM mid-instance: the instance is finished and acknowledged, then the association aborted"
wait "$RECV_PID"
is "$?" 0 "np-recv exits 0 after SIGTERM"
like "$(tail -3 "$T/recv.log")" "end=stopped" "the association ends as stopped"

# Without its instance log (spool/wal is a file here) np-recv says why and
# makes each instance durable by fsyncing the file and its folder instead.
rm -rf "$NP_HOME/spool/wal"
: >"$NP_HOME/spool/wal"
recv_start
is "$(run store)" "status 0000" "without its instance log np-recv still stores and acknowledges"
like "$(cat "$T/recv.log")" "instance log unavailable, fsyncing every file instead" "... and says so"
recv_stop
