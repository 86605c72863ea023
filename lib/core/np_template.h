/* SPDX-License-Identifier: Apache-2.0 */
/* np_template: the one placeholder syntax of delivery bodies, e-mail subjects
 * and bodies, notifications and group report file names.
 *
 *   {name}   is replaced by the value of the placeholder `name`, where name
 *            matches [a-z][a-z0-9_]* and is one of np_template_names.
 *   {{       is a literal '{' (to write a literal "{npuid}", use "{{npuid}").
 *   anything else, including '{' followed by another character ('{"k":1}'),
 *            is copied unchanged, so JSON bodies need no escaping.
 *
 * Values are escaped for the context of the output (see enum np_tpl_ctx);
 * the template text itself is never altered. A known placeholder without a
 * value renders as "". An unknown placeholder is an error, reported when the
 * settings are saved (np_template_check_settings, called by
 * np_config_check), so a send never fails on a typo. */
#ifndef NP_TEMPLATE_H
#define NP_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

struct np_err;

enum np_tpl_ctx {
	NP_TPL_TEXT,	 /* values verbatim (e-mail bodies, plain text) */
	NP_TPL_JSON,	 /* values escaped as the inside of a JSON string */
	NP_TPL_LINE,	 /* one line: CR, LF and other controls become spaces (subjects, headers) */
	NP_TPL_FILENAME, /* '/', '\\', controls and leading dots become '_' */
};

/* Which placeholders a setting allows (bit set). */
enum {
	NP_TPL_F_STUDY = 1,  /* npuid order_id product status date format accession filename study_name */
	NP_TPL_F_REPORT = 2, /* report_base64 */
	NP_TPL_F_EVENT = 4,  /* event event_title level detail npuid order_id state count date study_name */
	NP_TPL_F_GROUP = 8,  /* group_name report_type date count filename */
};

struct np_tpl_var {
	const char *name;
	const char *value; /* NULL = "" */
};

/* Every placeholder name, NULL-terminated (for documentation and the UI). */
extern const char *const np_template_names[];

/* Render tpl with vars (nvars entries; later entries win on duplicates).
 * Returns a malloc'd string (caller frees), or NULL with a permanent err
 * naming the first unknown placeholder, or ENOMEM. */
char *np_template_render(const char *tpl, enum np_tpl_ctx ctx, const struct np_tpl_var *vars, size_t nvars,
			 struct np_err *err);

/* Check that every placeholder of tpl is known and allowed by the mask of
 * NP_TPL_F_* bits. Returns 0, or -1 with a permanent err naming what (the
 * setting name, used as the message prefix) and the placeholder. */
int np_template_check(const char *tpl, unsigned allowed, const char *what, struct np_err *err);

/* Check every template setting of a (partial or full) settings document:
 * delivery.destinations.N.*, failure_delivery.*, groups.delivery.*,
 * groups.filename_template, notifications.*_template. Returns 0 or -1 with
 * a permanent err "delivery.destinations.0.body_template: unknown
 * placeholder {foo}". */
int np_template_check_settings(json_t *settings, struct np_err *err);

#endif
