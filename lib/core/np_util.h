/* SPDX-License-Identifier: Apache-2.0 */
/* np_util: ids and times. */
#ifndef NP_UTIL_H
#define NP_UTIL_H

#include <stddef.h>
#include <time.h>

struct np_err;

/* A random UUIDv4 in lower case ("Neuropacs UID"), 36 chars + NUL. */
int np_uuid4(char out[37], struct np_err *err);
/* 1 if s is a lower- or upper-case UUID of the 8-4-4-4-12 form. */
int np_uuid_valid(const char *s);
/* 1 if s is a valid DICOM UID: digits and dots, 1-64 chars, no empty or
 * leading-zero components. Safe to use as a file name. */
int np_dicom_uid_valid(const char *s);
/* ISO 8601 UTC with milliseconds: 2026-11-27T21:06:18.123Z */
void np_time_iso(char out[32]);
/* Same for a given time in seconds. */
void np_time_iso_at(time_t t, char out[32]);
/* Seconds since the epoch as a double; honours $NP_FAKE_NOW (epoch seconds)
 * in test builds so schedules and expiries can be tested. */
double np_now(void);
/* Monotonic seconds, for timeouts. */
double np_mono(void);
/* Fill buf with n cryptographically random bytes. */
int np_random(void *buf, size_t n, struct np_err *err);

#endif
