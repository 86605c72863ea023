# tests/browser/status-fixtures.sh: sourced by tests/e2e/80-browser.t once the
# pipeline has filled the home. Status that tells the truth (issue 17.4): a
# study delivered to 2 of its 4 destinations, one with no destination
# configured and one whose order failed at the cloud (no report), as
# np-deliver and np-poll leave them, indexed as the pipeline would have.
# Their order is unknown to the cloud stand-in, as a long finished order is
# to the cloud. Sets TRUTH_PART, TRUTH_NONE, TRUTH_FAIL.
TRUTH_PART=0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5
TRUTH_NONE=1d2e3f4a-5b6c-4d7e-8f80-91a2b3c4d5e6
TRUTH_FAIL=2e3f4a5b-6c7d-4e8f-9091-a2b3c4d5e6f7
_truth_order=5f0c6b1e-8a7d-4c39-9e51-0d2f7a3b6c41
_truth() { # _truth STATE NPUID ORDER-STATUS DELIVERIES-JSON [--failure]
	_d=$NP_HOME/spool/$1/$2
	/usr/bin/python3 "$NP_TOP/tests/data/make_results_study.py" "$_d" --no-dicom ${5:-} || bail "fixture $2 failed"
	printf '%s\n' "$4" >"$_d/deliveries.json"
	sqlite3 "$NP_HOME/db/agent.sqlite" "INSERT INTO studies (npuid, state, stable, source, format, products, order_id,
 order_status, created_at, updated_at) VALUES ('$2', '$1', 1, 'dicom', 'dicom', '[\"Atypical/MSAp/PSP-v1.0\"]',
 '$_truth_order', '$3', '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z')" || bail "fixture $2 not indexed"
}
_dest() { printf '{"index":%s,"type":"%s","name":"%s","key":"k%s","state":"%s","attempts":%s,"error":%s,"sent_at":null}' "$@"; }
_truth done $TRUTH_PART Completed "{\"kind\":\"results\",\"destinations\":[$(_dest 0 rest RIS 0 sent 1 null),
 $(_dest 1 rest Down 1 failed 3 '"REST request failed: Failed to connect to 127.0.0.1 port 9: Connection refused"'),
 $(_dest 2 email Mail 2 failed 3 '"e-mail via 127.0.0.1 failed: RCPT failed: 550"'), $(_dest 3 email Archive 3 sent 1 null)]}"
_truth done $TRUTH_NONE Completed '{"kind":"results","destinations":[]}'
for _u in $TRUTH_PART $TRUTH_NONE; do
	echo "{\"order_id\":\"$_truth_order\",\"downloaded_at\":\"2020-01-02T09:30:00Z\",\"files\":[\"report.pdf\"]}" \
		>"$NP_HOME/spool/done/$_u/results/index.json"
done
_truth failed $TRUTH_FAIL Failed '{"kind":"failure","destinations":[]}' --failure
echo "{\"order_id\":\"$_truth_order\",\"status\":\"Failed\",\"info\":\"input QC error\",\"at\":\"2020-01-02T09:00:00Z\"}" \
	>"$NP_HOME/spool/failed/$TRUTH_FAIL/results/failure.json"
