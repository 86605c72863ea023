#!/bin/sh
# The OpenAPI document make generates (share/openapi/gen.py, build/share/openapi.json)
# describes the route table's operations with their roles, the settings schema
# and every study column, shares its error answers, is what np-httpd serves,
# and the bodies np-httpd answers conform to it (python3-jsonschema validates
# each against its response schema; tests/e2e/70-auth.t calls every operation).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
DOC=$PLAIN/share/openapi.json
test -s "$DOC" || bail "$DOC is missing (make builds it)"
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || bail "python3-jsonschema is missing (make deps)"
routes=$("$SBIN/np-httpd" --routes | sort)
doc=$(jq -r '.paths | to_entries[] | .key as $p | .value | to_entries[] | "\(.key | ascii_upcase) \($p) \(.value["x-role"])"' \
	"$DOC" | sed -E 's/\{[A-Za-z]+\}/{}/g' | sort)
is "$(printf '%s\n' "$routes" | grep -vc -E ' (public|user|admin)$')" 0 "every route declares a role"
undoc=$(printf '%s\n' "$routes" | grep -vxF "$doc")
is "$undoc" "" "every route the server answers is in the OpenAPI document, with its role"
unimpl=$(printf '%s\n' "$doc" | grep -vxF "$routes")
is "$unimpl" "" "every documented operation is in the route table"
is "$(jq '[.paths[][] | select(.responses == null or .summary == null)] | length' "$DOC")" 0 \
	"every operation has a summary and responses"
is "$(jq '[.paths[][] | .responses[] | select(.description == "Not logged in" or .description == "Method not allowed")] | length' "$DOC")" 0 \
	"the shared error answers are referenced from components/responses, not repeated"
is "$(jq -r '.paths["/api/settings"].get.responses["200"].content["application/json"].schema["$ref"]' "$DOC")" \
	"#/components/schemas/Settings" "GET /api/settings answers the Settings schema"
is "$(jq -c '.components.schemas.Settings.properties | keys' "$DOC")" \
	"$(jq -c '.properties | keys' "$NP_TOP/share/schema/config.schema.json")" "... which has every section of the settings schema"
is "$(jq -r '.components.schemas.Study.additionalProperties' "$DOC")" false "the Study schema lists every field (none other allowed)"

# A spool with a study in each kind of state, so the answers carry real rows.
A=11111111-1111-4111-8111-111111111111
B=22222222-2222-4222-8222-222222222222
C=33333333-3333-4333-8333-333333333333
seed_study qc-failed $A "CANARY ALPHA" 2026-11-01T10:00:00.000Z '"grp1"'
seed_study done $B "CANARY BETA" 2026-11-02T10:00:00.000Z '"grp1"'
seed_study failed $C "CANARY GAMMA" 2026-11-03T10:00:00.000Z
echo '{"passed": false, "checks": [{"name": "dti", "passed": false}]}' > "$NP_HOME/spool/qc-failed/$A/qc.json"
printf '%%PDF-1.4 fake\n' > "$NP_HOME/spool/done/$B/results/report.pdf"
echo '{"result": 1}' > "$NP_HOME/spool/done/$B/results/result.json"
start_httpd --insecure-no-auth
is "$(req GET /api/openapi.json)" 200 "the document is served"
ok "... the one make generated" cmp -s "$T/body" "$DOC"

# Each answer: METHOD PATH [CURL ARGS]; the body is kept for the validator.
: > "$T/answers"
n=0
call() {
	n=$((n + 1))
	_st=$(req "$@")
	cp "$T/body" "$T/answer.$n"
	echo "$1 $2 $_st $T/answer.$n" >> "$T/answers"
}
call POST /api/groups -H 'Content-Type: application/json' -d '{"name":"grp2","products":["PDvMSA"]}'
call GET /health
call GET /api/health
call GET /api/status
call GET /api/auth/session
call GET /api/studies
call GET '/api/studies?reveal=1&size=2'
call GET '/api/studies?state=done'
call GET '/api/studies?size=nonsense'
call GET "/api/study-info/$A"
call GET "/api/study-info/$B?reveal=1"
call GET "/api/study-info/$C"
call GET /api/study-info/99999999-9999-4999-8999-999999999999
call GET "/api/studies/$A/qc"
call GET "/api/studies/$B/status"
call GET /api/results
call GET '/api/results?reveal=1'
call GET /api/reports
call GET /api/groups
call GET /api/groups/grp1
call GET /api/groups/grp2
call GET /api/groups/nosuchgroup
call GET /api/settings
call GET /api/settings/schema
call GET '/api/settings/cron?expr=0+*+*+*+*'
call GET /api/audit
call GET /api/logs/services
call GET /api/logs
call GET /api/uploads/sidecar-template
call GET /api/uploads/nosuchupload
call GET /api/tls/certificate
call PUT /api/settings -H 'Content-Type: application/json' -d '{"dicom":{"ae_title":"NPTEST"}}'
call PUT /api/settings -H 'Content-Type: application/json' -d '{"dicom":{"ae_title":"THIS-AE-TITLE-IS-TOO-LONG"}}'
/usr/bin/python3 "$NP_TOP/tests/lib/openapi-validate.py" "$DOC" < "$T/answers" > "$T/valid"
while IFS= read -r line; do
	case $line in
	"ok "*) _tap_result 0 "answer conforms: ${line#ok }" ;;
	"not ok "*) _tap_result 1 "answer conforms: ${line#not ok }" ;;
	*) echo "$line" ;;
	esac
done < "$T/valid"
is "$(grep -c '^ok \|^not ok ' "$T/valid")" "$n" "every answer was validated"
done_testing
