/* SPDX-License-Identifier: Apache-2.0 */
/* np_paths: where the shipped, read-only files are (web UI, schemas, s6
 * service templates, QC rules, example pipelines), for a build tree and an
 * installed tree alike. */
#ifndef NP_PATHS_H
#define NP_PATHS_H

#include <stddef.h>

struct np_err;

/* out = <share>/rel, where <share> is $NP_SHARE_DIR, else <top>/share when
 * the running program is in a build tree (<top>/build[/san]/{bin,sbin}), else
 * <prefix>/share/neuropacs for an installed program (<prefix>/{bin,sbin}).
 * rel may be "" for the share folder itself. Returns 0 or -1 with err. */
int np_paths_share(char *out, size_t outsz, const char *rel, struct np_err *err);
/* Same for the shipped configuration: $NP_ETC_DIR, else <top>/etc, else
 * <prefix>/etc/neuropacs. */
int np_paths_etc(char *out, size_t outsz, const char *rel, struct np_err *err);
/* Folder of the running program (e.g. to find sibling tools). */
int np_paths_bindir(char *out, size_t outsz, struct np_err *err);

#endif
