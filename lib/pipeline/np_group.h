/* SPDX-License-Identifier: Apache-2.0 */
/* np_group: groups (cohorts) of studies, the guide's "Group Management".
 * A group has a name, a product list and a description (the index's groups
 * table). A study's group is "group" in its manifest.json (the source of
 * truth) and group_name in the index; every function here writes the
 * manifest first, then the index. All studies of a group use the same
 * products (compared as sets). A group is complete when it has studies and
 * every one is done, failed or cancelled; adding a study re-opens it.
 * Group names are labels chosen by an admin: 1-128 bytes of UTF-8 without
 * control characters (C0, DEL, C1), invisible or direction-changing format
 * characters (U+200B, U+202E...), '/' or '\\', not "." or "..", no blank at
 * either end
 * (np_group_name_problem): the API addresses a group as /api/groups/NAME.
 * Every group also has an id (the index's rowid, in np_group_list): "id:N"
 * names it wherever a name is taken (np_group_resolve), the way out for a
 * group named before the names were checked ("a/b", "..").
 * They appear in logs and notifications, so they must not contain PHI. */
#ifndef NP_GROUP_H
#define NP_GROUP_H

#include <jansson.h>
#include <stddef.h>

struct np_err;
struct np_db;
struct np_config;

#define NP_GROUP_NAME_MAX 128

/* NULL if name is an acceptable name for a new group, else what is wrong
 * with it ("it has a '/' or '\\'", "it has an invisible or
 * direction-changing character U+202E"), without the name (static text, or
 * a buffer of the calling thread valid until its next call). */
const char *np_group_name_problem(const char *name);
/* 1 if name is an acceptable group name. */
int np_group_name_valid(const char *name);
/* The name of the group that ref designates into name: ref itself when a
 * group has that name (or none has: the caller reports it unknown), else the
 * group whose id is N when ref is "id:N". Returns 0, or -1 with a permanent
 * err (no group with that id, name too long) or a temporary one (index). */
int np_group_resolve(struct np_db *db, const char *ref, char *name, size_t namesz, struct np_err *err);

/* Create a group. products: JSON array of product id strings, or NULL/[] to
 * take them from the first study assigned. description may be NULL.
 * Returns 0, or -1 with a permanent err (invalid name, already exists,
 * products not strings). */
int np_group_create(struct np_db *db, const char *name, json_t *products, const char *description, struct np_err *err);
/* Rename a group and every study in it. -1 permanent when `from` is unknown or
 * `to` exists or is invalid. */
int np_group_rename(const char *home, struct np_db *db, const char *from, const char *to, struct np_err *err);
/* Delete a group. A group with studies is refused (permanent err) unless
 * force, which unassigns them first. */
int np_group_delete(const char *home, struct np_db *db, const char *name, int force, struct np_err *err);

/* Every group as a JSON array of objects {name, id, products, description,
 * created_at, completed_at, report_sent_at, studies, terminal, complete},
 * sorted by name. Groups named by study manifests but missing from the index
 * (after an index rebuild) are re-created first. New reference or NULL. */
json_t *np_group_list(struct np_db *db, struct np_err *err);
/* One group as in np_group_list plus "states" {state: count} and "members"
 * [{npuid, state, order_id, created_at}] (no PHI). New reference, or NULL
 * with a permanent err when unknown. */
json_t *np_group_get(struct np_db *db, const char *name, struct np_err *err);

/* Put the study npuid (any state) into group `name`, moving it out of its
 * previous group. Refused (permanent err naming both product lists) when the
 * study's products differ from the group's. Re-opens a completed group. */
int np_group_assign(const char *home, struct np_db *db, const char *name, const char *npuid, struct np_err *err);
/* Take the study out of its group (no-op when in none). */
int np_group_unassign(const char *home, struct np_db *db, const char *npuid, struct np_err *err);

/* For the stabilizer: when groups.auto_assign is on, the study is DICOM and
 * has no group yet, set manifest "group" to groups.auto_assign_group
 * (creating the group with the study's products if needed) and re-open the
 * group. The caller saves the manifest and indexes the study. A product
 * mismatch is logged and leaves the study ungrouped. Returns 1 assigned,
 * 0 not, -1 with err on index errors. */
int np_group_auto_assign(const char *home, struct np_db *db, const struct np_config *cfg, json_t *manifest,
			 struct np_err *err);

/* Completion check for one group: when every study is terminal and the group
 * was not complete yet, sets completed_at and records the
 * group_processing_completed event. Returns 1 complete, 0 not (or empty),
 * -1 with err. *became (may be NULL) is set to 1 when it completed just now. */
int np_group_check(struct np_db *db, const char *name, int *became, struct np_err *err);

/* Record that the report of `name` was sent now (report_sent_at). */
int np_group_mark_sent(struct np_db *db, const char *name, struct np_err *err);

#endif
