# tests/lib/openapi_ops.sh: print "METHOD PATH ROLE" for every operation of
# the OpenAPI document make generates (build/share/openapi.json), path
# parameters filled with harmless values.
openapi_ops() {
	jq -r '.paths | to_entries[] | .key as $p | .value | to_entries[] | "\(.key | ascii_upcase) \($p) \(.value["x-role"])"' \
		"$PLAIN/share/openapi.json" |
		sed -e 's/{neuropacsId}/99999999-9999-4999-8999-999999999999/' -e 's/{name}/nosuchgroup/' -e 's/{id}/nosuchupload/'
}
