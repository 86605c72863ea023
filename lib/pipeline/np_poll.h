/* SPDX-License-Identifier: Apache-2.0 */
/* np_poll: np-poll's one job, a study's cloud order checked: the status
 * recorded in order.json and the index, the results (or the failure report)
 * downloaded into results/, the study held for np-queue while the cloud is
 * still analysing or cannot be reached. */
#ifndef NP_POLL_H
#define NP_POLL_H

struct np_prog;

/* Poll the order of the study p->dir (np_prog_start with NP_PROG_STUDY,
 * NP_PROG_CONFIG and NP_PROG_INDEX_SOFT). Returns np-poll's exit code: 0
 * results downloaded, 1 the order failed, expired or was cancelled, 100 a
 * bad study or settings, 111 not finished yet or a temporary error. */
int np_poll_run(struct np_prog *p);

#endif
