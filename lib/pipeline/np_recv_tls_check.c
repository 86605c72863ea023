/* SPDX-License-Identifier: Apache-2.0 */
#include "np_recv_tls_check.h"

#include "np_config.h"
#include "np_err.h"
#include "np_recv.h"
#include "np_tls.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_GROUPS = 16 };

struct who {
	uid_t uid;
	gid_t gids[MAX_GROUPS];
	int ngids;
};

/* np-recv's uid and groups from the setpriv prefix np-privileges.sh
 * exports (NP_AS_RECV); 0 when there is none (no split). */
static int parse_as(const char *as, struct who *w)
{
	memset(w, 0, sizeof *w);
	const char *u = as ? strstr(as, "--reuid=") : NULL, *g = as ? strstr(as, "--regid=") : NULL;
	if (!u || !g)
		return 0;
	w->uid = (uid_t)strtoul(u + 8, NULL, 10);
	w->gids[w->ngids++] = (gid_t)strtoul(g + 8, NULL, 10);
	const char *s = strstr(as, "--groups=");
	if (s)
		for (s += 9; *s >= '0' && *s <= '9' && w->ngids < MAX_GROUPS; s += *s == ',') {
			char *end;
			w->gids[w->ngids++] = (gid_t)strtoul(s, &end, 10);
			s = end;
		}
	return 1;
}

/* Whether w may do bit (4 read, 1 search) on st, as the kernel decides from
 * owner, group and mode (ACLs are not used by the agent). */
static int may(const struct who *w, const struct stat *st, unsigned bit)
{
	if (st->st_uid == w->uid)
		return (st->st_mode >> 6) & bit;
	for (int i = 0; i < w->ngids; i++)
		if (st->st_gid == w->gids[i])
			return (st->st_mode >> 3) & bit;
	return st->st_mode & bit;
}

static void describe(const struct stat *st, char *out, size_t n)
{
	struct passwd *pw = getpwuid(st->st_uid);
	struct group *gr = getgrgid(st->st_gid);
	char ub[16], gb[16];
	snprintf(ub, sizeof ub, "%u", (unsigned)st->st_uid);
	snprintf(gb, sizeof gb, "%u", (unsigned)st->st_gid);
	snprintf(out, n, "%s:%s %04o", pw ? pw->pw_name : ub, gr ? gr->gr_name : gb, (unsigned)(st->st_mode & 07777));
}

/* 0 when w can read path: every folder on the way searchable, the file
 * readable (links resolved first, as open(2) follows them). Else -1 with
 * what stops it in why. */
static int readable_by(const struct who *w, const char *path, char *why, size_t n)
{
	char real[PATH_MAX];
	if (!realpath(path, real)) {
		snprintf(why, n, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	char part[PATH_MAX];
	for (char *p = strchr(real + 1, '/');; p = strchr(p + 1, '/')) {
		size_t len = p ? (size_t)(p - real) : strlen(real);
		snprintf(part, sizeof part, "%.*s", (int)len, real);
		if (stat(part, &st) < 0) {
			snprintf(why, n, "%s: %s", part, strerror(errno));
			return -1;
		}
		if (may(w, &st, p ? 1 : 4)) {
			if (!p)
				return 0;
			continue;
		}
		char d[64];
		describe(&st, d, sizeof d);
		snprintf(why, n, p ? "the folder %.200s (%s) is closed to it" : "%.200s (%s)", part, d);
		return -1;
	}
}

static int check(const struct np_recv_cfg *rc, const char *as_recv, struct np_err *err)
{
	static const char *const keys[] = {"dicom.tls.cert_file", "dicom.tls.key_file", "dicom.tls.ca_file"};
	const char *path[] = {rc->cert_file, rc->key_file, rc->ca_file};
	for (int i = 0; i < 2; i++)
		if (!path[i][0])
			return np_err_set(err, NP_ERR_PERM, "%s: DICOM TLS needs a certificate and its private key",
					  keys[i]);
	struct who w;
	int split = parse_as(as_recv, &w);
	for (int i = 0; split && i < 3; i++) {
		char why[400];
		if (!path[i][0] || readable_by(&w, path[i], why, sizeof why) == 0)
			continue;
		struct passwd *pw = getpwuid(w.uid);
		struct group *gr = getgrgid(w.gids[0]);
		return np_err_set(err, NP_ERR_PERM,
				  "%s: np-recv (user %s, group %s) cannot read %s. Install the pair readable by the "
				  "group %s, e.g. install -o root -g %s -m 0640 KEY etc/tls/dicom.key and install -o "
				  "root -g %s -m 0644 CERT etc/tls/dicom.crt, and name those files",
				  keys[i], pw ? pw->pw_name : "?", gr ? gr->gr_name : "?", why, gr ? gr->gr_name : "?",
				  gr ? gr->gr_name : "?", gr ? gr->gr_name : "?");
	}
	/* The loader np-recv uses, when this process can read the files too
	 * (np-recv's user may read what np-httpd's cannot). */
	for (int i = 0; i < 3; i++)
		if (path[i][0] && access(path[i], R_OK) < 0) {
			if (split)
				return 0;
			return np_err_set(err, NP_ERR_PERM, "%s: cannot read %.300s: %s", keys[i], path[i],
					  strerror(errno));
		}
	struct np_err e = {0};
	struct np_tls_ctx *c = np_tls_server_ctx(path[0], path[1], path[2], rc->verify_client, &e);
	/* OpenSSL's words for a key of another certificate */
	if (!c && strstr(e.msg, "key values mismatch"))
		return np_err_set(err, NP_ERR_PERM,
				  "dicom.tls.key_file: the private key does not match the certificate of "
				  "dicom.tls.cert_file; install the key that goes with it");
	if (!c)
		return np_err_set(err, NP_ERR_PERM, "dicom.tls.key_file, cert_file: np-recv could not use them: %s",
				  e.msg);
	np_tls_ctx_free(c);
	return 0;
}

int np_recv_tls_check(const struct np_config *cfg, const char *as_recv, struct np_err *err)
{
	if (!np_config_bool(cfg, "dicom.tls.enabled"))
		return 0;
	/* the file names as np-recv itself resolves them (relative to the home) */
	struct np_recv_cfg *rc = calloc(1, sizeof *rc);
	if (!rc)
		return np_err_sys(err, ENOMEM, "unable to check the DICOM TLS files");
	int r = np_recv_cfg_from(rc, cfg, NULL, err) < 0 ? -1 : check(rc, as_recv, err);
	free(rc);
	return r;
}
