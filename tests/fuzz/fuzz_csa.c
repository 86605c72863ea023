// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: Siemens CSA headers (np_csa). What np_csa_filter writes
// must read back, rebuild to the same bytes, and give np_csa_get the same
// answer for every value the rebuilt header holds.
#include "np_csa.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {"B_value", "DiffusionGradientDirection", "B_matrix", "MosaicRefAcqTimes"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *out = NULL, *again = NULL;
	size_t outlen = 0, againlen = 0;
	char why[64];
	int r = np_csa_filter(data, size, &out, &outlen, why, sizeof why);
	if (r < -1 || r > 1 || (r != 1 && out))
		abort();
	if (r == 1) {
		if (outlen % 4 || np_csa_filter(out, outlen, &again, &againlen, why, sizeof why) != 1 ||
		    againlen != outlen || memcmp(again, out, outlen))
			abort();
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
			double v[8];
			/* a kept element holds numbers only */
			if (np_csa_get(out, outlen, names[i], v, 8) < 0)
				abort();
		}
		free(again);
		free(out);
	}
	double v[4];
	np_csa_get(data, size, "B_value", v, 4);
	return 0;
}
