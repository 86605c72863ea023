#!/bin/sh
# Integer query parameters are strictly decimal: 5abc, 1e3, a number past
# 64 bits, -1, blanks or an empty value are refused with 400 and a message that
# names the parameter and its range, never read as 5, 1 or LONG_MAX.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
mkdir -p "$NP_HOME/log/np-recv"
echo '2026-11-27T10:00:00.000000000  np-recv: info: - listening port=11112' > "$NP_HOME/log/np-recv/current"
set -- "/api/logs limit 1 10000" "/api/logs/download?format=csv&x=1 limit 1 10000" "/api/audit limit 1 100000" \
	"/api/studies page 1 100000000" "/api/studies size 1 500" "/api/results page 1 1000000" "/api/results size 1 200" \
	"/api/logs/stream max_seconds 1 3600"
BAD='5abc 1e3 99999999999999999999 -1 0x10 %2B5 %205 5%20'
plan $(($# * 2 * 8 + $# + 2))
start_httpd --insecure-no-auth
for c in "$@"; do
	set -- $c
	path=$1 key=$2 lo=$3 hi=$4
	case $path in *\?*) sep='&' ;; *) sep='?' ;; esac
	for v in $BAD; do
		is "$(req GET "$path$sep$key=$v")" 400 "$path $key=$v is refused"
		is "$(jget "$T/body" error.message)" "$key: an integer from $lo to $hi" "... naming $key and its range"
	done
	# the stream would run for max_seconds: ask for the shortest
	[ "$key" = max_seconds ] && good=1 || good=$hi
	is "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$URL$path$sep$key=$good")" 200 "$path $key=$good is taken"
done
is "$(req GET '/api/logs?limit=')" 400 "an empty value is refused too"
is "$(req GET '/api/audit?limit=2&limit=x')" 200 "the first of a repeated parameter counts (as for every query parameter)"
