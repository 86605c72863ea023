#!/bin/sh
# np-group: create, assign with the same-products rule, rename, unassign, delete;
# names that no URL can carry ('a/b', '..'), control characters, empty or too
# long are refused at create and rename (CLI and API), and a group named so
# before the check is reached as id:N (show, rename, report, delete).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
plan 84
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

# ---- names ----
refused() { # refused NAME REASON
	out=$("$BIN/np-group" create "$1" 2>&1); rc=$?
	if [ "$rc" = 100 ] && printf '%s' "$out" | grep -qF "invalid group name: $2"; then _tap_result 0 "create $3 is refused"
	else _tap_result 1 "create $3 is refused"; diag "rc=$rc $out"; fi
}
refused a/b "it has a '/' or '\\'" "a/b"
refused .. "it is '.' or '..'" ".."
refused . "it is '.' or '..'" "."
refused ../../x "it has a '/'" "../../x"
refused 'a\b' "it has a '/' or '\\'" "a\\b"
refused "$(printf 'a\tb')" "it has a control character" "a TAB b"
refused "$(printf 'a\033[31mb')" "it has a control character" "an ANSI escape"
refused "" "it is empty" "an empty name"
refused "$(printf '%0129d' 0)" "it is longer than 128 bytes" "129 bytes"
refused "$(printf 'caf\351')" "it is not valid UTF-8" "Latin-1 bytes"
refused " A" "it starts or ends with a blank" "a leading blank"
refused "$(printf 'a\302\205b')" "it has a control character U+0085" "a C1 control (NEL)"
refused "$(printf 'a\342\200\256b')" "it has an invisible or direction-changing character U+202E" "a right-to-left override"
refused "$(printf 'a\342\200\213b')" "it has an invisible or direction-changing character U+200B" "a zero-width space"
refused "id:12" "'id:N' is how a group is named by its id" "id:12"
ok "128 bytes of UTF-8 (accents, '..' inside) are fine" "$BIN/np-group" create "$(printf '%0120d' 0)Zoë..x"
ok "a group to rename" "$BIN/np-group" create Good
out=$("$BIN/np-group" rename Good "x/y" 2>&1); rc=$?
is "$rc" 100 "rename to a/b is refused"
like "$out" "invalid new group name: it has a '/'" "... saying why"
nok "... and the name is not echoed" sh -c "printf '%s' '$out' | grep -q x/y"

# groups named before the check, as an older version let them be
DB=$NP_HOME/db/agent.sqlite
c=$($MK "$NP_HOME" done)
for n in 'a/b' '..' '../../x' "$(printf 'bad\033]0;x\007name')"; do
	sqlite3 "$DB" "INSERT INTO groups (name, products, created_at) VALUES ('$n', '[\"$P\"]', '2026-11-20T10:00:00Z')"
done
id() { sqlite3 "$DB" "SELECT rowid FROM groups WHERE name='$1'"; }
ok "assign id:N puts a study into the group 'a/b'" "$BIN/np-group" assign "id:$(id a/b)" "$c"
list=$("$BIN/np-group" list)
like "$list" "^a/b	.*	id:$(id a/b)$" "list shows every group with its id"
like "$list" 'bad\\x1b]0;x\\x07name' "... a control character in an old name escaped, not sent to the terminal"
like "$("$BIN/np-group" show "id:$(id ..)")" '"name": "\.\."' "show id:N reads a group named '..'"
ok "rename id:N gives '../../x' a usable name" "$BIN/np-group" rename "id:$(id ../../x)" "x from old"
is "$(sqlite3 "$DB" "SELECT group_concat(name) FROM groups WHERE name IN ('x from old', '../../x')")" "x from old" "... it is renamed"
out=$("$BIN/np-group" show id:99999 2>&1); rc=$?
is "$rc" 100 "an unknown id is refused"
like "$out" "no group has the id 99999" "... saying so"

J='Content-Type: application/json'
start_httpd --insecure-no-auth
post() { req POST /api/groups -H "$J" -d "$1"; }
for n in '"a/b"' '".."' '"."' '"../../x"' '"a\u0001b"' '"a\u0085b"' '"a\u202eb"' '"a\u200bb"' '"a\u2066b"' '"a\ufeffb"' \
	'"a\u00adb"' '""' "\"$(printf '%0129d' 0)\"" '"id:3"' '5'; do
	is "$(post "{\"name\":$n,\"products\":[\"$P\"]}")" 400 "POST /api/groups name $n is refused"
done
post '{"name":"a/b"}' >/dev/null
like "$(jget "$T/body" error.message)" "^name: it has a '/' or '\\\\' \(a group name is 1-128 bytes" "... with what is wrong and the rule"
post '{"products":[]}' >/dev/null
like "$(jget "$T/body" error.message)" "^name: it is missing \(a string\)" "... a missing name too"
post "{\"name\":\"a\\u202eb\",\"products\":[\"$P\"]}" >/dev/null
like "$(jget "$T/body" error.message)" "^name: it has an invisible or direction-changing character U\+202E \(" "... an invisible character named by its code point"
post "{\"name\":\"a\\u0085b\",\"products\":[\"$P\"]}" >/dev/null
like "$(jget "$T/body" error.message)" "^name: it has a control character U\+0085 \(" "... a C1 control too"
# All studies of a group use its products (the UI's form asks for them; an
# upload to the group takes them): the API requires at least one.
for b in '{"name":"No P"}' '{"name":"No P","products":[]}' '{"name":"No P","products":null}' \
	'{"name":"No P","products":"x"}' '{"name":"No P","products":[5]}' '{"name":"No P","products":[""]}'; do
	is "$(post "$b")" 400 "POST /api/groups $b is refused"
done
like "$(post '{"name":"No P"}' >/dev/null; jget "$T/body" error.message)" "^products: an array of at least one product id" "... saying products are needed"
is "$(req GET '/api/groups/No%20P')" 404 "... and no group was made"
is "$(post "{\"name\":\"Trial C\",\"products\":[\"$P\"]}")" 201 "a good name is created"
is "$(post "{\"name\":\"Zo\\u00eb \\u65e5\\u672c \\u2014 \\u0645\\u0631\\u062d\\u0628\\u0627\",\"products\":[\"$P\"]}")" 201 "accents, CJK, dashes and Arabic letters are fine"
req GET /api/groups >/dev/null
is "$(jq -r '.items[] | select(.name == "..") | .id' "$T/body")" "$(id ..)" "GET /api/groups gives each group's id"
is "$(req GET "/api/groups/id:$(id ..)")" 200 "GET /api/groups/id:N reads the group named '..'"
is "$(jget "$T/body" name)" ".." "... by its id"
is "$(req GET "/api/groups/id:$(id a/b)/report")" 200 "the report of 'a/b' by its id"
like "$(grep -i '^Content-Disposition' "$T/headers")" 'filename="a_b_' "... in a file with a safe name"
grep -qF "$c" "$T/body"; is "$?" 0 "... listing its study"
is "$(req DELETE "/api/groups/id:$(id a/b)?force=1")" 200 "DELETE /api/groups/id:N deletes 'a/b'"
is "$(jget "$T/body" name)" "a/b" "... naming it"
is "$(/usr/bin/python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["group"])' "$NP_HOME/spool/done/$c/manifest.json")" \
	None "... its study is out of the group"
is "$(req GET /api/groups/id:99999)" 404 "an unknown id is 404"
is "$(req GET '/api/groups/Trial%20C')" 200 "a group is still read by its name"
