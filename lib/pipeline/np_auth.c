// SPDX-License-Identifier: Apache-2.0
#include "np_auth.h"

#include "np_cloud.h"
#include "np_config.h"
#include "np_err.h"
#include "np_log.h"
#include "np_password.h"
#include "np_svcpw.h"
#include "np_util.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_SECRET "http.session_key"

struct np_auth {
	unsigned char key[32];
	pthread_mutex_t lock; /* guards throttle */
	json_t *throttle;     /* client -> {"fails","until"} */
	pthread_mutex_t resync_lock;
	double resync_until;
	int resync_fails;
};

static void hex(const unsigned char *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = 0;
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

static int load_key(struct np_auth *a, const char *home, struct np_err *err)
{
	char *k = np_config_secret(home, KEY_SECRET, err);
	if (!k && err->cls)
		return -1;
	if (k && unhex(k, a->key, sizeof a->key) == 0) {
		OPENSSL_cleanse(k, strlen(k));
		free(k);
		return 0;
	}
	free(k);
	char hx[65];
	if (np_random(a->key, sizeof a->key, err) < 0)
		return -1;
	hex(a->key, sizeof a->key, hx);
	int rc = np_config_secret_set(home, KEY_SECRET, hx, err);
	OPENSSL_cleanse(hx, sizeof hx);
	if (rc == 0)
		np_info(NULL, "created the session key");
	return rc;
}

/* The login hash, made from the service password on first start. */
static int first_hash(const char *home, struct np_err *err)
{
	char *hash = np_config_secret(home, NP_SVCPW_HASH_SECRET, err);
	if (hash) {
		free(hash);
		return 0;
	}
	if (err->cls)
		return -1;
	char *pw = np_config_secret(home, NP_SVCPW_SECRET, err);
	if (!pw)
		return err->cls ? -1 : 0;
	int rc = np_svcpw_store_hash(home, pw, err);
	OPENSSL_cleanse(pw, strlen(pw));
	free(pw);
	if (rc == 0)
		np_info(NULL, "hashed the service password for local login");
	return rc;
}

struct np_auth *np_auth_open(const char *home, struct np_err *err)
{
	struct np_auth *a = calloc(1, sizeof *a);
	if (!a || !(a->throttle = json_object())) {
		free(a);
		np_err_sys(err, ENOMEM, "unable to start the login checks");
		return NULL;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->resync_lock, NULL);
	if (load_key(a, home, err) < 0 || first_hash(home, err) < 0) {
		np_auth_close(a);
		return NULL;
	}
	return a;
}

void np_auth_close(struct np_auth *a)
{
	if (!a)
		return;
	OPENSSL_cleanse(a->key, sizeof a->key);
	json_decref(a->throttle);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->resync_lock);
	free(a);
}

static void sign(const struct np_auth *a, const char *sid, char out[65])
{
	unsigned char mac[32];
	unsigned int len = sizeof mac;
	HMAC(EVP_sha256(), a->key, sizeof a->key, (const unsigned char *)sid, strlen(sid), mac, &len);
	hex(mac, sizeof mac, out);
}

int np_auth_session_ids(const struct np_auth *a, char sid[65], char csrf[65], char token[NP_AUTH_TOKEN_LEN],
			struct np_err *err)
{
	unsigned char rb[64];
	char mac[65];
	if (np_random(rb, sizeof rb, err) < 0)
		return -1;
	hex(rb, 32, sid);
	hex(rb + 32, 32, csrf);
	OPENSSL_cleanse(rb, sizeof rb);
	sign(a, sid, mac);
	snprintf(token, NP_AUTH_TOKEN_LEN, "%s.%s", sid, mac);
	return 0;
}

int np_auth_token_sid(const struct np_auth *a, const char *token, char sid[65])
{
	const char *dot = strchr(token, '.');
	if (!dot || dot - token != 64 || strlen(dot + 1) != 64)
		return -1;
	char id[65], want[65];
	memcpy(id, token, 64);
	id[64] = 0;
	sign(a, id, want);
	if (CRYPTO_memcmp(want, dot + 1, 64) != 0)
		return -1;
	memcpy(sid, id, 65);
	return 0;
}

void np_auth_saml_epoch(const struct np_config *cfg, char out[17])
{
	json_t *s = np_config_get(cfg, "saml");
	char *d = s ? json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	unsigned char md[32];
	SHA256((const unsigned char *)(d ? d : ""), d ? strlen(d) : 0, md);
	free(d);
	hex(md, 8, out);
}

int np_auth_password_ok(const char *home, const char *pw)
{
	char *hash = np_config_secret(home, NP_SVCPW_HASH_SECRET, NULL);
	/* no cache: the hash is read at every attempt, and a hash older than
	 * the stored password (replaced by hand) lets the old one in no more */
	int ok = hash && np_password_verify(pw, hash) && np_svcpw_is_current(home, pw);
	free(hash);
	return ok;
}

int np_auth_resync_settings(const char *home, const char *pw)
{
	struct np_err err = {0};
	char *cur = np_config_secret(home, NP_SVCPW_SECRET, &err);
	int ok = cur && strlen(cur) == strlen(pw) && CRYPTO_memcmp(cur, pw, strlen(pw)) == 0;
	if (cur) {
		OPENSSL_cleanse(cur, strlen(cur));
		free(cur);
	}
	if (ok && np_svcpw_store_hash(home, pw, &err) < 0) {
		np_error(NULL, "unable to store the new password hash: %s", err.msg);
		ok = 0;
	}
	return ok;
}

int np_auth_resync_cloud(struct np_auth *a, const struct np_config *cfg, const char *home, const char *pw,
			 const char **what)
{
	const char *proto = np_config_str(cfg, "cloud.protocol");
	const char *user = np_config_str(cfg, "cloud.service_user");
	struct np_err err = {0};
	if (!np_cloud_configured(cfg) || !proto || strcmp(proto, "v2") || !user || !*user ||
	    np_password_check(pw, &err) < 0)
		return *what = "skipped", 0;
	if (pthread_mutex_trylock(&a->resync_lock) != 0)
		return *what = "busy", 0;
	if (np_now() < a->resync_until) {
		pthread_mutex_unlock(&a->resync_lock);
		return *what = "waiting", 0;
	}
	int rc = np_cloud_verify_password(cfg, pw, &err);
	if (rc == 0) {
		a->resync_fails = 0;
		a->resync_until = 0;
	} else {
		a->resync_fails++;
		double wait = 5.0 * (double)(1 << (a->resync_fails < 7 ? a->resync_fails - 1 : 6));
		a->resync_until = np_now() + (wait > 300 ? 300 : wait);
	}
	pthread_mutex_unlock(&a->resync_lock);
	if (rc < 0) {
		np_warn(NULL, "unable to check the password with the cloud: %s", err.msg);
		return *what = "error", 0;
	}
	if (rc == 1)
		return *what = "refused", 0;
	*what = "accepted";
	/* the secret and its hash in one step (np_config_secret_set) */
	if (np_config_secret_set(home, NP_SVCPW_SECRET, pw, &err) < 0) {
		np_error(NULL, "unable to store the new service password: %s", err.msg);
		return 0;
	}
	return 1;
}

static double throttle_wait(long long n)
{
	double wait = n >= 3 ? (double)(1LL << (n - 3 < 9 ? n - 3 : 9)) : 0;
	return wait > 300 ? 300 : wait;
}

int np_auth_throttle_reserve(struct np_auth *a, const char *client, long long *n)
{
	pthread_mutex_lock(&a->lock);
	double now = np_now();
	json_t *e = json_object_get(a->throttle, client);
	double until = json_real_value(json_object_get(e, "until"));
	if (until > now) {
		pthread_mutex_unlock(&a->lock);
		return (int)(until - now) + 1;
	}
	if (!e && json_object_size(a->throttle) > 10000)
		json_object_clear(a->throttle);
	*n = json_integer_value(json_object_get(e, "fails")) + 1;
	json_object_set_new(a->throttle, client, json_pack("{s:I,s:f}", "fails", *n, "until", now + throttle_wait(*n)));
	pthread_mutex_unlock(&a->lock);
	return 0;
}

void np_auth_throttle_fail(struct np_auth *a, const char *client, long long n)
{
	pthread_mutex_lock(&a->lock);
	json_t *e = json_object_get(a->throttle, client);
	double until = np_now() + throttle_wait(n);
	if (e && json_real_value(json_object_get(e, "until")) < until)
		json_object_set_new(e, "until", json_real(until));
	pthread_mutex_unlock(&a->lock);
}

void np_auth_throttle_ok(struct np_auth *a, const char *client)
{
	pthread_mutex_lock(&a->lock);
	json_object_del(a->throttle, client);
	pthread_mutex_unlock(&a->lock);
}
