// SPDX-License-Identifier: Apache-2.0
/* np_httpd_apply: settings that take effect. After PUT /api/settings saved
 * them, only the services whose settings changed are told, each the way
 * lib/core/np_settings_effect.c says: nothing (read at each use), SIGHUP (the
 * daemon re-reads; np-queue finishes its running studies, then s6 runs it
 * again) or, for np-httpd's own address, a restart of np-httpd after the
 * answer. Services of the home the agent does not ship are never signalled.
 * Before the save, settings that would keep a service from starting are
 * refused: HTTPS without a usable certificate, a port in use. */
#include "np_config.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_httpd_int.h"
#include "np_httpd_tls.h"
#include "np_json.h"
#include "np_log.h"
#include "np_recv_tls_check.h"
#include "np_settings_effect.h"

#include <civetweb.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Run argv (from PATH); its standard output (first outsz-1 bytes) in out.
 * Returns the exit status, or -1 when it did not run. */
static int run_capture(char *const argv[], char *out, size_t outsz)
{
	int p[2];
	out[0] = 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		return -1;
	}
	size_t n = 0;
	ssize_t k;
	while ((k = read(p[0], out + n, outsz - 1 - n)) > 0 && (n += (size_t)k) < outsz - 1)
		;
	out[n] = 0;
	close(p[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* State of HOME/service/SVC under s6: 1 up (*pid set), 0 down, -1 when it
 * is not supervised (no such folder, or no s6-supervise on it). */
static int svc_state(const char *home, const char *svc, pid_t *pid)
{
	char dir[PATH_MAX], out[64];
	snprintf(dir, sizeof dir, "%s/service/%s", home, svc);
	*pid = 0;
	if (!np_is_dir(dir))
		return -1;
	char *argv[] = {"s6-svstat", "-o", "up,pid", dir, NULL};
	if (run_capture(argv, out, sizeof out) != 0)
		return -1;
	long p = 0;
	if (strncmp(out, "true ", 5) || sscanf(out + 5, "%ld", &p) != 1 || p <= 0)
		return 0;
	*pid = (pid_t)p;
	return 1;
}

static int svc_hup(const char *home, const char *svc)
{
	char dir[PATH_MAX], out[8];
	snprintf(dir, sizeof dir, "%s/service/%s", home, svc);
	char *argv[] = {"s6-svc", "-h", dir, NULL};
	return run_capture(argv, out, sizeof out) == 0 ? 0 : -1;
}

/* This np-httpd is the one s6 supervises for the home (so it comes back
 * when it exits), not one started by hand or by a test. */
static int self_supervised(struct np_httpd *h)
{
	pid_t pid;
	return svc_state(h->home, "np-httpd", &pid) == 1 && pid == getpid();
}

/* Can a service of this machine listen on bind:port? 0, or -1 with err
 * naming key_port or key_bind. */
static int addr_check(const char *addr, int port, const char *key_port, const char *key_bind, struct np_err *err)
{
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	char ps[16];
	snprintf(ps, sizeof ps, "%d", port);
	int wild = !*addr || !strcmp(addr, "0.0.0.0");
	if (getaddrinfo(wild ? "0.0.0.0" : addr, ps, &hints, &ai) != 0 || !ai)
		return np_err_set(err, NP_ERR_PERM, "%s: %s is not an address of this machine", key_bind, addr);
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), e = 0, one = 1;
	if (fd < 0)
		e = errno;
	else {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
			e = errno;
		close(fd);
	}
	freeaddrinfo(ai);
	if (e == EADDRINUSE)
		return np_err_set(err, NP_ERR_PERM, "%s: port %d is already in use on this machine", key_port, port);
	if (e == EACCES)
		return np_err_set(err, NP_ERR_PERM,
				  "%s: port %d needs privileges the agent does not have (use a port above 1023)",
				  key_port, port);
	if (e == EADDRNOTAVAIL)
		return np_err_set(err, NP_ERR_PERM, "%s: %s is not an address of this machine", key_bind, addr);
	if (e)
		return np_err_set(err, NP_ERR_PERM, "%s: unable to listen on %s port %d: %s", key_port, addr, port,
				  strerror(e));
	return 0;
}

static int same_str(const struct np_config *a, const struct np_config *b, const char *key)
{
	return !strcmp(np_config_str(a, key), np_config_str(b, key));
}

/* Settings that name a program the back-end runs: a web session must not
 * turn into a shell on the host (an admin's password, or np-httpd taken
 * over, would be enough). They are set on the host with np-config; the
 * guide's Local Processing page has only the limits. */
static const char *const host_only[] = {"local_processing.runner", "local_processing.image", "local_processing.command",
					NULL};

int np__settings_precheck(struct np_httpd *h, const struct np_config *next, struct np_err *err)
{
	struct np_config cur;
	pthread_mutex_lock(&h->lock);
	cur.root = json_incref(h->cfg);
	pthread_mutex_unlock(&h->lock);
	snprintf(cur.home, sizeof cur.home, "%s", h->home);
	int rc = 0;
	struct np_err e = {0};
	for (const char *const *k = host_only; *k; k++)
		if (!json_equal(np_json_path(cur.root, *k), np_json_path(next->root, *k)) &&
		    (np_json_path(cur.root, *k) || np_json_path(next->root, *k))) {
			rc = np_err_set(err, NP_ERR_PERM,
					"%s: a program the agent runs is set on the host with np-config merge, not "
					"from the web",
					*k);
			goto out;
		}
	/* HTTPS without a certificate would keep np-httpd from starting: the
	 * admin would be locked out of the UI. */
	if (np_config_bool(next, "tls.enabled") &&
	    (!np_config_bool(&cur, "tls.enabled") || !same_str(&cur, next, "tls.cert_file") ||
	     !same_str(&cur, next, "tls.key_file") || !same_str(&cur, next, "tls.ca_file")) &&
	    np_httpd_tls_check_files(h->home, next, &e) < 0) {
		rc = np_err_set(
		    err, NP_ERR_PERM,
		    "tls.enabled: HTTPS needs a usable certificate first: %s. Upload the certificate and its "
		    "private key (Settings, Certificate), then switch HTTPS on",
		    e.msg);
		goto out;
	}
	/* np-recv runs as a user of its own under the privilege split: a DICOM
	 * TLS pair it cannot read (the HTTPS key uploaded here is 0600) would
	 * keep its old listener now and stop it at its next start. */
	if (np_config_bool(next, "dicom.tls.enabled") &&
	    !json_equal(np_json_path(cur.root, "dicom.tls"), np_json_path(next->root, "dicom.tls")) &&
	    (rc = np_recv_tls_check(next, getenv("NP_AS_RECV"), err)) < 0)
		goto out;
	/* np-httpd restarts on its new address: it must be able to listen
	 * there (a port it holds now is free for it). */
	struct np_listen nl;
	np__listen_spec(next, h->port_opt, &nl);
	if (strcmp(nl.ports, h->listen.ports) && self_supervised(h)) {
		const struct np_listen *ol = &h->listen;
		if (nl.port != ol->port && nl.port != ol->redirect_port)
			rc = addr_check(nl.bind, nl.port, "http.port", "http.bind", err);
		else if (strcmp(nl.bind, ol->bind))
			rc = addr_check(nl.bind, 0, "http.port", "http.bind", err);
		if (rc == 0 && nl.redirect_port > 0 && nl.redirect_port != ol->port &&
		    nl.redirect_port != ol->redirect_port)
			rc = addr_check(nl.bind, nl.redirect_port, "http.redirect_port", "http.bind", err);
		if (rc < 0)
			goto out;
	}
	/* np-recv re-opens its listener on SIGHUP and keeps the old one when it
	 * cannot: say so now rather than answer "reloaded". */
	pid_t pid;
	const char *pk = np_config_bool(next, "dicom.tls.enabled") ? "dicom.tls.port" : "dicom.port";
	int oport =
	    (int)np_config_int(&cur, np_config_bool(&cur, "dicom.tls.enabled") ? "dicom.tls.port" : "dicom.port");
	int nport = (int)np_config_int(next, pk);
	if ((nport != oport || !same_str(&cur, next, "dicom.bind")) && svc_state(h->home, "np-recv", &pid) == 1)
		rc = addr_check(np_config_str(next, "dicom.bind"), nport != oport ? nport : 0, pk, "dicom.bind", err);
out:
	json_decref(cur.root);
	return rc;
}

/* The address the browser follows to: the host it used, unless np-httpd
 * moves to another specific address. */
static void new_url(struct np_req *r, const struct np_listen *nl, char *url, size_t sz)
{
	const char *host = mg_get_header(r->c, "Host");
	char hb[256] = "localhost";
	if (host && host[0] == '[') {
		size_t n = strcspn(host, "]");
		if (host[n] == ']' && n + 1 < sizeof hb)
			snprintf(hb, sizeof hb, "%.*s", (int)n + 1, host);
	} else if (host) {
		size_t n = strcspn(host, ":");
		if (n && n < sizeof hb &&
		    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") >= n)
			snprintf(hb, sizeof hb, "%.*s", (int)n, host);
	}
	const char *b = nl->bind;
	int specific = *b && strcmp(b, "0.0.0.0") && strcmp(b, "::");
	if (specific && strcmp(b, r->srv->listen.bind))
		snprintf(hb, sizeof hb, strchr(b, ':') ? "[%s]" : "%s", b);
	snprintf(url, sz, "%s://%s:%d/", nl->tls ? "https" : "http", hb, nl->port);
}

static json_t *entry(const char *svc, const char *action, const char *msg, json_t *keys)
{
	return json_pack("{s:s,s:s,s:s,s:O}", "service", svc, "action", action, "message", msg, "keys", keys);
}

static json_t *apply_self(struct np_req *r, json_t *keys)
{
	struct np_httpd *h = r->srv;
	struct np_config now;
	pthread_mutex_lock(&h->lock);
	now.root = json_incref(h->cfg);
	pthread_mutex_unlock(&h->lock);
	struct np_listen nl;
	np__listen_spec(&now, h->port_opt, &nl);
	json_decref(now.root);
	if (!strcmp(nl.ports, h->listen.ports))
		return entry("np-httpd", "applied", "applied at once", keys);
	char url[400], msg[600];
	new_url(r, &nl, url, sizeof url);
	json_t *a;
	if (self_supervised(h)) {
		snprintf(msg, sizeof msg, "np-httpd restarting: reconnect at %s", url);
		a = entry("np-httpd", "restarting", msg, keys);
		np__restart_soon(h);
	} else {
		snprintf(msg, sizeof msg, "np-httpd is not supervised by s6 here: restart it to listen at %s", url);
		a = entry("np-httpd", "restart needed", msg, keys);
	}
	json_object_set_new(a, "url", json_string(url));
	return a;
}

json_t *np__settings_apply(struct np_req *r, json_t *changed)
{
	const char *home = r->srv->home;
	json_t *plan = np_effect_plan(changed), *out = json_array();
	size_t i;
	json_t *p;
	json_array_foreach (plan, i, p) {
		const char *svc = json_string_value(json_object_get(p, "service"));
		const char *eff = json_string_value(json_object_get(p, "effect"));
		json_t *keys = json_object_get(p, "keys");
		if (!*svc)
			continue; /* a key no service uses */
		if (!strcmp(svc, "np-httpd")) {
			json_array_append_new(out, apply_self(r, keys));
			continue;
		}
		if (!strcmp(eff, "live")) {
			json_array_append_new(out, entry(svc, "applied", "used from its next run on", keys));
			continue;
		}
		pid_t pid;
		int st = svc_state(home, svc, &pid), restart = !strcmp(eff, "restart");
		json_t *a;
		if (st != 1)
			a = entry(svc, "not running", "applies when it starts", keys);
		else if (svc_hup(home, svc) < 0) {
			np_warn(NULL, "unable to tell %s about new settings (s6-svc -h)", svc);
			a = entry(svc, "failed", "could not be told (s6-svc): restart it to apply", keys);
		} else if (restart && np_effect_restart_of(svc) == NP_RESTART_DRAIN)
			a = entry(svc, "restarted", "restarts once the studies it is working on are done", keys);
		else
			a = entry(svc, "reloaded", "re-read its settings", keys);
		json_array_append_new(out, a);
	}
	json_decref(plan);
	return out;
}
