// SPDX-License-Identifier: Apache-2.0
// np-svcheck: readiness probe for s6-notifyoncheck: exits 0 once the
// service's TCP listener accepts a connection on this host.
#include "np_config.h"
#include "np_err.h"
#include "np_log.h"
#include "np_prog.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int can_connect(const char *addr, long long port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	/* a wildcard listener is reached on loopback */
	if (!*addr || !strcmp(addr, "0.0.0.0") || inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

static const struct np_prog_spec spec = {
    .name = "np-svcheck",
    .synopsis = "[--home DIR] dicom|http",
    .about = "Readiness probe for s6-notifyoncheck: exit 0 once the service's TCP listener\n"
	     "(dicom.bind:dicom.port, or dicom.tls.port when DICOM TLS is on, or\n"
	     "http.bind:http.port) accepts a connection, else 1.",
    .needs = NP_PROG_CONFIG,
    .min_args = 1,
    .max_args = 1,
};

static int on_opt(struct np_prog *p, int key, const char *arg)
{
	(void)key, (void)arg;
	return strcmp(p->argv[0], "dicom") && strcmp(p->argv[0], "http") ? NP_PROG_USAGE : NP_PROG_GO;
}

int main(int argc, char **argv)
{
	struct np_prog p;
	int rc = np_prog_start(argc, argv, &spec, &p, on_opt, NULL);
	if (rc != NP_PROG_GO)
		return rc;
	/* under DICOM TLS np-recv listens on the TLS port only */
	int tls = np_config_bool(&p.cfg, "dicom.tls.enabled");
	int ok = !strcmp(p.argv[0], "dicom")
		     ? can_connect(np_config_str(&p.cfg, "dicom.bind"),
				   np_config_int(&p.cfg, tls ? "dicom.tls.port" : "dicom.port"))
		     : can_connect(np_config_str(&p.cfg, "http.bind"), np_config_int(&p.cfg, "http.port"));
	np_prog_end(&p);
	return ok ? 0 : NP_EXIT_NO;
}
