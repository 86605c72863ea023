// SPDX-License-Identifier: Apache-2.0
/* np_atna_test: the Settings page's Test button (POST
 * /api/settings/test-atna) and np-atna --test: one ApplicationActivity
 * message to the configured repository, and a sentence on what happened
 * that an admin can act on. Syslog has no acknowledgement: over TLS the
 * test proves the connection, the certificate and that the repository kept
 * the connection open after the message; over UDP only that no ICMP "port
 * unreachable" came back. */
#include "np_atna.h"

#include "np_buf.h"
#include "np_config.h"
#include "np_err.h"
#include "np_util.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int np_atna_test(const struct np_config *cfg, struct np_db *db, const char *actor, const char *client, char *msg,
		 size_t msgsz, struct np_err *err)
{
	struct np_atna_env e;
	if (np_atna_env_load(&e, cfg, db, err) < 0) {
		np_atna_env_free(&e);
		return -1;
	}
	const char *host = np_config_str(cfg, "atna.host");
	long long port = np_config_int(cfg, "atna.port");
	struct np_atna_conn *c = np_atna_connect(cfg, 5000, err);
	if (!c) {
		np_atna_env_free(&e);
		return -1;
	}
	char now[32], how[128];
	np_time_iso(now);
	struct np_atna_rec r = {.table = "agent",
				.action = "atna_test",
				.ts = now,
				.actor = actor,
				.role = "admin",
				.client = client,
				.detail = "test message from the Settings page"};
	struct np_buf m = {0};
	int rc = np_atna_message(&e, &r, np_atna_conn_tls(c), &m, err);
	if (rc > 0 && np_atna_send(c, m.p, m.len, err) == 0) {
		np_atna_conn_describe(c, how, sizeof how);
		if (np_atna_conn_tls(c))
			snprintf(msg, msgsz,
				 "sent a test audit message (ApplicationActivity, %zu bytes) to %s:%lld over %s; the "
				 "repository's certificate was verified (syslog has no acknowledgement: look for the "
				 "message at the repository)",
				 m.len, host, port, how);
		else if (np_atna_conn_refused(c, 300))
			rc = np_err_set(err, NP_ERR_TEMP,
					"the audit repository %s:%lld refused the UDP message (ICMP port unreachable): "
					"nothing listens on that port",
					host, port);
		else
			snprintf(msg, msgsz,
				 "sent a test audit message (ApplicationActivity, %zu bytes) to %s:%lld over UDP (no "
				 "confirmation possible: look for the message at the repository)",
				 m.len, host, port);
	} else {
		rc = -1;
	}
	free(m.p);
	np_atna_close(c);
	np_atna_env_free(&e);
	return rc < 0 ? -1 : 0;
}
