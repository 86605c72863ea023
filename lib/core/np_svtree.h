/* SPDX-License-Identifier: Apache-2.0 */
/* np_svtree: find and stop every process of one agent home's supervision
 * tree (s6-svscan, s6-supervise, services, loggers and their children),
 * whoever started it and however the last run ended. */
#ifndef NP_SVTREE_H
#define NP_SVTREE_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

struct np_err;

/* np-svscan puts NP_SVSCAN_HOME=<home> in the environment of the tree it
 * starts: every service and child inherits it, so processes of a home are
 * found even after their supervisor was killed. */
#define NP_SVTREE_ENV "NP_SVSCAN_HOME"

/* PID of the live s6-svscan supervising HOME/service, or 0. */
pid_t np_svtree_svscan(const char *home);

/* Live processes (zombies do not count) of HOME's tree: those with
 * NP_SVSCAN_HOME=HOME in their environment, and s6 programs (or processes
 * with NP_HOME=HOME) working in HOME/service. Never the caller or its
 * ancestors, never another home's. Fills *pids (malloc'd, free it); returns
 * the count, or -1. */
int np_svtree_list(const char *home, pid_t **pids, struct np_err *err);

/* Stop HOME's tree: SIGTERM to its s6-svscan (s6 brings every service down,
 * SIGKILL after each service's timeout-kill; loggers end on EOF), or
 * SIGTERM to every process when no s6-svscan is left. What still lives after
 * grace_ms (or as soon as *hurry becomes nonzero) is killed with SIGKILL.
 * Returns the number of processes found running (0: nothing to stop), or
 * -1 when some would not die. */
int np_svtree_stop(const char *home, int grace_ms, volatile sig_atomic_t *hurry, struct np_err *err);

/* The children this process already has (at most max, in out), for a
 * service to reap: s6-notifyoncheck forks its readiness poller and execs
 * into the service, which becomes the poller's parent. Call it before
 * starting any child of one's own. Returns the count. */
int np_svtree_children(pid_t *out, int max);

#endif
