// SPDX-License-Identifier: Apache-2.0
// np-upload: create the cloud order for a de-identified study, upload deid/
// as ZIPs (one multipart upload per ZIP), start the jobs, record order.json.
// The work is lib/pipeline/np_upload.c.
#include "np_prog.h"
#include "np_upload.h"

static const struct np_prog_spec spec = {
    .name = "np-upload",
    .synopsis = "[--home DIR] STUDYDIR",
    .about = "Uploads the study's de-identified set (STUDYDIR/deid) to the cloud and starts its order.\n"
	     "exit: 0 uploaded, 1 failed for good, 100 usage or settings error, 111 try again later",
    .needs = NP_PROG_STUDY | NP_PROG_CONFIG | NP_PROG_INDEX_SOFT,
    .min_args = 1,
    .max_args = 1,
};

int main(int argc, char **argv)
{
	return np_prog_main(argc, argv, &spec, np_upload_run);
}
