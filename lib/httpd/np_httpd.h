/* SPDX-License-Identifier: Apache-2.0 */
/* np_httpd: the agent's web server (CivetWeb): the REST API under /api, the
 * health and metrics endpoints, the static UI from share/web and Swagger UI
 * at /api-docs. Every route and the minimum role it needs is declared in one
 * table (np_httpd_routes); np-httpd --routes prints it. */
#ifndef NP_HTTPD_H
#define NP_HTTPD_H

#include <stdio.h>

struct np_err;
struct np_httpd;

/* Roles, ordered: a caller with role r may call any route needing <= r. */
enum np_role { NP_ROLE_PUBLIC = 0, NP_ROLE_USER = 1, NP_ROLE_ADMIN = 2 };
const char *np_role_name(enum np_role r);

struct np_httpd_opts {
	const char *home;     /* agent home (resolved, absolute) */
	const char *share;    /* share dir holding web/ */
	const char *vendor;   /* folder holding node_modules/swagger-ui-dist, or NULL */
	int port;	      /* 0: http.port from the settings */
	int insecure_no_auth; /* tests only: every request runs as admin */
};

/* Start the server (threads of CivetWeb). Returns NULL with err: permanent
 * for bad settings or certificates, temporary when the port is busy. */
struct np_httpd *np_httpd_start(const struct np_httpd_opts *o, struct np_err *err);
/* Re-read the settings (SIGHUP). Returns 0 or -1 with err; the old settings
 * stay active on failure. */
int np_httpd_reload(struct np_httpd *h, struct np_err *err);
void np_httpd_stop(struct np_httpd *h);
/* Print "METHOD PATH ROLE" for every route, one a line. */
void np_httpd_routes_print(FILE *f);

/* Studies SQL (bench/api.sh runs the server's own statements in sqlite3):
 * print, as sqlite3 shell input, the parameters and statements GET
 * /api/studies?query runs as an admin on the index of home: for a search
 * through the index its probe; the page; then (without a cursor, and not
 * for a broad search) the capped count it runs when the page is full.
 * Returns 0, or -1 with err: permanent for a query the API refuses, or the
 * index's error when it does not open. */
int np_httpd_studies_sql_print(FILE *f, const char *home, const char *query, struct np_err *err);

#endif
