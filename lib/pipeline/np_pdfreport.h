/* SPDX-License-Identifier: Apache-2.0 */
/* np_pdfreport: the local PDF report (cairo) for results whose protocol has no
 * PDF (cloud protocol v1). Content follows the IFU output specification
 * (cloud-api.md section 6): report (order) id, submission date, input
 * description, processing type, model version, the Atypical score and its
 * sentence, the MSAp-vs-PSP score and sentence only when Atypical is
 * positive, the four free-water biomarkers with control mean and SD, that
 * neuropacs produced the result, the required sentence "Patient management
 * decisions should not be made solely on the basis of analysis by
 * neuropacs(TM)." and "Not for clinical use.". A "notice" string in the
 * result (the demo stand-in's "DEMO - synthetic analysis, not for clinical
 * use") is printed first and last. No PHI is printed. */
#ifndef NP_PDFREPORT_H
#define NP_PDFREPORT_H

#include <jansson.h>

struct np_err;

/* The sentences, exported so tests and other renderers (SR) share them. */
extern const char np_pdfreport_disclaimer[];
extern const char np_pdfreport_not_clinical[];

/* Score of one result key ("Atypical", "PSPvsMSAp", "FWpSN", ...) from the
 * result JSON: results.KEY.value (number or numeric string), or the flatter
 * result.KEY form. Returns 1 found, 0 absent. */
int np_pdfreport_value(json_t *result, const char *key, const char *field, double *out);
/* Render the report to pdf_path (atomically). result: the parsed JSON
 * result (borrowed); order: order.json (borrowed); png_path: the result
 * image to include, or NULL. Returns 0 or -1 with err. */
int np_pdfreport_pdf(json_t *result, json_t *order, const char *png_path, const char *pdf_path, struct np_err *err);
/* The same content as plain text lines (for checks and text deliveries);
 * malloc'd. */
char *np_pdfreport_text(json_t *result, json_t *order);

#endif
