// SPDX-License-Identifier: Apache-2.0
/* np_httpd_guard: see np_httpd_guard.h. */
#include "np_httpd_guard.h"

#include "np_log.h"
#include "np_util.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
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

enum state { FREE, HEADERS, REQUEST, CUT };

struct slot {
	int fd;
	enum state state;
	dev_t dev; /* (dev, ino) tell our socket from a later one on the same fd */
	ino_t ino;
	int port;
	char addr[INET6_ADDRSTRLEN];
	double deadline; /* np_mono() by which the headers must be in */
};

static struct {
	pthread_mutex_t lock;
	int on, stop;
	pthread_t watchdog;
	int header_timeout, per_address;
	struct slot s[SLOTS];
	unsigned long refused, cut;
	double warned; /* last warning in the log, at most one per 10 s */
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .header_timeout = 10, .per_address = 16};

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

static void warn_rate_limited(const char *what, const char *addr)
{
	double now = np_mono();
	if (now - g.warned < 10)
		return;
	g.warned = now;
	/* An IP address and counters: no PHI. */
	np_warn(NULL, "http guard: %s client=%s (refused=%lu cut=%lu so far)", what, addr, g.refused, g.cut);
}

/* Called by CivetWeb's master thread for each connection: admit or refuse. */
static int admit(int fd, const struct sockaddr *sa)
{
	char addr[INET6_ADDRSTRLEN];
	int port, n = 0;
	struct stat st;
	peer_of(sa, addr, &port);
	if (!addr[0] || fstat(fd, &st) < 0)
		return 1; /* not TCP/IP (never for CivetWeb's listeners): not ours to judge */
	pthread_mutex_lock(&g.lock);
	struct slot *free_slot = NULL;
	for (int i = 0; i < SLOTS; i++) {
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
		n += !strcmp(s->addr, addr);
	}
	int ok = free_slot && n < g.per_address;
	if (ok) {
		*free_slot =
		    (struct slot){.fd = fd, .state = HEADERS, .dev = st.st_dev, .ino = st.st_ino, .port = port};
		snprintf(free_slot->addr, sizeof free_slot->addr, "%s", addr);
		free_slot->deadline = np_mono() + g.header_timeout;
	} else {
		g.refused++;
		warn_rate_limited(free_slot ? "too many connections from one address, refused"
					    : "connection table full, refused",
				  addr);
	}
	pthread_mutex_unlock(&g.lock);
	return ok;
}

static struct slot *find(const char *addr, int port)
{
	for (int i = 0; i < SLOTS; i++)
		if (g.s[i].state != FREE && g.s[i].port == port && !strcmp(g.s[i].addr, addr))
			return &g.s[i];
	return NULL;
}

void np_httpd_guard_request(const char *addr, int port)
{
	pthread_mutex_lock(&g.lock);
	struct slot *s = find(addr, port);
	if (s && s->state == HEADERS)
		s->state = REQUEST;
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
		for (int i = 0; i < SLOTS; i++) {
			struct slot *s = &g.s[i];
			if (s->state != HEADERS || now < s->deadline)
				continue;
			if (!same_socket(s)) {
				s->state = FREE;
				continue;
			}
			/* The worker blocked in poll/recv or SSL_accept sees
			 * end of file and closes the connection. */
			shutdown(s->fd, SHUT_RDWR);
			s->state = CUT;
			g.cut++;
			warn_rate_limited("request headers not complete in time, connection cut", s->addr);
		}
		pthread_mutex_unlock(&g.lock);
	}
}

int np_httpd_guard_start(void)
{
	pthread_mutex_lock(&g.lock);
	memset(g.s, 0, sizeof g.s);
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

void np_httpd_guard_limits(int header_timeout_s, int per_address)
{
	pthread_mutex_lock(&g.lock);
	g.header_timeout = header_timeout_s > 0 ? header_timeout_s : 10;
	g.per_address = per_address > 0 ? per_address : 16;
	pthread_mutex_unlock(&g.lock);
}

void np_httpd_guard_stats(unsigned long *refused, unsigned long *cut)
{
	pthread_mutex_lock(&g.lock);
	*refused = g.refused;
	*cut = g.cut;
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
