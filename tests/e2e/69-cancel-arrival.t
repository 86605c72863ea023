#!/bin/sh
# Cancel and delete of a study on arrival (issue 17 section 3): np-recv,
# np-stable (the daemon, 3 s quiet period) and np-httpd, studies sent with
# storescu / np-scu, and POST /api/studies/{npuid}/cancel or DELETE
# /api/studies/{npuid} while the association runs, right after it ends, while
# np-stable builds the study in spool/tmp/st-NPUID (many tries to hit that
# window), and on a build whose process died. Every cancelled study ends in
# spool/cancelled/ with all its instances and index state cancelled; every
# deleted one is gone (no folder, no index row); none stays in incoming/ or
# tmp/, none reaches stable/, np-httpd never builds (nor crashes), and the
# answer never says "deleted" for a study that is not.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/recv.sh"
. "$NP_TOP/tests/lib/httpd.sh"
command -v storescu >/dev/null || skip_all "dcmtk not installed"
command -v dcmodify >/dev/null || skip_all "dcmodify (dcmtk) not installed"
plan 31

/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/study" --ndir 6 --nsl 2 --size 32 --ifu --seed 69 >/dev/null ||
	bail "study generator failed"
NFILES=$(find "$T/study" -name '*.dcm' | wc -l | tr -d ' ')
recv_config '{"ae_title": "NP_TEST", "stabilization_seconds": 3, "scan_interval_seconds": 1}'
recv_start
"$SBIN/np-stable" 2>>"$T/stable.log" &
STABLE_PID=$!
at_exit "stop_pid $STABLE_PID"
start_httpd --insecure-no-auth
sp=$NP_HOME/spool
db() { sqlite3 "$NP_HOME/db/agent.sqlite" "$1"; }

# variant NAME K: a copy of the study with a StudyInstanceUID of its own (K a number); prints the UID.
variant() {
	_u=1.2.826.0.1.3680043.8.498.69.$$.$2
	mkdir -p "$T/v/$1"
	cp -r "$T/study/." "$T/v/$1/"
	find "$T/v/$1" -name '*.dcm' -exec dcmodify -nb -m "(0020,000D)=$_u" {} + >/dev/null 2>&1
	echo "$_u"
}
# npuid_of UID: np-recv names the study on its first instance (incoming/UID/npuid).
npuid_of() {
	wait_for "[ -s '$sp/incoming/$1/npuid' ]" 20 >/dev/null && head -c 36 "$sp/incoming/$1/npuid"
}
# op cancel|delete NPUID: the API call; prints "CODE STATE"
op() {
	if [ "$1" = cancel ]; then _c=$(req POST "/api/studies/$2/cancel"); else _c=$(req DELETE "/api/studies/$2"); fi
	echo "$_c $(jget "$T/body" state)"
}
# ended_cancelled NPUID UID: in cancelled/ with every instance, nowhere else, index says cancelled, mark settled
ended_cancelled() {
	wait_for "[ -d '$sp/cancelled/$1' ] && [ ! -e '$sp/.marks/$1.json' ]" 15 &&
		[ "$(find "$sp/cancelled/$1/dicom" -name '*.dcm' | wc -l | tr -d ' ')" = "$NFILES" ] &&
		[ ! -e "$sp/incoming/$2" ] && [ ! -e "$sp/tmp/st-$1" ] && [ ! -e "$sp/stable/$1" ] &&
		[ "$(db "SELECT state FROM studies WHERE npuid='$1'")" = cancelled ]
}
# ended_deleted NPUID UID: no folder, no index row, no mark
ended_deleted() {
	wait_for "[ -z \"\$(find '$sp' -name '*$1*' -o -name '$2')\" ]" 15 &&
		[ "$(db "SELECT count(*) FROM studies WHERE npuid='$1'")" = 0 ]
}
# reply ACTION "CODE STATE": 200 with the end state, or 202 while np-stable is to settle it
reply_ok() {
	case "$1:$2" in
	cancel:"200 cancelled" | delete:"200 deleted" | *:"202 incoming") return 0 ;;
	esac
	diag "$1 answered $2"
	return 1
}

k=0
# ---- during the association (np-scu waits 300 ms between instances) ----
for a in cancel delete; do
	k=$((k + 1))
	u=$(variant "assoc-$a" $k)
	"$PLAIN/peers/np-scu" -c NP_TEST -d 300 127.0.0.1 "$RECV_PORT" $(find "$T/v/assoc-$a" -name '*.dcm' | sort) >"$T/scu-$a.out" 2>&1 &
	scu=$!
	n=$(npuid_of "$u")
	r=$(op $a "$n")
	[ -e "$sp/incoming/$u" ] && kill -0 $scu 2>/dev/null && when="while the association sends" || when="(association over)"
	ok "$a during the association: the answer ($r) $when" reply_ok $a "$r"
	wait $scu
	if [ $a = cancel ]; then
		ok "... the study ends cancelled once the association ends, with all its instances" ended_cancelled "$n" "$u"
	else
		ok "... the study is gone, and no later instance of the association lands anywhere" ended_deleted "$n" "$u"
	fi
done

# ---- right after the association (as 99e-admin-week does on Sunday) ----
for i in 1 2; do
	for a in cancel delete; do
		k=$((k + 1))
		u=$(variant "after-$a-$i" $k)
		storescu -aec NP_TEST +sd +r +sp '*.dcm' 127.0.0.1 "$RECV_PORT" "$T/v/after-$a-$i" >>"$T/storescu.log" 2>&1
		n=$(npuid_of "$u")
		r=$(op $a "$n")
		ok "$a right after the association ($i): the answer ($r)" reply_ok $a "$r"
		if [ $a = cancel ]; then
			ok "... the study ends cancelled within seconds" ended_cancelled "$n" "$u"
		else
			ok "... the study is gone" ended_deleted "$n" "$u"
		fi
	done
done
ok "np-httpd is still running (it builds no study itself)" kill -0 "$HTTPD_PID"

# ---- while np-stable builds the study (spool/tmp/st-NPUID) ----
caught=0 bad_reply="" bad_end=""
for i in 1 2 3 4 5 6; do
	for a in cancel delete; do
		k=$((k + 1))
		u=$(variant "build-$a-$i" $k)
		storescu -aec NP_TEST +sd +r +sp '*.dcm' 127.0.0.1 "$RECV_PORT" "$T/v/build-$a-$i" >>"$T/storescu.log" 2>&1
		n=$(npuid_of "$u")
		# fire the moment the build folder appears (or the study reached stable/)
		j=0
		while [ ! -d "$sp/tmp/st-$n" ] && [ ! -d "$sp/stable/$n" ] && [ $j -lt 20000 ]; do j=$((j + 1)); done
		[ -d "$sp/tmp/st-$n/dicom" ] && caught=$((caught + 1))
		r=$(op $a "$n")
		reply_ok $a "$r" || bad_reply="$bad_reply $a-$i:$r"
		if [ $a = cancel ]; then ended_cancelled "$n" "$u" || bad_end="$bad_end $a-$i"; else ended_deleted "$n" "$u" || bad_end="$bad_end $a-$i"; fi
	done
done
diag "$caught of 12 requests came while np-stable was building the study"
is "$bad_reply" "" "12 cancels and deletes while np-stable builds: each answer is the end state or 202"
is "$bad_end" "" "... each study ends cancelled (all instances) or gone"

# ---- a build whose process died (a killed np-stable --force): no restart needed ----
# build NAME: spool/tmp/st-NPUID as a build leaves it after moving the study out of incoming/
build() {
	_n=$(cat /proc/sys/kernel/random/uuid)
	_u=$(variant "$1" "$2")
	mkdir -p "$sp/tmp/st-$_n/dicom"
	_i=0
	for _f in $(find "$T/v/$1" -name '*.dcm'); do
		_i=$((_i + 1))
		cp "$_f" "$sp/tmp/st-$_n/dicom/$_i.dcm"
	done
	printf '%s\n' "$_n" >"$sp/tmp/st-$_n/dicom/npuid"
	printf forced >"$sp/tmp/st-$_n/reason"
	touch -d '-1 minute' "$sp/tmp/st-$_n"
	echo "$_n $_u"
}
set -- $(build dead-plain 901)
ok "a dead build with no request is finished into stable/ by the running np-stable" \
	wait_for "[ -d '$sp/stable/$1' ] && [ ! -e '$sp/tmp/st-$1' ]" 15
set -- $(build dead-cancel 902)
r=$(op cancel "$1")
ok "cancel of a dead build: the answer ($r) is not 'deleted'" reply_ok cancel "$r"
ok "... it ends cancelled" ended_cancelled "$1" "$2"
set -- $(build dead-delete 903)
r=$(op delete "$1")
is "$r" "200 deleted" "delete of a dead build: 200 deleted"
ok "... it is gone" ended_deleted "$1" "$2"

# ---- afterwards ----
sleep 3 # a pass or two of np-stable: nothing comes back
is "$(ls "$sp/incoming" | wc -l | tr -d ' ')" 0 "incoming/ is empty"
is "$(ls "$sp/tmp" | grep -c '^st-')" 0 "no build is left in tmp/"
is "$(ls "$sp/stable" | grep -cE '^[0-9a-f-]{36}$')" 1 "stable/ holds only the dead build finished without a request"
is "$(ls "$sp/cancelled" | grep -cE '^[0-9a-f-]{36}$')" 10 "cancelled/ holds the 10 cancelled studies"
is "$(db "SELECT count(*) FROM studies WHERE state='cancelled'")" 10 "... the index says cancelled for the 10"
is "$(db "SELECT count(*) FROM studies WHERE state NOT IN ('cancelled','stable')")" 0 "... and has no other row but the stable one"
is "$(ls "$sp/.marks" 2>/dev/null | wc -l | tr -d ' ')" 0 "every mark is settled"
ok "np-httpd is still running" kill -0 "$HTTPD_PID"
nok "np-httpd never crashed" grep -q AddressSanitizer "$T/httpd.log"
nok "np-stable logged no error" grep -q 'error' "$T/stable.log"
nok "no PHI in the logs" grep -Eq "Doe|MRN-000123|19700101" "$T/stable.log" "$T/recv.log" "$T/httpd.log"
stop_pid "$STABLE_PID"
