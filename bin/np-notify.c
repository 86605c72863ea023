// SPDX-License-Identifier: Apache-2.0
// np-notify: send event notifications by e-mail or webhook.
#include "np_config.h"
#include "np_db.h"
#include "np_err.h"
#include "np_index.h"
#include "np_log.h"
#include "np_notify.h"
#include "np_prog.h"
#include "np_spool.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static const struct np_prog_opt opts[] = {
    {"study", 's', "NPUID", "the study the event is about"},
    {"detail", 'd', "TEXT", "detail for the message (never patient data)"},
    {"level", 'l', "LEVEL", "info (default), warning or error"},
    {"pending", 'p', NULL, "send recorded events not yet notified"},
    {"test", 't', NULL, "the Test Notification button"},
    {0},
};

static const struct np_prog_spec spec = {
    .name = "np-notify",
    .synopsis = "[--home DIR] EVENT [--study NPUID] [--detail TEXT] [--level LEVEL]\n"
		"[--home DIR] --pending     send recorded events not yet notified\n"
		"[--home DIR] --test        the Test Notification button",
    .about = "exit: 0 sent (or the event is disabled), 100 permanent error, 111 retry later",
    .opts = opts,
    .needs = NP_PROG_HOME,
    .max_args = 1,
};

struct notify_args {
	const char *npuid, *detail, *level;
	int pending, test;
};

static int on_opt(struct np_prog *p, int key, const char *arg)
{
	struct notify_args *a = p->ctx;
	switch (key) {
	case NP_PROG_ARGS:
		return ((a->pending || a->test) ? p->argc || (a->pending && a->test) : p->argc != 1) ? NP_PROG_USAGE
												     : NP_PROG_GO;
	case 's':
		a->npuid = arg;
		break;
	case 'd':
		a->detail = arg;
		break;
	case 'l':
		a->level = arg;
		break;
	case 'p':
		a->pending = 1;
		break;
	case 't':
		a->test = 1;
		break;
	}
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	struct notify_args a = {.level = "info"};
	struct np_err err = {0};
	int rc = np_prog_start(argc, argv, &spec, &p, on_opt, &a);
	if (rc != NP_PROG_GO)
		return rc;
	if (a.pending) {
		int sent = 0, failed = 0;
		rc = np_notify_pending(p.home, &sent, &failed, &err) < 0 ? np_prog_fail(NULL, &err)
		     : failed						 ? NP_EXIT_TEMP
									 : NP_EXIT_OK;
	} else if (a.test) {
		char msg[256] = "";
		if ((rc = np_notify_test(p.home, msg, sizeof msg, &err)) < 0)
			rc = np_prog_fail(NULL, &err);
		else
			printf("%s\n", msg);
	} else if (!np_notify_event_known(p.argv[0])) {
		np_error(a.npuid, "unknown event %s", p.argv[0]);
		rc = NP_EXIT_PERM;
	} else if ((rc = np_prog_open(&p, NP_PROG_CONFIG | (a.npuid ? NP_PROG_INDEX_SOFT : 0))) == NP_PROG_GO) {
		struct np_notify_event ev = {p.argv[0], a.npuid, a.level, a.detail, NULL};
		int r = np_notify_send(&p.cfg, p.db, &ev, 0, 3, &err);
		if (r == 0)
			np_info(a.npuid, "notified event=%s", p.argv[0]);
		rc = r < 0 ? np_prog_fail(a.npuid, &err) : 0;
	}
	np_prog_end(&p);
	return rc;
}
