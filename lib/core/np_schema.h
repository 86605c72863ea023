/* SPDX-License-Identifier: Apache-2.0 */
/* np_schema: the subset of JSON Schema (draft-07) our schemas use: type, enum,
 * minimum/maximum, minLength/maxLength, pattern (POSIX ERE), format (as an
 * assertion, the formats of np_validate.h), properties,
 * additionalProperties, required, items, minItems/maxItems, $ref to
 * "#/definitions/NAME". Unknown keywords are ignored. */
#ifndef NP_SCHEMA_H
#define NP_SCHEMA_H

#include <jansson.h>

struct np_err;

/* Validate instance against schema. Returns 0, or -1 with a permanent err
 * whose message is the dotted path of the first offending key, ": ", and
 * the rule in words an admin can act on, e.g. "dicom.port: must be from 1
 * to 65535 (got 70000)" or "dicom.ae_title: at most 16 characters (got 17)".
 * Values (and their lengths) are never quoted for writeOnly (secret) keys.
 * "format" names a check of np_validate.h ("ae-title", "email", ...). */
int np_schema_validate(json_t *schema, json_t *instance, struct np_err *err);
/* The same without the "format" checks: settings files written before a
 * check existed still load (np_config_load); saving checks them. */
int np_schema_validate_lenient(json_t *schema, json_t *instance, struct np_err *err);

/* Build an object holding every "default" of the schema's properties
 * (recursively), secrets (writeOnly) left out: what etc/neuropacs.json
 * ships. New reference. */
json_t *np_schema_defaults(json_t *schema);

/* Subschema describing a dotted path ("cloud.api_key"), resolving $ref;
 * borrowed or NULL. */
json_t *np_schema_at(json_t *schema, const char *path);

#endif
