/* SPDX-License-Identifier: Apache-2.0 */
/* np_prog: the preamble every program shares, so that no main parses its
 * options, finds the agent home or opens the settings and the index its own
 * way. A program describes itself in a struct np_prog_spec (its synopsis,
 * its options with their help, what it needs opened); np_prog_start parses
 * argv from that table, adds --home/-H (when the program uses a home) and
 * --help/-h, prints --help and usage errors from the same table, and opens
 * what the spec needs. A usage error prints the help to stderr and is exit
 * 100 (NP_EXIT_PERM); a failure to open is logged (np_log_err) and answered
 * with its exit code, 100 or 111. */
#ifndef NP_PROG_H
#define NP_PROG_H

#include "np_config.h"
#include "np_err.h"

#include <limits.h>
#include <stdio.h>

struct np_db;

/* What a program needs before its own work (struct np_prog_spec.needs). */
enum {
	NP_PROG_HOME = 1u << 0,	      /* the agent home in p->home (--home, else $NP_HOME, else ./var) */
	NP_PROG_SPOOL = 1u << 1,      /* ...with its layout made (np_spool_init) */
	NP_PROG_CONFIG = 1u << 2,     /* the settings in p->cfg (np_config_load) */
	NP_PROG_INDEX = 1u << 3,      /* the index in p->db (np_index_open) */
	NP_PROG_INDEX_SOFT = 1u << 4, /* the index if it opens: else a warning and p->db NULL */
	NP_PROG_STUDY = 1u << 5,      /* argument 1 is a study folder: p->dir, p->npuid (np_spool_study_arg) */
	NP_PROG_IN_ORDER = 1u << 6,   /* options end at the first argument (what follows is another command's) */
};

/* Answers of np_prog_start, np_prog_open and an option callback besides an
 * exit code (>= 0): go on, or a usage error. */
enum { NP_PROG_GO = -1, NP_PROG_USAGE = -2 };
/* The callback's key after the last option, once p->argc/p->argv hold the
 * arguments and before anything is opened; and the first key of options
 * without a short form. */
enum { NP_PROG_ARGS = 0, NP_PROG_LONG = 256 };

struct np_prog_opt {
	const char *name; /* long name without "--" */
	int key;	  /* a letter or digit is also the short option; NP_PROG_LONG + n: long only */
	const char *arg;  /* the argument's name in the help ("DIR"); NULL: takes none */
	const char *help; /* one line for --help */
};

struct np_prog_spec {
	const char *name;		/* np-<tool> */
	const char *synopsis;		/* usage lines without the name, one per '\n' */
	const char *about;		/* text after the synopsis, or NULL */
	const struct np_prog_opt *opts; /* ends with {0}; NULL: none of its own */
	unsigned needs;			/* NP_PROG_* */
	int min_args, max_args;		/* arguments after the options; max -1: any */
};

struct np_prog {
	const struct np_prog_spec *spec;
	void *ctx;	 /* the caller's, for its option callback */
	unsigned needs;	 /* spec->needs; the callback may change it at NP_PROG_ARGS */
	unsigned opened; /* what np_prog_end closes */
	int argc;	 /* the arguments after the options */
	char **argv;
	const char *home_opt;
	char home[PATH_MAX];
	struct np_config cfg;
	struct np_db *db;
	char dir[PATH_MAX];
	const char *npuid; /* in dir; NULL without NP_PROG_STUDY */
	struct np_err err; /* of the last failed open */
};

/* Called for each option of spec->opts (key, and its argument or NULL),
 * then once with NP_PROG_ARGS. Returns NP_PROG_GO, NP_PROG_USAGE, or an exit
 * code (>= 0) for main to return now (having said why). */
typedef int np_prog_opt_fn(struct np_prog *p, int key, const char *arg);

/* np_log_init, parse argv by spec (on_opt may be NULL), check the number of
 * arguments, call on_opt(p, NP_PROG_ARGS, NULL), then np_prog_open(p,
 * p->needs). Returns NP_PROG_GO to go on, else the exit code main returns:
 * 0 after --help, 100 after a usage error, the open's code after a failed
 * open (logged), having ended p then (np_prog_end). After NP_PROG_GO, main
 * calls np_prog_end. */
int np_prog_start(int argc, char **argv, const struct np_prog_spec *spec, struct np_prog *p, np_prog_opt_fn *on_opt,
		  void *ctx);
/* Open what needs names and is not open yet, in the order of the enum
 * (the study folder first). Returns NP_PROG_GO, or logs the error (with
 * p->npuid) and returns its exit code; a bad study folder is 100. */
int np_prog_open(struct np_prog *p, unsigned needs);
/* The help generated from spec: usage lines, about, options. */
void np_prog_help(const struct np_prog_spec *spec, FILE *f);
/* A usage error: the help on stderr. Returns NP_EXIT_PERM. */
int np_prog_usage(const struct np_prog *p);
/* Log err (np_log_err with id, which may be NULL) and return its exit code:
 * a main's `return np_prog_fail(npuid, &err);`. */
int np_prog_fail(const char *id, const struct np_err *err);
/* Close the index and free the settings that np_prog_open opened. */
void np_prog_end(struct np_prog *p);
/* The whole main of a program whose work is one call and whose options are
 * only the preamble's: np_prog_start (no option callback), run(p) when it
 * says go, np_prog_end. Returns the exit code main returns. */
int np_prog_main(int argc, char **argv, const struct np_prog_spec *spec, int (*run)(struct np_prog *p));

#endif
