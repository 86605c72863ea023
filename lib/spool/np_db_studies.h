/* SPDX-License-Identifier: Apache-2.0 */
/* np_db_studies: queries of the studies table (the row is written by
 * np_db_study_put and friends in np_db.h). */
#ifndef NP_DB_STUDIES_H
#define NP_DB_STUDIES_H

struct np_db;

/* 1 when the study has a row, else 0 (also on errors). */
int np_db_studies_has(struct np_db *db, const char *npuid);
/* The newest earlier study (not incoming) with the same StudyInstanceUID,
 * into out ("" when none). */
void np_db_studies_linked(struct np_db *db, const char *study_uid, const char *npuid, char out[64]);

/* What a notification says about a study. */
struct np_db_study_brief {
	char order_id[128], state[32], name[256];
};
/* Fill b ("" for each field when the study has no row). */
void np_db_studies_brief(struct np_db *db, const char *npuid, struct np_db_study_brief *b);

#endif
