// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target for the network-facing parsers of np-recv: the whole SCP
 * (A-ASSOCIATE-RQ negotiation, P-DATA/PDV reassembly, DIMSE command sets,
 * release/abort) fed from a socket, plus the A-ASSOCIATE, command-set,
 * Part 10 meta and data set UID walkers called directly on the input. */
#include "np_dsw.h"
#include "np_err.h"
#include "np_ul.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned f_begin(void *ctx, const struct np_ul_store_req *req)
{
	(void)ctx;
	return req->sop_inst[0] == '9' ? NP_DIMSE_OUT_OF_RESOURCES : 0;
}
static unsigned f_data(void *ctx, const void *p, size_t n)
{
	(void)ctx;
	return n > 0 && ((const unsigned char *)p)[0] == 0xEE ? NP_DIMSE_OUT_OF_RESOURCES : 0;
}
static unsigned f_end(void *ctx, int complete)
{
	(void)ctx;
	(void)complete;
	return 0;
}

static void scp(const uint8_t *data, size_t size)
{
	int sv[2];
	if (size > 60000 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return;
	int big = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	if (write(sv[0], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	shutdown(sv[0], SHUT_WR);
	struct np_err err = {0};
	struct np_ul *ul = np_ul_new(sv[1], NULL, 4096, 1000, &err);
	if (ul) {
		static const char *const allowed[] = {"SCU", "NP_SCU"};
		struct np_ul_scp_cfg cfg = {.ae_title = "NEUROPACS_SCP",
					    .allowed_aets = allowed,
					    .nallowed = size & 1 ? 2 : 0,
					    .artim_s = 1,
					    .idle_s = 1};
		struct np_ul_reject rj;
		if (np_ul_scp_associate(ul, &cfg, &rj, &err) == 0) {
			struct np_ul_store_ops ops = {.begin = f_begin, .data = f_data, .end = f_end};
			np_ul_scp_serve(ul, &ops, NULL, &err);
		}
		np_ul_free(ul);
	}
	close(sv[0]);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	scp(data, size);
	if (size > 6) {
		struct np_ul_assoc_rq *rq = malloc(sizeof *rq);
		if (rq) {
			np_ul_parse_assoc(data + 6, size - 6, 0, rq, NULL);
			np_ul_parse_assoc(data + 6, size - 6, 1, rq, NULL);
			free(rq);
		}
	}
	struct np_ul_cmd c;
	np_ul_parse_command(data, size, &c, NULL);
	struct np_ul_meta m;
	np_ul_meta_parse(data, size, &m, NULL);
	struct np_dsw_uids u;
	for (int k = 0; k < 3; k++)
		np_dsw_uids(data, size, k, &u);
	np_dsw_uids_deflated(data, size, 1 << 20, &u);
	return 0;
}
