/* SPDX-License-Identifier: Apache-2.0 */
/* np_meta: study metadata that people type or ship in sidecars: age, sex,
 * accession number, study name. Pure functions over strings and JSON, no
 * I/O, so they can be fuzzed (tests/fuzz/fuzz_sidecar.c). Error messages
 * name the field and the rule, never the value (it may be PHI). */
#ifndef NP_META_H
#define NP_META_H

#include <jansson.h>
#include <stddef.h>

struct np_err;

/* Demographics with their origin; empty string = unknown. */
struct np_meta {
	char age[8]; /* normalised DICOM AS form: "045Y", "006M", "090Y" */
	char sex[2]; /* "M" or "F" */
	char accession[65];
};

/* Normalise an age: NNN followed by Y, M, W or D (DICOM AS, case-insensitive),
 * a whole number of years ("48"), or a "90+" variant ("90+", "90+Y", ">89",
 * "90 +") which becomes "090Y". Writes the AS form into out (at least 5
 * bytes). Returns 0, or -1 when the syntax is not one of those. */
int np_meta_age_norm(const char *in, char *out, size_t outsz);
/* Age in whole years from a normalised AS string, -1 if invalid. */
int np_meta_age_years(const char *as);
/* M, F, MALE, FEMALE (any case, surrounding spaces ignored) -> "M"/"F".
 * Returns 0 or -1. */
int np_meta_sex_norm(const char *in, char out[2]);
/* Study name rule of the user guide: 5-50 characters, letters, digits,
 * spaces, '/', ':' and '-'. Returns 1 valid, 0 not. */
int np_meta_name_valid(const char *name);
/* Accession number: 1-64 printable ASCII characters without '\'. */
int np_meta_accession_valid(const char *acc);

/* Parse a JSON sidecar buffer (len bytes, need not be NUL-terminated) into
 * out: PatientAge/patientAge/patient_age, PatientSex/patientSex/patient_sex,
 * AccessionNumber/accessionNumber/accession_number (values as strings; an
 * age may also be a JSON number). Other keys are ignored. Two spellings of
 * one key with different values are an error. Returns 0, or -1 with a
 * permanent err naming the key and the rule. */
int np_meta_sidecar_parse(const char *buf, size_t len, struct np_meta *out, struct np_err *err);
/* Same over an already parsed JSON value. */
int np_meta_sidecar_json(json_t *root, struct np_meta *out, struct np_err *err);

#endif
