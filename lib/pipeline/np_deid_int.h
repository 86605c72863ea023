/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to the de-identifier (np_deid.c, np_deid_run.c); never included
 * by programs. */
#ifndef NP_DEID_INT_H
#define NP_DEID_INT_H

#include <stddef.h>
#include <stdint.h>

/* ---- de-identification (lib/pipeline/np_deid.c, lib/pipeline/np_deid_run.c) ---- */
struct np_deid_tagstat;
/* Add k to the counter of key (tag | action << 32 | (keep index + 1) << 40). */
void np__deid_tagstat_add(struct np_deid_tagstat *t, uint64_t key, long k);
/* Iterate: start with i = 0; returns the next i, or 0 at the end. */
size_t np__deid_tagstat_each(const struct np_deid_tagstat *t, size_t i, uint64_t *key, long *cnt);
/* Creator, group and element byte of kept-private entry idx; NULL past the end. */
const char *np__deid_keep_creator(int idx, unsigned *group, unsigned *elem);

#endif
