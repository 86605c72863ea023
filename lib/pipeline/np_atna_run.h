/* SPDX-License-Identifier: Apache-2.0 */
/* np_atna_run: np-atna's one job, the audit trail sent to the IHE ATNA
 * audit record repository: as a service (the loop, its signals, the
 * reconnect backoff and the reload on a settings change) or once, and the
 * one-shot modes --print, --test and --skip-backlog. The messages are
 * np_atna.h's. */
#ifndef NP_ATNA_RUN_H
#define NP_ATNA_RUN_H

struct np_prog;

enum np_atna_mode {
	NP_ATNA_SERVICE,      /* follow and send until SIGTERM or SIGINT */
	NP_ATNA_ONCE,	      /* send what waits, then return (111 when unreachable) */
	NP_ATNA_PRINT,	      /* every message the index gives on stdout, one XML document a line */
	NP_ATNA_TEST,	      /* one test message with the saved settings */
	NP_ATNA_SKIP_BACKLOG, /* mark every record so far as sent */
};

/* Run mode with the index p->db of the home p->home (np_prog_start with
 * NP_PROG_INDEX). The service blocks SIGHUP, SIGTERM and SIGINT and waits
 * for them with sigtimedwait; SIGHUP reloads the settings. Returns
 * np-atna's exit code. */
int np_atna_run(struct np_prog *p, enum np_atna_mode mode);

#endif
