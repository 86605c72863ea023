/* SPDX-License-Identifier: Apache-2.0 */
/* np_httpd_guard: what CivetWeb 1.15 cannot do against slow or greedy
 * clients. CivetWeb gives each connection a worker thread from accept on and
 * bounds the first request's headers (and the TLS handshake) only by
 * request_timeout_ms, which also bounds every body read and write; 40
 * clients trickling a header line every few seconds hold all workers.
 *
 * The guard sees each accepted socket (np-httpd interposes accept(2), which
 * CivetWeb's master thread calls), refuses one beyond
 * http.max_connections_per_address from the same address, and a watchdog
 * thread shuts down a socket whose request headers are not complete
 * http.header_timeout_seconds after accept (TLS handshake included).
 * Process-wide: there is one CivetWeb server per np-httpd. */
#ifndef NP_HTTPD_GUARD_H
#define NP_HTTPD_GUARD_H

/* Start the watchdog and begin tracking accepted sockets. 0 or -1. */
int np_httpd_guard_start(void);
/* Stop tracking (the server has stopped) and join the watchdog. */
void np_httpd_guard_stop(void);
/* New limits, applied to connections accepted from now on. */
void np_httpd_guard_limits(int header_timeout_s, int per_address);
/* The connection from addr:port has sent its request headers (CivetWeb's
 * keep_alive_timeout_ms bounds the headers of its next requests). */
void np_httpd_guard_request(const char *addr, int port);
/* CivetWeb is about to close the connection from addr:port. */
void np_httpd_guard_close(const char *addr, int port);
/* 1 when the client of addr:port has closed or reset its side of the
 * connection (a long answer then stops at once, not at its next write);
 * 0 when it is still there or unknown. */
int np_httpd_guard_peer_gone(const char *addr, int port);
/* Counters since start: connections refused over the per-address cap, and
 * connections cut at the header deadline. */
void np_httpd_guard_stats(unsigned long *refused, unsigned long *cut);

#endif
