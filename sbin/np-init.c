// SPDX-License-Identifier: Apache-2.0
// np-init: guided first-time setup of an agent home (settings and secrets).
#include "np_config.h"
#include "np_db.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_index.h"
#include "np_json.h"
#include "np_log.h"
#include "np_password.h"
#include "np_prog.h"
#include "np_saml.h"
#include "np_spool.h"
#include "np_svcpw.h"

#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* Prompt with the current value as default; secret input is not echoed. */
static int ask(const char *q, const char *cur, int secret, char *out, size_t outsz)
{
	if (secret)
		printf("%s [%s]: ", q, *cur ? "keep current" : "none");
	else
		printf("%s [%s]: ", q, cur);
	fflush(stdout);
	struct termios old, quiet;
	int tty = secret && tcgetattr(0, &old) == 0;
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSAFLUSH, &quiet);
	}
	char *r = fgets(out, (int)outsz, stdin);
	if (tty) {
		tcsetattr(0, TCSAFLUSH, &old);
		putchar('\n');
	}
	if (!r)
		return -1;
	out[strcspn(out, "\r\n")] = 0;
	if (!*out && !secret)
		snprintf(out, outsz, "%s", cur);
	return 0;
}

static void set_str(json_t *s, const char *section, const char *key, const char *val)
{
	json_t *sec = json_object_get(s, section);
	if (!sec)
		json_object_set_new(s, section, sec = json_object());
	json_object_set_new(sec, key, json_string(val));
}

static void set_int(json_t *s, const char *section, const char *key, long long val)
{
	json_t *sec = json_object_get(s, section);
	if (!sec)
		json_object_set_new(s, section, sec = json_object());
	json_object_set_new(sec, key, json_integer(val));
}

static int interactive(const char *home, const struct np_config *cfg, json_t *s, struct np_err *err)
{
	char buf[4096];
	printf("neuropacs-agent setup (Enter keeps the value in brackets)\n");
#define ASK_STR(q, sec, key)                                                                                           \
	do {                                                                                                           \
		if (ask(q, np_config_str(cfg, sec "." key), 0, buf, sizeof buf) < 0)                                   \
			return np_err_set(err, NP_ERR_PERM, "setup cancelled");                                        \
		set_str(s, sec, key, buf);                                                                             \
	} while (0)
#define ASK_INT(q, sec, key)                                                                                           \
	do {                                                                                                           \
		char cur[32];                                                                                          \
		snprintf(cur, sizeof cur, "%lld", np_config_int(cfg, sec "." key));                                    \
		if (ask(q, cur, 0, buf, sizeof buf) < 0)                                                               \
			return np_err_set(err, NP_ERR_PERM, "setup cancelled");                                        \
		set_int(s, sec, key, strtoll(buf, NULL, 10));                                                          \
	} while (0)
	ASK_STR("Neuropacs API URL", "cloud", "api_url");
	ASK_STR("Cloud protocol (v1 or v2)", "cloud", "protocol");
	ASK_STR("Service user", "cloud", "service_user");
	char *key = np_config_secret(home, "cloud.api_key", NULL);
	if (ask("API key", key ? key : "", 1, buf, sizeof buf) < 0) {
		free(key);
		return np_err_set(err, NP_ERR_PERM, "setup cancelled");
	}
	free(key);
	if (*buf && np_config_secret_set(home, "cloud.api_key", buf, err) < 0)
		return -1;
	ASK_STR("DICOM AE title", "dicom", "ae_title");
	ASK_INT("DICOM port", "dicom", "port");
	ASK_INT("Web UI port", "http", "port");
	ASK_STR("TLS certificate for the web UI (PEM file, empty for HTTP)", "tls", "cert_file");
	ASK_STR("TLS private key (PEM file)", "tls", "key_file");
	json_object_set_new(json_object_get(s, "tls"), "enabled",
			    json_boolean(*np_json_str(s, "tls.cert_file", "") && *np_json_str(s, "tls.key_file", "")));
#undef ASK_STR
#undef ASK_INT
	char *pw = np_config_secret(home, "cloud.service_password", NULL);
	for (;;) {
		if (ask("Service password (also the UI admin password; 15+ characters with lower, upper, digit, "
			"special)",
			pw ? pw : "", 1, buf, sizeof buf) < 0) {
			free(pw);
			return np_err_set(err, NP_ERR_PERM, "setup cancelled");
		}
		if (!*buf && pw)
			break;
		struct np_err perr = {0};
		if (np_password_check(buf, &perr) == 0) {
			if (np_config_secret_set(home, "cloud.service_password", buf, err) < 0) {
				free(pw);
				return -1;
			}
			break;
		}
		printf("%s\n", perr.msg);
	}
	free(pw);
	return 0;
}

/* A new SAML SP signing key pair in place of the current one. np-httpd reads
 * the pair at each use, so the next AuthnRequest, LogoutRequest or metadata
 * already uses it; the IdP must be given the new SP metadata (its copy of the
 * old certificate no longer verifies the agent's requests). The certificate
 * is written before the key: a reader between the two sees the new
 * certificate with the old key at worst, never a key without its
 * certificate. */
/* The rotation in the audit trail (who, when), when there is an index yet:
 * the IdP's and the security reviewer's question afterwards. */
static void audit_rotation(const char *home)
{
	char path[PATH_MAX], by[160];
	snprintf(path, sizeof path, "%s/db/agent.sqlite", home);
	if (!np_exists(path))
		return;
	struct passwd *pw = getpwuid(geteuid());
	snprintf(by, sizeof by, "cli:%s", pw ? pw->pw_name : "?");
	struct np_err e = {0};
	struct np_db *db = np_index_open(home, &e);
	if (!db || np_db_audit_local(db, by, "saml_sp_key_rotated", "source=np-init", "success", &e) < 0)
		np_log_err(NULL, &e);
	np_db_close(db);
}

static int rotate_sp_key(const char *home, struct np_err *err)
{
	struct np_config cfg;
	if (np_config_load(&cfg, home, err) < 0)
		return -1;
	const char *cn = np_config_str(&cfg, "saml.sp_entity_id");
	char *key = NULL, *cert = NULL;
	int rc = np_saml_sp_keypair_new(cn && *cn ? cn : "neuropacs-agent", &key, &cert, err);
	if (rc == 0 && (np_config_secret_set(home, "saml.sp_cert", cert, err) < 0 ||
			np_config_secret_set(home, "saml.sp_key", key, err) < 0))
		rc = -1;
	if (key)
		memset(key, 0, strlen(key));
	free(key);
	free(cert);
	np_config_free(&cfg);
	if (rc == 0) {
		printf("neuropacs-agent: new SAML SP signing key; give the IdP the new SP metadata "
		       "(/api/saml/metadata)\n");
		audit_rotation(home);
	}
	return rc;
}

enum { O_FIRST = NP_PROG_LONG, O_BATCH, O_CONTAINER, O_INTERACTIVE, O_ROTATE };

static const struct np_prog_opt opts[] = {
    {"first-run", O_FIRST, NULL, "do nothing if the home already has settings"},
    {"non-interactive", O_BATCH, NULL, "never prompt; generate a service password if none is set"},
    {"interactive", O_INTERACTIVE, NULL, "prompt even when standard input is not a terminal"},
    {"container", O_CONTAINER, NULL, "container defaults (DICOM port 104, runtime docker)"},
    {"rotate-sp-key", O_ROTATE, NULL, "replace the SAML SP signing key and certificate, and nothing else"},
    {0},
};

static const struct np_prog_spec spec = {
    .name = "np-init",
    .synopsis = "[--home DIR] [--first-run] [--non-interactive] [--container]\n[--home DIR] --rotate-sp-key",
    .about = "Creates or updates the agent home: asks for the cloud connection, DICOM and UI\n"
	     "settings, TLS files and the service password (on a terminal), writes the\n"
	     "settings and the secrets. Re-runnable: current values are the defaults.",
    .opts = opts,
    .needs = NP_PROG_HOME,
};

struct init_args {
	int first, batch, container, rotate;
};

static int on_opt(struct np_prog *p, int key, const char *arg)
{
	(void)arg;
	struct init_args *a = p->ctx;
	if (key == O_FIRST)
		a->first = 1;
	else if (key == O_BATCH || key == O_INTERACTIVE)
		a->batch = key == O_BATCH;
	else if (key == O_CONTAINER)
		a->container = 1;
	else if (key == O_ROTATE)
		a->rotate = 1;
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	struct init_args a = {.batch = !isatty(0)};
	struct np_err err = {0};
	char path[PATH_MAX];
	struct np_config cfg;
	json_t *s = NULL;
	int rc = np_prog_start(argc, argv, &spec, &p, on_opt, &a);
	if (rc != NP_PROG_GO)
		return rc;
	const char *home = p.home;
	if (a.rotate) {
		if (rotate_sp_key(home, &err) < 0)
			goto fail;
		np_info(NULL, "SAML SP signing key replaced: %s", home);
		return 0;
	}
	snprintf(path, sizeof path, "%s/etc/neuropacs.json", home);
	if (a.first && np_exists(path))
		return 0;
	char pw_stamp[65]; /* a new service password ends the UI's sessions */
	np_svcpw_stamp(home, pw_stamp);
	if (np_spool_init(home, &err) < 0 || np_config_load(&cfg, home, &err) < 0)
		goto fail;
	s = np_config_file(home, &err);
	if (!s) {
		np_config_free(&cfg);
		goto fail;
	}
	if (a.container) {
		set_int(s, "dicom", "port", 104);
		set_str(s, "agent", "runtime", "docker");
	}
	rc = a.batch ? 0 : interactive(home, &cfg, s, &err);
	np_config_free(&cfg);
	if (rc < 0 || np_config_save(home, s, &err) < 0)
		goto fail;
	char *pw = np_config_secret(home, "cloud.service_password", &err);
	if (!pw && a.batch) {
		char gen[25];
		if (np_password_generate(gen, 24, &err) < 0 ||
		    np_config_secret_set(home, "cloud.service_password", gen, &err) < 0)
			goto fail;
		printf("neuropacs-agent: generated service password (shown once, log in to the UI with it): %s\n", gen);
		memset(gen, 0, sizeof gen);
	}
	free(pw);
	if (np_svcpw_changed(home, pw_stamp, "np-init", "np-init", &err) < 0)
		goto fail;
	json_decref(s);
	np_info(NULL, "agent home ready: %s", home);
	return 0;
fail:
	json_decref(s);
	return np_prog_fail(NULL, &err);
}
