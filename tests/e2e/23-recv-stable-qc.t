#!/bin/sh
# storescu -> np-recv -> np-stable (daemon) -> np-queue + np-qc, with a short
# stabilization period: a study sent in two associations with a pause shorter
# than the period is one study; a slow association that stays open longer than
# the period is not cut.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/recv.sh"
command -v storescu >/dev/null || skip_all "dcmtk not installed"
plan 11
PY=/usr/bin/python3
"$PY" "$NP_TOP/tests/data/make_mr_study.py" "$T/study" --ndir 6 --nsl 2 >/dev/null || bail "study generator failed"
N=$(find "$T/study" -name '*.dcm' | wc -l | tr -d ' ')
mkdir "$T/slow"; cp "$T/study/S001/"*.dcm "$T/slow/"
"$PY" "$NP_TOP/tests/data/qc_variant.py" "$T/slow" --set 0020,000D=1.2.826.0.1.3680043.8.498.777 >/dev/null
recv_config '{"ae_title": "NP_TEST", "stabilization_seconds": 3, "scan_interval_seconds": 1}'
recv_start
"$SBIN/np-stable" 2>>"$T/stable.log" & STABLE_PID=$!
at_exit "kill $STABLE_PID 2>/dev/null"
nstable() { ls "$NP_HOME/spool/stable" | wc -l | tr -d ' '; }

# Two associations, 0.5 s apart: one study.
storescu -aec NP_TEST +sd +r +sp '*.dcm' 127.0.0.1 "$RECV_PORT" "$T/study/S001" "$T/study/S002"
sleep 0.5
storescu -aec NP_TEST +sd +r +sp '*.dcm' 127.0.0.1 "$RECV_PORT" "$T/study/S003"
ok "stabilized after the quiet period" wait_for '[ "$(nstable)" = 1 ]' 30
id=$(ls "$NP_HOME/spool/stable")
is "$(jq -r '.counts.instances' "$NP_HOME/spool/stable/$id/manifest.json")" "$N" "both associations in one study"
is "$(jq -r '.source_ae' "$NP_HOME/spool/stable/$id/manifest.json")" STORESCU "calling AE recorded"

# A slow association: idle longer than the period between instances, never cut.
"$PLAIN/peers/np-scu" -c NP_TEST -d 4000 127.0.0.1 "$RECV_PORT" "$T/slow"/*.dcm > "$T/scu.out" 2>&1 & SCU=$!
at_exit "kill $SCU 2>/dev/null"
wait_for '[ -n "$(ls "$NP_HOME/spool/incoming" 2>/dev/null)" ]' 10
sleep 5
is "$(nstable)" 1 "no study cut while the association is open and idle"
wait "$SCU"
is "$?" 0 "slow association completed"
ok "the slow study is stabilized after the association ends" wait_for '[ "$(nstable)" = 2 ]' 30
slow=$(grep -l '"1.2.826.0.1.3680043.8.498.777"' "$NP_HOME"/spool/stable/*/manifest.json)
is "$(jq -r '.counts.instances' "$slow")" 3 "all three instances in one study"
is "$(ls "$NP_HOME/spool/incoming" | wc -l | tr -d ' ')" 0 "incoming/ is empty"

# QC under np-queue: failures are held in qc-failed/.
"$BIN/np-queue" --once stable qc-passed qc-failed -- "$BIN/np-qc" --quiet >/dev/null 2>>"$T/queue.log"
is "$(ls "$NP_HOME/spool/qc-failed" | wc -l | tr -d ' ')" 2 "QC failures (IFU descriptions) held in qc-failed/"
ok "qc.json written" test -f "$NP_HOME/spool/qc-failed/$id/qc.json"
kill "$STABLE_PID"; wait "$STABLE_PID"
nok "no PHI in the logs" grep -Eq "Doe|MRN-000123|19700101" "$T/stable.log" "$T/recv.log" "$T/queue.log"
