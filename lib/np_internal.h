/* SPDX-License-Identifier: Apache-2.0 */
/* Library-internal functions shared between libnp modules (never included
 * by programs). */
#ifndef NP_INTERNAL_H
#define NP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* np_dcm_scan.c: 1 if every element, item and sequence length of the DICOM
 * file at path stays inside its container (or the file cannot be walked:
 * unreadable, big endian, deflated), 0 if the file is malformed. */
int np__dcm_lengths_ok(const char *path);

/* ---- de-identification (lib/np_deid.c, lib/np_deid_run.c) ---- */
struct np_deid_tagstat;
/* Add k to the counter of key (tag | action << 32 | (keep index + 1) << 40). */
void np__deid_tagstat_add(struct np_deid_tagstat *t, uint64_t key, long k);
/* Iterate: start with i = 0; returns the next i, or 0 at the end. */
size_t np__deid_tagstat_each(const struct np_deid_tagstat *t, size_t i, uint64_t *key, long *cnt);
/* Creator, group and element byte of kept-private entry idx; NULL past the end. */
const char *np__deid_keep_creator(int idx, unsigned *group, unsigned *elem);

#endif
