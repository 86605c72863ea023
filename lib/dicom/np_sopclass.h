/* SPDX-License-Identifier: Apache-2.0 */
/* np_sopclass: the Storage SOP Classes of PS3.4 (table generated into
 * lib/dicom/np_sopclass.c by lib/gen/gen_sopclass.py from the UID registry). The
 * Non-Patient Object Storage classes (Annex GG) are kept apart. */
#ifndef NP_SOPCLASS_H
#define NP_SOPCLASS_H

struct np_sopclass {
	const char *uid;
	const char *name;
	int retired;
};

/* Every Storage SOP Class of patient data, sorted by strcmp of the UID. */
extern const struct np_sopclass np_sopclass_storage[];
extern const unsigned np_sopclass_storage_count;

/* The Non-Patient Object Storage classes (refused at negotiation), sorted. */
extern const struct np_sopclass np_sopclass_nonpatient_table[];
extern const unsigned np_sopclass_nonpatient_count;

/* The table entry for uid, or NULL when uid is not a Storage SOP Class of
 * patient data. */
const struct np_sopclass *np_sopclass_find(const char *uid);
/* The entry for uid when it is a Non-Patient Object Storage class (color
 * palette, hanging protocol, implant template...), else NULL. */
const struct np_sopclass *np_sopclass_nonpatient(const char *uid);

#endif
