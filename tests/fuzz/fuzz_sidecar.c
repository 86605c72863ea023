// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: JSON sidecars of manual uploads and the metadata rules
// behind them (np_meta: age, sex, accession, study name).
#include "np_err.h"
#include "np_meta.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct np_err err = {0};
	struct np_meta m;
	if (np_meta_sidecar_parse((const char *)data, size, &m, &err) == 0) {
		/* What the parser accepted must be normalised already. */
		if (m.age[0] && np_meta_age_years(m.age) < 0)
			abort();
		if (m.sex[0] && strcmp(m.sex, "M") && strcmp(m.sex, "F"))
			abort();
	}
	char s[128], out[8], sx[2];
	size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
	memcpy(s, data, n);
	s[n] = 0;
	if (np_meta_age_norm(s, out, sizeof out) == 0 && np_meta_age_years(out) < 0)
		abort();
	np_meta_sex_norm(s, sx);
	np_meta_name_valid(s);
	np_meta_accession_valid(s);
	return 0;
}
