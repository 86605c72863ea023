// SPDX-License-Identifier: Apache-2.0
// DICOM destinations of np_deliver. Interim: the C-STORE SCU (lib/np_ul) has
// not landed yet, so DICOM destinations fail permanently with a clear message.
#include "np_deliver.h"

#include "np_err.h"

int np_deliver_dicom(const struct np_config *cfg, json_t *dest, const char *path, struct np_err *err)
{
	(void)cfg;
	(void)dest;
	(void)path;
	return np_err_set(err, NP_ERR_PERM, "DICOM delivery is not available in this build");
}

int np_deliver_echo(const struct np_config *cfg, json_t *dest, struct np_err *err)
{
	(void)cfg;
	(void)dest;
	return np_err_set(err, NP_ERR_PERM, "DICOM delivery is not available in this build");
}
