# tests/lib/spool.sh: spool helpers for e2e tests (source after tap.sh).
# mkstudy STATE [WANT]: create a bare study folder spool/STATE/<npuid> with a
# manifest, and a `want` file (the exit status tests/lib/filter.sh returns);
# prints the npuid.
mkstudy() {
	_id=$(cat /proc/sys/kernel/random/uuid)
	mkdir -p "$NP_HOME/spool/tmp" "$NP_HOME/spool/$1"
	_d="$NP_HOME/spool/tmp/$_id"
	mkdir -p "$_d"
	printf '{"manifest_version":1,"npuid":"%s","source":"test","format":"dicom","created_at":"2026-01-01T00:00:00.000Z"}\n' "$_id" > "$_d/manifest.json"
	[ -n "${2:-}" ] && echo "$2" > "$_d/want"
	mv "$_d" "$NP_HOME/spool/$1/$_id"
	echo "$_id"
}
# where NPUID: the spool states holding the study (claimed ones as STATE/.work),
# space-separated, in a stable order.
where() {
	(cd "$NP_HOME/spool" && for s in */"$1" */.work/"$1"; do [ -d "$s" ] && dirname "$s"; done) | sort | tr '\n' ' ' | sed 's/ $//'
}
# history_of NPUID: the study's history as "from>to" pairs, space-separated.
history_of() {
	_s=$(where "$1")
	/usr/bin/python3 -c 'import json,sys
print(" ".join("%s>%s" % (r["from"], r["to"]) for r in map(json.loads, open(sys.argv[1]))))' "$NP_HOME/spool/$_s/$1/history.jsonl" 2>/dev/null
}
