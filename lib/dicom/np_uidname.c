/* SPDX-License-Identifier: Apache-2.0 */
/* np_uidname: UID -> name for a manifest (see np_uidname.h). */
#include "np_uidname.h"

#include "np_sopclass.h"
#include "np_ts.h"

const char *np_uid_name(const char *uid)
{
	const struct np_ts *t = np_ts_find(uid);
	if (t)
		return t->name;
	const struct np_sopclass *c = uid ? np_sopclass_find(uid) : NULL;
	if (!c && uid)
		c = np_sopclass_nonpatient(uid);
	return c ? c->name : NULL;
}

static void add_all(json_t *names, const json_t *uids)
{
	size_t i;
	json_t *u;
	json_array_foreach (uids, i, u) {
		const char *s = json_string_value(u), *n = np_uid_name(s);
		if (n)
			json_object_set_new(names, s, json_string(n));
	}
}

json_t *np_uid_names(const json_t *manifest)
{
	json_t *names = json_object();
	size_t i;
	json_t *s;
	add_all(names, json_object_get(manifest, "transfer_syntaxes"));
	json_array_foreach (json_object_get(manifest, "series"), i, s) {
		add_all(names, json_object_get(s, "transfer_syntaxes"));
		add_all(names, json_object_get(s, "sop_classes"));
	}
	return names;
}
