/* SPDX-License-Identifier: Apache-2.0 */
/* np_httpd_guard: what CivetWeb 1.15 cannot do against slow or greedy
 * clients. CivetWeb gives each connection a worker thread from accept on and
 * bounds the request headers, the TLS handshake and the request body only by
 * request_timeout_ms per read: clients trickling a header line or a body
 * byte every few seconds hold every worker.
 *
 * The guard sees each accepted socket (np-httpd interposes accept(2), which
 * CivetWeb's master thread calls) and each body read (mg_read, which our
 * handlers and CivetWeb's form parser call through the PLT), like Apache's
 * mod_reqtimeout and MaxRequestWorkers together:
 *  - it refuses a connection beyond http.max_connections_per_address from
 *    one address (an IPv6 client counts by its /64);
 *  - a watchdog shuts down a socket whose request headers are not complete
 *    http.header_timeout_seconds after accept (TLS handshake included) or
 *    after the previous request on the connection ended;
 *  - and one whose request body comes slower than
 *    http.body_min_rate_bytes_per_second after a grace of
 *    http.body_timeout_seconds (the deadline grows by one second per rate
 *    bytes read, so a large upload at a usable speed is never cut);
 *  - connections waiting for their headers or body hold at most half the
 *    workers: beyond that the guard cuts the oldest such connection of the
 *    address that has the most of them, so quick requests always find a
 *    free worker.
 * Process-wide: there is one CivetWeb server per np-httpd. */
#ifndef NP_HTTPD_GUARD_H
#define NP_HTTPD_GUARD_H

#include <netinet/in.h>

struct np_httpd_guard_limits {
	int header_timeout_s; /* headers complete this long after accept */
	int per_address;      /* connections open at once per address */
	int body_timeout_s;   /* grace for a request body */
	int body_min_rate;    /* bytes per second a body must keep up after the grace */
	int workers;	      /* CivetWeb's worker threads */
};

/* Start the watchdog and begin tracking accepted sockets. 0 or -1. */
int np_httpd_guard_start(void);
/* Stop tracking (the server has stopped) and join the watchdog. */
void np_httpd_guard_stop(void);
/* New limits; deadlines already running keep theirs. */
void np_httpd_guard_limits(const struct np_httpd_guard_limits *l);
/* The connection from addr:port has sent its request headers (called by the
 * worker thread serving it). body_len: the Content-Length, -1 for a chunked
 * body, 0 for none; with a body, its reads are watched until the last. */
void np_httpd_guard_request(const char *addr, int port, long long body_len);
/* The request on addr:port is answered: the next request's headers have
 * http.header_timeout_seconds again. */
void np_httpd_guard_request_done(const char *addr, int port);
/* CivetWeb is about to close the connection from addr:port. */
void np_httpd_guard_close(const char *addr, int port);
/* 1 when the client of addr:port has closed or reset its side of the
 * connection (a long answer then stops at once, not at its next write);
 * 0 when it is still there or unknown. */
int np_httpd_guard_peer_gone(const char *addr, int port);
/* Counters since start: connections refused over the per-address cap, and
 * connections cut (header or body deadline, or to free a worker). */
void np_httpd_guard_stats(unsigned long *refused, unsigned long *cut);
/* The key a client address counts under for per-client limits: an IPv4
 * address as is (also when IPv4-mapped), an IPv6 address by its /64, which
 * one subscriber usually holds whole ("2001:db8:1:2::/64"). */
void np_httpd_client_key(const char *addr, char key[INET6_ADDRSTRLEN + 4]);

#endif
