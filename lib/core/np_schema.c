// SPDX-License-Identifier: Apache-2.0
#include "np_schema.h"

#include "np_err.h"
#include "np_validate.h"

#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static json_t *resolve(json_t *root, json_t *s)
{
	for (int depth = 0; depth < 8 && s; depth++) {
		const char *ref = json_string_value(json_object_get(s, "$ref"));
		if (!ref)
			return s;
		if (strncmp(ref, "#/definitions/", 14))
			return NULL;
		s = json_object_get(json_object_get(root, "definitions"), ref + 14);
	}
	return s;
}

static int type_ok(const char *t, json_t *v)
{
	if (!strcmp(t, "string"))
		return json_is_string(v);
	if (!strcmp(t, "integer"))
		return json_is_integer(v) || (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v));
	if (!strcmp(t, "number"))
		return json_is_number(v);
	if (!strcmp(t, "boolean"))
		return json_is_boolean(v);
	if (!strcmp(t, "object"))
		return json_is_object(v);
	if (!strcmp(t, "array"))
		return json_is_array(v);
	if (!strcmp(t, "null"))
		return json_is_null(v);
	return 1;
}

static size_t utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

__attribute__((format(printf, 3, 4))) static int fail(struct np_err *err, const char *path, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return np_err_set(err, NP_ERR_PERM, "%s: %s", *path ? path : "(top)", what);
}

static const char *type_words(const char *t)
{
	static const char *const w[][2] = {{"string", "text"},	    {"integer", "a whole number"},
					   {"number", "a number"},  {"boolean", "true or false"},
					   {"object", "an object"}, {"array", "a list"},
					   {"null", "null"}};
	for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
		if (!strcmp(t, w[i][0]))
			return w[i][1];
	return t;
}

static const char *type_of(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return "text";
	case JSON_INTEGER:
		return "a whole number";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "true or false";
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "a list";
	default:
		return "null";
	}
}

static int validate(json_t *root, json_t *s, json_t *v, char *path, size_t pathsz, int formats, struct np_err *err)
{
	s = resolve(root, s);
	if (!s)
		return 0;
	int secret = json_is_true(json_object_get(s, "writeOnly"));
	json_t *t = json_object_get(s, "type");
	if (json_is_string(t) && !type_ok(json_string_value(t), v))
		return fail(err, path, "must be %s (got %s)", type_words(json_string_value(t)), type_of(v));
	if (json_is_array(t)) {
		size_t i;
		json_t *ti;
		int ok = 0;
		json_array_foreach (t, i, ti)
			ok |= type_ok(json_string_value(ti), v);
		if (!ok)
			return fail(err, path, "has the wrong type");
	}
	json_t *en = json_object_get(s, "enum");
	if (json_is_array(en)) {
		size_t i;
		json_t *ei;
		int ok = 0;
		json_array_foreach (en, i, ei)
			ok |= json_equal(ei, v);
		if (!ok) {
			char *list = json_dumps(en, JSON_COMPACT | JSON_ENCODE_ANY);
			int rc = fail(err, path, "must be one of %s", list ? list : "");
			free(list);
			return rc;
		}
	}
	if (json_is_number(v)) {
		double x = json_number_value(v);
		json_t *mn = json_object_get(s, "minimum"), *mx = json_object_get(s, "maximum");
		int lo = json_is_number(mn) && x < json_number_value(mn),
		    hi = json_is_number(mx) && x > json_number_value(mx);
		if ((lo || hi) && secret)
			return fail(err, path, "is out of range");
		if ((lo || hi) && json_is_number(mn) && json_is_number(mx))
			return fail(err, path, "must be from %.15g to %.15g (got %.15g)", json_number_value(mn),
				    json_number_value(mx), x);
		if (lo)
			return fail(err, path, "must be at least %.15g (got %.15g)", json_number_value(mn), x);
		if (hi)
			return fail(err, path, "must be at most %.15g (got %.15g)", json_number_value(mx), x);
	}
	if (json_is_string(v)) {
		const char *str = json_string_value(v);
		size_t n = utf8_len(str);
		json_t *mn = json_object_get(s, "minLength"), *mx = json_object_get(s, "maxLength");
		if (json_is_integer(mn) && n < (size_t)json_integer_value(mn)) {
			if (n == 0)
				return fail(err, path, "must not be empty");
			if (secret)
				return fail(err, path, "is too short");
			return fail(err, path, "at least %lld characters (got %zu)", (long long)json_integer_value(mn),
				    n);
		}
		if (json_is_integer(mx) && n > (size_t)json_integer_value(mx)) {
			/* never cut to fit: the admin sees what to shorten */
			if (secret)
				return fail(err, path, "is too long");
			return fail(err, path, "at most %lld characters (got %zu)", (long long)json_integer_value(mx),
				    n);
		}
		/* before the pattern: its words beat a regular expression */
		const char *fmt = json_string_value(json_object_get(s, "format"));
		char why[256];
		if (formats && fmt && np_valid_format(fmt, str, why, sizeof why) < 0)
			return fail(err, path, "%s", why);
		const char *pat = json_string_value(json_object_get(s, "pattern"));
		if (pat) {
			regex_t re;
			if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) == 0) {
				int m = regexec(&re, str, 0, NULL, 0);
				regfree(&re);
				if (m != 0)
					return secret ? fail(err, path, "does not have the required form")
						      : fail(err, path, "does not match the pattern %s", pat);
			}
		}
	}
	size_t plen = strlen(path);
	if (json_is_object(v)) {
		json_t *props = json_object_get(s, "properties");
		json_t *addl = json_object_get(s, "additionalProperties");
		json_t *req = json_object_get(s, "required");
		size_t i;
		json_t *ri;
		json_array_foreach (req, i, ri) {
			if (json_is_string(ri) && !json_object_get(v, json_string_value(ri)))
				return fail(err, path, "the key \"%s\" is required", json_string_value(ri));
		}
		const char *key;
		json_t *val;
		json_object_foreach (v, key, val) {
			snprintf(path + plen, pathsz - plen, "%s%s", plen ? "." : "", key);
			json_t *sub = json_object_get(props, key);
			if (!sub) {
				if (json_is_false(addl))
					return fail(err, path, "is not a known setting");
				sub = json_is_object(addl) ? addl : NULL;
			}
			if (sub && validate(root, sub, val, path, pathsz, formats, err) < 0)
				return -1;
			path[plen] = 0;
		}
	}
	if (json_is_array(v)) {
		json_t *mn = json_object_get(s, "minItems"), *mx = json_object_get(s, "maxItems");
		size_t n = json_array_size(v);
		if (json_is_integer(mn) && n < (size_t)json_integer_value(mn))
			return fail(err, path, "must have at least %lld items (got %zu)",
				    (long long)json_integer_value(mn), n);
		if (json_is_integer(mx) && n > (size_t)json_integer_value(mx))
			return fail(err, path, "must have at most %lld items (got %zu)",
				    (long long)json_integer_value(mx), n);
		json_t *items = json_object_get(s, "items");
		size_t i;
		json_t *it;
		if (items)
			json_array_foreach (v, i, it) {
				snprintf(path + plen, pathsz - plen, "%s%zu", plen ? "." : "", i);
				if (validate(root, items, it, path, pathsz, formats, err) < 0)
					return -1;
				path[plen] = 0;
			}
	}
	return 0;
}

int np_schema_validate(json_t *schema, json_t *instance, struct np_err *err)
{
	char path[512] = "";
	return validate(schema, schema, instance, path, sizeof path, 1, err);
}

int np_schema_validate_lenient(json_t *schema, json_t *instance, struct np_err *err)
{
	char path[512] = "";
	return validate(schema, schema, instance, path, sizeof path, 0, err);
}

static json_t *defaults_of(json_t *root, json_t *s)
{
	s = resolve(root, s);
	if (!s || json_is_true(json_object_get(s, "writeOnly")))
		return NULL; /* secrets have no place in the settings file */
	json_t *d = json_object_get(s, "default");
	json_t *props = json_object_get(s, "properties");
	if (json_is_object(props)) {
		json_t *out = json_is_object(d) ? json_deep_copy(d) : json_object();
		const char *key;
		json_t *sub;
		json_object_foreach (props, key, sub) {
			json_t *dv = defaults_of(root, sub);
			if (dv && !json_object_get(out, key))
				json_object_set_new(out, key, dv);
			else
				json_decref(dv);
		}
		return out;
	}
	return d ? json_deep_copy(d) : NULL;
}

json_t *np_schema_defaults(json_t *schema)
{
	return defaults_of(schema, schema);
}

json_t *np_schema_at(json_t *schema, const char *path)
{
	json_t *s = resolve(schema, schema);
	const char *p = path;
	while (s && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		char key[128];
		if (n >= sizeof key)
			return NULL;
		memcpy(key, p, n);
		key[n] = 0;
		json_t *props = json_object_get(s, "properties");
		if (props)
			s = resolve(schema, json_object_get(props, key));
		else if (json_object_get(s, "items"))
			s = resolve(schema, json_object_get(s, "items"));
		else
			return NULL;
		p += n;
		if (*p == '.')
			p++;
	}
	return s;
}
