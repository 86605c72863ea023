#!/bin/sh
# np-report GROUP: the Prediction Indexes CSV (rows, columns, RFC 4180 quoting, file name).
. "$(dirname "$0")/../lib/tap.sh"
plan 9
MK=$NP_TOP/tests/data/make_group_study.py
P=Atypical/MSAp/PSP-v1.0
mkdir -p "$NP_HOME/spool/done" "$NP_HOME/etc"
a=$($MK "$NP_HOME" done --order O-1 --created 2026-11-20T10:00:00.000Z --date 2026-11-21 --name 'Smith, "Jo"' \
	--result "$P:Atypical=0.913" --result "$P:PSPvsMSAp=0.944" --result "$P:FWpSN=0.28" --result "$P:FWMCP=0.1")
b=$($MK "$NP_HOME" failed --order O-2 --created 2026-11-20T11:00:00.000Z --name '=HYPERLINK("x")')
c=$($MK "$NP_HOME" done --order 'O,3' --created 2026-11-20T12:00:00.000Z --date 2026-11-22 --name 'line
break' --result "$P:Atypical=0.2" --result "$P:FWpSN=0.31" --result "$P:Extra=x")
"$BIN/np-group" create "Trial:..*A" --products "$P" 2>/dev/null
"$BIN/np-group" assign "Trial:..*A" "$a" "$b" "$c" 2>/dev/null
CR=$(printf '\r')
"$BIN/np-report" "Trial:..*A" > "$T/r.csv"
is "$(head -1 "$T/r.csv")" "npuid,order_id,state,date,$P:Atypical,$P:PSPvsMSAp,$P:FWpSN,$P:FWMCP,$P:Extra$CR" \
	"header: ids, then the product's indexes in the IFU's order, then others"
is "$(sed -n 2p "$T/r.csv")" "$a,O-1,done,2026-11-21,0.913,0.944,0.28,0.1,$CR" "a study with all indexes"
is "$(sed -n 3p "$T/r.csv")" "$b,O-2,failed,2026-11-20,,,,,$CR" "a failed study has empty indexes and its received date"
is "$(sed -n 4p "$T/r.csv")" "$c,\"O,3\",done,2026-11-22,0.2,,0.31,,x$CR" "a comma is quoted (RFC 4180)"
is "$(wc -l < "$T/r.csv" | tr -d ' ')" 4 "one row per study"
nok "no study name unless the setting allows it" grep -q CANARY "$T/r.csv"
echo '{"groups": {"include_study_name": true}}' > "$NP_HOME/etc/neuropacs.json"
"$BIN/np-report" "Trial:..*A" > "$T/n.csv"
/usr/bin/python3 - "$T/n.csv" > "$T/names" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
print(rows[0][1]); print("|".join(r[1] for r in rows[1:]))
PY
is "$(cat "$T/names")" "study_name
Smith, \"Jo\"|'=HYPERLINK(\"x\")|line
break" "study names round-trip through a CSV reader, formulas defused"
out=$("$BIN/np-report" --save "$T" "Trial:..*A")
like "$out" "^$T/Trial_.._A_prediction_indexes_[0-9]{4}-[0-9]{2}-[0-9]{2}\.csv$" "the file name is the template with a safe group name"
ok "the saved file is the report" cmp "$out" "$T/n.csv"
