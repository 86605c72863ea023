/* SPDX-License-Identifier: Apache-2.0 */
/* np_scan: read a study's files once and describe them in its manifest
 * (np-manifest(5)). DICOM headers are read with np_dcm (stopping before the
 * pixel data); NIfTI headers, .bval/.bvec and sidecars are parsed here.
 * Shared by np-stable, np-import and np-qc. */
#ifndef NP_SCAN_H
#define NP_SCAN_H

#include <jansson.h>

struct np_err;
struct np_config;

/* Read every file of dicomdir (flat folder) once and fill manifest: "study"
 * {study_instance_uid, description, study_date, study_id, accession_number},
 * "patient" {name, id, birth_date, age, sex} (age/sex normalised when valid,
 * the raw values kept as age_raw/sex_raw when not), "series" (one object per
 * SeriesInstanceUID: number, description, protocol, modality, manufacturer,
 * sop_classes, instances, frames, bytes, transfer_syntaxes, lossy_flagged,
 * burned_in, image_types, diffusion {indicators, b_values, directions,
 * b0_volumes, volumes}), "counts" (series, instances, bytes, unreadable,
 * duplicates), "transfer_syntaxes", "modalities", "study_uids" (every
 * StudyInstanceUID seen) and the flag "unreadable_files" when some file is
 * not DICOM. Files are read in name order; one whose SOP Instance UID an
 * earlier file had is a duplicate: not counted or described, its name
 * listed in "duplicate_files" (absent when there is none). Products come from the
 * custom product tag of the settings, when set and present. Returns the
 * number of distinct readable instances, or -1 with err (I/O only: unreadable files
 * are counted, not fatal). */
int np_scan_dicom(const char *dicomdir, const struct np_config *cfg, json_t *manifest, struct np_err *err);

/* Look at a NIfTI bundle in niftidir: the first .nii/.nii.gz (header
 * parsed: dims, datatype), .bval and .bvec (counts), .json sidecar. Returns
 * a new object {"files":{nifti,bval,bvec,json}, "header_ok", "volumes",
 * "dims", "bvals", "bvec_columns", "b_values", "directions", "b0_volumes",
 * "prefix_mismatch", "problems":[...]} or NULL with err on I/O errors. */
json_t *np_scan_nifti(const char *niftidir, struct np_err *err);

/* Products for a study: split a product-tag value on '\\', ',' or ';'. New
 * array reference (possibly empty). */
json_t *np_scan_split_products(const char *value);

#endif
