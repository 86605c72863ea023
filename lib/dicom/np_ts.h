/* SPDX-License-Identifier: Apache-2.0 */
/* np_ts: the transfer syntaxes of PS3.5 Annex A / PS3.6 Table A-1 the agent
 * knows, with their names and whether np-recv accepts them as they are.
 * The one table: np_ul negotiates from it, the web API names UIDs with it. */
#ifndef NP_TS_H
#define NP_TS_H

struct np_ts {
	const char *uid;
	const char *name;
	int accepted; /* np-recv takes it as-is (QC decides what it can use) */
};

extern const struct np_ts np_ts_table[];
extern const unsigned np_ts_count;

/* The entry for uid, or NULL when it is not a transfer syntax we know. */
const struct np_ts *np_ts_find(const char *uid);

#endif
