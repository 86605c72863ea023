#!/bin/sh
# The route table and share/openapi.json describe the same operations with
# the same roles (tests/e2e/70-auth.t calls every operation).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
routes=$("$SBIN/np-httpd" --routes | sort)
doc=$(jq -r '.paths | to_entries[] | .key as $p | .value | to_entries[] | "\(.key | ascii_upcase) \($p) \(.value["x-role"])"' \
	"$NP_TOP/share/openapi.json" | sed -E 's/\{[A-Za-z]+\}/{}/g' | sort)
plan 5
is "$(printf '%s\n' "$routes" | grep -vc -E ' (public|user|admin)$')" 0 "every route declares a role"
undoc=$(printf '%s\n' "$routes" | grep -vxF "$doc")
is "$undoc" "" "every route the server answers is in share/openapi.json, with its role"
unimpl=$(printf '%s\n' "$doc" | grep -vxF "$routes")
is "$unimpl" "" "every documented operation is in the route table"
is "$(jq '[.paths[][] | select(.responses == null or .summary == null)] | length' "$NP_TOP/share/openapi.json")" 0 \
	"every operation has a summary and responses"
start_httpd --insecure-no-auth
is "$(req GET /api/openapi.json)" 200 "the document is served"
