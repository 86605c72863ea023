// SPDX-License-Identifier: Apache-2.0
/* bench/httpd_floor.c: the floor of np-httpd's server library. CivetWeb
 * with np-httpd's options (64 workers, keep-alive, TCP_NODELAY) and one
 * begin_request handler answering every request with a constant JSON body
 * in one write, headers as np-httpd's replies carry them. What a request
 * costs here is CivetWeb's (and the kernel's) share of every np-httpd
 * request; bench/httpd-floor.sh compares the two.
 * Build: cc -O2 -o build/httpd-floor bench/httpd_floor.c -lcivetweb
 * Run: build/httpd-floor PORT (until killed). */
#include <civetweb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int answer(struct mg_connection *c)
{
	static const char body[] = "{\"status\":\"ok\"}";
	char head[1024], date[40];
	time_t now = time(NULL);
	struct tm tm;
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
	int n = snprintf(head, sizeof head,
			 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			 "X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n"
			 "Content-Length: %zu\r\nDate: %s\r\n\r\n%s",
			 sizeof body - 1, date, body);
	mg_write(c, head, (size_t)n);
	return 200;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: httpd-floor PORT\n");
		return 2;
	}
	char ports[64];
	snprintf(ports, sizeof ports, "127.0.0.1:%s", argv[1]);
	const char *opts[] = {"listening_ports",
			      ports,
			      "num_threads",
			      "64",
			      "request_timeout_ms",
			      "60000",
			      "keep_alive_timeout_ms",
			      "5000",
			      "enable_keep_alive",
			      "yes",
			      "max_request_size",
			      "16384",
			      "enable_directory_listing",
			      "no",
			      "linger_timeout_ms",
			      "1000",
			      "tcp_nodelay",
			      "1",
			      NULL};
	struct mg_callbacks cb;
	memset(&cb, 0, sizeof cb);
	cb.begin_request = answer;
	mg_init_library(0);
	struct mg_context *ctx = mg_start(&cb, NULL, opts);
	if (!ctx) {
		fprintf(stderr, "httpd-floor: unable to listen on %s\n", ports);
		return 1;
	}
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGINT);
	sigprocmask(SIG_BLOCK, &s, NULL);
	int sig;
	sigwait(&s, &sig);
	mg_stop(ctx);
	return 0;
}
