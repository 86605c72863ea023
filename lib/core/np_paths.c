// SPDX-License-Identifier: Apache-2.0
#include "np_paths.h"

#include "np_err.h"
#include "np_fs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int np_paths_bindir(char *out, size_t outsz, struct np_err *err)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n < 0)
		return np_err_sys(err, errno, "unable to find the program's folder");
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	if (snprintf(out, outsz, "%s", exe) >= (int)outsz)
		return np_err_set(err, NP_ERR_PERM, "program path too long");
	return 0;
}

/* kind is "share" or "etc"; installed trees add "/neuropacs". */
static int locate(char *out, size_t outsz, const char *env, const char *kind, const char *rel, struct np_err *err)
{
	const char *e = getenv(env);
	char base[PATH_MAX], bindir[PATH_MAX], cand[PATH_MAX];
	if (e && *e) {
		snprintf(base, sizeof base, "%s", e);
	} else {
		if (np_paths_bindir(bindir, sizeof bindir, err) < 0)
			return -1;
		/* build/bin, build/sbin, build/san/bin, build/san/sbin, build/peers */
		static const char *const up[] = {"/../..", "/../../..", NULL};
		base[0] = 0;
		for (int i = 0; up[i] && !base[0]; i++) {
			snprintf(cand, sizeof cand, "%s%s/share/schema/config.schema.json", bindir, up[i]);
			if (np_exists(cand))
				snprintf(base, sizeof base, "%s%s/%s", bindir, up[i], kind);
		}
		if (!base[0])
			snprintf(base, sizeof base, "%s/../%s/neuropacs", bindir, kind);
	}
	char joined[PATH_MAX];
	if (snprintf(joined, sizeof joined, "%s%s%s", base, *rel ? "/" : "", rel) >= (int)sizeof joined)
		return np_err_set(err, NP_ERR_PERM, "path too long");
	char *real = realpath(joined, NULL);
	int n = snprintf(out, outsz, "%s", real ? real : joined);
	free(real);
	if (n < 0 || (size_t)n >= outsz)
		return np_err_set(err, NP_ERR_PERM, "path too long");
	return 0;
}

int np_paths_share(char *out, size_t outsz, const char *rel, struct np_err *err)
{
	return locate(out, outsz, "NP_SHARE_DIR", "share", rel, err);
}

int np_paths_etc(char *out, size_t outsz, const char *rel, struct np_err *err)
{
	return locate(out, outsz, "NP_ETC_DIR", "etc", rel, err);
}
