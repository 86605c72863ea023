/* SPDX-License-Identifier: Apache-2.0 */
/* np_spool: the agent home and the study state folders. A study's state is
 * the folder it sits in; the only way to change it is np_spool_move (rename
 * the whole folder, append history.jsonl, update the index). The state table
 * and every crash case are in np-spool(7). */
#ifndef NP_SPOOL_H
#define NP_SPOOL_H

/* np-recv's temporary files, inside incoming: under the privilege split it
 * reaches nothing of the spool but incoming, wal and events (spool/tmp is
 * the back-end's, for builds, uploads and imports). Relative to the home. */
#define NP_RECV_TMP "spool/incoming/.tmp"

#include <stddef.h>

struct np_err;
struct np_db;

/* Every state folder under spool/, in pipeline order. NULL-terminated.
 * "incoming" is keyed by StudyInstanceUID, every other state by npuid. */
extern const char *const np_spool_states[];
/* 1 if name is one of np_spool_states. */
int np_spool_state_valid(const char *name);
/* 1 for done, failed, cancelled. */
int np_spool_state_terminal(const char *name);

/* Resolve the agent home: opt (--home) if given, else $NP_HOME, else ./var;
 * made absolute. Does not create anything. */
int np_home_resolve(const char *opt, char *out, size_t outsz, struct np_err *err);
/* Create the home layout if missing: etc/, etc/secrets/ (0700), db/, log/,
 * spool/<state>/ for every state, spool/tmp/. Idempotent. */
int np_spool_init(const char *home, struct np_err *err);

/* spool/<state>/<id> (no existence check). */
int np_spool_study_dir(const char *home, const char *state, const char *id, char *out, size_t outsz,
		       struct np_err *err);
/* Find the state folder holding npuid (also in <state>/.work/). Fills state
 * (and claimed=1 when under .work). Returns 0 found, 1 not found, -1 error. */
int np_spool_find(const char *home, const char *npuid, char *state, size_t statesz, int *claimed, struct np_err *err);

/* Move a study between states: rename spool/<from>/<id> (or the claimed
 * spool/<from>/.work/<id>) to spool/<to>/<id>, fsync both folders, append
 * {"ts","from","to","reason"} to its history.jsonl, update the index (db may
 * be NULL: opened for the call; index errors are logged, never fatal since
 * the index is rebuilt from the spool). Converges when re-run after a crash:
 * if the study is already in <to>, only the missing steps are done.
 * Returns 0, or -1 with err (ENOENT permanent when the study is nowhere). */
int np_spool_move(const char *home, struct np_db *db, const char *id, const char *from, const char *to,
		  const char *reason, struct np_err *err);

/* Claim spool/<state>/<id> for a runner by renaming it into <state>/.work/.
 * Returns 0 claimed, 1 gone (another runner took it), -1 error. */
int np_spool_claim(const char *home, const char *state, const char *id, struct np_err *err);
/* Return a claimed study to <state>/. Returns 0 or -1. */
int np_spool_unclaim(const char *home, const char *state, const char *id, struct np_err *err);
/* Move every claimed study in <state>/.work back to <state>/ (crash
 * recovery at runner start). Returns the number recovered or -1. */
int np_spool_recover(const char *home, const char *state, struct np_err *err);

/* Call fn for each study folder of one state (not .work), oldest first by
 * folder mtime. fn returning non-zero stops the walk and is returned. */
typedef int (*np_spool_fn)(const char *home, const char *state, const char *id, const char *dir, void *ctx);
int np_spool_each(const char *home, const char *state, np_spool_fn fn, void *ctx, struct np_err *err);
/* Same over every state except incoming, including claimed studies. */
int np_spool_each_study(const char *home, np_spool_fn fn, void *ctx, struct np_err *err);

/* A study folder given on a command line: copy arg into dir without
 * trailing slashes and point *npuid at its last component, which must be a
 * UUID (the folder's name is the study's npuid). Returns 0, or -1 with a
 * permanent err. */
int np_spool_study_arg(const char *arg, char *dir, size_t dirsz, const char **npuid, struct np_err *err);

/* Append one history line {"ts","from","to","reason"} to dir/history.jsonl. */
int np_spool_history(const char *dir, const char *from, const char *to, const char *reason, struct np_err *err);

#endif
