/* SPDX-License-Identifier: Apache-2.0 */
/* np_svcpw: the service password (etc/secrets/cloud.service_password) is
 * also the admin password of the UI, checked against its bcrypt hash
 * (np_password_hash, etc/secrets/http.password_hash). Every
 * change made through np_config_secret_set follows the rules of
 * np_password_check and rewrites the hash at once, so the old password stops
 * logging in at once; whoever made the change then ends the sessions opened
 * before it (np_svcpw_revoke), whichever program it is. */
#ifndef NP_SVCPW_H
#define NP_SVCPW_H

#include "np_password.h"

#include <stddef.h>

struct np_db;
struct np_err;

/* Hash pw and store it as the local login hash. Returns 0 or -1 with err. */
int np_svcpw_store_hash(const char *home, const char *pw, struct np_err *err);
/* 1 unless a service password is stored and pw is not it: a hash that
 * verifies pw but is older than the stored password (the secret file was
 * replaced by hand) must not let the old password in. */
int np_svcpw_is_current(const char *home, const char *pw);
/* Fingerprint of the stored hash ("" when there is none), taken before and
 * after an operation: they differ exactly when the password changed. */
void np_svcpw_stamp(const char *home, char out[65]);
/* End every session but keep_sid (NULL or "": all of them). db NULL: the
 * home's index when it exists (no index: no session, 0). Returns the number
 * ended or -1 with err. */
int np_svcpw_revoke(const char *home, struct np_db *db, const char *keep_sid, struct np_err *err);
/* For programs other than np-httpd: when stamp_before differs from the
 * stamp now, end every session and append the audit row "sessions_revoked"
 * (actor, role admin, client "local", detail "count=N
 * reason=password_change source=SOURCE"). Returns the count, 0 when the
 * password did not change, -1 with err. */
int np_svcpw_changed(const char *home, const char stamp_before[65], const char *actor, const char *source,
		     struct np_err *err);

#endif
