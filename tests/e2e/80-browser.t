#!/bin/sh
# The web UI in headless Chromium (Debian's chromium + npm playwright-core):
# every page and its main actions against a running np-httpd, screenshots of
# each page in both themes under build/test-output/browser/.
. "$(dirname "$0")/../lib/tap.sh"
MODULES=$PLAIN/browser/node_modules
[ -x /usr/bin/chromium ] || skip_all "chromium is not installed"
[ -d "$MODULES/playwright-core" ] || skip_all "playwright-core is not installed (make browser-deps)"
command -v node >/dev/null || skip_all "node is not installed"
[ -x "$SBIN/np-httpd" ] || skip_all "np-httpd is not built"

PW='Browser-Test-Passw0rd!'
"$SBIN/np-init" --non-interactive >/dev/null 2>&1
printf '%s\n' "$PW" | "$BIN/np-config" set-secret cloud.service_password
# Studies in several states, with a PHI canary in every identifying field.
for i in 1 2 3 4; do
	case $i in 1) st=qc-failed ;; 2) st=done ;; 3) st=uploaded ;; 4) st=incoming ;; esac
	u=$(/usr/bin/python3 -c 'import uuid; print(uuid.uuid4())')
	d="$NP_HOME/spool/$st/$u"
	[ $st = incoming ] && d="$NP_HOME/spool/incoming/1.2.826.0.1.3680043.99.$i" && echo "$u" > "$d.npuid"
	mkdir -p "$d"
	cat > "$d/manifest.json" <<JSON
{"npuid":"$u","source":"dicom","format":"dicom","created_at":"2026-11-2${i}T10:00:00Z",
 "patient":{"name":"UICANARY^PATIENT^$i","id":"UICANARY-MRN-$i","age":"067Y","sex":"F"},
 "study":{"study_instance_uid":"1.2.826.0.1.3680043.99.$i","accession_number":"UICANARY-ACC-$i","description":"MRI BRAIN"},
 "study_name":"UICANARY Study $i","series":[{"number":3,"modality":"MR","description":"DTI","instances":61,"transfer_syntaxes":["1.2.840.10008.1.2.1"]}],
 "counts":{"series":1,"instances":61,"bytes":123456},"products":["Atypical/MSAp/PSP-v1.0"],"group":null}
JSON
	[ $st = qc-failed ] && echo '{"result":"failed","checks":[{"id":"dti_present","title":"DTI/DWI Detection","status":"fail","details":"no diffusion series found"},{"id":"mri_series","title":"MRI Series Validation","status":"pass","details":"1 MR series"}]}' > "$d/qc.json"
done
rm -f "$NP_HOME"/spool/incoming/*.npuid
mkdir -p "$NP_HOME/log/np-recv"
echo "2026-11-27T10:00:00.000000000  np-recv: info: - association accepted calling=PACS1 called=NEUROPACS_SCP" > "$NP_HOME/log/np-recv/current"

# A small DICOM study as a ZIP for the upload dialog.
if /usr/bin/python3 -c 'import pydicom' 2>/dev/null; then
	/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/study" --ndir 6 --nsl 2 --size 16 >/dev/null 2>&1 &&
		(cd "$T/study" && /usr/bin/python3 -m zipfile -c "$T/study.zip" . >/dev/null) && export NP_UPLOAD_ZIP="$T/study.zip"
fi

port=$(free_port)
"$SBIN/np-httpd" --port "$port" >"$T/httpd.log" 2>&1 &
pid=$!
at_exit "stop_pid $pid"
wait_port "$port" 20 || bail "np-httpd did not start: $(tail -3 "$T/httpd.log")"
out="$NP_TOP/build/test-output/browser"
rm -rf "$out"
NP_NODE_MODULES=$MODULES NP_CANARY=UICANARY node "$NP_TOP/tests/browser/ui.mjs" "http://127.0.0.1:$port" "$PW" "$out"
rc=$?
[ $rc = 0 ] || { echo "# np-httpd log:"; sed 's/^/# /' "$T/httpd.log" | tail -20; }
exit $rc
