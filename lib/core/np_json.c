// SPDX-License-Identifier: Apache-2.0
#include "np_json.h"

#include "np_err.h"
#include "np_fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

json_t *np_json_path(json_t *root, const char *path)
{
	json_t *cur = root;
	const char *p = path;
	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		char key[128];
		if (n >= sizeof key)
			return NULL;
		memcpy(key, p, n);
		key[n] = 0;
		if (json_is_object(cur)) {
			cur = json_object_get(cur, key);
		} else if (json_is_array(cur)) {
			char *end;
			unsigned long idx = strtoul(key, &end, 10);
			cur = *key && !*end ? json_array_get(cur, idx) : NULL;
		} else {
			return NULL;
		}
		p += n;
		if (*p == '.')
			p++;
	}
	return cur;
}

const char *np_json_str(json_t *root, const char *path, const char *dflt)
{
	json_t *v = np_json_path(root, path);
	return json_is_string(v) ? json_string_value(v) : dflt;
}

long long np_json_int(json_t *root, const char *path, long long dflt)
{
	json_t *v = np_json_path(root, path);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	return dflt;
}

int np_json_bool(json_t *root, const char *path, int dflt)
{
	json_t *v = np_json_path(root, path);
	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

json_t *np_json_parse(const char *buf, size_t len, const char *what, struct np_err *err)
{
	json_error_t je;
	json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!v)
		np_err_set(err, NP_ERR_PERM, "%s: invalid JSON at line %d column %d: %s", what, je.line, je.column,
			   je.text);
	return v;
}

json_t *np_json_load(const char *path, size_t max, struct np_err *err)
{
	size_t len;
	char *buf = np_read_file(path, max, &len, err);
	if (!buf)
		return NULL;
	json_t *v = np_json_parse(buf, len, path, err);
	free(buf);
	return v;
}

int np_json_save(const char *path, json_t *v, int mode, struct np_err *err)
{
	return np_json_save_owned(path, v, mode, (uid_t)-1, (gid_t)-1, err);
}

int np_json_save_owned(const char *path, json_t *v, int mode, uid_t uid, gid_t gid, struct np_err *err)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!s)
		return np_err_sys(err, ENOMEM, "unable to serialize %s", path);
	size_t n = strlen(s);
	char *buf = realloc(s, n + 2);
	if (!buf) {
		free(s);
		return np_err_sys(err, ENOMEM, "unable to serialize %s", path);
	}
	buf[n] = '\n';
	buf[n + 1] = 0;
	int rc = np_write_atomic_owned(path, buf, n + 1, (mode_t)mode, uid, gid, err);
	free(buf);
	return rc;
}

int np_json_merge(json_t *dst, json_t *src)
{
	const char *key;
	json_t *val;
	json_object_foreach (src, key, val) {
		json_t *cur = json_object_get(dst, key);
		if (json_is_object(cur) && json_is_object(val)) {
			if (np_json_merge(cur, val) < 0)
				return -1;
		} else if (json_object_set(dst, key, val) < 0) {
			return -1;
		}
	}
	return 0;
}
