// SPDX-License-Identifier: Apache-2.0
// Fuzz np_dcm_open on arbitrary bytes (through a memfd, since the API takes
// a path) and read a few elements, a sequence path and a private tag.
#include "np_dcm.h"
#include "np_err.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz_dcm", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct np_err err = {0};
	struct np_dcm *d = np_dcm_open(path, NP_DCM_HEADER_ONLY, &err);
	if (d) {
		np_dcm_get(d, "0020,000D", buf, sizeof buf);
		np_dcm_get(d, "0028,0010", buf, sizeof buf);
		np_dcm_get(d, "0040,0275/0/0032,1032", buf, sizeof buf);
		np_dcm_items(d, "0040,0275");
		np_dcm_get_private(d, 0x0019, "SIEMENS MR HEADER", 0x0C, buf, sizeof buf);
		np_dcm_transfer_syntax(d);
		np_dcm_close(d);
	}
	close(fd);
	return 0;
}
