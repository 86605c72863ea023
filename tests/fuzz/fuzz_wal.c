// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target for the instance log reader: np-recv and np-stable read
 * the slots in spool/wal/ after a crash, when a record may be torn or the
 * file damaged. The input is a slot image; every record it yields must lie
 * inside it and carry a usable folder and file name. */
#include "np_wal.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int check(void *ctx, const struct np_wal_rec *r)
{
	const uint8_t *img = ctx;
	(void)img;
	if (!r->dir[0] || strchr(r->dir, '/') || !r->name[0] || strchr(r->name, '/') || r->len > NP_WAL_MAX)
		abort();
	volatile unsigned char sum = 0;
	for (size_t i = 0; i < r->len; i++)
		sum ^= r->data[i]; /* ASan checks every byte is readable */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	np_wal_parse(data, size, check, (void *)data);
	return 0;
}
