#!/bin/sh
# Orthanc as the sending PACS: np-recv is configured in Orthanc as a DICOM
# modality and Orthanc sends a whole study to it through its REST API
# (POST /modalities/<name>/store), in plain DICOM, then as a C-ECHO.
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/recv.sh"
. "$NP_TOP/tests/peers/deliver.sh"
command -v Orthanc >/dev/null || skip_all "orthanc not installed"
plan 6

/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/study" --ndir 6 --nsl 4 >/dev/null
N=$(find "$T/study" -name '*.dcm' | wc -l | tr -d ' ')
recv_config '{"ae_title": "NP_FROM_PACS", "allowed_calling_aets": ["ORTHANC"]}'
recv_start
OH=$(free_port)
orthanc_start "$T/orthanc" "$(free_port)" "$OH" "\"DicomModalities\":{\"neuropacs\":{\"AET\":\"NP_FROM_PACS\",\"Host\":\"127.0.0.1\",\"Port\":$RECV_PORT}}"
for f in $(find "$T/study" -name '*.dcm'); do curl -sf -X POST "http://127.0.0.1:$OH/instances" --data-binary "@$f" >/dev/null; done
SID=$(curl -sf "http://127.0.0.1:$OH/studies" | tr -d '[]" \n')
like "$SID" '^[0-9a-f-]{44}$' "the study is in Orthanc"
ok "Orthanc C-ECHO to np-recv" curl -sf -X POST "http://127.0.0.1:$OH/modalities/neuropacs/echo" -d '{}'
R=$(curl -sf -X POST "http://127.0.0.1:$OH/modalities/neuropacs/store" -d "{\"Resources\":[\"$SID\"],\"Synchronous\":true}")
like "$R" "\"InstancesCount\" *: *$N" "Orthanc reports $N instances sent"
like "$R" '"FailedInstancesCount" *: *0' "... and none failed"
is "$(incoming_count)" "$N" "np-recv stored all of them"
"$NP_TOP/tests/peers/dsum.py" $(find "$T/study" -name '*.dcm') >"$T/sent"
"$NP_TOP/tests/peers/dsum.py" $(find "$NP_HOME/spool/incoming" -name '*.dcm') >"$T/got"
ok "data sets byte-identical to the study Orthanc sent" cmp "$T/sent" "$T/got"
