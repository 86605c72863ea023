#!/bin/sh
# tests/lib/filter.sh STUDYDIR: a stand-in filter for np-queue tests. Records
# the attempt number in STUDYDIR/runs, sleeps $FILTER_SLEEP seconds if set,
# and exits with the status written in STUDYDIR/want (default 0).
d=$1
echo "${NP_QUEUE_ATTEMPT:-?}" >> "$d/runs"
[ -n "${FILTER_LOG:-}" ] && echo "start $(basename "$d")" >> "$FILTER_LOG"
[ -n "${FILTER_SLEEP:-}" ] && sleep "$FILTER_SLEEP"
[ -n "${FILTER_LOG:-}" ] && echo "end $(basename "$d")" >> "$FILTER_LOG"
[ -f "$d/want" ] && exit "$(cat "$d/want")"
exit 0
