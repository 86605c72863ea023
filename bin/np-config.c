// SPDX-License-Identifier: Apache-2.0
// np-config: check, show and change the agent's settings from a shell.
#include "np_config.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_json.h"
#include "np_log.h"
#include "np_prog.h"
#include "np_schema.h"
#include "np_spool.h"
#include "np_svcpw.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Merge a JSON object read from stdin into etc/neuropacs.json (only the keys
 * given change), validated as a whole before it is written. */
static int merge(const char *home, struct np_err *err)
{
	json_error_t je;
	json_t *in = json_loadf(stdin, 0, &je), *cur = NULL;
	int rc = NP_EXIT_PERM;
	if (!json_is_object(in)) {
		if (in)
			np_error(NULL, "merge needs a JSON object on standard input");
		else
			np_error(NULL, "merge: standard input is not JSON (line %d: %s)", je.line, je.text);
		goto out;
	}
	cur = np_config_file(home, err);
	if (!cur || np_json_merge(cur, in) < 0 || np_config_save(home, cur, err) < 0) {
		if (!err->msg[0])
			np_err_sys(err, ENOMEM, "unable to merge settings");
		np_log_err(NULL, err);
		rc = np_err_exit_code(err);
		goto out;
	}
	rc = 0;
out:
	json_decref(in);
	json_decref(cur);
	return rc;
}

static const struct np_prog_spec spec = {
    .name = "np-config",
    .synopsis = "[--home DIR] check\n"
		"[--home DIR] get KEY      print one setting (dotted key)\n"
		"[--home DIR] show         print all settings, secrets masked\n"
		"[--home DIR] set-secret KEY   read a secret from stdin\n"
		"                                      (cloud.service_password: 15+ characters with lower,\n"
		"                                      upper, digit and special; ends every UI session)\n"
		"[--home DIR] rehash-password   remake the UI login hash from the stored\n"
		"                                      service password (np-run.sh does it at each start)\n"
		"[--home DIR] merge        merge a JSON object from stdin into the settings\n"
		"schema                    print the settings schema",
    .needs = NP_PROG_CONFIG,
    .min_args = 1,
    .max_args = -1,
};

/* schema needs no home: printed before one is looked for. */
static int on_opt(struct np_prog *p, int key, const char *arg)
{
	(void)key, (void)arg;
	if (strcmp(p->argv[0], "schema"))
		return NP_PROG_GO;
	json_dumpf(np_config_schema(), stdout, JSON_INDENT(2));
	putchar('\n');
	return 0;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	int rc = np_prog_start(argc, argv, &spec, &p, on_opt, NULL);
	if (rc != NP_PROG_GO)
		return rc;
	const char *cmd = p.argv[0], *key = p.argc > 1 ? p.argv[1] : NULL, *home = p.home;
	struct np_err err = {0};
	rc = 0;
	/* set-secret and merge may change the service password: the sessions
	 * of the UI then end (np_svcpw_changed), as after a change in the UI */
	char pw_stamp[65];
	np_svcpw_stamp(home, pw_stamp);
	if (!strcmp(cmd, "check")) {
		/* as strict as a save: loading skips the checks added since the file was written */
		if (np_config_check(p.cfg.root, &err) < 0)
			rc = np_prog_fail(NULL, &err);
		else
			printf("settings are valid\n");
	} else if (!strcmp(cmd, "get") && key) {
		json_t *v = np_config_get(&p.cfg, key);
		json_t *sch = np_schema_at(np_config_schema(), key);
		if (sch && json_is_true(json_object_get(sch, "writeOnly"))) {
			np_error(NULL, "%s is a secret: np-config never prints secrets (show says whether it is set)",
				 key);
			rc = NP_EXIT_PERM;
		} else if (!v) {
			np_error(NULL, "unknown setting %s", key);
			rc = NP_EXIT_PERM;
		} else if (json_is_string(v)) {
			printf("%s\n", json_string_value(v));
		} else {
			json_dumpf(v, stdout, JSON_ENCODE_ANY | JSON_COMPACT);
			putchar('\n');
		}
	} else if (!strcmp(cmd, "show")) {
		json_t *m = np_config_masked(&p.cfg);
		json_dumpf(m, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(m);
	} else if (!strcmp(cmd, "set-secret") && key) {
		char buf[8192];
		size_t n = fread(buf, 1, sizeof buf - 1, stdin);
		buf[n] = 0;
		while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			buf[--n] = 0;
		if (np_config_secret_set(home, key, buf, &err) < 0)
			rc = np_prog_fail(NULL, &err);
	} else if (!strcmp(cmd, "rehash-password")) {
		/* the stored password (sealed or not) again: its login hash is
		 * remade when missing or stale, nothing else changes */
		char *pw = np_config_secret(home, NP_SVCPW_SECRET, &err);
		if (!pw && !err.msg[0])
			np_err_set(&err, NP_ERR_PERM, "no service password is stored");
		if (!pw || np_config_secret_set(home, NP_SVCPW_SECRET, pw, &err) < 0)
			rc = np_prog_fail(NULL, &err);
		if (pw) {
			OPENSSL_cleanse(pw, strlen(pw));
			free(pw);
		}
	} else if (!strcmp(cmd, "merge")) {
		rc = merge(home, &err);
	} else {
		rc = np_prog_usage(&p);
	}
	if (rc == 0 && (!strcmp(cmd, "set-secret") || !strcmp(cmd, "merge") || !strcmp(cmd, "rehash-password")) &&
	    np_svcpw_changed(home, pw_stamp, "np-config", cmd, &err) < 0)
		rc = np_prog_fail(NULL, &err);
	np_prog_end(&p);
	return rc;
}
