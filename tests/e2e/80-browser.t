#!/bin/sh
# The web UI in headless Chromium (Debian's chromium + npm playwright-core):
# every page and action of the guide against an agent home filled by the
# pipeline (storescu -> np-recv -> np-stable -> np-qc -> np-deid -> np-upload
# -> cloud stand-in -> np-poll -> np-deliver), each action's effect checked
# through the API or the peer it reaches; screenshots of every page in both
# themes under build/test-output/browser/.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/cloud.sh"
. "$NP_TOP/tests/peers/deliver.sh"
MODULES=$PLAIN/browser/node_modules
[ -x /usr/bin/chromium ] || skip_all "chromium is not installed"
[ -d "$MODULES/playwright-core" ] || skip_all "playwright-core is not installed (make browser-deps)"
command -v node >/dev/null || skip_all "node is not installed"
[ -x "$SBIN/np-httpd" ] || skip_all "np-httpd is not built"
for c in storescu s6-log sqlite3 openssl; do command -v $c >/dev/null || skip_all "$c is not installed"; done
/usr/bin/python3 -c 'import pydicom' 2>/dev/null || skip_all "pydicom is not installed"
PY=/usr/bin/python3
START=$(date +%s)

# Peers: the cloud stand-in, a webhook receiver for result, group report and
# notification deliveries, and a static web server for the SAML IdP metadata
# and the release feed.
PW='Service-Password-123!'
cloud_start "$T/cloud" --fault steps=1
webhook_start "$T/hook"
WWW=$(free_port)
mkdir -p "$T/www"
$PY -m http.server "$WWW" --bind 127.0.0.1 --directory "$T/www" >"$T/www.log" 2>&1 &
at_exit "stop_pid $!"
HOOK=http://127.0.0.1:$HOOK_PORT
RECV_PORT=$(free_port)
SETTINGS_EXTRA=",\"dicom\":{\"bind\":\"127.0.0.1\",\"port\":$RECV_PORT,\"ae_title\":\"NEUROPACS_SCP\",\"stabilization_seconds\":1,\"scan_interval_seconds\":1},
 \"delivery\":{\"retry_delay_s\":0,\"destinations\":[{\"type\":\"rest\",\"name\":\"RIS webhook\",\"url\":\"$HOOK/results\"}]},
 \"groups\":{\"delivery\":{\"type\":\"rest\",\"name\":\"Group webhook\",\"url\":\"$HOOK/group\"}},
 \"notifications\":{\"method\":\"webhook\",\"webhook_url\":\"$HOOK/notify\"},
 \"http\":{\"bind\":\"127.0.0.1\",\"release_feed_url\":\"http://127.0.0.1:$WWW/releases.json\"}"
cloud_home v1
"$SBIN/np-init" --non-interactive >/dev/null 2>&1
[ "$("$BIN/np-config" get dicom.port)" = "$RECV_PORT" ] || bail "settings were not kept by np-init"

# Each stage logs through s6-log into log/<service>/current, as under s6,
# so the Logs page reads what the pipeline wrote.
logged() { _svc=$1; shift; mkdir -p "$NP_HOME/log/$_svc"; { "$@" 2>&1 >/dev/null; } | s6-log T "$NP_HOME/log/$_svc"; }
stage() { # stage SERVICE FROM TO FAIL PROGRAM [ARG...]: one np-queue pass
	_svc=$1 _from=$2 _to=$3 _fail=$4 _prog=$5; shift 5
	logged "$_svc" "$BIN/np-queue" --once "$_from" "$_to" "$_fail" -- "$BIN/$_prog" "$@"
}
mkfifo "$T/recv.fifo" "$T/httpd.fifo"
mkdir -p "$NP_HOME/log/np-recv" "$NP_HOME/log/np-httpd"
s6-log T "$NP_HOME/log/np-recv" <"$T/recv.fifo" &
RECV_LOG=$!
"$SBIN/np-recv" --port "$RECV_PORT" 2>"$T/recv.fifo" &
RECV_PID=$!
at_exit "stop_pid $RECV_PID"
wait_port "$RECV_PORT" 20 || bail "np-recv did not start"
# Studies with a PHI canary in every identifying field, made in one Python
# process (a start-up per study costs seconds on a busy machine). IFU
# descriptions make a study pass QC; the generator's own descriptions fail
# it. Bravo (a folder) and Foxtrot (a ZIP) are for Manual Upload, g1 (a
# folder of ZIPs) for the group upload.
mkdir "$T/group-zips"
$PY - "$NP_TOP/tests/data/make_mr_study.py" "$T" <<'PY' || bail "study generator failed"
import contextlib, io, os, runpy, shutil, sys
import pydicom
gen, top = sys.argv[1:]
for name, qc in [("Alpha", "pass"), ("Bravo", "pass"), ("Charlie", "pass"), ("Delta", "pass"),
                 ("Echo", "fail"), ("Foxtrot", "pass"), ("g1", "")]:
    d = os.path.join(top, name)
    sys.argv = [gen, d, "--ndir", "6", "--nsl", "2", "--size", "16"]
    with contextlib.redirect_stdout(io.StringIO()):
        runpy.run_path(gen, run_name="__main__")
    for root, _, files in os.walk(d):
        for f in files:
            if not qc or not f.endswith(".dcm"):
                continue
            p = os.path.join(root, f)
            ds = pydicom.dcmread(p)
            ds.PatientName = "UICANARY^%s" % name
            ds.PatientID = "UICANARY-MRN-%s" % name
            ds.AccessionNumber = "UICANARY-A%s" % name[:6]
            if qc == "pass":
                ds.StudyDescription = "MRI Brain with DTI Non-Contrast"
                if "DTI" in str(ds.get("SeriesDescription", "")):
                    ds.SeriesDescription = "neuropacs DTI"
            ds.save_as(p)
shutil.make_archive(os.path.join(top, "foxtrot"), "zip", os.path.join(top, "Foxtrot"))
shutil.make_archive(os.path.join(top, "group-zips", "g1"), "zip", os.path.join(top, "g1"))
PY
send() { storescu -aec NEUROPACS_SCP +sd +r +sp '*.dcm' 127.0.0.1 "$RECV_PORT" "$T/$1" >>"$T/storescu.log" 2>&1 || bail "storescu $1 failed"; }
n_in() { ls "$NP_HOME/spool/$1" 2>/dev/null | grep -Ec '^[0-9a-f-]{36}$'; }
stabilize() { # np-stable passes until N studies are stable
	_i=0
	while [ "$(n_in stable)" -lt "$1" ] && [ $_i -lt 20 ]; do
		sleep 0.5; logged np-stable "$SBIN/np-stable" --once; _i=$((_i + 1))
	done
	[ "$(n_in stable)" -ge "$1" ] || bail "np-stable did not stabilize the studies"
}
# Alpha goes all the way to done (report PDF), Echo fails QC.
send Alpha; send Echo
stabilize 2
# Charlie arrives while Alpha is processed; it will stay with the cloud.
send Charlie
stage qc stable qc-passed qc-failed np-qc
stage prepare qc-passed ready failed np-deid --study
stage upload ready uploaded failed np-upload
stage poll uploaded results failed np-poll
stage deliver results done failed np-deliver
[ "$(n_in done)" = 1 ] || bail "the study did not reach done: $(ls "$NP_HOME/spool"/*)"
stabilize 1
stage qc stable qc-passed qc-failed np-qc
stage prepare qc-passed ready failed np-deid --study
stage upload ready uploaded failed np-upload
# Orders the UI checks now stay in processing for a while.
cloud_ctl '{"steps": 5}'
# Delta is received but not yet stable (the UI stabilizes it by hand): a
# long quiet period keeps np-stable's pass from stabilizing it, the pass
# only indexes it.
jq '.dicom.stabilization_seconds = 600' "$NP_HOME/etc/neuropacs.json" >"$T/settings.json" &&
	mv "$T/settings.json" "$NP_HOME/etc/neuropacs.json"
send Delta
logged np-stable "$SBIN/np-stable" --once
stop_pid "$RECV_PID"
wait "$RECV_LOG"
[ "$(n_in uploaded)" = 1 ] && [ "$(n_in qc-failed)" = 1 ] && [ -n "$(ls "$NP_HOME/spool/incoming")" ] ||
	bail "pipeline states: $(cd "$NP_HOME/spool" && ls -d */* | grep -v tmp)"
# A self-signed certificate and key for the TLS dialog, a key that does not
# match it, IdP metadata with that certificate, and a release feed.
(cd "$T" && openssl req -x509 -newkey rsa:2048 -nodes -keyout tls.key -out tls.crt -days 2 -subj "/CN=agent.example.test" &&
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other.key) >/dev/null 2>&1 || bail "openssl failed"
b64=$(grep -v -- '-----' "$T/tls.crt" | tr -d '\n')
cat >"$T/www/idp.xml" <<XML
<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.test/saml">
 <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
  <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>$b64</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
  <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/slo"/>
  <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/sso"/>
 </md:IDPSSODescriptor>
</md:EntityDescriptor>
XML
echo '{"version": "99.1.0", "notes": "Faster uploads."}' >"$T/www/releases.json"
wait_port "$WWW" || bail "the static web server did not start"

diag "pipeline filled the home in $(($(date +%s) - START)) s"
. "$NP_TOP/tests/browser/status-fixtures.sh"
. "$NP_TOP/tests/browser/ops-fixtures.sh"
port=$(free_port)
s6-log T "$NP_HOME/log/np-httpd" <"$T/httpd.fifo" &
HTTPD_LOG=$!
"$SBIN/np-httpd" --port "$port" >"$T/httpd.fifo" 2>&1 &
pid=$!
at_exit "stop_pid $pid; wait $HTTPD_LOG"
wait_port "$port" 20 || bail "np-httpd did not start: $(tail -3 "$NP_HOME/log/np-httpd/current")"
out="$NP_TOP/build/test-output/browser"
rm -rf "$out"
NP_NODE_MODULES=$MODULES NP_CANARY='UICANARY|Doe\^John|MRN-000123' NP_STUDY_DIR="$T/Bravo" NP_UPLOAD_ZIP="$T/foxtrot.zip" \
	NP_GROUP_DIR="$T/group-zips" NP_TLS_DIR="$T" NP_HOOK_DIR="$T/hook" NP_CLOUD_DIR="$T/cloud" NP_BIN="$BIN" CLOUD_URL="$CLOUD_URL" \
	NP_IDP_METADATA="http://127.0.0.1:$WWW/idp.xml" NP_TRUTH="$TRUTH_PART $TRUTH_NONE $TRUTH_FAIL" \
	NP_OPS="$OPS_RETRY $OPS_DELETE $OPS_COMPLETED $OPS_DELIVER" \
	node "$NP_TOP/tests/browser/ui.mjs" "http://127.0.0.1:$port" "$PW" "$out"
rc=$?
[ $rc = 0 ] || { echo "# np-httpd log:"; sed 's/^/# /' "$NP_HOME/log/np-httpd/current" | tail -20; }
exit $rc
