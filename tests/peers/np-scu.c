// SPDX-License-Identifier: Apache-2.0
/* np-scu: a small C-ECHO / C-STORE SCU over lib/np_ul for the tests (and an
 * example of the SCU API np-deliver uses).
 *   np-scu [-a CALLING] [-c CALLED] [-e] [-d MS] [-t CA [CERT KEY]] HOST PORT [FILE...]
 * Proposes one presentation context per (SOP class, transfer syntax) of the
 * files plus Verification, sends each file as it is, and prints one line per
 * file: "<status hex> <SOP instance UID>" after its response arrived.
 * -d MS waits MS milliseconds before each file but the first and before the
 * release: a slow association that stays open while idle. */
#include "np_err.h"
#include "np_tls.h"
#include "np_ul.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *calling = "NP_SCU", *called = "NEUROPACS_SCP", *ca = NULL, *cert = NULL, *key = NULL;
	int echo = 0, i = 1, delay_ms = 0;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-a") && i + 1 < argc)
			calling = argv[++i];
		else if (!strcmp(argv[i], "-c") && i + 1 < argc)
			called = argv[++i];
		else if (!strcmp(argv[i], "-e"))
			echo = 1;
		else if (!strcmp(argv[i], "-d") && i + 1 < argc)
			delay_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
			ca = argv[++i];
			if (i + 2 < argc && argv[i + 1][0] != '-' && strstr(argv[i + 1], ".crt")) {
				cert = argv[++i];
				key = argv[++i];
			}
		} else {
			fprintf(stderr,
				"usage: np-scu [-a CALLING] [-c CALLED] [-e] [-d MS] [-t CA [CERT KEY]] HOST PORT [FILE...]\n");
			return 100;
		}
	}
	if (argc - i < 2) {
		fprintf(stderr, "np-scu: HOST PORT required\n");
		return 100;
	}
	const char *host = argv[i], *port = argv[i + 1];
	char **files = argv + i + 2;
	int nfiles = argc - i - 2;

	static struct np_ul_propose pcs[NP_UL_MAX_PC];
	static char as[NP_UL_MAX_PC][65], ts[NP_UL_MAX_PC][65];
	static const char *tsp[NP_UL_MAX_PC][1];
	static const char *const echo_ts[] = {NP_TS_EXPLICIT_LE, NP_TS_IMPLICIT_LE};
	int npc = 0;
	pcs[npc++] = (struct np_ul_propose){NP_UL_VERIFICATION, echo_ts, 2};
	struct np_err err = {0};
	for (int f = 0; f < nfiles; f++) {
		struct np_ul_meta m;
		if (np_ul_meta_read(files[f], &m, &err) < 0) {
			fprintf(stderr, "np-scu: %s\n", err.msg);
			return 100;
		}
		int seen = 0;
		for (int k = 1; k < npc && !seen; k++)
			seen = !strcmp(as[k], m.sop_class) && !strcmp(ts[k], m.ts);
		if (seen)
			continue;
		if (npc >= NP_UL_MAX_PC) {
			fprintf(stderr, "np-scu: too many presentation contexts\n");
			return 100;
		}
		snprintf(as[npc], 65, "%s", m.sop_class);
		snprintf(ts[npc], 65, "%s", m.ts);
		tsp[npc][0] = ts[npc];
		pcs[npc] = (struct np_ul_propose){as[npc], tsp[npc], 1};
		npc++;
	}
	struct np_tls_ctx *tls = NULL;
	if (ca && !(tls = np_tls_client_ctx(ca, cert, key, &err))) {
		fprintf(stderr, "np-scu: %s\n", err.msg);
		return 100;
	}
	struct np_ul_scu_opts o = {
	    .host = host, .port = atoi(port), .calling_ae = calling, .called_ae = called, .timeout_s = 10, .tls = tls};
	struct np_ul *ul = np_ul_scu_connect(&o, pcs, npc, &err);
	if (!ul) {
		fprintf(stderr, "np-scu: %s\n", err.msg);
		np_tls_ctx_free(tls);
		return np_err_exit_code(&err);
	}
	int rc = 0;
	unsigned st;
	if (echo) {
		if (np_ul_scu_echo(ul, &st, &err) < 0) {
			fprintf(stderr, "np-scu: %s\n", err.msg);
			np_ul_close(ul);
			np_tls_ctx_free(tls);
			return 111;
		}
		printf("echo %04x\n", st);
	}
	for (int f = 0; f < nfiles; f++) {
		struct np_ul_meta m;
		if (f && delay_ms)
			nanosleep(&(struct timespec){delay_ms / 1000, (delay_ms % 1000) * 1000000L}, NULL);
		np_ul_meta_read(files[f], &m, &err);
		if (np_ul_scu_store_file(ul, files[f], &st, &err) < 0) {
			fprintf(stderr, "np-scu: %s: %s\n", files[f], err.msg);
			np_ul_close(ul);
			np_tls_ctx_free(tls);
			return np_err_exit_code(&err);
		}
		printf("%04x %s\n", st, m.sop_inst);
		fflush(stdout);
		if (st != 0)
			rc = 1;
	}
	if (delay_ms)
		nanosleep(&(struct timespec){delay_ms / 1000, (delay_ms % 1000) * 1000000L}, NULL);
	if (np_ul_release(ul, &err) < 0) {
		fprintf(stderr, "np-scu: %s\n", err.msg);
		rc = 111;
	}
	np_tls_ctx_free(tls);
	return rc;
}
