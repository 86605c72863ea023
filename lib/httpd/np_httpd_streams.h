/* SPDX-License-Identifier: Apache-2.0 */
/* np_httpd_streams: counts the long-lived answers (the live log view) so
 * that they cannot take all of CivetWeb's worker threads: each holds one for
 * its whole life (CivetWeb 1.15 has no way to park a response), so they are
 * capped per session and in all, and /health always finds a worker. */
#ifndef NP_HTTPD_STREAMS_H
#define NP_HTTPD_STREAMS_H

/* Take a stream slot for key (the session). Returns 0 (call
 * np_httpd_stream_leave with the same key when done), 429 when key already
 * has max_per_key streams, 503 when max_total are open. */
int np_httpd_stream_enter(const char *key, int max_total, int max_per_key);
void np_httpd_stream_leave(const char *key);

#endif
