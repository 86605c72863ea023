/* SPDX-License-Identifier: Apache-2.0 */
/* np_settings_effect: which service of the s6 tree uses which setting, and
 * what a change needs for it to take effect. The one table behind
 * PUT /api/settings: only the services whose settings changed are told, and
 * the answer says per service what happened (see np-httpd(8)). */
#ifndef NP_SETTINGS_EFFECT_H
#define NP_SETTINGS_EFFECT_H

#include <jansson.h>

enum np_effect {
	NP_EFFECT_LIVE,	   /* read at each use (a request, a command run): nothing to send */
	NP_EFFECT_RELOAD,  /* the daemon re-reads its settings on SIGHUP, work goes on */
	NP_EFFECT_RESTART, /* read when the service starts: it restarts, after its work in hand */
};

/* How the service restarts when a setting needs it. */
enum np_restart {
	NP_RESTART_NONE,  /* never needed */
	NP_RESTART_DRAIN, /* np-queue: SIGHUP = finish the running commands, then exit; s6 runs it again */
	NP_RESTART_SELF,  /* np-httpd: answers first, then exits; s6 runs it again */
};

/* The services the agent ships (etc/s6/), in the order answers list them;
 * NULL-terminated. Any other service of the home is never signalled. */
extern const char *const np_effect_services[];

const char *np_effect_name(enum np_effect e);
enum np_restart np_effect_restart_of(const char *service);

/* For each service touched by one of the changed dotted keys (JSON array of
 * strings): {"service": S, "effect": "live"|"reload"|"restart", "keys": [...]}
 * with the strongest effect of its keys, in np_effect_services order. A key
 * no rule names is listed under service "" (the table misses it: a bug
 * caught by the unit test). New reference. */
json_t *np_effect_plan(json_t *changed);

/* The effect of one key on one service, or -1 when the service does not use it. */
int np_effect_of(const char *key, const char *service);

/* Every leaf key of the settings schema (objects with "properties" are
 * walked, anything else is a leaf) that restarts a service when changed:
 * {"http.port": ["np-httpd"], "agent.mode": ["prepare"], ...}. The settings
 * page marks these fields from it (GET /api/settings/schema "x-restarts"),
 * so the badge and PUT /api/settings's answer come from this one table.
 * New reference. */
json_t *np_effect_restarts(json_t *schema);

#endif
