// SPDX-License-Identifier: Apache-2.0
// DICOM destinations of np_deliver: one association per object, C-STORE
// SCU over lib/np_ul (plain TCP or TLS with an optional client certificate).
#include "np_deliver.h"

#include "np_config.h"
#include "np_err.h"
#include "np_json.h"
#include "np_log.h"
#include "np_tls.h"
#include "np_tls_policy.h"
#include "np_ul.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* A destination's tls_*_file relative to the agent home, as np-recv and
 * np-httpd read theirs: never the folder np-deliver was started in. */
static const char *home_path(const struct np_config *cfg, json_t *dest, const char *key, char *buf, size_t bufsz)
{
	const char *p = np_json_str(dest, key, "");
	if (!*p || p[0] == '/' || !cfg->home[0])
		return p;
	snprintf(buf, bufsz, "%s/%s", cfg->home, p);
	return buf;
}

static struct np_tls_ctx *tls_ctx(const struct np_config *cfg, json_t *dest, struct np_err *err)
{
	char cb[PATH_MAX], kb[PATH_MAX], ab[PATH_MAX];
	const char *cert = home_path(cfg, dest, "tls_cert_file", cb, sizeof cb);
	const char *key = home_path(cfg, dest, "tls_key_file", kb, sizeof kb);
	/* Per destination, not global: the retired AES suite is offered only
	 * to the one old PACS that needs it, never to every destination. */
	int prof = np_tls_profile_find(np_json_str(dest, "tls_profile", ""));
	if (prof < 0) {
		np_err_set(
		    err, NP_ERR_PERM,
		    "destination tls_profile: unknown TLS profile (bcp195, bcp195-non-downgrading or legacy-aes)");
		return NULL;
	}
	struct np_tls_ctx *t = np_tls_client_ctx(home_path(cfg, dest, "tls_ca_file", ab, sizeof ab),
						 *cert ? cert : NULL, *key ? key : NULL, err);
	if (t && np_tls_ctx_set_profile(t, prof, err) < 0) {
		np_tls_ctx_free(t);
		return NULL;
	}
	if (t && np_tls_profiles[prof].weak)
		np_warn(NULL,
			"DICOM destination %s:%d uses TLS profile %s (TLS_RSA_WITH_AES_128_CBC_SHA offered: no "
			"forward secrecy)",
			np_json_str(dest, "host", ""), (int)np_json_int(dest, "port", 104), np_tls_profiles[prof].name);
	return t;
}

static void fill_opts(const struct np_config *cfg, json_t *dest, struct np_ul_scu_opts *o, struct np_tls_ctx *tls)
{
	memset(o, 0, sizeof *o);
	const char *calling = np_json_str(dest, "calling_ae_title", "");
	o->host = np_json_str(dest, "host", "");
	o->port = (int)np_json_int(dest, "port", 104);
	o->calling_ae = *calling ? calling : np_config_str(cfg, "dicom.ae_title");
	o->called_ae = np_json_str(dest, "ae_title", "");
	o->timeout_s = 30;
	o->tls = tls;
}

static int check_dest(json_t *dest, struct np_err *err)
{
	if (!*np_json_str(dest, "host", "") || !*np_json_str(dest, "ae_title", ""))
		return np_err_set(err, NP_ERR_PERM, "DICOM destination needs host and ae_title");
	return 0;
}

int np_deliver_dicom(const struct np_config *cfg, json_t *dest, const char *path, struct np_err *err)
{
	if (check_dest(dest, err) < 0)
		return -1;
	struct np_ul_meta m;
	if (np_ul_meta_read(path, &m, err) < 0)
		return -1;
	struct np_tls_ctx *tls = NULL;
	if (np_json_bool(dest, "tls", 0) && !(tls = tls_ctx(cfg, dest, err)))
		return -1;
	struct np_ul_scu_opts o;
	fill_opts(cfg, dest, &o, tls);
	const char *const ts[] = {m.ts};
	struct np_ul_propose pc = {m.sop_class, ts, 1};
	struct np_ul *ul = np_ul_scu_connect(&o, &pc, 1, err);
	int rc = -1;
	if (ul) {
		unsigned status = 0xffff;
		if (np_ul_scu_store_file(ul, path, &status, err) < 0) {
			np_ul_abort(ul, 0, 0);
			np_ul_close(ul);
		} else {
			struct np_err rel = {0};
			np_ul_release(ul, &rel);
			if (status == 0 || (status & 0xf000) == 0xb000)
				rc = 0;
			else
				np_err_set(err, (status & 0xf000) == 0xa000 ? NP_ERR_TEMP : NP_ERR_PERM,
					   "C-STORE to %s:%d refused with status 0x%04X", o.host, o.port, status);
		}
	}
	np_tls_ctx_free(tls);
	return rc;
}

int np_deliver_echo(const struct np_config *cfg, json_t *dest, struct np_err *err)
{
	if (check_dest(dest, err) < 0)
		return -1;
	struct np_tls_ctx *tls = NULL;
	if (np_json_bool(dest, "tls", 0) && !(tls = tls_ctx(cfg, dest, err)))
		return -1;
	struct np_ul_scu_opts o;
	fill_opts(cfg, dest, &o, tls);
	const char *const ts[] = {NP_TS_EXPLICIT_LE, NP_TS_IMPLICIT_LE};
	struct np_ul_propose pc = {NP_UL_VERIFICATION, ts, 2};
	struct np_ul *ul = np_ul_scu_connect(&o, &pc, 1, err);
	int rc = -1;
	if (ul) {
		unsigned status = 0xffff;
		if (np_ul_scu_echo(ul, &status, err) < 0) {
			np_ul_abort(ul, 0, 0);
			np_ul_close(ul);
		} else {
			rc = np_ul_release(ul, err);
			if (rc == 0 && status != 0)
				rc = np_err_set(err, NP_ERR_PERM, "C-ECHO answered status 0x%04X", status);
		}
	}
	np_tls_ctx_free(tls);
	return rc;
}
