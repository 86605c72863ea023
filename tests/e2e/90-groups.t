#!/bin/sh
# np-group: create, assign with the same-products rule, rename, unassign, delete.
. "$(dirname "$0")/../lib/tap.sh"
plan 16
MK=$NP_TOP/tests/data/make_group_study.py
P=Atypical/MSAp/PSP-v1.0
mkdir -p "$NP_HOME/spool/done"
a=$($MK "$NP_HOME" done --order O-1)
b=$($MK "$NP_HOME" done --order O-2)
x=$($MK "$NP_HOME" done --products "AIDP,$P")

ok "create a group with products" "$BIN/np-group" create "Trial A" --products "$P" --description "cohort 1"
out=$("$BIN/np-group" create "Trial A" 2>&1); rc=$?
is "$rc" 100 "a second group with the same name is refused"
ok "assign two studies" "$BIN/np-group" assign "Trial A" "$a" "$b"
out=$("$BIN/np-group" assign "Trial A" "$x" 2>&1); rc=$?
is "$rc" 100 "a study with other products is refused (exit 100)"
like "$out" "same products: study $x uses \[\"AIDP\",\"Atypical/MSAp/PSP-v1.0\"\] but group \"Trial A\" uses \[\"Atypical/MSAp/PSP-v1.0\"\]" \
	"the error names both product lists"
is "$(/usr/bin/python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["group"])' "$NP_HOME/spool/done/$x/manifest.json")" \
	None "the refused study stays ungrouped"
is "$(/usr/bin/python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["group"])' "$NP_HOME/spool/done/$a/manifest.json")" \
	"Trial A" "the group is in the study's manifest"
like "$("$BIN/np-group" list)" "^Trial A	2 studies	2 finished	complete" "list shows counts and completion"
show=$("$BIN/np-group" show "Trial A")
like "$show" "\"description\": \"cohort 1\"" "show prints the group as JSON"
nok "show never prints the study name (PHI)" sh -c "echo '$show' | grep -q CANARY"
ok "rename" "$BIN/np-group" rename "Trial A" "Trial B"
is "$(/usr/bin/python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["group"])' "$NP_HOME/spool/done/$b/manifest.json")" \
	"Trial B" "rename updates every manifest"
out=$("$BIN/np-group" delete "Trial B" 2>&1); rc=$?
is "$rc" 100 "a group with studies is not deleted without --force"
ok "unassign" "$BIN/np-group" unassign "$a"
ok "delete --force unassigns the rest" "$BIN/np-group" delete --force "Trial B"
rm -f "$NP_HOME"/db/agent.sqlite*
is "$("$BIN/np-group" list)" "" "after an index rebuild no group comes back from the manifests"
