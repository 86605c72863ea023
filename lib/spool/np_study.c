// SPDX-License-Identifier: Apache-2.0
#include "np_study.h"

#include "np_err.h"
#include "np_fs.h"
#include "np_json.h"
#include "np_util.h"

#include <limits.h>
#include <string.h>

json_t *np_study_new(const char *npuid, const char *source, const char *format)
{
	char now[32];
	np_time_iso(now);
	return json_pack("{s:i, s:s, s:s, s:s, s:s, s:{}, s:{}, s:[], s:{s:i, s:i, s:i}, s:[], s:[], s:[], s:n, s:n}",
			 "manifest_version", 1, "npuid", npuid, "source", source, "format", format, "created_at", now,
			 "study", "patient", "series", "counts", "series", 0, "instances", 0, "bytes", 0,
			 "transfer_syntaxes", "products", "flags", "group", "study_name");
}

json_t *np_study_load(const char *dir, struct np_err *err)
{
	char path[PATH_MAX];
	if (np_path_join(path, sizeof path, dir, "manifest.json", err) < 0)
		return NULL;
	json_t *m = np_json_load(path, 64 << 20, err);
	if (m && !json_is_object(m)) {
		json_decref(m);
		np_err_set(err, NP_ERR_PERM, "%s: not a JSON object", path);
		return NULL;
	}
	return m;
}

int np_study_save(const char *dir, json_t *manifest, struct np_err *err)
{
	char path[PATH_MAX];
	if (np_path_join(path, sizeof path, dir, "manifest.json", err) < 0)
		return -1;
	return np_json_save(path, manifest, 0660, err);
}

void np_study_flag(json_t *m, const char *flag)
{
	json_t *flags = json_object_get(m, "flags");
	if (!json_is_array(flags)) {
		flags = json_array();
		json_object_set_new(m, "flags", flags);
	}
	size_t i;
	json_t *f;
	json_array_foreach (flags, i, f)
		if (json_is_string(f) && !strcmp(json_string_value(f), flag))
			return;
	json_array_append_new(flags, json_string(flag));
}
