/* SPDX-License-Identifier: Apache-2.0 */
/* np_study: a study folder's manifest.json (schema share/schema/
 * manifest.schema.json, documented in np-manifest(5)). The manifest holds
 * PHI (demographics); it never leaves the machine. */
#ifndef NP_STUDY_H
#define NP_STUDY_H

#include <jansson.h>

struct np_err;

/* A new manifest: {"npuid", "source", "format", "created_at", "series":[],
 * "counts":{...}, "products":[], "flags":[]}. New reference. */
json_t *np_study_new(const char *npuid, const char *source, const char *format);
/* Load dir/manifest.json. New reference or NULL with err. */
json_t *np_study_load(const char *dir, struct np_err *err);
/* Atomically write dir/manifest.json (0640). */
int np_study_save(const char *dir, json_t *manifest, struct np_err *err);
/* Add a flag string (e.g. "max_wait_exceeded") once. */
void np_study_flag(json_t *manifest, const char *flag);

#endif
