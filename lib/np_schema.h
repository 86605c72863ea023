/* SPDX-License-Identifier: Apache-2.0 */
/* np_schema: the subset of JSON Schema (draft-07) our schemas use: type, enum,
 * minimum/maximum, minLength/maxLength, pattern (POSIX ERE), properties,
 * additionalProperties, required, items, minItems/maxItems, $ref to
 * "#/definitions/NAME". Unknown keywords are ignored. */
#ifndef NP_SCHEMA_H
#define NP_SCHEMA_H

#include <jansson.h>

struct np_err;

/* Validate instance against schema. Returns 0, or -1 with a permanent err
 * whose message names the first offending key path and the rule, e.g.
 * "dicom.port: 70000 is above the maximum 65535". Values are never quoted
 * for writeOnly (secret) keys. */
int np_schema_validate(json_t *schema, json_t *instance, struct np_err *err);

/* Build an object holding every "default" of the schema's properties
 * (recursively), secrets (writeOnly) left out: what etc/neuropacs.json
 * ships. New reference. */
json_t *np_schema_defaults(json_t *schema);

/* Subschema describing a dotted path ("cloud.api_key"), resolving $ref;
 * borrowed or NULL. */
json_t *np_schema_at(json_t *schema, const char *path);

#endif
