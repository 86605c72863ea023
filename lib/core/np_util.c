// SPDX-License-Identifier: Apache-2.0
#include "np_util.h"

#include "np_err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>

int np_random(void *buf, size_t n, struct np_err *err)
{
	unsigned char *p = buf;
	while (n) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return np_err_sys(err, errno, "unable to get random bytes");
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int np_uuid4(char out[37], struct np_err *err)
{
	unsigned char b[16];
	if (np_random(b, sizeof b, err) < 0)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
		 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

int np_uuid_valid(const char *s)
{
	if (!s || strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		char c = s[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
			return 0;
		}
	}
	return 1;
}

int np_dicom_uid_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 64)
		return 0;
	int comp_len = 0;
	for (size_t i = 0; i <= n; i++) {
		char c = s[i];
		if (c == '.' || c == 0) {
			if (comp_len == 0)
				return 0;
			comp_len = 0;
		} else if (c >= '0' && c <= '9') {
			if (comp_len == 0 && c == '0' && s[i + 1] && s[i + 1] != '.')
				return 0;
			comp_len++;
		} else {
			return 0;
		}
	}
	return 1;
}

double np_now(void)
{
#ifdef NP_TEST_HOOKS
	const char *fake = getenv("NP_FAKE_NOW");
	if (fake && *fake)
		return strtod(fake, NULL);
#endif
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double np_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void np_time_iso_at(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void np_time_iso(char out[32])
{
	double now = np_now();
	time_t t = (time_t)now;
	struct tm tm;
	gmtime_r(&t, &tm);
	char base[24];
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%s.%03dZ", base, (int)((now - (double)t) * 1000) % 1000);
}
