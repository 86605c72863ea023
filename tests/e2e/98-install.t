#!/bin/sh
# The container image's steps without Docker: make install into a fresh root,
# first-run setup with np-init, and the s6 service tree from the installed files.
. "$(dirname "$0")/../lib/tap.sh"
plan 21
out=$("$SBIN/np-init" --first-run --non-interactive --container 2>/dev/null)
pw=$(printf '%s' "$out" | sed -n 's/.*shown once, log in to the UI with it): //p')
like "$pw" '^.{24}$' "first run prints a generated service password once"
ok "the generated password follows the guide's rules" sh -c "printf '%s' '$pw' | grep -q '[a-z]' && printf '%s' '$pw' | grep -q '[A-Z]' && printf '%s' '$pw' | grep -q '[0-9]' && printf '%s' '$pw' | grep -q '[^a-zA-Z0-9]'"
is "$(cat "$NP_HOME/etc/secrets/cloud.service_password")" "$pw" "it is stored as a 0600 secret"
is "$("$BIN/np-config" get dicom.port)" 104 "container defaults: DICOM on port 104"
is "$("$SBIN/np-init" --first-run --non-interactive 2>/dev/null)" "" "a second first-run changes and prints nothing"

H2="$T/h2"
printf 'https://cloud.example.test\nv1\n\nAPIKEY-XYZ\nMY_SCP\n4104\n3101\n\n\nshort\nGood-Password-12345!\n' |
	"$SBIN/np-init" --home "$H2" --interactive >"$T/init.out" 2>&1
like "$(cat "$T/init.out")" "at least 15 characters" "a weak password is refused with the rule it breaks"
is "$(NP_HOME=$H2 "$BIN/np-config" get dicom.ae_title)/$(NP_HOME=$H2 "$BIN/np-config" get http.port)" "MY_SCP/3101" "answers land in the settings"
is "$(cat "$H2/etc/secrets/cloud.api_key")" "APIKEY-XYZ" "the API key is a secret"
nok "no secret in the settings file" grep -q -e APIKEY -e Good-Password "$H2/etc/neuropacs.json"

# The build stage's make steps, as the Dockerfile writes them (its RUN line
# with make, continuation lines joined), into an empty root in place of /out.
R="$T/root"
steps=$(sed -n '/^FROM .* AS build/,/^FROM /p' "$NP_TOP/Dockerfile" | sed -e :a -e '/\\$/N; s/\\\n//; ta' |
	sed -n 's/^RUN \(.*make .*\)/\1/p' | sed "s#/out#$R#g")
[ -n "$steps" ] || bail "no make step in the Dockerfile's build stage"
(cd "$NP_TOP" && sh -c "$steps") >"$T/build-stage.log" 2>&1
rc=$?
[ $rc = 0 ] || diag "$(tail -5 "$T/build-stage.log")"
is $rc 0 "the Dockerfile's build steps succeed (make deps, make, make install, Swagger UI in place)"
ok "make install puts tools, daemons, man pages, schema and service templates in place" sh -c "
	test -x '$R/usr/local/bin/np-config' && test -x '$R/usr/local/sbin/np-svscan' &&
	test -f '$R/usr/local/share/neuropacs/schema/config.schema.json' &&
	test -x '$R/usr/local/etc/neuropacs/s6/np-recv/run' && test -f '$R/usr/local/share/man/man1/np-metrics.1'"
H3="$T/h3"
"$R/usr/local/sbin/np-svscan" --home "$H3" --prepare-only 2>/dev/null
ok "the installed np-svscan finds its templates and builds the service tree" sh -c "test -x '$H3/service/np-recv/run' && test -x '$H3/service/prepare/log/run' && test -f '$H3/service/np-httpd/notification-fd'"
echo '# local change' >> "$H3/service/np-recv/run"
"$R/usr/local/sbin/np-svscan" --home "$H3" --prepare-only 2>/dev/null
nok "service files are brought back to the shipped version" grep -q 'local change' "$H3/service/np-recv/run"
is "$(ls "$H3/spool" | tr '\n' ' ')" "cancelled done events failed incoming qc-failed qc-passed ready results stable tmp uploaded " "the agent home has every spool state"

# /api-docs: Swagger UI comes from npm (package.json), so the build stage
# needs npm, and the installed tree must hold every file api-docs.html loads.
ok "the build stage's packages (deps/build.txt) include npm" grep -qx npm "$NP_TOP/deps/build.txt"
S="$R/usr/local/share/neuropacs"
missing=
for f in $(sed -n 's#.*"/api-docs/\([^"]*\)".*#\1#p' "$NP_TOP/share/web/api-docs.html"); do
	# np-httpd answers /api-docs/init.js with share/web/api-docs.js, the rest from Swagger UI.
	case $f in init.js) p="$S/web/api-docs.js" ;; *) p="$S/vendor/node_modules/swagger-ui-dist/$f" ;; esac
	[ -f "$p" ] || missing="$missing $f"
done
is "${missing:-none}" none "the installed tree has Swagger UI's files for /api-docs (vendor/node_modules/swagger-ui-dist)"
nok "and no npm dev tool (ESLint is for make lint only)" test -e "$S/vendor/node_modules/eslint"
P=$(free_port)
"$R/usr/local/sbin/np-httpd" --home "$H3" --port "$P" 2>"$T/httpd.log" &
HP=$!
at_exit "stop_pid $HP"
wait_port "$P" 20 || diag "installed np-httpd did not start: $(tail -3 "$T/httpd.log")"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/api-docs/swagger-ui-bundle.js")" 200 \
	"the installed np-httpd serves /api-docs from the installed tree"
# The OpenAPI document make generates (share/openapi/gen.py): installed, served, without its inputs.
ok "the installed tree has the generated OpenAPI document" jq -e '.paths["/api/studies"] and .components.schemas.Settings' "$S/openapi.json"
is "$(curl -s "http://127.0.0.1:$P/api/openapi.json" | cmp -s - "$S/openapi.json" && echo same)" same "the installed np-httpd serves that document"
nok "... and not the generator's input (share/openapi/)" test -e "$S/openapi"
