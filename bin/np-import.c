// SPDX-License-Identifier: Apache-2.0
// np-import: manual upload of a folder or ZIP (DICOM or NIfTI) as a stable study.
#include "np_err.h"
#include "np_import.h"
#include "np_log.h"
#include "np_spool.h"

#include <dirent.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: np-import [--home DIR] [--name NAME] [--accession A] [--age AGE] [--sex SEX]\n"
		   "                 [--group G] [--product P]... PATH\n"
		   "       np-import [--home DIR] --group-upload DIR --group G [--product P]...\n"
		   "PATH is a folder or a ZIP of DICOM files (+ optional JSON sidecar) or of a NIfTI\n"
		   "bundle (.nii/.nii.gz, .bval, .bvec and a JSON sidecar). Prints the new npuid.\n"
		   "--group-upload imports every *.zip of DIR (one study each) into group G.\n");
}

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

int main(int argc, char **argv)
{
	np_log_init(argv[0]);
	static const struct option opts[] = {{"home", required_argument, 0, 'H'},
					     {"name", required_argument, 0, 'n'},
					     {"accession", required_argument, 0, 'a'},
					     {"age", required_argument, 0, 'A'},
					     {"sex", required_argument, 0, 's'},
					     {"group", required_argument, 0, 'g'},
					     {"product", required_argument, 0, 'p'},
					     {"group-upload", required_argument, 0, 'G'},
					     {"help", no_argument, 0, 'h'},
					     {0}};
	const char *home_opt = NULL, *gdir = NULL;
	const char *products[64];
	struct np_import_opts o = {0};
	o.products = products;
	int c;
	while ((c = getopt_long(argc, argv, "H:n:a:A:s:g:p:G:h", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			home_opt = optarg;
			break;
		case 'n':
			o.name = optarg;
			break;
		case 'a':
			o.accession = optarg;
			break;
		case 'A':
			o.age = optarg;
			break;
		case 's':
			o.sex = optarg;
			break;
		case 'g':
			o.group = optarg;
			break;
		case 'G':
			gdir = optarg;
			break;
		case 'p':
			if (o.nproducts == sizeof products / sizeof products[0]) {
				np_error(NULL, "too many --product options");
				return NP_EXIT_PERM;
			}
			products[o.nproducts++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return NP_EXIT_PERM;
		}
	}
	if (gdir ? optind != argc || !o.group : optind + 1 != argc) {
		usage(stderr);
		return NP_EXIT_PERM;
	}
	struct np_err err = {0};
	char home[PATH_MAX];
	if (np_home_resolve(home_opt, home, sizeof home, &err) < 0 || np_import_check_opts(&o, &err) < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	if (gdir)
		return group_upload(home, gdir, &o);
	char npuid[37];
	if (np_import_path(home, argv[optind], &o, npuid, &err) < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	printf("%s\n", npuid);
	return 0;
}
