#!/bin/sh
# Runs every libFuzzer target built in build/fuzz/ for a few seconds
# ($NP_FUZZ_SECONDS, default 3) from its seed corpus tests/fuzz/<name>/.
# New inputs go to a temporary corpus; the seeds are never written.
#
# The mutations follow a fixed random seed ($NP_FUZZ_SEED, default 1), so a
# run repeats the same inputs, a slower machine a prefix of them: make
# check gates on regressions and does not fail at random when a short run
# happens on a new bug. Exploring is a longer run by hand with another
# seed, e.g. NP_FUZZ_SECONDS=600 NP_FUZZ_SEED=$$ prove tests/e2e/05-fuzz.t;
# what it finds is fixed and its input added to tests/fuzz/<name>/.
. "$(dirname "$0")/../lib/tap.sh"
command -v clang >/dev/null 2>&1 || skip_all "clang is not installed"
FUZZ=$PLAIN/fuzz
targets=$(for f in "$FUZZ"/fuzz_*; do [ -x "$f" ] && [ -f "$f" ] && echo "$f"; done)
[ -n "$targets" ] || skip_all "no fuzz targets built (make fuzz)"
plan $(echo "$targets" | wc -l)
for f in $targets; do
	name=$(basename "$f"); name=${name#fuzz_}
	seeds="$NP_TOP/tests/fuzz/$name"
	mkdir -p "$T/corpus-$name" "$T/art-$name"
	[ -d "$seeds" ] || seeds=
	ASAN_OPTIONS=detect_leaks=1 "$f" -seed="${NP_FUZZ_SEED:-1}" -max_total_time="${NP_FUZZ_SECONDS:-3}" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$T/art-$name/" "$T/corpus-$name" $seeds > "$T/$name.log" 2>&1
	rc=$?
	runs=$(grep -Eo 'Done [0-9]+ runs' "$T/$name.log" | grep -Eo '[0-9]+')
	is "$rc" 0 "fuzz_$name: no crash, leak or timeout in ${runs:-0} runs"
	[ "$rc" = 0 ] || { tail -n 30 "$T/$name.log" | sed 's/^/# /'; ls "$T/art-$name" | sed 's/^/# artifact: /'; }
done
