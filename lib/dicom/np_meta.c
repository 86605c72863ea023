// SPDX-License-Identifier: Apache-2.0
#include "np_meta.h"

#include "np_err.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AGE_RULE "NNNY, NNNM, NNNW or NNND (e.g. 045Y), a whole number of years, or 90+"
#define SEX_RULE "M, F, MALE or FEMALE"

static void trim(const char *in, char *out, size_t outsz)
{
	while (*in == ' ' || *in == '\t')
		in++;
	size_t n = strlen(in);
	while (n && (in[n - 1] == ' ' || in[n - 1] == '\t'))
		n--;
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, in, n);
	out[n] = 0;
}

int np_meta_age_norm(const char *in, char *out, size_t outsz)
{
	char s[32];
	if (!in || strlen(in) >= sizeof s || outsz < 5)
		return -1;
	trim(in, s, sizeof s);
	const char *p = s;
	int gt = 0;
	if (*p == '>') {
		gt = 1;
		p++;
		while (*p == ' ')
			p++;
	}
	int digits = 0;
	long v = 0;
	while (isdigit((unsigned char)*p) && digits < 4) {
		v = v * 10 + (*p - '0');
		p++;
		digits++;
	}
	if (digits == 0 || digits > 3)
		return -1;
	while (*p == ' ')
		p++;
	int plus = 0;
	if (*p == '+') {
		plus = 1;
		p++;
		while (*p == ' ')
			p++;
	}
	char unit = 'Y';
	if (*p) {
		unit = (char)toupper((unsigned char)*p);
		p++;
		if (!strchr("YMWD", unit))
			return -1;
	}
	if (*p)
		return -1;
	if (gt) {
		/* ">89" (years only) is the usual spelling of 90 or older. */
		if (unit != 'Y' || plus || v < 89)
			return -1;
		v = 90;
	} else if (plus) {
		if (unit != 'Y' || v != 90)
			return -1;
	}
	if (unit == 'Y' && v > 130)
		return -1;
	snprintf(out, outsz, "%03ld%c", v, unit);
	return 0;
}

int np_meta_age_years(const char *as)
{
	if (!as || strlen(as) != 4)
		return -1;
	for (int i = 0; i < 3; i++)
		if (!isdigit((unsigned char)as[i]))
			return -1;
	int v = atoi(as);
	switch (as[3]) {
	case 'Y':
		return v;
	case 'M':
		return v / 12;
	case 'W':
		return v / 52;
	case 'D':
		return v / 365;
	default:
		return -1;
	}
}

int np_meta_sex_norm(const char *in, char out[2])
{
	char s[16];
	if (!in || strlen(in) >= sizeof s)
		return -1;
	trim(in, s, sizeof s);
	if (!strcasecmp(s, "M") || !strcasecmp(s, "MALE"))
		out[0] = 'M';
	else if (!strcasecmp(s, "F") || !strcasecmp(s, "FEMALE"))
		out[0] = 'F';
	else
		return -1;
	out[1] = 0;
	return 0;
}

int np_meta_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n < 5 || n > 50)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!(isalnum(c) || c == ' ' || c == '/' || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

int np_meta_accession_valid(const char *acc)
{
	size_t n = acc ? strlen(acc) : 0;
	if (n < 1 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (acc[i] < 0x20 || acc[i] > 0x7e || acc[i] == '\\')
			return 0;
	return 1;
}

/* The value of one sidecar key under any of its three spellings. */
static int pick(json_t *root, const char *const names[3], json_t **out, struct np_err *err)
{
	*out = NULL;
	const char *first = NULL;
	for (int i = 0; i < 3; i++) {
		json_t *v = json_object_get(root, names[i]);
		if (!v || json_is_null(v))
			continue;
		if (*out && !json_equal(*out, v))
			return np_err_set(err, NP_ERR_PERM, "sidecar: %s and %s disagree; give the value once", first,
					  names[i]);
		if (!*out) {
			*out = v;
			first = names[i];
		}
	}
	return 0;
}

int np_meta_sidecar_json(json_t *root, struct np_meta *out, struct np_err *err)
{
	static const char *const age_k[3] = {"PatientAge", "patientAge", "patient_age"};
	static const char *const sex_k[3] = {"PatientSex", "patientSex", "patient_sex"};
	static const char *const acc_k[3] = {"AccessionNumber", "accessionNumber", "accession_number"};
	memset(out, 0, sizeof *out);
	if (!json_is_object(root))
		return np_err_set(err, NP_ERR_PERM, "sidecar: the JSON sidecar must be an object");
	json_t *v;
	if (pick(root, age_k, &v, err) < 0)
		return -1;
	if (v) {
		char buf[32];
		if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < 1000)
			snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
		else if (json_is_string(v) && json_string_length(v) < sizeof buf)
			snprintf(buf, sizeof buf, "%s", json_string_value(v));
		else
			return np_err_set(err, NP_ERR_PERM,
					  "sidecar PatientAge: must be a string or a whole number (" AGE_RULE ")");
		if (np_meta_age_norm(buf, out->age, sizeof out->age) < 0)
			return np_err_set(err, NP_ERR_PERM, "sidecar PatientAge: not a valid age; expected " AGE_RULE);
	}
	if (pick(root, sex_k, &v, err) < 0)
		return -1;
	if (v) {
		if (!json_is_string(v) || np_meta_sex_norm(json_string_value(v), out->sex) < 0)
			return np_err_set(err, NP_ERR_PERM, "sidecar PatientSex: not a valid sex; expected " SEX_RULE);
	}
	if (pick(root, acc_k, &v, err) < 0)
		return -1;
	if (v) {
		if (!json_is_string(v) || !np_meta_accession_valid(json_string_value(v)))
			return np_err_set(err, NP_ERR_PERM,
					  "sidecar AccessionNumber: expected 1-64 printable characters without '\\'");
		snprintf(out->accession, sizeof out->accession, "%s", json_string_value(v));
	}
	return 0;
}

int np_meta_sidecar_parse(const char *buf, size_t len, struct np_meta *out, struct np_err *err)
{
	json_error_t je;
	memset(out, 0, sizeof *out);
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return np_err_set(err, NP_ERR_PERM, "sidecar: not valid JSON (line %d, column %d)", je.line, je.column);
	int rc = np_meta_sidecar_json(root, out, err);
	json_decref(root);
	return rc;
}
