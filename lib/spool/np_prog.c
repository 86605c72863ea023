// SPDX-License-Identifier: Apache-2.0
#include "np_prog.h"

#include "np_db.h"
#include "np_index.h"
#include "np_log.h"
#include "np_spool.h"

#include <getopt.h>
#include <string.h>

enum { MAX_OPTS = 40, HELP_COL = 28 };

static const struct np_prog_opt home_opt = {"home", 'H', "DIR", "agent home (default $NP_HOME, else ./var)"};
static const struct np_prog_opt help_opt = {"help", 'h', NULL, "print this help and exit"};

/* --home is offered by programs that use a home, and only by them: an
 * option that changes nothing would mislead. */
static int uses_home(const struct np_prog_spec *spec)
{
	return (spec->needs & (NP_PROG_HOME | NP_PROG_SPOOL | NP_PROG_CONFIG | NP_PROG_INDEX | NP_PROG_INDEX_SOFT)) !=
	       0;
}

static int has_short(int key)
{
	return key > 0 && key < 128 &&
	       ((key >= 'a' && key <= 'z') || (key >= 'A' && key <= 'Z') || (key >= '0' && key <= '9'));
}

/* The options in help order: --home, the program's own, --help. */
static int all_opts(const struct np_prog_spec *spec, const struct np_prog_opt **out)
{
	int n = 0;
	if (uses_home(spec))
		out[n++] = &home_opt;
	for (const struct np_prog_opt *o = spec->opts; o && o->name && n < MAX_OPTS - 1; o++)
		out[n++] = o;
	out[n++] = &help_opt;
	return n;
}

static void help_line(FILE *f, const struct np_prog_opt *o)
{
	char left[96];
	int n = snprintf(left, sizeof left, "  %c%c%s--%s%s%s", has_short(o->key) ? '-' : ' ',
			 has_short(o->key) ? o->key : ' ', has_short(o->key) ? ", " : "  ", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
	if (n >= HELP_COL - 1)
		fprintf(f, "%s\n%*s%s\n", left, HELP_COL, "", o->help ? o->help : "");
	else
		fprintf(f, "%-*s%s\n", HELP_COL, left, o->help ? o->help : "");
}

void np_prog_help(const struct np_prog_spec *spec, FILE *f)
{
	const char *s = spec->synopsis ? spec->synopsis : "";
	for (int first = 1; first || *s; first = 0) {
		size_t len = strcspn(s, "\n");
		fprintf(f, "%s %s%s%.*s\n", first ? "usage:" : "      ", spec->name, len ? " " : "", (int)len, s);
		s += len + (s[len] == '\n');
	}
	if (spec->about)
		fprintf(f, "%s%s", spec->about,
			spec->about[0] && spec->about[strlen(spec->about) - 1] != '\n' ? "\n" : "");
	const struct np_prog_opt *v[MAX_OPTS];
	int n = all_opts(spec, v);
	fprintf(f, "options:\n");
	for (int i = 0; i < n; i++)
		help_line(f, v[i]);
}

int np_prog_usage(const struct np_prog *p)
{
	np_prog_help(p->spec, stderr);
	return NP_EXIT_PERM;
}

int np_prog_fail(const char *id, const struct np_err *err)
{
	np_log_err(id, err);
	return np_err_exit_code(err);
}

/* The callback's answer as np_prog_start's. */
static int answer(struct np_prog *p, int rc)
{
	return rc == NP_PROG_USAGE ? np_prog_usage(p) : rc;
}

static int start(int argc, char **argv, const struct np_prog_spec *spec, struct np_prog *p, np_prog_opt_fn *on_opt,
		 void *ctx)
{
	memset(p, 0, sizeof *p);
	p->spec = spec;
	p->ctx = ctx;
	p->needs = spec->needs;
	np_log_init(argc > 0 ? argv[0] : spec->name);
	const struct np_prog_opt *v[MAX_OPTS];
	struct option lo[MAX_OPTS + 1];
	char shorts[3 * MAX_OPTS + 2], *sp = shorts;
	int n = all_opts(spec, v);
	if (spec->needs & NP_PROG_IN_ORDER)
		*sp++ = '+';
	for (int i = 0; i < n; i++) {
		lo[i] = (struct option){v[i]->name, v[i]->arg ? required_argument : no_argument, NULL, v[i]->key};
		if (has_short(v[i]->key)) {
			*sp++ = (char)v[i]->key;
			if (v[i]->arg)
				*sp++ = ':';
		}
	}
	lo[n] = (struct option){0};
	*sp = 0;
	optind = 0; /* a fresh scan (and '+' read again) in every call */
	int c;
	while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (c == 'h')
			return np_prog_help(spec, stdout), 0;
		if (c == '?' || c == ':')
			return np_prog_usage(p);
		if (c == 'H' && uses_home(spec)) {
			p->home_opt = optarg;
			continue;
		}
		int rc = on_opt ? on_opt(p, c, optarg) : NP_PROG_USAGE;
		if (rc != NP_PROG_GO)
			return answer(p, rc);
	}
	p->argc = argc - optind;
	p->argv = argv + optind;
	if (p->argc < spec->min_args || (spec->max_args >= 0 && p->argc > spec->max_args))
		return np_prog_usage(p);
	if (on_opt) {
		int rc = on_opt(p, NP_PROG_ARGS, NULL);
		if (rc != NP_PROG_GO)
			return answer(p, rc);
	}
	return np_prog_open(p, p->needs);
}

int np_prog_start(int argc, char **argv, const struct np_prog_spec *spec, struct np_prog *p, np_prog_opt_fn *on_opt,
		  void *ctx)
{
	int rc = start(argc, argv, spec, p, on_opt, ctx);
	if (rc != NP_PROG_GO)
		np_prog_end(p);
	return rc;
}

int np_prog_open(struct np_prog *p, unsigned needs)
{
	needs &= ~p->opened;
	if (needs & (NP_PROG_SPOOL | NP_PROG_CONFIG | NP_PROG_INDEX | NP_PROG_INDEX_SOFT))
		needs |= NP_PROG_HOME & ~p->opened;
	if (needs & NP_PROG_STUDY) {
		if (p->argc < 1 || np_spool_study_arg(p->argv[0], p->dir, sizeof p->dir, &p->npuid, &p->err) < 0) {
			if (p->argc < 1)
				np_err_set(&p->err, NP_ERR_PERM, "no study folder given");
			np_log_err(NULL, &p->err);
			return NP_EXIT_PERM;
		}
		p->opened |= NP_PROG_STUDY;
	}
	if (needs & NP_PROG_HOME) {
		if (np_home_resolve(p->home_opt, p->home, sizeof p->home, &p->err) < 0)
			return np_prog_fail(p->npuid, &p->err);
		p->opened |= NP_PROG_HOME;
	}
	if (needs & NP_PROG_SPOOL) {
		if (np_spool_init(p->home, &p->err) < 0)
			return np_prog_fail(p->npuid, &p->err);
		p->opened |= NP_PROG_SPOOL;
	}
	if (needs & NP_PROG_CONFIG) {
		if (np_config_load(&p->cfg, p->home, &p->err) < 0)
			return np_prog_fail(p->npuid, &p->err);
		p->opened |= NP_PROG_CONFIG;
	}
	if ((needs & (NP_PROG_INDEX | NP_PROG_INDEX_SOFT)) && !p->db) {
		p->db = np_index_open(p->home, &p->err);
		if (!p->db && (needs & NP_PROG_INDEX))
			return np_prog_fail(p->npuid, &p->err);
		if (!p->db)
			np_warn(p->npuid, "index unavailable: %s", p->err.msg);
		p->opened |= needs & (NP_PROG_INDEX | NP_PROG_INDEX_SOFT);
	}
	return NP_PROG_GO;
}

void np_prog_end(struct np_prog *p)
{
	np_db_close(p->db);
	p->db = NULL;
	if (p->opened & NP_PROG_CONFIG)
		np_config_free(&p->cfg);
	p->opened = 0;
}

int np_prog_main(int argc, char **argv, const struct np_prog_spec *spec, int (*run)(struct np_prog *p))
{
	struct np_prog p;
	int rc = np_prog_start(argc, argv, spec, &p, NULL, NULL);
	if (rc == NP_PROG_GO) {
		rc = run(&p);
		np_prog_end(&p);
	}
	return rc;
}
