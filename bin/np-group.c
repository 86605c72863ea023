// SPDX-License-Identifier: Apache-2.0
// np-group: create, rename, delete, list and show groups; assign studies.
#include "np_db.h"
#include "np_err.h"
#include "np_group.h"
#include "np_index.h"
#include "np_json.h"
#include "np_log.h"
#include "np_prog.h"
#include "np_spool.h"
#include "np_util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static const struct np_prog_opt opts[] = {
    {"products", 'p', "P1,P2...", "create: the products the group's studies are ordered with"},
    {"description", 'd', "TEXT", "create: a description"},
    {"force", 'f', NULL, "delete: also a group with studies (unassigned first)"},
    {"json", 'j', NULL, "list: as JSON"},
    {0},
};

static const struct np_prog_spec spec = {
    .name = "np-group",
    .synopsis = "[--home DIR] create NAME [--products P1,P2...] [--description TEXT]\n"
		"[--home DIR] rename OLD NEW\n"
		"[--home DIR] delete [--force] NAME\n"
		"[--home DIR] list [--json]\n"
		"[--home DIR] show NAME\n"
		"[--home DIR] assign NAME NPUID...\n"
		"[--home DIR] unassign NPUID...",
    .about = "A group NAME may also be given as id:N (its id in list), the way to reach a group\n"
	     "whose name cannot be typed or used in a URL.",
    .opts = opts,
    .needs = NP_PROG_SPOOL | NP_PROG_INDEX,
    .min_args = 1,
    .max_args = -1,
};

struct group_args {
	const char *products, *description;
	int force, as_json;
};

/* How many words a command takes with its name: n exactly, or at least -n. */
static int words(const char *cmd)
{
	return !strcmp(cmd, "create") || !strcmp(cmd, "delete") || !strcmp(cmd, "show") ? 2
	       : !strcmp(cmd, "rename")							? 3
	       : !strcmp(cmd, "list")							? 1
	       : !strcmp(cmd, "assign")							? -3
	       : !strcmp(cmd, "unassign")						? -2
											: 0;
}

static int on_opt(struct np_prog *p, int key, const char *arg)
{
	struct group_args *a = p->ctx;
	int w = key == NP_PROG_ARGS ? words(p->argv[0]) : 0;
	if (key == NP_PROG_ARGS)
		return !w || (w > 0 && p->argc != w) || (w < 0 && p->argc < -w) ? NP_PROG_USAGE : NP_PROG_GO;
	if (key == 'p')
		a->products = arg;
	else if (key == 'd')
		a->description = arg;
	else if (key == 'f')
		a->force = 1;
	else if (key == 'j')
		a->as_json = 1;
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	struct group_args o = {0};
	struct np_err err = {0};
	int rc = np_prog_start(argc, argv, &spec, &p, on_opt, &o);
	if (rc != NP_PROG_GO)
		return rc;
	const char *cmd = p.argv[0], *home = p.home;
	char **a = p.argv;
	struct np_db *db = p.db;
	/* every command but create, list and unassign names an existing group */
	char name[PATH_MAX];
	if (strcmp(cmd, "create") && strcmp(cmd, "list") && strcmp(cmd, "unassign")) {
		if (np_group_resolve(db, a[1], name, sizeof name, &err) < 0) {
			np_prog_end(&p);
			return np_prog_fail(NULL, &err);
		}
		a[1] = name;
	}
	if (!strcmp(cmd, "create")) {
		json_t *pr = o.products ? split_products(o.products) : NULL;
		rc = np_group_create(db, a[1], pr, o.description, &err);
		json_decref(pr);
	} else if (!strcmp(cmd, "rename")) {
		rc = np_group_rename(home, db, a[1], a[2], &err);
	} else if (!strcmp(cmd, "delete")) {
		rc = np_group_delete(home, db, a[1], o.force, &err);
	} else if (!strcmp(cmd, "list") || !strcmp(cmd, "show")) {
		json_t *v = !strcmp(cmd, "list") ? np_group_list(db, &err) : np_group_get(db, a[1], &err);
		if (!v)
			rc = -1;
		else
			print_list(v, strcmp(cmd, "list") || o.as_json);
		json_decref(v);
	} else {
		/* assign/unassign: keep going past a bad study, report the worst */
		int worst = 0;
		for (int i = !strcmp(cmd, "assign") ? 2 : 1; i < p.argc; i++) {
			struct np_err e = {0};
			int r = !strcmp(cmd, "assign") ? np_group_assign(home, db, a[1], a[i], &e)
						       : np_group_unassign(home, db, a[i], &e);
			if (r < 0) {
				np_log_err(np_uuid_valid(a[i]) ? a[i] : NULL, &e);
				if (np_err_exit_code(&e) > worst)
					worst = np_err_exit_code(&e);
			}
		}
		np_prog_end(&p);
		return worst;
	}
	np_prog_end(&p);
	return rc < 0 ? np_prog_fail(NULL, &err) : 0;
}
