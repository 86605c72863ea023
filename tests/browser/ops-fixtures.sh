# tests/browser/ops-fixtures.sh: sourced by tests/e2e/80-browser.t once the
# pipeline has filled the home. Studies for the admin's actions on a study
# (issue 17.3: Retry, Delete, Cancel), as the runners leave them, indexed as
# the pipeline would have:
#   OPS_RETRY      failed while delivering (history says from results), one
#                  destination failed for good;
#   OPS_DELETE     delivered (done), to be deleted from the UI;
#   OPS_COMPLETED  uploaded, and the cloud already reports its order Completed
#                  (np-poll has not fetched the results yet): nothing to cancel;
#   OPS_DELIVER    results (being delivered): Cancel stops the delivery.
# No runner works in the browser test, so each stays where an action puts it.
# Sets OPS_RETRY, OPS_DELETE, OPS_COMPLETED, OPS_DELIVER.
OPS_RETRY=3f4a5b6c-7d8e-4f90-a1b2-b3c4d5e6f708
OPS_DELETE=4a5b6c7d-8e9f-4a01-b2c3-c4d5e6f70819
OPS_COMPLETED=5b6c7d8e-9fa0-4b12-83d4-d5e6f708192a
OPS_DELIVER=6c7d8e9f-a0b1-4c23-94e5-e6f708192a3b
_ops_order=7e1d2c3b-4a59-4687-9a0b-1c2d3e4f5a6b
_ops() { # _ops STATE NPUID: a study folder in spool/STATE, its order Completed, in the index
	_d=$NP_HOME/spool/$1/$2
	/usr/bin/python3 "$NP_TOP/tests/data/make_results_study.py" "$_d" --no-dicom || bail "fixture $2 failed"
	sqlite3 "$NP_HOME/db/agent.sqlite" "INSERT INTO studies (npuid, state, stable, source, format, products, order_id,
 order_status, created_at, updated_at) VALUES ('$2', '$1', 1, 'dicom', 'dicom', '[\"Atypical/MSAp/PSP-v1.0\"]',
 '$_ops_order', 'Completed', '2020-01-03T00:00:00.000Z', '2020-01-03T00:00:00.000Z')" || bail "fixture $2 not indexed"
}
_ops failed $OPS_RETRY
printf '%s\n' '{"ts":"2020-01-03T10:00:00Z","from":"uploaded","to":"results","reason":"results downloaded"}' \
	'{"ts":"2020-01-03T10:05:00Z","from":"results","to":"failed","reason":"delivery failed"}' \
	>"$NP_HOME/spool/failed/$OPS_RETRY/history.jsonl"
echo '{"kind":"results","destinations":[{"index":0,"type":"rest","name":"RIS","key":"k0","state":"failed","attempts":3,"error":"REST request failed: HTTP 400","sent_at":null}]}' \
	>"$NP_HOME/spool/failed/$OPS_RETRY/deliveries.json"
_ops done $OPS_DELETE
_ops results $OPS_DELIVER
_ops uploaded $OPS_COMPLETED
# np-poll has seen the order Completed but not yet downloaded its results.
rm -rf "$NP_HOME/spool/uploaded/$OPS_COMPLETED/results"
