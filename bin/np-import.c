// SPDX-License-Identifier: Apache-2.0
// np-import: manual upload of a folder or ZIP (DICOM or NIfTI) as a stable study.
#include "np_err.h"
#include "np_import.h"
#include "np_log.h"
#include "np_prog.h"
#include "np_spool.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.zip of dir, one study each; keeps going past a bad one. */
static int group_upload(const char *home, const char *dir, const struct np_import_opts *o)
{
	DIR *d = opendir(dir);
	if (!d) {
		np_error(NULL, "unable to read the group upload folder");
		return NP_EXIT_PERM;
	}
	char *names[4096] = {0};
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < sizeof names / sizeof names[0]) {
		size_t l = strlen(e->d_name);
		if (e->d_name[0] != '.' && l > 4 && !strcasecmp(e->d_name + l - 4, ".zip"))
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, by_name);
	int worst = 0, ok = 0;
	for (size_t i = 0; i < n; i++) {
		char p[PATH_MAX], npuid[37];
		struct np_err err = {0};
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		if (names[i] && np_import_path(home, p, o, npuid, &err) == 0) {
			printf("%s\t%s\n", npuid, names[i]);
			ok++;
		} else {
			/* The name goes to stdout (the user's answer), never to the log. */
			printf("FAILED\t%s\t%s\n", names[i] ? names[i] : "?", err.msg);
			np_error(NULL, "group upload: archive %zu of %zu refused", i + 1, n);
			int code = np_err_exit_code(&err);
			if (code > worst)
				worst = code ? code : NP_EXIT_PERM;
		}
		free(names[i]);
	}
	np_info(NULL, "group upload: %d of %zu studies imported", ok, n);
	if (n == 0) {
		np_error(NULL, "group upload: no .zip file in the folder");
		return NP_EXIT_PERM;
	}
	return worst;
}

static const struct np_prog_opt opts[] = {
    {"name", 'n', "NAME", "patient name"},
    {"accession", 'a', "A", "accession number"},
    {"age", 'A', "AGE", "patient age"},
    {"sex", 's', "SEX", "patient sex"},
    {"group", 'g', "G", "assign the study to group G"},
    {"product", 'p', "P", "a product to order (repeatable)"},
    {"group-upload", 'G', "DIR", "import every *.zip of DIR (one study each) into --group G"},
    {0},
};

static const struct np_prog_spec spec = {
    .name = "np-import",
    .synopsis = "[--home DIR] [--name NAME] [--accession A] [--age AGE] [--sex SEX]\n"
		"                 [--group G] [--product P]... PATH\n"
		"[--home DIR] --group-upload DIR --group G [--product P]...",
    .about = "PATH is a folder or a ZIP of DICOM files (+ optional JSON sidecar) or of a NIfTI\n"
	     "bundle (.nii/.nii.gz, .bval, .bvec and a JSON sidecar). Prints the new npuid.\n"
	     "--group-upload imports every *.zip of DIR (one study each) into group G.",
    .opts = opts,
    .needs = NP_PROG_HOME,
    .max_args = 1,
};

struct import_args {
	struct np_import_opts o;
	const char *products[64], *gdir;
};

static int on_opt(struct np_prog *p, int key, const char *arg)
{
	struct import_args *a = p->ctx;
	struct np_import_opts *o = &a->o;
	switch (key) {
	case NP_PROG_ARGS:
		return (a->gdir ? p->argc || !o->group : p->argc != 1) ? NP_PROG_USAGE : NP_PROG_GO;
	case 'n':
		o->name = arg;
		break;
	case 'a':
		o->accession = arg;
		break;
	case 'A':
		o->age = arg;
		break;
	case 's':
		o->sex = arg;
		break;
	case 'g':
		o->group = arg;
		break;
	case 'G':
		a->gdir = arg;
		break;
	case 'p':
		if (o->nproducts == sizeof a->products / sizeof a->products[0]) {
			np_error(NULL, "too many --product options");
			return NP_EXIT_PERM;
		}
		a->products[o->nproducts++] = arg;
		break;
	}
	return NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	struct import_args a = {0};
	a.o.products = a.products;
	struct np_err err = {0};
	int rc = np_prog_start(argc, argv, &spec, &p, on_opt, &a);
	if (rc != NP_PROG_GO)
		return rc;
	np_prog_end(&p);
	if (np_import_check_opts(&a.o, &err) < 0)
		return np_prog_fail(NULL, &err);
	if (a.gdir)
		return group_upload(p.home, a.gdir, &a.o);
	char npuid[37];
	if (np_import_path(p.home, p.argv[0], &a.o, npuid, &err) < 0)
		return np_prog_fail(NULL, &err);
	printf("%s\n", npuid);
	return 0;
}
