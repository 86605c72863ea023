#!/bin/sh
# np-httpd: health, status, metrics, errors, security headers, static files,
# Swagger UI, OpenAPI document.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
plan 27
mkdir -p "$NP_HOME/web"
start_httpd --insecure-no-auth
is "$(req GET /api/health)" 200 "GET /api/health answers 200"
is "$(jget "$T/body" status)" ok "... with status ok"
is "$(req GET /health)" 503 "GET /health is 503 without a DICOM listener"
is "$(jget "$T/body" database.status)" ok "... and reports the database ok"
is "$(jget "$T/body" dicom.status)" not_listening "... and the DICOM listener down"
dport=$(free_port)
LD_PRELOAD="$PLAIN/peers/libbind127.so" storescp -aet NEUROPACS_SCP --output-directory "$T" "$dport" 2>/dev/null &
lpid=$!; at_exit "kill $lpid 2>/dev/null"
wait_port "$dport"
is "$(req PUT /api/settings -H 'Content-Type: application/json' -d "{\"dicom\":{\"port\":$dport}}")" 200 "settings point at a listening DICOM port"
is "$(req GET /health)" 200 "GET /health is 200 when the listener answers a C-ECHO"
is "$(req GET /api/status)" 200 "GET /api/status"
like "$(cat "$T/body")" '"queues":\{"incoming":0' "status has queue depths per state"
like "$(cat "$T/body")" '"version":"[0-9]' "status has the version"
is "$(req GET /metrics)" 200 "GET /metrics"
like "$(cat "$T/body")" 'np_spool_studies\{state="incoming"\} 0' "metrics in Prometheus text format"
headers=$(cat "$T/headers")
is "$(req GET /api/nope)" 404 "unknown API path is 404"
is "$(jget "$T/body" error.code)" not_found "... with the one error shape"
is "$(req DELETE /api/studies)" 405 "wrong method is 405"
like "$(grep -i '^Allow:' "$T/headers")" "GET" "... with an Allow header"
req GET /api/health >/dev/null
like "$(cat "$T/headers")" "Content-Security-Policy: default-src 'self'; script-src 'self';" "CSP without inline script"
like "$(cat "$T/headers")" "frame-ancestors" "CSP sets frame-ancestors"
like "$(cat "$T/headers")" "X-Content-Type-Options: nosniff" "nosniff"
is "$(req GET /api-docs/)" 200 "Swagger UI page at /api-docs"
nok "Swagger UI page has no inline script" grep -Eq '<script>[^<]' "$T/body"
is "$(req GET /api-docs/swagger-ui-bundle.js)" 200 "Swagger UI assets served locally"
is "$(req GET /api/openapi.json)" 200 "OpenAPI document served"
is "$(jget "$T/body" openapi)" 3.0.3 "... OpenAPI 3.0"
is "$(req GET '/../../etc/passwd' --path-as-is)" 404 "no path traversal"
is "$(req GET '/%2e%2e/%2e%2e/etc/passwd' --path-as-is)" 404 "no encoded path traversal"
code=$(req GET /)
nok "no directory listing at / (status $code)" grep -qi "index of" "$T/body"
