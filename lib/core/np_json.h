/* SPDX-License-Identifier: Apache-2.0 */
/* np_json: small helpers over jansson (https://jansson.readthedocs.io). */
#ifndef NP_JSON_H
#define NP_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

struct np_err;

/* Value at a dotted path ("dicom.tls.port"; "delivery.destinations.0.url"
 * indexes arrays). Borrowed reference or NULL. */
json_t *np_json_path(json_t *root, const char *path);
/* Typed getters with a fallback when the path is missing or of another type. */
const char *np_json_str(json_t *root, const char *path, const char *dflt);
long long np_json_int(json_t *root, const char *path, long long dflt);
int np_json_bool(json_t *root, const char *path, int dflt);
/* Load a JSON file (at most max bytes). New reference or NULL with err. */
json_t *np_json_load(const char *path, size_t max, struct np_err *err);
/* Parse a buffer. New reference or NULL with err naming the line and column. */
json_t *np_json_parse(const char *buf, size_t len, const char *what, struct np_err *err);
/* Serialize (indented, sorted keys, trailing newline) and np_write_atomic it. */
int np_json_save(const char *path, json_t *v, int mode, struct np_err *err);
/* np_json_save, owned by uid:gid before it takes its name (np_write_atomic_owned). */
int np_json_save_owned(const char *path, json_t *v, int mode, uid_t uid, gid_t gid, struct np_err *err);
/* Recursively merge src into dst: objects merge key by key, anything else
 * replaces. Returns 0 or -1 (ENOMEM). */
int np_json_merge(json_t *dst, json_t *src);

#endif
