/* SPDX-License-Identifier: Apache-2.0 */
/* np_qc: on-premise quality control of a study folder (np-qc(1)). Reads
 * manifest.json (and nifti/ for NIfTI studies), applies the checks of the
 * user guide with the rules of etc/qc-ifu.json ($NP_HOME/etc/qc-ifu.json
 * when present, else the shipped copy), writes qc.json
 * (share/schema/qc.schema.json), updates the index column qc_result and
 * records qc_passed / qc_failed. */
#ifndef NP_QC_H
#define NP_QC_H

#include <jansson.h>

struct np_err;
struct np_config;

/* The rules: $home/etc/qc-ifu.json if present, else the shipped
 * etc/qc-ifu.json (np_paths_etc). New reference, or NULL with a permanent
 * err for a missing or bad file. */
json_t *np_qc_rules(const char *home, struct np_err *err);

/* Run every check on studydir and write studydir/qc.json. cfg supplies
 * qc.dicom_enabled / qc.nifti_enabled / qc.acquisition_warnings. A bypass
 * already recorded in qc.json stays: failing checks become "bypassed".
 * Returns 0 passed (possibly with warnings or bypassed checks), 1 failed,
 * -1 with err (no manifest: permanent; I/O: temporary). *report (may be
 * NULL) receives a new reference to the written report. */
int np_qc_run(const char *home, const struct np_config *cfg, const char *studydir, json_t **report, struct np_err *err);

/* Record an admin bypass in studydir/qc.json (who, when): failed checks
 * become "bypassed", result "bypassed"; index qc_result and event
 * qc_bypassed. Does not move the study. who must not be PHI. */
int np_qc_bypass_dir(const char *home, const char *studydir, const char *who, struct np_err *err);

/* The API's bypass: find the study by npuid; record the bypass; when it is
 * held in qc-failed/, move it to qc-passed/. Returns 0, or -1 with err
 * (ENOENT permanent when unknown, temporary when a runner holds it). */
int np_qc_bypass(const char *home, const char *npuid, const char *who, struct np_err *err);

#endif
