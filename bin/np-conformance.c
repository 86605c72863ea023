// SPDX-License-Identifier: Apache-2.0
// np-conformance: print the DICOM Conformance Statement (lib/np_conformance)
// as a manual page, HTML or JSON. The build makes np-conformance(7) and
// share/doc/np-conformance.html with it; tests read --json.
#include "np_conformance.h"
#include "np_err.h"
#include "np_prog.h"

#include <stdio.h>

enum { O_MAN = NP_PROG_LONG, O_HTML, O_JSON };

static const struct np_prog_opt opts[] = {
    {"man", O_MAN, NULL, "mdoc, the default (man -l -)"},
    {"html", O_HTML, NULL, "a standalone HTML page"},
    {"json", O_JSON, NULL, "the facts only, as JSON"},
    {0},
};

static const struct np_prog_spec spec = {
    .name = "np-conformance",
    .synopsis = "[--man | --html | --json]",
    .about = "Prints the DICOM Conformance Statement of np-recv and np-deliver, generated\n"
	     "from the agent's own tables: mdoc (default; man -l -), HTML or JSON.",
    .opts = opts,
};

static int on_opt(struct np_prog *p, int key, const char *arg)
{
	(void)arg;
	if (key != NP_PROG_ARGS)
		*(enum np_conf_format *)p->ctx = key == O_HTML	 ? NP_CONF_HTML
						 : key == O_JSON ? NP_CONF_JSON
								 : NP_CONF_MDOC;
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	enum np_conf_format fmt = NP_CONF_MDOC;
	int rc = np_prog_start(argc, argv, &spec, &p, on_opt, &fmt);
	if (rc != NP_PROG_GO)
		return rc;
	np_prog_end(&p);
	if (np_conformance_write(stdout, fmt) < 0 || fflush(stdout) != 0) {
		perror("np-conformance: write");
		return NP_EXIT_PERM;
	}
	return 0;
}
