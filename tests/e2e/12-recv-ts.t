#!/bin/sh
# np-recv accepts every transfer syntax of the issue as it is: a generated
# MR image in 13 syntaxes sent by storescu (one context per syntax, so
# nothing is converted) and HTJ2K/MPEG/HEVC stand-ins sent by np-scu; each
# stored data set is byte-identical to the sent one, with the negotiated
# transfer syntax in its meta header.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/recv.sh"
command -v storescu >/dev/null || skip_all "dcmtk not installed"
command -v gdcmconv >/dev/null || skip_all "gdcmconv (libgdcm-tools) not installed"
plan 8

/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/study" --ndir 1 --nsl 2 >/dev/null
SRC=$(find "$T/study/S002" -name '*.dcm' | head -1)
sh "$NP_TOP/tests/peers/make_ts_set.sh" "$SRC" "$T/ts" >/dev/null 2>&1
is "$(ls "$T/ts"/*.dcm "$T/ts/other"/*.dcm | wc -l | tr -d ' ')" 17 "17 transfer syntaxes generated"
recv_config '{"ae_title": "NP_TS"}'
recv_start

ok "storescu sends 13 transfer syntaxes as they are" \
	storescu -aec NP_TS -xf "$NP_TOP/tests/peers/storescu-ts.cfg" EachTS 127.0.0.1 "$RECV_PORT" "$T/ts"/*.dcm
ok "np-scu sends HTJ2K, MPEG-2, MPEG-4 and HEVC" "$PLAIN/peers/np-scu" -c NP_TS 127.0.0.1 "$RECV_PORT" "$T/ts/other"/*.dcm
is "$(incoming_count)" 17 "every instance stored"
"$NP_TOP/tests/peers/dsum.py" "$T/ts"/*.dcm "$T/ts/other"/*.dcm >"$T/sent"
"$NP_TOP/tests/peers/dsum.py" $(find "$NP_HOME/spool/incoming" -name '*.dcm') >"$T/got"
ok "data sets and transfer syntaxes identical to what was sent" cmp "$T/sent" "$T/got"
diff "$T/sent" "$T/got" | sed 's/^/# /'
ok "dcmdump reads every stored file of a known syntax" dcmdump -q $(find "$NP_HOME/spool/incoming" -name '*.dcm' | head -13)

# The header reader (GDCM behind np_dcm's bounds check) reads every stored
# file of a syntax GDCM knows, deflated and big endian included.
recv_stop
uid=$(ls "$NP_HOME/spool/incoming" | head -1)
npuid=$("$SBIN/np-stable" --home "$NP_HOME" --force "$uid" 2>"$T/stable.log")
m="$NP_HOME/spool/stable/$npuid/manifest.json"
jq -c .counts "$m" 2>&1 | sed 's/^/# /'
is "$(jq -r .counts.instances "$m")" 17 "np-stable reads the header of every file"
is "$(jq -r '.series[0].transfer_syntaxes|length' "$m")" 17 "each file's own transfer syntax is reported, the newer ones too"
