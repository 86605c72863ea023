// SPDX-License-Identifier: Apache-2.0
// np-group: create, rename, delete, list and show groups; assign studies.
#include "np_db.h"
#include "np_index.h"
#include "np_err.h"
#include "np_group.h"
#include "np_json.h"
#include "np_log.h"
#include "np_spool.h"
#include "np_util.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: np-group [--home DIR] create NAME [--products P1,P2...] [--description TEXT]\n"
		   "       np-group [--home DIR] rename OLD NEW\n"
		   "       np-group [--home DIR] delete [--force] NAME\n"
		   "       np-group [--home DIR] list [--json]\n"
		   "       np-group [--home DIR] show NAME\n"
		   "       np-group [--home DIR] assign NAME NPUID...\n"
		   "       np-group [--home DIR] unassign NPUID...\n"
		   "A group NAME may also be given as id:N (its id in list), the way to reach a group\n"
		   "whose name cannot be typed or used in a URL.\n");
}

/* A name as list prints it: control characters as \xHH, so a name made
 * before names were checked cannot drive the terminal. */
static void print_name(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			printf("\\x%02x", *p);
		else
			putchar(*p);
}

static json_t *split_products(const char *s)
{
	json_t *a = json_array();
	char *copy = strdup(s), *save = NULL;
	for (char *p = copy ? strtok_r(copy, ",", &save) : NULL; p; p = strtok_r(NULL, ",", &save)) {
		while (*p == ' ')
			p++;
		size_t n = strlen(p);
		while (n && p[n - 1] == ' ')
			p[--n] = 0;
		if (n)
			json_array_append_new(a, json_string(p));
	}
	free(copy);
	return a;
}

static void print_list(json_t *list, int as_json)
{
	if (as_json) {
		json_dumpf(list, stdout, JSON_INDENT(2));
		putchar('\n');
		return;
	}
	size_t i;
	json_t *g;
	json_array_foreach (list, i, g) {
		char *prods = json_dumps(json_object_get(g, "products"), JSON_COMPACT);
		print_name(np_json_str(g, "name", ""));
		printf("\t%lld studies\t%lld finished\t%s\t%s\tid:%lld\n", np_json_int(g, "studies", 0),
		       np_json_int(g, "terminal", 0), np_json_bool(g, "complete", 0) ? "complete" : "open",
		       prods ? prods : "[]", np_json_int(g, "id", 0));
		free(prods);
	}
}

int main(int argc, char **argv)
{
	np_log_init(argv[0]);
	static const struct option opts[] = {{"home", required_argument, 0, 'H'},
					     {"products", required_argument, 0, 'p'},
					     {"description", required_argument, 0, 'd'},
					     {"force", no_argument, 0, 'f'},
					     {"json", no_argument, 0, 'j'},
					     {"help", no_argument, 0, 'h'},
					     {0}};
	const char *home_opt = NULL, *products = NULL, *description = NULL;
	int force = 0, as_json = 0, c;
	while ((c = getopt_long(argc, argv, "H:p:d:fjh", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			home_opt = optarg;
			break;
		case 'p':
			products = optarg;
			break;
		case 'd':
			description = optarg;
			break;
		case 'f':
			force = 1;
			break;
		case 'j':
			as_json = 1;
			break;
		case 'h':
			return usage(stdout), 0;
		default:
			return usage(stderr), NP_EXIT_PERM;
		}
	}
	int n = argc - optind;
	char **a = argv + optind;
	if (n < 1)
		return usage(stderr), NP_EXIT_PERM;
	const char *cmd = a[0];
	int argn = !strcmp(cmd, "create") || !strcmp(cmd, "delete") || !strcmp(cmd, "show") ? 2
		   : !strcmp(cmd, "rename")						    ? 3
		   : !strcmp(cmd, "list")						    ? 1
		   : !strcmp(cmd, "assign")						    ? -3
		   : !strcmp(cmd, "unassign")						    ? -2
											    : 0;
	if (!argn || (argn > 0 && n != argn) || (argn < 0 && n < -argn))
		return usage(stderr), NP_EXIT_PERM;
	struct np_err err = {0};
	char home[PATH_MAX];
	struct np_db *db = NULL;
	if (np_home_resolve(home_opt, home, sizeof home, &err) < 0 || np_spool_init(home, &err) < 0 ||
	    !(db = np_index_open(home, &err))) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	int rc = 0;
	/* every command but create, list and unassign names an existing group */
	char name[PATH_MAX];
	if (strcmp(cmd, "create") && strcmp(cmd, "list") && strcmp(cmd, "unassign")) {
		if (np_group_resolve(db, a[1], name, sizeof name, &err) < 0) {
			np_db_close(db);
			np_log_err(NULL, &err);
			return np_err_exit_code(&err);
		}
		a[1] = name;
	}
	if (!strcmp(cmd, "create")) {
		json_t *p = products ? split_products(products) : NULL;
		rc = np_group_create(db, a[1], p, description, &err);
		json_decref(p);
	} else if (!strcmp(cmd, "rename")) {
		rc = np_group_rename(home, db, a[1], a[2], &err);
	} else if (!strcmp(cmd, "delete")) {
		rc = np_group_delete(home, db, a[1], force, &err);
	} else if (!strcmp(cmd, "list") || !strcmp(cmd, "show")) {
		json_t *v = !strcmp(cmd, "list") ? np_group_list(db, &err) : np_group_get(db, a[1], &err);
		if (!v)
			rc = -1;
		else if (!strcmp(cmd, "list"))
			print_list(v, as_json);
		else
			print_list(v, 1);
		json_decref(v);
	} else {
		/* assign/unassign: keep going past a bad study, report the worst */
		int worst = 0;
		for (int i = !strcmp(cmd, "assign") ? 2 : 1; i < n; i++) {
			struct np_err e = {0};
			int r = !strcmp(cmd, "assign") ? np_group_assign(home, db, a[1], a[i], &e)
						       : np_group_unassign(home, db, a[i], &e);
			if (r < 0) {
				np_log_err(np_uuid_valid(a[i]) ? a[i] : NULL, &e);
				if (np_err_exit_code(&e) > worst)
					worst = np_err_exit_code(&e);
			}
		}
		np_db_close(db);
		return worst;
	}
	np_db_close(db);
	if (rc < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	return 0;
}
