// SPDX-License-Identifier: Apache-2.0
// np-poll: check a study's cloud order; download results (or the failure
// report) into results/. Exit 0 done, 1 failed, 111 not yet.
// The work is lib/pipeline/np_poll.c.
#include "np_poll.h"
#include "np_prog.h"

static const struct np_prog_spec spec = {
    .name = "np-poll",
    .synopsis = "[--home DIR] STUDYDIR",
    .about = "Checks the study's cloud order; downloads its results (or failure report) into results/.\n"
	     "exit: 0 results downloaded, 1 the order failed, expired or was cancelled, 100 usage or settings\n"
	     "error, 111 not finished yet or a temporary error",
    .needs = NP_PROG_STUDY | NP_PROG_CONFIG | NP_PROG_INDEX_SOFT,
    .min_args = 1,
    .max_args = 1,
};

int main(int argc, char **argv)
{
	return np_prog_main(argc, argv, &spec, np_poll_run);
}
