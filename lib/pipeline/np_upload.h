/* SPDX-License-Identifier: Apache-2.0 */
/* np_upload: np-upload's one job, a de-identified study to the cloud: the
 * order created, deid/ uploaded as ZIPs (one multipart upload per ZIP, the
 * next one packed on a second thread), the jobs started, each step recorded
 * in order.json so that a run resumes where the last one stopped. */
#ifndef NP_UPLOAD_H
#define NP_UPLOAD_H

struct np_prog;

/* Upload the study p->dir (np_prog_start with NP_PROG_STUDY, NP_PROG_CONFIG
 * and NP_PROG_INDEX_SOFT). Returns np-upload's exit code: 0 uploaded, 1
 * failed for good (recorded, upload_failed raised), 100 a bad study or
 * settings, 111 try again later (the cloud waits, np_queue_note). */
int np_upload_run(struct np_prog *p);

#endif
