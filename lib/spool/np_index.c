// SPDX-License-Identifier: Apache-2.0
#include "np_index.h"

#include "np_db.h"
#include "np_db_studies.h"
#include "np_db_maint.h"
#include "np_err.h"
#include "np_spool.h"
#include "np_study.h"

#include <stdlib.h>

struct rebuild_ctx {
	struct np_db *db;
	struct np_db_put *put; /* one statement for every row */
	struct np_err *err;
	int failed;
};

static int rebuild_one(const char *home, const char *state, const char *npuid, const char *dir, void *vctx)
{
	(void)home;
	struct rebuild_ctx *ctx = vctx;
	json_t *m = np_study_load(dir, NULL);
	if (np_db_study_put_with(ctx->db, &ctx->put, npuid, state, m, ctx->err) < 0)
		ctx->failed = 1;
	json_decref(m);
	return ctx->failed ? -1 : 0;
}

int np_index_rebuild(struct np_db *db, struct np_err *err)
{
	if (np_db_begin(db, err) < 0)
		return -1;
	char *indexes = np_db_studies_bulk_begin(db, err); /* made again once the rows are in */
	if (!indexes || np_db_studies_delete_all(db, err) < 0) {
		free(indexes);
		np_db_rollback(db);
		return -1;
	}
	struct rebuild_ctx ctx = {db, NULL, err, 0};
	int rc = np_spool_each_study(np_db_home(db), rebuild_one, &ctx, err);
	np_db_study_put_end(ctx.put);
	if (rc < 0 || ctx.failed) {
		free(indexes);
		np_db_rollback(db);
		return -1;
	}
	if (np_db_studies_bulk_end(db, indexes, err) < 0 || np_db_kv_set(db, NP_DB_SPOOL_INDEXED, "1", err) < 0) {
		np_db_rollback(db);
		return -1;
	}
	return np_db_commit(db, err);
}

static struct np_db *filled(struct np_db *db, struct np_err *err)
{
	if (!db)
		return NULL;
	char *mark = np_db_kv_get(db, NP_DB_SPOOL_INDEXED);
	/* Services starting together on a new index may each rebuild it: the
	 * rebuilds run one after the other (BEGIN IMMEDIATE) and give the
	 * same rows, so the race costs time, never rows. */
	if (!mark && np_index_rebuild(db, err) < 0) {
		np_db_close(db);
		return NULL;
	}
	free(mark);
	return db;
}

struct np_db *np_index_open(const char *home, struct np_err *err)
{
	return filled(np_db_open(home, err), err);
}

struct np_db *np_index_open_private(const char *home, struct np_err *err)
{
	return filled(np_db_open_private(home, err), err);
}
