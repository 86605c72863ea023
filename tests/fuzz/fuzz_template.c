// SPDX-License-Identifier: Apache-2.0
// Fuzz the template engine: arbitrary bytes as a template, rendered in every
// escaping context and checked against every placeholder mask.
#include "np_err.h"
#include "np_template.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tpl = malloc(size + 1);
	if (!tpl)
		return 0;
	memcpy(tpl, data, size);
	tpl[size] = 0;
	static const struct np_tpl_var vars[] = {
	    {"npuid", "0b0c8f6e-2d1a-4b5e-9c1f-3a2b1c0d9e8f"},
	    {"detail", "a\"b\\c\n\x01\x7f{npuid}{{"},
	    {"group_name", "../x/.y"},
	    {"report_base64", "JVBERi0="},
	    {"date", NULL},
	};
	for (int ctx = NP_TPL_TEXT; ctx <= NP_TPL_FILENAME; ctx++) {
		struct np_err err = {0};
		char *out = np_template_render(tpl, (enum np_tpl_ctx)ctx, vars, sizeof vars / sizeof vars[0], &err);
		if (out && ctx == NP_TPL_LINE) {
			/* A rendered line never gains a line break from a value. */
			if (strchr(out, '\n') && !strchr(tpl, '\n'))
				abort();
		}
		free(out);
	}
	for (unsigned mask = 0; mask < 16; mask++)
		np_template_check(tpl, mask, "fuzz", NULL);
	free(tpl);
	return 0;
}
