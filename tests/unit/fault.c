// SPDX-License-Identifier: Apache-2.0
#include "fault.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int __real_fsync(int fd);
int __real_rename(const char *a, const char *b);
ssize_t __real_write(int fd, const void *buf, size_t n);

static char armed[16];
static int countdown, armed_errno;
static int calls_fsync, calls_rename, calls_write;

int fault_calls(const char *call)
{
	return !strcmp(call, "fsync") ? calls_fsync : !strcmp(call, "rename") ? calls_rename : calls_write;
}

void fault_arm(const char *call, int nth, int err)
{
	snprintf(armed, sizeof armed, "%s", call);
	countdown = nth;
	armed_errno = err;
}

void fault_reset(void)
{
	armed[0] = 0;
}

static int trip(const char *call)
{
	if (!armed[0] || strcmp(armed, call))
		return 0;
	if (--countdown > 0)
		return 0;
	armed[0] = 0;
	errno = armed_errno;
	return 1;
}

int __wrap_fsync(int fd)
{
	return calls_fsync++, trip("fsync") ? -1 : __real_fsync(fd);
}
int __wrap_rename(const char *a, const char *b)
{
	return calls_rename++, trip("rename") ? -1 : __real_rename(a, b);
}
ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
	return calls_write++, trip("write") ? -1 : __real_write(fd, buf, n);
}

/* Every unit test binary speaks TAP, also when run by hand or by prove. */
__attribute__((constructor)) static void tap_output(void)
{
	setenv("CMOCKA_MESSAGE_OUTPUT", "TAP", 0);
}
