// SPDX-License-Identifier: Apache-2.0
/* np-recv: the DICOM Storage SCP daemon (see np-recv(8) and lib/pipeline/np_recv.h). */
#include "np_err.h"
#include "np_log.h"
#include "np_prog.h"
#include "np_recv.h"
#include "np_spool.h"
#include "np_validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct np_prog_opt opts[] = {
    {"port", 'p', "N", "listen on port N instead of dicom.port (dicom.tls.port with TLS)"},
    {"aet", 'a', "TITLE", "our AE title instead of dicom.ae_title"},
    {0},
};

static const struct np_prog_spec spec = {
    .name = "np-recv",
    .synopsis = "[--home DIR] [--port N] [--aet TITLE]",
    .about = "DICOM Storage SCP: receives studies into spool/incoming/ (see np-recv(8)).",
    .opts = opts,
    .needs = NP_PROG_HOME,
};

static int on_opt(struct np_prog *p, int key, const char *arg)
{
	struct np_recv_overrides *ov = p->ctx;
	if (key == 'p') {
		char *end;
		long v = strtol(arg, &end, 10);
		if (*end || v < 1 || v > 65535) {
			np_fatal(NULL, "invalid port %s", arg);
			return NP_EXIT_PERM;
		}
		ov->port = (int)v;
	} else if (key == 'a') {
		/* The rules of dicom.ae_title on save: refused, never cut. */
		char why[128];
		if (!*arg || np_valid_ae_title(arg, why, sizeof why) < 0) {
			np_fatal(NULL, "--aet: %s", *arg ? why : "an AE title is required");
			return NP_EXIT_PERM;
		}
		ov->ae_title = arg;
	}
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	struct np_recv_overrides ov = {0};
	struct np_err err = {0};
	int rc = np_prog_start(argc, argv, &spec, &p, on_opt, &ov);
	if (rc != NP_PROG_GO)
		return rc;
	np_prog_end(&p);
	if (np_recv_run(p.home, &ov, &err) < 0) {
		np_fatal(NULL, "%s", err.msg);
		return np_err_exit_code(&err);
	}
	return NP_EXIT_OK;
}
