// SPDX-License-Identifier: Apache-2.0
// Fuzz the settings path: parse arbitrary bytes as JSON, validate them
// against the embedded schema (merged over the defaults) and, when they
// parse, against every subschema the document names.
#include "np_config.h"
#include "np_err.h"
#include "np_json.h"
#include "np_schema.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct np_err err = {0};
	json_t *doc = np_json_parse((const char *)data, size, "fuzz", &err);
	if (!doc)
		return 0;
	np_config_check(doc, &err);
	np_schema_validate(np_config_schema(), doc, &err);
	const char *key;
	json_t *v;
	json_object_foreach (doc, key, v) {
		json_t *sub = np_schema_at(np_config_schema(), key);
		if (sub)
			np_schema_validate(sub, v, &err);
		np_json_path(doc, key);
	}
	json_decref(doc);
	return 0;
}
