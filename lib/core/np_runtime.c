// SPDX-License-Identifier: Apache-2.0
#include "np_runtime.h"

#include "np_fs.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A container engine's name in a cgroup path or a mount's source/options. */
static int engine_word(const char *s)
{
	static const char *const words[] = {"docker", "containerd", "kubepods", "libpod", "containers/storage", NULL};
	for (int i = 0; words[i]; i++)
		if (strstr(s, words[i]))
			return 1;
	return 0;
}

/* Whether a line of root/proc/self/FILE, selected by want, names an engine. */
static int file_says(const char *root, const char *file, int (*want)(const char *line))
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/proc/self/%s", root, file);
	FILE *f = fopen(p, "r");
	if (!f)
		return 0;
	char line[4096];
	int hit = 0;
	while (!hit && fgets(line, sizeof line, f))
		hit = want(line) && engine_word(line);
	fclose(f);
	return hit;
}

static int any_line(const char *line)
{
	(void)line;
	return 1;
}

/* mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - TYPE SOURCE SUPEROPTS".
 * Only the lines of the mount point "/": the engine shows in ROOT (a btrfs
 * subvolume) or SUPEROPTS (overlay's lowerdir under /var/lib/docker); other
 * lines may name docker on a host that merely runs it. */
static int root_mount(const char *line)
{
	char mp[8] = "";
	return sscanf(line, "%*s %*s %*s %*s %7s", mp) == 1 && !strcmp(mp, "/");
}

const char *np_runtime_container(const char *root)
{
	if (getenv("SINGULARITY_CONTAINER") || getenv("APPTAINER_CONTAINER"))
		return "singularity";
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/run/.containerenv", root);
	if (np_exists(p))
		return "docker";
	if (file_says(root, "cgroup", any_line) || file_says(root, "mountinfo", root_mount))
		return "docker";
	return NULL;
}
