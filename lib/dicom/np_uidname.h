/* SPDX-License-Identifier: Apache-2.0 */
/* np_uidname: the names of the transfer syntax and SOP class UIDs a study's
 * manifest lists, from the tables of np_ts and np_sopclass, so that the web
 * UI shows names without a second table of its own. */
#ifndef NP_UIDNAME_H
#define NP_UIDNAME_H

#include <jansson.h>

/* The name of a transfer syntax or SOP class UID, or NULL if unknown. */
const char *np_uid_name(const char *uid);

/* A new object {uid: name} for every known UID in manifest's
 * "transfer_syntaxes", and in each series' "transfer_syntaxes" and
 * "sop_classes" (unknown UIDs are left out). Never NULL on a NULL manifest:
 * an empty object. */
json_t *np_uid_names(const json_t *manifest);

#endif
