// SPDX-License-Identifier: Apache-2.0
// np-conformance: print the DICOM Conformance Statement (lib/np_conformance)
// as a manual page, HTML or JSON. The build makes np-conformance(7) and
// share/doc/np-conformance.html with it; tests read --json.
#include "np_conformance.h"
#include "np_err.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: np-conformance [--man | --html | --json]\n"
		   "Prints the DICOM Conformance Statement of np-recv and np-deliver, generated\n"
		   "from the agent's own tables: mdoc (default; man -l -), HTML or JSON.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"man", no_argument, 0, 'm'},
					     {"html", no_argument, 0, 't'},
					     {"json", no_argument, 0, 'j'},
					     {"help", no_argument, 0, 'h'},
					     {0}};
	enum np_conf_format fmt = NP_CONF_MDOC;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'm')
			fmt = NP_CONF_MDOC;
		else if (c == 't')
			fmt = NP_CONF_HTML;
		else if (c == 'j')
			fmt = NP_CONF_JSON;
		else if (c == 'h')
			return usage(stdout), 0;
		else
			return usage(stderr), NP_EXIT_PERM;
	}
	if (optind != argc)
		return usage(stderr), NP_EXIT_PERM;
	if (np_conformance_write(stdout, fmt) < 0 || fflush(stdout) != 0) {
		perror("np-conformance: write");
		return NP_EXIT_PERM;
	}
	return 0;
}
