#!/bin/sh
# What the web UI's tables and dialogs are built from: the one table of study
# states in words (share/web/js/states.js) equal to the State schema of
# the generated OpenAPI document and covering lib/spool/np_spool.c's states; the names of
# transfer syntaxes and SOP classes in GET /api/study-info (uid_names, from
# lib/dicom/np_ts.c and lib/dicom/np_sopclass.c); the search and reveal of GET /api/results.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
plan 14
doc=$PLAIN/share/openapi.json
js=$(node --no-warnings --input-type=module -e "
const { STATES } = await import('file://$NP_TOP/share/web/js/states.js');
for (const s of STATES) console.log([s.state, s.label, s.help].join('|'));")
api=$(jq -r '.components.schemas.State.oneOf[] | [.enum[0], .title, .description] | join("|")' "$doc")
is "$js" "$api" "states.js and the OpenAPI State schema give each state the same label and explanation"
is "$(jq -r '.components.schemas.State.enum | join(" ")' "$doc")" "$(printf '%s\n' "$api" | cut -d'|' -f1 | tr '\n' ' ' | sed 's/ $//')" \
	"the State enum lists the states of its oneOf, in order"
spool=$(sed -n '/np_spool_states\[\] = {/,/};/p' "$NP_TOP/lib/spool/np_spool.c" | grep -o '"[a-z-]*"' | tr -d '"' | sort | tr '\n' ' ')
is "$(printf '%s\n' "$api" | cut -d'|' -f1 | sort | tr '\n' ' ')" "$spool" "the table has every state of lib/spool/np_spool.c and no other"
is "$(jq -r '.components.schemas.Study.properties.state["$ref"]' "$doc")" "#/components/schemas/State" "a Study's state is documented by the table"

A=11111111-1111-4111-8111-111111111111
B=22222222-2222-4222-8222-222222222222
C=33333333-3333-4333-8333-333333333333
seed_study done $A "CANARY ALPHA" 2026-11-01T10:00:00.000Z
seed_study failed $B "CANARY BETA" 2026-11-02T10:00:00.000Z
seed_study ready $C "CANARY GAMMA" 2026-11-03T10:00:00.000Z
sed -i 's/"series":\[\]/"transfer_syntaxes":["1.2.840.10008.1.2.4.50"],"series":[{"number":1,"modality":"MR","sop_classes":["1.2.840.10008.5.1.4.1.1.4","1.2.3.4.5"],"transfer_syntaxes":["1.2.840.10008.1.2.1"],"instances":10}]/' \
	"$NP_HOME/spool/done/$A/manifest.json"
sed -i 's/"CANARY-ACC"/"CANARY-ACC-77"/' "$NP_HOME/spool/failed/$B/manifest.json"
start_httpd --insecure-no-auth

req GET /api/study-info/$A >/dev/null
is "$(jq -r '.uid_names | to_entries | map("\(.key)=\(.value)") | join(";")' "$T/body")" \
	"1.2.840.10008.1.2.4.50=JPEG Baseline (Process 1);1.2.840.10008.1.2.1=Explicit VR Little Endian;1.2.840.10008.5.1.4.1.1.4=MR Image Storage" \
	"study-info names the transfer syntaxes and SOP classes it knows (an unknown UID is left out)"

ids() { req GET "/api/results?$1" >/dev/null && jq -r '[.items[].npuid] | join(" ")' "$T/body"; }
is "$(ids '')" "$B $A" "results lists the studies with results, newest first"
req GET /api/results >/dev/null
nok "no PHI in the results list without reveal" grep -q CANARY "$T/body"
is "$(jq -r '.items[0] | [.study_name, .accession, .patient_name, .patient_id] | join(",")' "$T/body")" \
	"[Redacted],[Redacted],[Redacted],[Redacted]" "the patient, accession and study columns are redacted"
is "$(ids q=11111111)" "$A" "search by Neuropacs UID"
is "$(ids q=ACC-77)" "" "the accession is not searched without reveal"
is "$(ids 'q=acc-77&reveal=1')" "$B" "... and is with reveal, in any case"
is "$(jq -r '.items[0].accession' "$T/body")" "CANARY-ACC-77" "reveal shows the PHI columns"
is "$(ids 'size=1') $(jq -r .has_more "$T/body")" "$B true" "a page says whether there is another"
like "$(sqlite3 "$NP_HOME/db/agent.sqlite" "SELECT action || ' ' || detail FROM audit ORDER BY id DESC LIMIT 3")" \
	"reveal scope=results" "a revealed results list is audited"
