/* SPDX-License-Identifier: Apache-2.0 */
/* np_config: settings = shipped defaults (embedded in libnp from
 * etc/neuropacs.json) overlaid with $NP_HOME/etc/neuropacs.json, validated
 * against share/schema/config.schema.json (also embedded). Secrets (schema
 * keys marked writeOnly) live in $NP_HOME/etc/secrets/<dotted.key>, 0600,
 * never in the JSON. */
#ifndef NP_CONFIG_H
#define NP_CONFIG_H

#include <jansson.h>
#include <limits.h>

struct np_err;

struct np_config {
	json_t *root; /* merged, validated settings (owned) */
	char home[PATH_MAX];
};

/* Load and validate (schema, then templates as np_config_check does). On a
 * bad file: -1 with a permanent err naming the file, key and rule; the caller
 * exits 100 before doing anything else. */
int np_config_load(struct np_config *cfg, const char *home, struct np_err *err);
void np_config_free(struct np_config *cfg);

/* Getters on cfg->root by dotted path; the defaults guarantee presence, the
 * fallback only matters for a key this build does not know. */
const char *np_config_str(const struct np_config *cfg, const char *path);
long long np_config_int(const struct np_config *cfg, const char *path);
int np_config_bool(const struct np_config *cfg, const char *path);
json_t *np_config_get(const struct np_config *cfg, const char *path);

/* The embedded schema and defaults (borrowed, parsed once, never freed). */
json_t *np_config_schema(void);
json_t *np_config_defaults(void);

/* Validate settings (a partial or full settings document) merged over the
 * defaults against the schema, then every template (np_template_check_settings).
 * Returns 0 or -1 with err. */
int np_config_check(json_t *settings, struct np_err *err);
/* Validate, move secret values into etc/secrets/, and atomically write the
 * rest to $home/etc/neuropacs.json. A secret given as "" or "********" keeps
 * the stored one. settings is not modified. */
/* What identifies the version of home's settings file (a save renames a new
 * file over it): inode, size and mtime in ns, or "none". Compare two stamps
 * to see a change made by another process (np-config on the host). */
#define NP_CONFIG_STAMP_LEN 96
void np_config_stamp(const char *home, char out[NP_CONFIG_STAMP_LEN]);
/* The settings file of home as written (no defaults): a JSON object, empty
 * when there is none, or NULL with err. */
json_t *np_config_file(const char *home, struct np_err *err);
int np_config_save(const char *home, json_t *settings, struct np_err *err);
/* Secret by dotted key ("cloud.api_key"): malloc'd string without trailing
 * newline, or NULL when unset (err untouched) or unreadable (err filled). */
char *np_config_secret(const char *home, const char *key, struct np_err *err);
/* Store (0600, atomically) or, for value NULL, delete a secret. */
int np_config_secret_set(const char *home, const char *key, const char *value, struct np_err *err);
/* 1 when this process can read secret key, 0 when it is not set, -1 when it
 * is set but kept from this process (the privilege split: root's file of
 * another group, or sealed to another group's key). */
int np_config_secret_readable(const char *home, const char *key);
/* Copy of settings with every writeOnly value replaced by "********" when set
 * and "" when unset, for the Settings page. New reference. */
json_t *np_config_masked(const struct np_config *cfg);
/* The dotted keys of the writeOnly settings (secrets) that settings, a body
 * of changes, sets to a value other than the one stored under home ("" and
 * "********" keep it). New reference (an array). */
json_t *np_config_secrets_given(const char *home, json_t *settings);

#endif
