/* SPDX-License-Identifier: Apache-2.0 */
/* np_import: manual uploads (np-import(1), the API's upload endpoint). A
 * folder or ZIP of DICOM files (+ optional JSON sidecar) or of a NIfTI
 * bundle (.nii/.nii.gz + .bval + .bvec + required JSON sidecar) becomes one
 * study in spool/stable/<npuid>/ with source "upload": uploads skip
 * stabilization. Metadata precedence: the form (these options) > the
 * sidecar > DICOM. Nothing partial is ever left in the spool: the study is
 * built in spool/tmp/imp-<npuid>/ and renamed into stable/ at the end. */
#ifndef NP_IMPORT_H
#define NP_IMPORT_H

#include <stddef.h>

struct np_err;

struct np_import_opts {
	const char *name;	     /* study name (5-50 of letters, digits, space / : -) or NULL */
	const char *accession;	     /* or NULL */
	const char *age;	     /* NNNY/M/W/D, a number of years, 90+ variants; or NULL */
	const char *sex;	     /* M, F, MALE, FEMALE; or NULL */
	const char *group;	     /* group name or NULL */
	const char *const *products; /* nproducts product names; none: group's, tag's or defaults */
	size_t nproducts;
	long long max_bytes;   /* expanded upload cap; <= 0: upload.max_upload_gb */
	long long max_entries; /* archive entry / file count cap; <= 0: 100000 */
};

/* Check the form values alone (what the upload form must refuse before any
 * file is read). Returns 0 or -1 with a permanent err naming the field and
 * the rule. */
int np_import_check_opts(const struct np_import_opts *o, struct np_err *err);

/* Import one study from path (a folder or a ZIP file). On success fills
 * npuid_out and returns 0; -1 with err otherwise (permanent for refused
 * input, with a message naming the field or rule; temporary for I/O). */
int np_import_path(const char *home, const char *path, const struct np_import_opts *o, char npuid_out[37],
		   struct np_err *err);

#endif
