/* SPDX-License-Identifier: Apache-2.0 */
/* np_local: local processing mode. Runs the configured preprocessing
 * pipeline on a study's images on premises, under CPU, memory and time
 * limits, and keeps only the pipeline's derived, non-identifying output
 * (features) as the study's upload set (STUDYDIR/deid/). */
#ifndef NP_LOCAL_H
#define NP_LOCAL_H

#include <stddef.h>

struct np_err;
struct np_config;

enum np_local_result {
	NP_LOCAL_OK = 0,     /* features are in STUDYDIR/deid/ */
	NP_LOCAL_FAILED = 1, /* the pipeline failed, timed out, produced nothing usable or leaked PHI */
};

/* Process the study in dir (its images in dir/dicom or dir/nifti). At most
 * local_processing.max_containers pipelines run at once across processes
 * (slot locks in spool/tmp); when all are busy: -1 with a temporary err.
 * Returns NP_LOCAL_OK, NP_LOCAL_FAILED (reason in err, no PHI), or -1 with
 * err for errors of our own (I/O: temporary). The pipeline's output goes to
 * dir/local.log, which stays on premises. */
int np_local_run(const char *home, const struct np_config *cfg, const char *dir, struct np_err *err);

/* Build the pipeline's argv for the configured runner (command, docker,
 * podman) into argv (at most max entries, NULL-terminated) using buf for
 * strings. Exposed for tests. Returns the argc or -1. */
int np_local_argv(const struct np_config *cfg, const char *input, const char *output, char **argv, size_t max,
		  char *buf, size_t bufsz, struct np_err *err);

#endif
