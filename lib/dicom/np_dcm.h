/* SPDX-License-Identifier: Apache-2.0 */
/* np_dcm: the only door to GDCM. An opaque C API; the C++ behind it
 * (lib/dicom/np_dcm*.cc) catches every exception at the boundary and turns it into
 * a struct np_err. Tag paths are written "GGGG,EEEE" for a top-level
 * element and "GGGG,EEEE/N/GGGG,EEEE" to step into item N (0-based) of a
 * sequence, to any depth. */
#ifndef NP_DCM_H
#define NP_DCM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct np_err;
struct np_dcm;

enum {
	NP_DCM_HEADER_ONLY = 1, /* stop before (7FE0,0010) Pixel Data */
};

/* Open and parse a DICOM file (Part 10, or a raw dataset GDCM can read).
 * Returns NULL with a permanent err when the file is not DICOM or is
 * truncated, temporary for I/O errors. */
struct np_dcm *np_dcm_open(const char *path, int flags, struct np_err *err);
void np_dcm_close(struct np_dcm *d);

/* String value of the element at tagpath, trailing spaces/NULs removed,
 * binary VRs (US, FD, ...) rendered as text with '\' between values.
 * Returns 1 found (out filled, possibly ""), 0 absent, -1 bad path. A value
 * longer than outsz is truncated. */
int np_dcm_get(struct np_dcm *d, const char *tagpath, char *out, size_t outsz);
/* First value as a double. Returns 1 found, 0 absent or not numeric. */
int np_dcm_get_double(struct np_dcm *d, const char *tagpath, double *out);
/* Number of items of the sequence at tagpath (0 when absent). */
int np_dcm_items(struct np_dcm *d, const char *tagpath);
/* Private element: group, private creator, element byte (low 8 bits, e.g.
 * 0x0C for (0019,xx0C)). Same returns as np_dcm_get. */
int np_dcm_get_private(struct np_dcm *d, unsigned group, const char *creator, unsigned elem, char *out, size_t outsz);
/* Transfer syntax UID of the dataset (from the meta header, or inferred). */
const char *np_dcm_transfer_syntax(struct np_dcm *d);
/* 1 if the file had a Part 10 meta header. */
int np_dcm_has_meta(struct np_dcm *d);

/* ---- np_dcm_build (result delivery, issue 7): lib/dicom/np_dcm_build.cc ----
 * Result objects that belong to the ORIGINAL study: the Patient and General
 * Study modules are copied from study_file (one instance of the study as
 * received), in a new series. Output is Part 10, Explicit VR Little Endian,
 * written atomically to out_path. Errors: permanent for an unreadable source
 * or bad input, temporary for I/O. No PHI in error messages. */
struct np_dcm_result_info {
	const char *sop_instance_uid;	 /* required; kept by the caller so a resend is identical */
	const char *series_instance_uid; /* required; a new series in the original study */
	int series_number;
	const char *series_description;
	const char *document_title; /* PDF: Document Title */
	const char *manufacturer;
	const char *software_versions; /* may be NULL */
};

enum { NP_DCM_SR_TEXT, NP_DCM_SR_NUM };

/* One content item under the SR's root CONTAINER (relationship CONTAINS).
 * Codes are (value, scheme, meaning); units default to UCUM "1". */
struct np_dcm_sr_item {
	int type;
	const char *code_value, *code_scheme, *code_meaning;
	const char *text; /* TEXT: UTF-8; a trademark sign becomes "(TM)" if the study is not UTF-8 compatible */
	double value;	  /* NUM */
	const char *unit_value, *unit_scheme, *unit_meaning;
};

/* A new UID "2.25.<128 random bits as decimal>" (at most 44 chars). */
int np_dcm_uid_new(char out[65], struct np_err *err);
/* Encapsulated PDF Storage of pdf (must start with "%PDF-"); odd lengths are
 * padded with one NUL and (0042,0015) holds the exact length. */
int np_dcm_build_pdf(const char *study_file, const struct np_dcm_result_info *info, const void *pdf, size_t pdf_len,
		     const char *out_path, struct np_err *err);
/* Comprehensive SR: root CONTAINER "Diagnostic imaging report" (LOINC
 * 18748-4), language en-US, then items in order. */
int np_dcm_build_sr(const char *study_file, const struct np_dcm_result_info *info, const struct np_dcm_sr_item *items,
		    size_t n, const char *out_path, struct np_err *err);

/* --- ingest (np-stable, np-import, np-qc) --- */
/* Raw value bytes of a private element (group, private creator, low 8 bits
 * of the element), untouched: for binary VRs such as FD vectors. Copies at
 * most outsz bytes into out and stores the full length in *len. Returns 1
 * found, 0 absent, -1 error. */
int np_dcm_get_private_raw(struct np_dcm *d, unsigned group, const char *creator, unsigned elem, void *out,
			   size_t outsz, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
