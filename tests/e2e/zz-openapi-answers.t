#!/bin/sh
# Every JSON answer np-httpd gave the e2e tests before this one conforms to the
# OpenAPI document make generates: make check sets NP_API_LOG (build/api-log,
# emptied per run), tests/lib/httpd.sh's req keeps each answer of /api and
# /health there, and tests/lib/openapi-validate.py (python3-jsonschema)
# checks them all in one run against their operation's response schema (an
# error answer to a path or method the document lacks: against Error). One
# line per operation: how many answers were checked, each mismatch with its
# test, path, status and the validator's message. Runs last (its name sorts
# after every other test).
. "$(dirname "$0")/../lib/tap.sh"
DOC=$PLAIN/share/openapi.json
LOG=${NP_API_LOG:-}
[ -n "$LOG" ] && [ -d "$LOG" ] || skip_all "NP_API_LOG is not set (make check sets it)"
[ -n "$(ls -A "$LOG")" ] || skip_all "no answer was kept in $LOG"
test -s "$DOC" || bail "$DOC is missing (make builds it)"
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || bail "python3-jsonschema is missing (make deps)"
/usr/bin/python3 "$NP_TOP/tests/lib/openapi-validate.py" "$DOC" --log "$LOG" >"$T/valid"
while IFS= read -r line; do
	case $line in
	"ok "*) _tap_result 0 "answers conform: ${line#ok }" ;;
	"not ok "*) _tap_result 1 "answers conform: ${line#not ok }" ;;
	"answers "*) set -- $line; diag "$2 answers validated, of $4 of the document's $6 operations" ;;
	*) echo "$line" ;;
	esac
done <"$T/valid"
ok "the validator ran to its summary" grep -q '^answers [0-9]* operations [0-9]* of [0-9]*$' "$T/valid"
done_testing
