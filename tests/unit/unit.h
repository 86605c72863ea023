/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the unit tests: cmocka and a temporary folder per test. */
#ifndef NP_TEST_UNIT_H
#define NP_TEST_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "np_fs.h"

static char tmp[256];

static inline int tmp_setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof tmp, "%s/np-unit.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(tmp));
	return 0;
}

static inline int tmp_teardown(void **state)
{
	(void)state;
	np_rmtree(tmp, NULL);
	return 0;
}

/* tmp/name into a static buffer (one at a time). */
static inline const char *at(const char *name)
{
	static char p[2][512];
	static int i;
	i ^= 1;
	snprintf(p[i], sizeof p[i], "%s/%s", tmp, name);
	return p[i];
}

#endif
