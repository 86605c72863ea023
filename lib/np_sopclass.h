/* SPDX-License-Identifier: Apache-2.0 */
/* np_sopclass: the Storage SOP Classes of PS3.4 (table generated into
 * lib/np_sopclass.c by lib/gen_sopclass.py from the UID registry). */
#ifndef NP_SOPCLASS_H
#define NP_SOPCLASS_H

struct np_sopclass {
	const char *uid;
	const char *name;
	int retired;
};

/* Every Storage SOP Class, sorted by strcmp of the UID. */
extern const struct np_sopclass np_sopclass_storage[];
extern const unsigned np_sopclass_storage_count;

/* The table entry for uid, or NULL when uid is not a Storage SOP Class. */
const struct np_sopclass *np_sopclass_find(const char *uid);

#endif
