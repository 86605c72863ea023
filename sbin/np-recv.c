// SPDX-License-Identifier: Apache-2.0
/* np-recv: the DICOM Storage SCP daemon (see np-recv(8) and lib/np_recv.h). */
#include "np_err.h"
#include "np_log.h"
#include "np_recv.h"
#include "np_spool.h"
#include "np_validate.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: np-recv [--home DIR] [--port N] [--aet TITLE]\n"
		   "DICOM Storage SCP: receives studies into spool/incoming/ (see np-recv(8)).\n"
		   "  --home DIR   agent home (default $NP_HOME, else ./var)\n"
		   "  --port N     listen on port N instead of dicom.port (dicom.tls.port with TLS)\n"
		   "  --aet TITLE  our AE title instead of dicom.ae_title\n");
}

int main(int argc, char **argv)
{
	np_log_init(argv[0]);
	static const struct option opts[] = {{"home", required_argument, 0, 'H'},
					     {"port", required_argument, 0, 'p'},
					     {"aet", required_argument, 0, 'a'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	const char *home_opt = NULL;
	struct np_recv_overrides ov = {0};
	int c;
	while ((c = getopt_long(argc, argv, "H:p:a:h", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			home_opt = optarg;
			break;
		case 'p': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 65535) {
				np_fatal(NULL, "invalid port %s", optarg);
				return NP_EXIT_PERM;
			}
			ov.port = (int)v;
			break;
		}
		case 'a': {
			/* The rules of dicom.ae_title on save: refused, never cut. */
			char why[128];
			if (!*optarg || np_valid_ae_title(optarg, why, sizeof why) < 0) {
				np_fatal(NULL, "--aet: %s", *optarg ? why : "an AE title is required");
				return NP_EXIT_PERM;
			}
			ov.ae_title = optarg;
			break;
		}
		case 'h':
			usage(stdout);
			return NP_EXIT_OK;
		default:
			usage(stderr);
			return NP_EXIT_PERM;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return NP_EXIT_PERM;
	}
	char home[PATH_MAX];
	struct np_err err = {0};
	if (np_home_resolve(home_opt, home, sizeof home, &err) < 0 || np_recv_run(home, &ov, &err) < 0) {
		np_fatal(NULL, "%s", err.msg);
		return np_err_exit_code(&err);
	}
	return NP_EXIT_OK;
}
