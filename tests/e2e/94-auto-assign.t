#!/bin/sh
# Auto-assign of new DICOM studies (groups.auto_assign) through np-stable:
# the group is created from the first study, a study with other products is
# left ungrouped, and a new study re-opens a completed group.
. "$(dirname "$0")/../lib/tap.sh"
plan 7
PY=/usr/bin/python3
D=$NP_TOP/tests/data
mkdir -p "$NP_HOME/etc"
cat > "$NP_HOME/etc/neuropacs.json" <<J
{"dicom": {"product_tag": {"group": "0009", "element": "1001", "creator": "NEUROPACS"}},
 "groups": {"auto_assign": true, "auto_assign_group": "Inbox"}}
J
"$PY" "$D/make_mr_study.py" "$T/s1" --ndir 6 --nsl 4 >/dev/null || bail "study generator failed"
"$PY" "$D/make_mr_study.py" "$T/s2" --ndir 6 --nsl 4 >/dev/null || bail "study generator failed"
"$PY" "$D/qc_variant.py" "$T/s2" --private "0009,NEUROPACS,01,LO,AIDP" >/dev/null
grp() { jq -r .group "$NP_HOME/spool/stable/$1/manifest.json"; }

uid=$("$PY" "$D/incoming_from.py" "$NP_HOME" "$T/s1")
n1=$(cat "$NP_HOME/spool/incoming/$uid/npuid")
"$SBIN/np-stable" --force "$uid" >/dev/null 2>>"$T/log"
is "$(grp "$n1")" "Inbox" "a new DICOM study lands in the auto-assign group"
like "$("$BIN/np-group" list 2>>"$T/log")" "^Inbox	1 studies	0 finished	open	\[\"Atypical/MSAp/PSP-v1.0\"\]" \
	"the group is created with the study's products"

uid=$("$PY" "$D/incoming_from.py" "$NP_HOME" "$T/s2")
n2=$(cat "$NP_HOME/spool/incoming/$uid/npuid")
"$SBIN/np-stable" --force "$uid" >/dev/null 2>>"$T/log"
is "$(grp "$n2")" "null" "a study with other products is not auto-assigned"
like "$(cat "$T/log")" "$n2 not auto-assigned to group \"Inbox\": products differ" "and the reason is logged"

# Complete the group, then a third study re-opens it.
mv "$NP_HOME/spool/stable/$n1" "$NP_HOME/spool/done/$n1"
sqlite3 "$NP_HOME/db/agent.sqlite" "UPDATE studies SET state='done' WHERE npuid='$n1'"
"$BIN/np-report" --auto 2>>"$T/log"
like "$("$BIN/np-group" list 2>>"$T/log")" "^Inbox	1 studies	1 finished	complete" "the group completes"
rm -rf "$T/s1"
"$PY" "$D/make_mr_study.py" "$T/s1" --ndir 6 --nsl 4 >/dev/null
uid=$("$PY" "$D/incoming_from.py" "$NP_HOME" "$T/s1")
"$SBIN/np-stable" --force "$uid" >/dev/null 2>>"$T/log"
like "$("$BIN/np-group" list 2>>"$T/log")" "^Inbox	2 studies	1 finished	open" "a new study re-opens it"
is "$(sqlite3 "$NP_HOME/db/agent.sqlite" "SELECT completed_at IS NULL FROM groups WHERE name='Inbox'")" 1 \
	"completed_at is cleared"
