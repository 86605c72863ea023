// SPDX-License-Identifier: Apache-2.0
#include "np_svcpw.h"

#include "np_config.h"
#include "np_db.h"
#include "np_db_sessions.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_log.h"
#include "np_password.h"
#include "np_util.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int np_svcpw_store_hash(const char *home, const char *pw, struct np_err *err)
{
	char hb[128];
	if (np_password_hash(pw, hb, sizeof hb, err) < 0)
		return -1;
	return np_config_secret_set(home, NP_SVCPW_HASH_SECRET, hb, err);
}

int np_svcpw_is_current(const char *home, const char *pw)
{
	char *cur = np_config_secret(home, NP_SVCPW_SECRET, NULL);
	int ok = !cur || !*cur || (strlen(cur) == strlen(pw) && CRYPTO_memcmp(cur, pw, strlen(pw)) == 0);
	if (cur) {
		OPENSSL_cleanse(cur, strlen(cur));
		free(cur);
	}
	return ok;
}

void np_svcpw_stamp(const char *home, char out[65])
{
	static const char d[] = "0123456789abcdef";
	char *h = np_config_secret(home, NP_SVCPW_HASH_SECRET, NULL);
	out[0] = 0;
	if (!h)
		return;
	unsigned char md[32];
	SHA256((const unsigned char *)h, strlen(h), md);
	free(h);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = d[md[i] >> 4];
		out[2 * i + 1] = d[md[i] & 15];
	}
	out[64] = 0;
}

/* The index of home when it exists: a program run before the first start
 * must not create (and rebuild) it just to find no session. */
static struct np_db *open_existing(const char *home, struct np_err *err)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/db/agent.sqlite", home) >= (int)sizeof path || !np_exists(path))
		return NULL;
	return np_db_open_private(home, err);
}

int np_svcpw_revoke(const char *home, struct np_db *db, const char *keep_sid, struct np_err *err)
{
	struct np_db *own = NULL;
	if (!db && !(db = own = open_existing(home, err)))
		return err && err->cls ? -1 : 0;
	int n = np_db_sessions_end_others(db, keep_sid, err);
	np_db_close(own);
	return n;
}

int np_svcpw_changed(const char *home, const char stamp_before[65], const char *actor, const char *source,
		     struct np_err *err)
{
	char now[65];
	np_svcpw_stamp(home, now);
	if (!strcmp(now, stamp_before))
		return 0;
	struct np_db *db = open_existing(home, err);
	if (!db) /* no index yet: no session to end */
		return err && err->cls ? -1 : 0;
	int n = np_svcpw_revoke(home, db, NULL, err);
	if (n >= 0) {
		char detail[128];
		snprintf(detail, sizeof detail, "count=%d reason=password_change source=%s", n, source);
		if (np_db_audit_local(db, actor, "sessions_revoked", detail, "success", err) < 0)
			n = -1;
		if (n >= 0)
			np_info(NULL, "audit action=sessions_revoked outcome=success actor=%s %s", actor, detail);
	}
	np_db_close(db);
	return n;
}
