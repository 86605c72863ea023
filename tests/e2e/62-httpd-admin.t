#!/bin/sh
# np-httpd: settings (masked secrets, validation, atomic save, audit of keys),
# logs (list, filter, search, SSE, downloads), uploads (streaming, limit),
# updates against a release feed, TLS certificate upload.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
plan 47
mkdir -p "$NP_HOME/etc/secrets" "$NP_HOME/log/np-recv" "$NP_HOME/log/np-stable"
printf 'SUPER-SECRET-KEY' > "$NP_HOME/etc/secrets/cloud.api_key"
cat > "$NP_HOME/log/np-recv/current" <<'EOF2'
2026-11-27T10:00:00.000000000  np-recv: info: - listening port=11112
2026-11-27T10:00:01.000000000  np-recv: warning: 11111111-1111-4111-8111-111111111111 association rejected reason=aet
EOF2
cat > "$NP_HOME/log/np-stable/current" <<'EOF2'
2026-11-27 10:00:02.000000000  np-stable: error: 22222222-2222-4222-8222-222222222222 unable to move study
EOF2
feed=$(free_port)
mkdir -p "$T/feed" && echo '{"version":"9.9.9","notes":"big release"}' > "$T/feed/release.json"
(cd "$T/feed" && exec /usr/bin/python3 -m http.server --bind 127.0.0.1 "$feed") >/dev/null 2>&1 &
fpid=$!; at_exit "kill $fpid 2>/dev/null"
start_httpd --insecure-no-auth
J='Content-Type: application/json'

is "$(req GET /api/settings)" 200 "GET settings"
is "$(jget "$T/body" cloud.api_key)" "********" "a stored secret is masked"
nok "... never in the body" grep -q SUPER-SECRET "$T/body"
is "$(req PUT /api/settings -H "$J" -d '{"dicom":{"port":"x"}}')" 400 "invalid settings are refused"
is "$(jget "$T/body" error.key)" dicom.port "... naming the key"
is "$(req PUT /api/settings -H "$J" -d '{bad')" 400 "malformed JSON is refused"
is "$(req PUT /api/settings -d '{}')" 415 "a body that is not JSON is refused"
is "$(req PUT /api/settings -H "$J" -d "{\"dicom\":{\"ae_title\":\"NEWAE\"},\"cloud\":{\"api_key\":\"********\"},\"http\":{\"release_feed_url\":\"http://127.0.0.1:$feed/release.json\"}}")" 200 "valid settings are saved"
is "$(jq -r .dicom.ae_title "$NP_HOME/etc/neuropacs.json")" NEWAE "... in etc/neuropacs.json"
is "$(cat "$NP_HOME/etc/secrets/cloud.api_key")" SUPER-SECRET-KEY "... the masked secret is kept"
is "$(jget "$T/body" changed)" '["dicom.ae_title","http.release_feed_url"]' "... the changed keys are reported"
like "$(sqlite3 "$NP_HOME/db/agent.sqlite" "select detail from audit where action='settings_change'")" 'dicom.ae_title' "settings change audited with keys"
nok "... never with values" sh -c "sqlite3 '$NP_HOME/db/agent.sqlite' 'select * from audit' | grep -q NEWAE"
is "$(req GET /api/settings/schema)" 200 "settings schema"

is "$(req GET /api/logs/services)" 200 "log services"
is "$(jget "$T/body" items)" '["np-recv","np-stable"]' "... both services"
is "$(req GET /api/logs)" 200 "all log entries"
is "$(jq '.items | length' "$T/body")" 3 "... three entries, merged by time"
is "$(req GET '/api/logs?level=warning')" 200 "filter by level"
is "$(jq '.items | length' "$T/body")" 2 "... warning and worse"
req GET '/api/logs?service=np-recv&q=REJECTED' >/dev/null
is "$(jget "$T/body" items.0.id)" 11111111-1111-4111-8111-111111111111 "search is case-insensitive, with the study id parsed"
req GET '/api/logs?service=np-stable' >/dev/null
is "$(jq -r '.items[0] | .ts + " " + .level' "$T/body")" "2026-11-27T10:00:02.000000000 error" "s6-log's ISO 8601 timestamp (T directive) and the level are parsed"
is "$(req GET '/api/logs?service=../etc')" 400 "bad service name refused"
is "$(req GET '/api/logs/download?format=csv')" 200 "CSV download"
like "$(head -1 "$T/body")" '^ts,service,level,id,message' "... with a header"
is "$(req GET '/api/logs/download?format=json')" 200 "JSON download"
is "$(req GET '/api/logs/download?format=file&service=np-stable')" 200 "file download"
is "$(req GET '/api/logs/download?format=zip')" 200 "ZIP of all logs"
like "$(unzip -l "$T/body" 2>&1)" 'log/np-recv/current' "... holds every log file"
( sleep 1; echo '2026-11-27T10:00:09.000000000  np-recv: info: - live line' >> "$NP_HOME/log/np-recv/current" ) &
sse=$(curl -s -N --max-time 4 "$URL/api/logs/stream?max_seconds=3")
like "$sse" 'data: \{.*live line' "SSE stream delivers new lines"

is "$(req GET /api/updates)" 200 "check for updates"
is "$(jget "$T/body" update_available)" true "... 9.9.9 is newer"

head -c 3000 /dev/urandom > "$T/a.dcm"
is "$(req POST '/api/uploads?upload_id=test-upload-1' -F study_name=bad -F "files=@$T/a.dcm")" 400 "upload with a bad study name is refused"
like "$(jget "$T/body" error.message)" study_name "... naming the field"
is "$(req GET /api/uploads/test-upload-1)" 200 "upload progress is visible"
is "$(jget "$T/body" received)" "$(( $(jget "$T/body" received) ))" "... with bytes received"
/usr/bin/python3 "$NP_TOP/tests/data/make_mr_study.py" "$T/study" --ndir 6 --nsl 4 >/dev/null 2>&1
set -- $(find "$T/study" -type f | sed 's/^/-F files=@/')
is "$(req POST '/api/uploads?upload_id=test-upload-2' -F 'study_name=Upload Test 1' -F patient_age=61 -F patient_sex=F -F type=folder "$@")" 201 "a folder upload is imported"
ok "... into spool/stable" test -d "$NP_HOME/spool/stable/$(jget "$T/body" npuids.0)"
req PUT /api/settings -H "$J" -d '{"http":{"max_body_mb":1}}' >/dev/null
head -c 1500000 /dev/urandom > "$T/big.dcm"
is "$(req POST /api/uploads -H 'Expect:' -F "files=@$T/big.dcm")" 413 "an upload above http.max_body_mb is refused"
is "$(ls "$NP_HOME/spool/tmp" | grep -c upload)" 0 "... and nothing is left in spool/tmp"

mkpki() { mkdir -p "$T/$1" && (cd "$T/$1" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=np test CA" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign &&
	openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=127.0.0.1" &&
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > ext.cnf &&
	openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 -extfile ext.cnf &&
	openssl genrsa -out other.key 2048) >/dev/null 2>&1; }
mkpki pki
tlsbody() { jq -n --rawfile c "$T/${2:-pki}/srv.crt" --rawfile k "$T/${2:-pki}/$1" --rawfile a "$T/${2:-pki}/ca.crt" \
	'{certificate: $c, private_key: $k, ca_certificate: $a}'; }
is "$(req POST /api/tls/certificate -H "$J" -d "$(tlsbody other.key)")" 400 "a key that does not match is refused"
is "$(req POST /api/tls/certificate -H "$J" -d "$(tlsbody srv.key)")" 200 "a good pair is accepted"
rport=$(free_port)
req PUT /api/settings -H "$J" -d "{\"tls\":{\"enabled\":true},\"http\":{\"redirect_port\":$rport}}" >/dev/null
stop_httpd
start_httpd --insecure-no-auth
is "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/pki/ca.crt" "https://127.0.0.1:$PORT/api/health")" 200 "HTTPS with the uploaded certificate"
nok "TLS 1.1 is refused" curl -s -o /dev/null --cacert "$T/pki/ca.crt" --tlsv1.1 --tls-max 1.1 "https://127.0.0.1:$PORT/api/health"
like "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$rport/api/health")" '^30[12] https://127.0.0.1:[0-9]+/api/health' "HTTP redirects to HTTPS"
mkpki pki2
is "$(curl -s -o "$T/body" -w '%{http_code}' --cacert "$T/pki/ca.crt" -X POST -H "$J" -d "$(tlsbody srv.key pki2)" "https://127.0.0.1:$PORT/api/tls/certificate")" 200 "a new pair is uploaded over HTTPS"
is "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/pki2/ca.crt" "https://127.0.0.1:$PORT/api/health")" 200 "... and serves at once, without a restart"
