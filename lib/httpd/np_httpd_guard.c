// SPDX-License-Identifier: Apache-2.0
/* np_httpd_guard: see np_httpd_guard.h. */
#include "np_httpd_guard.h"

#include "np_log.h"
#include "np_util.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <dlfcn.h>
#include <errno.h>
#include <linux/tcp.h>
#include <stddef.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Tracked sockets; when full, new connections are refused (more than this
 * many open at once is an attack, CivetWeb has 64 workers). */
#define SLOTS 1024
#define KEYLEN (INET6_ADDRSTRLEN + 4)

/* HEADERS: accepted (or between two requests), the next request's headers
 * not all in; BODY: a handler is reading the request body; REQUEST: the
 * rest of a request's life (no deadline: CivetWeb's request_timeout_ms
 * bounds each write); CUT: shut down by the guard, CivetWeb not yet closed. */
enum state { FREE, HEADERS, BODY, REQUEST, CUT };

struct slot {
	int fd;
	enum state state;
	dev_t dev; /* (dev, ino) tell our socket from a later one on the same fd */
	ino_t ino;
	int port;
	unsigned gen; /* tells a reused slot from the one a worker remembers */
	char addr[INET6_ADDRSTRLEN];
	char key[KEYLEN];	       /* np_httpd_client_key(addr) */
	double since;		       /* np_mono() the state began */
	double deadline;	       /* HEADERS: by when the headers must be in */
	long long body_len, body_read; /* BODY: -1 when chunked; read by the handler */
	unsigned long long rx0;	       /* BODY: bytes the kernel had received when it began */
};

enum warn { W_REFUSED, W_FULL, W_HEADERS, W_BODY, W_BUSY, W_N };
static const char *const warn_text[W_N] = {
    "too many connections from one address, refused",
    "connection table full, refused",
    "request headers not complete in time, connection cut",
    "request body slower than http.body_min_rate_bytes_per_second, connection cut",
    "too many connections waiting for headers or a body, the oldest of the busiest address cut",
};

static struct {
	pthread_mutex_t lock;
	int on, stop;
	pthread_t watchdog;
	struct np_httpd_guard_limits lim;
	struct slot s[SLOTS];
	int hi; /* slots from hi on are all FREE: the scans stop there (a few, not 1024, per request) */
	unsigned gen;
	unsigned long refused, cut;
	double warned[W_N]; /* last warning of each kind, at most one per 10 s */
} g = {.lock = PTHREAD_MUTEX_INITIALIZER,
       .lim = {.header_timeout_s = 10, .per_address = 16, .body_timeout_s = 10, .body_min_rate = 8192, .workers = 64}};

/* The slot of the connection this worker thread serves, for mg_read. */
static __thread int cur_idx = -1;
static __thread unsigned cur_gen;

void np_httpd_client_key(const char *addr, char key[KEYLEN])
{
	struct in6_addr a6;
	snprintf(key, KEYLEN, "%s", addr);
	if (!strchr(addr, ':') || inet_pton(AF_INET6, addr, &a6) != 1)
		return;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		inet_ntop(AF_INET, &a6.s6_addr[12], key, KEYLEN);
		return;
	}
	memset(&a6.s6_addr[8], 0, 8);
	char p[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, &a6, p, sizeof p);
	snprintf(key, KEYLEN, "%s/64", p);
}

/* Bytes received on the socket so far (TCP_INFO, Linux 4.1 on), 0 when
 * unknown. The body's progress is measured where it arrives, not where a
 * handler reads it: CivetWeb's mg_read returns only when the buffer it was
 * given is full, which for a 1 MiB JSON buffer is at the end of the body. */
static unsigned long long bytes_received(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	memset(&ti, 0, sizeof ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received)
		return 0;
	return ti.tcpi_bytes_received;
}

static void peer_of(const struct sockaddr *sa, char addr[INET6_ADDRSTRLEN], int *port)
{
	addr[0] = 0;
	*port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, addr, INET6_ADDRSTRLEN);
		*port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, addr, INET6_ADDRSTRLEN);
		*port = ntohs(in6->sin6_port);
	}
}

/* Under g.lock: the same socket as when it was accepted? */
static int same_socket(const struct slot *s)
{
	struct stat st;
	return fstat(s->fd, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino;
}

static void warn_rate_limited(enum warn w, const char *addr)
{
	double now = np_mono();
	if (now - g.warned[w] < 10)
		return;
	g.warned[w] = now;
	/* An IP address and counters: no PHI. */
	np_warn(NULL, "http guard: %s client=%s (refused=%lu cut=%lu so far)", warn_text[w], addr, g.refused, g.cut);
}

/* Under g.lock: shut the socket down; the worker blocked in poll/recv or
 * SSL_accept sees end of file and closes the connection, a body read
 * fails (mg_read below). */
static void cut(struct slot *s, enum warn why)
{
	if (same_socket(s)) {
		shutdown(s->fd, SHUT_RDWR);
		s->state = CUT;
		g.cut++;
		warn_rate_limited(why, s->addr);
	} else {
		s->state = FREE;
	}
}

static int slow_phase(const struct slot *s)
{
	return s->state == HEADERS || s->state == BODY;
}

/* Under g.lock: while connections waiting for their headers or body hold
 * more than half the workers, cut one: of the address (key) with the most
 * of them, one still waiting for headers before one sending a body, the
 * oldest first. A quick request is in and answered long before it could be
 * the oldest, and a client on an address of its own is not the busiest. */
static void make_room(void)
{
	int max = g.lim.workers / 2 > 0 ? g.lim.workers / 2 : 1;
	for (;;) {
		int idx[SLOTS], n = 0;
		for (int i = 0; i < g.hi; i++)
			if (slow_phase(&g.s[i]))
				idx[n++] = i;
		if (n <= max)
			return;
		struct slot *victim = NULL;
		int vcount = 0;
		for (int a = 0; a < n; a++) {
			struct slot *s = &g.s[idx[a]];
			int count = 0;
			for (int b = 0; b < n; b++)
				count += !strcmp(g.s[idx[b]].key, s->key);
			if (!victim || count > vcount ||
			    (count == vcount && (s->state == HEADERS) > (victim->state == HEADERS)) ||
			    (count == vcount && s->state == victim->state && s->since < victim->since)) {
				victim = s;
				vcount = count;
			}
		}
		cut(victim, W_BUSY);
	}
}

/* Called by CivetWeb's master thread for each connection: admit or refuse. */
static int admit(int fd, const struct sockaddr *sa)
{
	char addr[INET6_ADDRSTRLEN], key[KEYLEN];
	int port, n = 0;
	struct stat st;
	peer_of(sa, addr, &port);
	if (!addr[0] || fstat(fd, &st) < 0)
		return 1; /* not TCP/IP (never for CivetWeb's listeners): not ours to judge */
	np_httpd_client_key(addr, key);
	pthread_mutex_lock(&g.lock);
	struct slot *free_slot = NULL;
	for (int i = 0; i < g.hi; i++) {
		struct slot *s = &g.s[i];
		if (s->state == FREE) {
			if (!free_slot)
				free_slot = s;
			continue;
		}
		if (!same_socket(s)) { /* closed without our hook seeing it */
			s->state = FREE;
			if (!free_slot)
				free_slot = s;
			continue;
		}
		n += !strcmp(s->key, key);
	}
	if (!free_slot && g.hi < SLOTS)
		free_slot = &g.s[g.hi];
	int ok = free_slot && n < g.lim.per_address;
	if (ok) {
		double now = np_mono();
		*free_slot = (struct slot){.fd = fd,
					   .state = HEADERS,
					   .dev = st.st_dev,
					   .ino = st.st_ino,
					   .port = port,
					   .gen = ++g.gen,
					   .since = now,
					   .deadline = now + g.lim.header_timeout_s};
		if (free_slot - g.s >= g.hi)
			g.hi = (int)(free_slot - g.s) + 1;
		snprintf(free_slot->addr, sizeof free_slot->addr, "%s", addr);
		snprintf(free_slot->key, sizeof free_slot->key, "%s", key);
		make_room();
	} else {
		g.refused++;
		warn_rate_limited(free_slot ? W_REFUSED : W_FULL, addr);
	}
	pthread_mutex_unlock(&g.lock);
	return ok;
}

static struct slot *find(const char *addr, int port)
{
	for (int i = 0; i < g.hi; i++)
		if (g.s[i].state != FREE && g.s[i].port == port && !strcmp(g.s[i].addr, addr))
			return &g.s[i];
	return NULL;
}

void np_httpd_guard_request(const char *addr, int port, long long body_len)
{
	pthread_mutex_lock(&g.lock);
	struct slot *s = find(addr, port);
	cur_idx = -1;
	if (s && s->state == CUT) { /* its body reads fail */
		cur_idx = (int)(s - g.s);
		cur_gen = s->gen;
	} else if (s && s->state == HEADERS) {
		s->state = body_len ? BODY : REQUEST;
		s->since = np_mono();
		s->body_len = body_len;
		s->body_read = 0;
		s->rx0 = body_len ? bytes_received(s->fd) : 0;
		cur_idx = (int)(s - g.s);
		cur_gen = s->gen;
	}
	pthread_mutex_unlock(&g.lock);
}

void np_httpd_guard_request_done(const char *addr, int port)
{
	pthread_mutex_lock(&g.lock);
	struct slot *s = find(addr, port);
	cur_idx = -1;
	if (s && (s->state == BODY || s->state == REQUEST)) {
		s->state = HEADERS;
		s->since = np_mono();
		s->deadline = s->since + g.lim.header_timeout_s;
		make_room();
	}
	pthread_mutex_unlock(&g.lock);
}

void np_httpd_guard_close(const char *addr, int port)
{
	/* CivetWeb closes the socket after this returns: the watchdog, which
	 * holds the lock while it shuts a socket down, never touches a
	 * closed (and perhaps reused) descriptor. */
	pthread_mutex_lock(&g.lock);
	struct slot *s = find(addr, port);
	if (s)
		s->state = FREE;
	cur_idx = -1;
	pthread_mutex_unlock(&g.lock);
}

int np_httpd_guard_peer_gone(const char *addr, int port)
{
	int gone = 0;
	pthread_mutex_lock(&g.lock);
	struct slot *s = find(addr, port);
	if (s && same_socket(s)) {
		struct pollfd p = {.fd = s->fd, .events = POLLRDHUP};
		gone = poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
	}
	pthread_mutex_unlock(&g.lock);
	return gone;
}

/* Under g.lock: by when the body must have grown (mod_reqtimeout's
 * body=grace,MinRate=rate): the grace, plus a second per rate bytes that
 * came, as received by the kernel or read by the handler. */
static double body_deadline(const struct slot *s)
{
	unsigned long long rx = bytes_received(s->fd);
	long long got = rx > s->rx0 ? (long long)(rx - s->rx0) : 0;
	if (got < s->body_read)
		got = s->body_read;
	return s->since + g.lim.body_timeout_s + (double)got / g.lim.body_min_rate;
}

static void *watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		nanosleep(&(struct timespec){0, 200 * 1000000L}, NULL);
		pthread_mutex_lock(&g.lock);
		if (g.stop) {
			pthread_mutex_unlock(&g.lock);
			return NULL;
		}
		double now = np_mono();
		while (g.hi > 0 && g.s[g.hi - 1].state == FREE)
			g.hi--;
		for (int i = 0; i < g.hi; i++) {
			struct slot *s = &g.s[i];
			if (s->state == HEADERS && now >= s->deadline)
				cut(s, W_HEADERS);
			else if (s->state == BODY && now >= s->since + g.lim.body_timeout_s && same_socket(s) &&
				 now >= body_deadline(s))
				cut(s, W_BODY);
		}
		make_room();
		pthread_mutex_unlock(&g.lock);
	}
}

int np_httpd_guard_start(void)
{
	pthread_mutex_lock(&g.lock);
	memset(g.s, 0, sizeof g.s);
	g.hi = 0;
	g.stop = 0;
	int rc = pthread_create(&g.watchdog, NULL, watchdog, NULL) == 0 ? 0 : -1;
	g.on = rc == 0;
	pthread_mutex_unlock(&g.lock);
	return rc;
}

void np_httpd_guard_stop(void)
{
	pthread_mutex_lock(&g.lock);
	int was_on = g.on;
	g.on = 0;
	g.stop = 1;
	pthread_mutex_unlock(&g.lock);
	if (was_on)
		pthread_join(g.watchdog, NULL);
}

void np_httpd_guard_limits(const struct np_httpd_guard_limits *l)
{
	pthread_mutex_lock(&g.lock);
	g.lim.header_timeout_s = l->header_timeout_s > 0 ? l->header_timeout_s : 10;
	g.lim.per_address = l->per_address > 0 ? l->per_address : 16;
	g.lim.body_timeout_s = l->body_timeout_s > 0 ? l->body_timeout_s : 10;
	g.lim.body_min_rate = l->body_min_rate > 0 ? l->body_min_rate : 8192;
	g.lim.workers = l->workers > 0 ? l->workers : 64;
	pthread_mutex_unlock(&g.lock);
}

void np_httpd_guard_stats(unsigned long *refused, unsigned long *cut_)
{
	pthread_mutex_lock(&g.lock);
	*refused = g.refused;
	*cut_ = g.cut;
	pthread_mutex_unlock(&g.lock);
}

/* CivetWeb (a shared library) calls accept(2) through the PLT; the program's
 * definition, exported because the library refers to it, comes first. A
 * refused socket is closed at once and CivetWeb, which ignores a failed
 * accept, never queues it for a worker. */
int accept(int fd, __SOCKADDR_ARG addr, socklen_t *restrict len)
{
	struct sockaddr *sa = addr.__sockaddr__; /* glibc's transparent union under _GNU_SOURCE */
	static int (*real)(int, __SOCKADDR_ARG, socklen_t *);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "accept");
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int c = real(fd, (struct sockaddr *)&ss, &sl);
	if (c < 0)
		return c;
	if (sa && len) {
		memcpy(sa, &ss, sl < *len ? sl : *len);
		*len = sl;
	}
	pthread_mutex_lock(&g.lock);
	int on = g.on;
	pthread_mutex_unlock(&g.lock);
	if (on && !admit(c, (struct sockaddr *)&ss)) {
		close(c);
		errno = ECONNABORTED;
		return -1;
	}
	return c;
}

/* Every read of a request body, ours (np__body_json, uploads, SAML posts)
 * and CivetWeb's form parser's (it calls mg_read through the PLT too), goes
 * through here: the guard counts the bytes against the body deadline and
 * knows when the body is all read. A read on a connection the guard cut
 * fails, so a handler never takes a cut body for a whole one. */
int mg_read(struct mg_connection *c, void *buf, size_t len)
{
	static int (*real)(struct mg_connection *, void *, size_t);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "mg_read");
	if (!real)
		return -1;
	int n = real(c, buf, len);
	if (cur_idx < 0)
		return n;
	pthread_mutex_lock(&g.lock);
	struct slot *s = &g.s[cur_idx];
	if (s->gen != cur_gen) {
		cur_idx = -1;
	} else if (s->state == CUT) {
		n = -1;
	} else if (s->state == BODY) {
		if (n > 0)
			s->body_read += n;
		if (n <= 0 || (s->body_len > 0 && s->body_read >= s->body_len)) {
			s->state = REQUEST; /* all read, or the read failed: CivetWeb's own timeout from here */
			s->since = np_mono();
		}
	}
	pthread_mutex_unlock(&g.lock);
	return n;
}
