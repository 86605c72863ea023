/* SPDX-License-Identifier: Apache-2.0 */
/* np_deid: de-identification of DICOM files (the user guide's Safe Harbor
 * profile, extended with PS3.15 Annex E basic profile actions).
 *
 * The engine is a streaming rewriter: a file is parsed into a light tree of
 * elements whose values point into the input buffer, actions are applied at
 * every sequence depth, and the tree is serialized again. Values that are not
 * touched (pixel data, kept private elements, everything else) are copied
 * byte for byte; nothing is ever decoded. The VR of elements of implicit-VR
 * files comes from a table made from GDCM's dictionary at build time
 * (lib/gen/np_vrdict.cc): GDCM is not loaded at run time. */
#ifndef NP_DEID_H
#define NP_DEID_H

#include <stddef.h>

struct np_err;
struct np_config;

#define NP_DEID_PROFILE                                                                                                \
	"np-deid/1 (PS3.15 E.1-1 Basic; Clean Descriptors; Retain Patient Characteristics; "                           \
	"Retain Safe Private (diffusion); Modified Dates)"

/* The De-identification Method codes (CID 7050, scheme DCM) np-deid writes
 * into (0012,0064); if_shift: only when dates are shifted (else removed). */
struct np_deid_code {
	const char *code, *meaning;
	int if_shift;
};
extern const struct np_deid_code np_deid_codes[];
extern const unsigned np_deid_ncodes;

struct np_deid_opts {
	int shift_dates;       /* 1 shift DA/DT (keep TM), 0 remove every DA/DT/TM value */
	int shift_range;       /* days, the offset lies in [-range, range] \ {0} */
	int mask_zip;	       /* Patient's Address -> masked 5-digit ZIP, else removed */
	int keep_accession;    /* keep Accession Number (send_accession) */
	int remove_swv;	       /* remove Software Versions */
	int cap_age;	       /* ages over 89Y -> 090Y */
	int private_paths;     /* input paths hold original UIDs (study mode): never in messages */
	int jobs;	       /* worker threads, <= 0 = number of cores */
	int fixed_offset;      /* 1: use date_offset for every file (study mode) */
	int date_offset;       /* days, when fixed_offset */
	char uid_root[32];     /* e.g. "2.25" */
	unsigned char key[64]; /* HMAC key for pseudonymous UIDs and offsets */
	size_t keylen;
	const char *id; /* npuid for log lines, or NULL */
};

/* Defaults of the schema (shift 365, mask ZIP, remove accession, keep
 * software versions, cap age, root 2.25); the key is left empty. */
void np_deid_opts_init(struct np_deid_opts *o);
/* Overlay the deid.* settings of cfg. */
void np_deid_opts_config(struct np_deid_opts *o, const struct np_config *cfg);
/* Load the per-installation key from path (hex or raw bytes, at least 16
 * bytes); when missing and create is set, write 32 random bytes (hex, 0600,
 * atomically) first. Returns 0 or -1 with err (permanent for a short key). */
int np_deid_key_load(struct np_deid_opts *o, const char *path, int create, struct np_err *err);

/* Counters of one run (per action and per category). */
enum np_deid_count {
	NP_DC_FILES,
	NP_DC_SKIPPED,	  /* non-DICOM files and DICOMDIRs, not copied */
	NP_DC_DUPLICATES, /* same SOP Instance UID twice: first kept */
	NP_DC_REMOVED,	  /* X: element removed */
	NP_DC_EMPTIED,	  /* Z: value emptied */
	NP_DC_UID,	  /* U: UID replaced */
	NP_DC_DATE_SHIFTED,
	NP_DC_DATE_REMOVED,
	NP_DC_TEXT_SCRUBBED, /* free-text fields where a pattern or known value was replaced */
	NP_DC_ZIP_MASKED,
	NP_DC_AGE_CAPPED,
	NP_DC_PRIV_KEPT,
	NP_DC_PRIV_SCRUBBED,
	NP_DC_PRIV_REMOVED,
	NP_DC_SEQ_REMOVED,
	NP_DC_GROUP_REMOVED, /* curves, overlays, group lengths */
	NP_DC_EXCLUDED,	     /* not needed and not an instance to de-identify (np-deid(1)) */
	NP_DC_CSA_REBUILT,   /* Siemens CSA headers rebuilt from the allow-list */
	NP_DC_CSA_DROPPED,   /* Siemens CSA headers that did not parse: removed */
	NP_DC_N
};
extern const char *const np_deid_count_names[NP_DC_N];

/* One per-file result of the engine. */
struct np_deid_file {
	char sop_class[65];
	char study_uid[65]; /* new (pseudonymous) UIDs */
	char series_uid[65];
	char sop_uid[65];
	char orig_study[65]; /* originals, for the local reverse map only */
	char orig_series[65];
	char orig_sop[65];
	int offset; /* days applied */
	long counts[NP_DC_N];
	int image;    /* 1 the data set has pixel data, 0 not, -1 it did not parse */
	char why[96]; /* why np_deid_buffer returned 0 (no values of the file) */
};

/* Tag statistics: per (tag, action) counters for the report. */
struct np_deid_tagstat;
struct np_deid_tagstat *np_deid_tagstat_new(void);
void np_deid_tagstat_free(struct np_deid_tagstat *t);

/* De-identify one DICOM file held in memory. On success *out is a malloc'd
 * Part 10 file (caller frees) and f describes it. Returns 1 done, 0 the input
 * is not a DICOM instance to de-identify (a DICOMDIR, or no Study, Series or
 * SOP Instance UID; *out NULL, f->why says which), -1 with a permanent err
 * for malformed input or a failed self-check (the message never contains
 * values of the file). f->image tells, whatever the result, whether the
 * data set has pixel data. ts may be NULL. Thread-safe. */
int np_deid_buffer(const unsigned char *in, size_t len, const struct np_deid_opts *o, struct np_deid_tagstat *ts,
		   unsigned char **out, size_t *outlen, struct np_deid_file *f, struct np_err *err);
/* The output of np_deid_rewrite: a Part 10 file in 2 * next + 1 pieces,
 * buf[0, ext[0].at), ext[0], buf[ext[0].at, ext[1].at), ext[1], ...,
 * buf[ext[next-1].at, len). The pieces ext are large top-level values of the
 * input (pixel data, other big values kept as they are), left there rather
 * than copied: the input must outlive the output, which then costs its
 * header and not a second copy of an instance of up to GBs. */
struct np_deid_piece {
	size_t at;		/* where in buf it goes */
	const unsigned char *p; /* its bytes, in the input */
	size_t n;
};
struct np_deid_out {
	unsigned char *buf; /* malloc'd */
	size_t len;
	struct np_deid_piece *ext; /* malloc'd, or NULL */
	size_t next;
	size_t size; /* of the whole file */
};
/* As np_deid_buffer, the output in pieces (freed with np_deid_out_free; all
 * zero unless 1 is returned). The self-check parses the pieces as written. */
int np_deid_rewrite(const unsigned char *in, size_t len, const struct np_deid_opts *o, struct np_deid_tagstat *ts,
		    struct np_deid_out *out, struct np_deid_file *f, struct np_err *err);
/* Piece i (0 <= i < 2 * next + 1) of out: its length, *p its bytes. */
size_t np_deid_out_piece(const struct np_deid_out *out, size_t i, const unsigned char **p);
void np_deid_out_free(struct np_deid_out *out);
/* 1 if the first bytes look like DICOM (Part 10 magic or a plausible raw
 * dataset), 0 otherwise. */
int np_deid_sniff(const unsigned char *in, size_t len);
/* Pseudonymous UID of orig under o->uid_root: HMAC-SHA256(key, orig) as a
 * decimal number, at most 64 characters. out must hold 65 bytes. */
void np_deid_uid(const struct np_deid_opts *o, const char *orig, char *out);
/* The per-study offset derived from the key and the original Study Instance
 * UID: in [-range, range], never 0. */
int np_deid_offset(const struct np_deid_opts *o, const char *study_uid);
/* Shift one DA value (YYYYMMDD) by days into out (9 bytes). Returns 0, or -1
 * when the value is not a valid date. */
int np_deid_shift_da(const char *da, int days, char *out);
/* Replace the guide's patterns (URL, IP, e-mail, SSN, phone, MRN, account)
 * in s with their placeholders. Returns a malloc'd string (caller frees) or
 * NULL on ENOMEM; *hits counts replacements. */
char *np_deid_scrub_text(const char *s, size_t len, int *hits);

/* Run over a folder: IN (any tree of DICOM files) -> OUT, which appears
 * whole (built in a sibling temp folder, renamed at the end) or not at all.
 * Writes OUT/manifest.json; report (may be NULL) gets the per-tag record.
 * uidmap (may be NULL): path of a TSV original\tpseudonym written 0600.
 * Files that are not needed and cannot be de-identified (no pixel data, or
 * no UIDs: presentation states, SRs, palettes, DICOMDIRs) are excluded with
 * their reason in the manifest; excluded (may be NULL): where the list with
 * the input paths goes instead, 0600, when o->private_paths.
 * Returns 0, or -1 with err: permanent for bad input (an image that cannot
 * be de-identified fails the whole run; the error names the first such
 * file in path order, whatever the number of jobs), temporary for I/O. */
int np_deid_run(const char *in, const char *out, const struct np_deid_opts *o, const char *report, const char *uidmap,
		const char *excluded, struct np_err *err);
/* Study mode: STUDYDIR/dicom -> STUDYDIR/deid (NIfTI studies: STUDYDIR/nifti
 * linked or copied as is), with the date offset and UID map kept in
 * STUDYDIR/private/ (0700). An existing deid/ is replaced. */
int np_deid_study(const char *studydir, struct np_deid_opts *o, const char *report, struct np_err *err);

#endif
