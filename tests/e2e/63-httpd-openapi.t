#!/bin/sh
# The route table and share/openapi.json describe the same operations with
# the same roles, and every documented operation answers.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
. "$(dirname "$0")/../lib/openapi_ops.sh"
routes=$("$SBIN/np-httpd" --routes | sort)
doc=$(jq -r '.paths | to_entries[] | .key as $p | .value | to_entries[] | "\(.key | ascii_upcase) \($p) \(.value["x-role"])"' \
	"$NP_TOP/share/openapi.json" | sed -E 's/\{[A-Za-z]+\}/{}/g' | sort)
n=$(printf '%s\n' "$routes" | wc -l)
plan $((n + 5))
is "$(printf '%s\n' "$routes" | grep -vc -E ' (public|user|admin)$')" 0 "every route declares a role"
undoc=$(printf '%s\n' "$routes" | grep -vxF "$doc")
is "$undoc" "" "every route the server answers is in share/openapi.json, with its role"
unimpl=$(printf '%s\n' "$doc" | grep -vxF "$routes")
is "$unimpl" "" "every documented operation is in the route table"
is "$(jq '[.paths[][] | select(.responses == null or .summary == null)] | length' "$NP_TOP/share/openapi.json")" 0 \
	"every operation has a summary and responses"
start_httpd --insecure-no-auth
is "$(req GET /api/openapi.json)" 200 "the document is served"
openapi_ops > "$T/ops"
while read -r m p role; do
	case $p in /api/logs/stream) p="$p?max_seconds=1" ;; esac
	code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 10 -X "$m" -H 'Content-Type: application/json' \
		$( [ "$m" != GET ] && echo "-d {}" ) "$URL$p")
	if [ "$code" = 405 ] || grep -q 'no such endpoint' "$T/body" || [ "$code" = 000 ] || [ "$code" -ge 500 -a "$code" != 501 -a "$code" != 502 -a "$code" != 503 ]; then
		_tap_result 1 "$m $p answers (got $code)"
	else
		_tap_result 0 "$m $p answers ($code)"
	fi
done < "$T/ops"
