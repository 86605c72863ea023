// SPDX-License-Identifier: Apache-2.0
// np-svcheck: readiness probe for s6-notifyoncheck: exits 0 once the
// service's TCP listener accepts a connection on this host.
#include "np_config.h"
#include "np_err.h"
#include "np_log.h"
#include "np_spool.h"

#include <arpa/inet.h>
#include <limits.h>
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

int main(int argc, char **argv)
{
	np_log_init(argv[0]);
	if (argc != 2 || (strcmp(argv[1], "dicom") && strcmp(argv[1], "http"))) {
		fprintf(stderr, "usage: np-svcheck dicom|http\n");
		return NP_EXIT_PERM;
	}
	struct np_err err = {0};
	char home[PATH_MAX];
	struct np_config cfg;
	if (np_home_resolve(NULL, home, sizeof home, &err) < 0 || np_config_load(&cfg, home, &err) < 0) {
		np_log_err(NULL, &err);
		return np_err_exit_code(&err);
	}
	int ok = !strcmp(argv[1], "dicom")
		     ? can_connect(np_config_str(&cfg, "dicom.bind"), np_config_int(&cfg, "dicom.port"))
		     : can_connect(np_config_str(&cfg, "http.bind"), np_config_int(&cfg, "http.port"));
	np_config_free(&cfg);
	return ok ? 0 : NP_EXIT_NO;
}
