// SPDX-License-Identifier: Apache-2.0
/* np_recv: the Storage SCP daemon and its durable store (see np_recv.h). */
#include "np_recv.h"

#include "np_config.h"
#include "np_dsw.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_log.h"
#include "np_recv_events.h"
#include "np_sopclass.h"
#include "np_spool.h"
#include "np_tls.h"
#include "np_tls_policy.h"
#include "np_ul.h"
#include "np_util.h"
#include "np_validate.h"
#include "np_wal.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Study folders one association keeps locked at once; beyond this the least
 * recently used lock is released (np-stable may then take that study, and a
 * later instance of it simply starts a new folder). */
#define MAX_LOCKS 64
/* Inflate at most this much of a deflated data set to find its UIDs. */
#define DEFLATE_LOOKAHEAD (16u << 20)

/* ---- settings ---- */

static void copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

/* A settings path (dicom.tls.*_file) is relative to the agent home unless
 * absolute, as np-httpd reads tls.*_file: never the folder np-recv was
 * started from. */
static void home_path(char *dst, size_t n, const char *home, const char *src)
{
	if (!src || !*src || src[0] == '/')
		copy_str(dst, n, src);
	else
		snprintf(dst, n, "%s/%s", home, src);
}

int np_recv_cfg_from(struct np_recv_cfg *c, const struct np_config *cfg, const struct np_recv_overrides *ov,
		     struct np_err *err)
{
	memset(c, 0, sizeof *c);
	copy_str(c->home, sizeof c->home, cfg->home);
	const char *aet = ov && ov->ae_title ? ov->ae_title : np_config_str(cfg, "dicom.ae_title");
	const char *what = ov && ov->ae_title ? "the AE title given" : "dicom.ae_title";
	char why[128];
	if (!aet || !*aet)
		return np_err_set(err, NP_ERR_PERM, "%s: an AE title is required", what);
	if (np_valid_ae_title(aet, why, sizeof why) < 0)
		return np_err_set(err, NP_ERR_PERM, "%s: %s", what, why);
	copy_str(c->ae_title, sizeof c->ae_title, aet);
	copy_str(c->bind, sizeof c->bind, np_config_str(cfg, "dicom.bind"));
	c->port = ov && ov->port ? ov->port : (int)np_config_int(cfg, "dicom.port");
	json_t *al = np_config_get(cfg, "dicom.allowed_calling_aets");
	size_t i;
	json_t *v;
	json_array_foreach (al, i, v) {
		const char *s = json_string_value(v);
		if (!s || !*s || strlen(s) > 16 || c->nallowed >= NP_RECV_MAX_ALLOWED)
			return np_err_set(err, NP_ERR_PERM, "dicom.allowed_calling_aets[%zu] is not a usable AE title",
					  i);
		/* AE titles compare without their leading/trailing spaces. */
		while (*s == ' ')
			s++;
		copy_str(c->allowed[c->nallowed], 17, s);
		for (size_t k = strlen(c->allowed[c->nallowed]); k > 0 && c->allowed[c->nallowed][k - 1] == ' '; k--)
			c->allowed[c->nallowed][k - 1] = 0;
		c->nallowed++;
	}
	c->max_assoc = (int)np_config_int(cfg, "dicom.max_associations");
	c->max_per_addr = (int)np_config_int(cfg, "dicom.max_associations_per_address");
	if (c->max_per_addr <= 0) /* a settings file of an older version */
		c->max_per_addr = c->max_assoc;
	c->max_pdu = (uint32_t)np_config_int(cfg, "dicom.max_pdu_bytes");
	c->artim_s = (int)np_config_int(cfg, "dicom.artim_seconds");
	c->idle_s = (int)np_config_int(cfg, "dicom.idle_seconds");
	c->tls_enabled = np_config_bool(cfg, "dicom.tls.enabled");
	c->tls_port = (int)np_config_int(cfg, "dicom.tls.port");
	c->verify_client = np_config_bool(cfg, "dicom.tls.verify_client");
	const char *prof = np_config_str(cfg, "dicom.tls.profile");
	if ((c->tls_profile = np_tls_profile_find(prof)) < 0)
		return np_err_set(err, NP_ERR_PERM,
				  "dicom.tls.profile: unknown TLS profile (bcp195, "
				  "bcp195-non-downgrading or legacy-aes)");
	home_path(c->cert_file, sizeof c->cert_file, c->home, np_config_str(cfg, "dicom.tls.cert_file"));
	home_path(c->key_file, sizeof c->key_file, c->home, np_config_str(cfg, "dicom.tls.key_file"));
	home_path(c->ca_file, sizeof c->ca_file, c->home, np_config_str(cfg, "dicom.tls.ca_file"));
	if (ov && ov->port && c->tls_enabled)
		c->tls_port = ov->port;
	return 0;
}

/* ---- the store ---- */

/* Per association: a write buffer that holds most instances whole (one
 * write system call each, and one instance log record) and the head of
 * larger ones' data sets. */
enum { WBUF_CAP = NP_WAL_MAX, HEAD_CAP = 64 * 1024 };

struct study_lock {
	char name[80];
	char npuid[37];
	int dirfd, lockfd;
	unsigned long long used;
};

struct np_recv_store {
	char home[PATH_MAX];
	char calling_ae[17];
	int tmpfd, incomingfd;
	pid_t pid; /* of the association process: names its files in spool/incoming/.tmp */
	unsigned long long seq, tick;
	/* the instance in flight */
	int fd;
	char tmpname[96];
	char sop_class[65], sop_inst[65], ts[65];
	size_t meta_len;
	/* Writes are gathered in wbuf (one write for most instances); the
	 * first HEAD_CAP bytes of the data set are kept in head once wbuf was
	 * flushed, so the UIDs are read from memory, not from the file. */
	unsigned char *wbuf, *head;
	size_t wlen, headlen;
	unsigned long long size; /* bytes of the file so far, meta included */
	int flushed;
	struct study_lock locks[MAX_LOCKS];
	int nlocks, studies;
	/* NULL when the log cannot be used: every file is then fsynced */
	struct np_wal *wal;
};

struct np_recv_store *np_recv_store_new(const char *home, const char *calling_ae, struct np_err *err)
{
	struct np_recv_store *s = calloc(1, sizeof *s);
	if (!s) {
		np_err_sys(err, ENOMEM, "unable to allocate the store");
		return NULL;
	}
	copy_str(s->home, sizeof s->home, home);
	copy_str(s->calling_ae, sizeof s->calling_ae, calling_ae);
	s->fd = -1;
	s->pid = getpid();
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/" NP_RECV_TMP, home);
	s->tmpfd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	snprintf(p, sizeof p, "%s/spool/incoming", home);
	s->incomingfd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->tmpfd < 0 || s->incomingfd < 0) {
		np_err_sys(err, errno, "unable to open %s/" NP_RECV_TMP " or spool/incoming", home);
		np_recv_store_free(s);
		return NULL;
	}
	struct np_err werr = {0};
	/* NP_RECV_NOLOG: for bench/recv.sh, the measured alternative that
	 * writes each instance once (fsync of the file and its folder) */
	int nolog = getenv("NP_RECV_NOLOG") != NULL;
	s->wal = nolog ? NULL : np_wal_open(home, &werr);
	if (!s->wal && !nolog)
		np_warn(NULL, "instance log unavailable, fsyncing every file instead: %s", werr.msg);
	s->wbuf = s->wal ? np_wal_buf(s->wal) : malloc(WBUF_CAP);
	s->head = malloc(HEAD_CAP);
	if (!s->wbuf || !s->head) {
		np_err_sys(err, ENOMEM, "unable to allocate the store");
		np_recv_store_free(s);
		return NULL;
	}
	return s;
}

static void unlock_one(struct study_lock *l)
{
	close(l->lockfd); /* drops the flock */
	close(l->dirfd);
}

/* Make the logged files durable: np-stable may take a study once its lock
 * is gone, and must find every file of it on disk. */
static void checkpoint(struct np_recv_store *s)
{
	struct np_err err = {0};
	if (s->wal && np_wal_checkpoint(s->wal, &err) < 0)
		np_log_err(NULL, &err);
}

void np_recv_store_free(struct np_recv_store *s)
{
	if (!s)
		return;
	if (s->fd >= 0) {
		close(s->fd);
		unlinkat(s->tmpfd, s->tmpname, 0);
	}
	checkpoint(s);
	for (int i = 0; i < s->nlocks; i++)
		unlock_one(&s->locks[i]);
	if (s->tmpfd >= 0)
		close(s->tmpfd);
	if (s->incomingfd >= 0)
		close(s->incomingfd);
	if (s->wal)
		np_wal_close(s->wal, NULL);
	else
		free(s->wbuf);
	free(s->head);
	free(s);
}

int np_recv_store_studies(const struct np_recv_store *s)
{
	return s->studies;
}

const struct np_recv_status np_recv_statuses[] = {
    {NP_DIMSE_SUCCESS, "Success",
     "The instance is durable: written to spool/incoming/.tmp, synced and renamed into spool/incoming/<study> (and the "
     "folder synced) before the response is sent. A second copy of the same SOP Instance UID replaces the first."},
    {NP_DIMSE_OUT_OF_RESOURCES, "Refused: Out of Resources",
     "A local failure to store: disk full, quota exceeded, an I/O error, too many open files. Nothing of the "
     "instance is kept; the sender keeps it and should send it again later."},
    {NP_DIMSE_DATASET_MISMATCH, "Error: Data Set does not match SOP Class",
     "The C-STORE-RQ's Affected SOP Class UID is not its presentation context's abstract syntax, or it has no "
     "Affected SOP Instance UID; the data set has no Study Instance UID (it belongs to no study); or its SOP "
     "Class or SOP Instance UID differs from the command's."},
    {NP_DIMSE_CANNOT_UNDERSTAND, "Error: Cannot understand",
     "The data set cannot be parsed in the transfer syntax of its presentation context (truncated or malformed), "
     "or it has no SOP Instance UID."},
};
const unsigned np_recv_nstatuses = sizeof np_recv_statuses / sizeof np_recv_statuses[0];

static unsigned local_status(int e)
{
	(void)e;
	/* Every local failure (ENOSPC, EDQUOT, EIO, EMFILE...) is "out of
	 * resources": the sender keeps the instance and retries later. */
	return NP_DIMSE_OUT_OF_RESOURCES;
}

#ifdef NP_TEST_HOOKS
/* $NP_RECV_FAULT_ENOSPC=N: once an association process has written N data
 * set bytes, writes fail with ENOSPC (a disk filling up mid-instance). */
static int fault_enospc(size_t n)
{
	static unsigned long long written;
	const char *k = getenv("NP_RECV_FAULT_ENOSPC");
	written += n;
	return k && written > strtoull(k, NULL, 10);
}
#else
static int fault_enospc(size_t n)
{
	(void)n;
	return 0;
}
#endif

static void drop_tmp(struct np_recv_store *s)
{
	if (s->fd >= 0) {
		close(s->fd);
		unlinkat(s->tmpfd, s->tmpname, 0);
		s->fd = -1;
	}
}

static unsigned st_begin(void *ctx, const struct np_ul_store_req *req)
{
	struct np_recv_store *s = ctx;
	drop_tmp(s);
	s->seq++;
	snprintf(s->tmpname, sizeof s->tmpname, "np-recv.%ld.%llu.part", (long)s->pid, s->seq);
	copy_str(s->sop_class, sizeof s->sop_class, req->sop_class);
	copy_str(s->sop_inst, sizeof s->sop_inst, req->sop_inst);
	copy_str(s->ts, sizeof s->ts, req->ts);
	s->fd = openat(s->tmpfd, s->tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0660);
	if (s->fd < 0) {
		np_warn(NULL, "unable to create a file in " NP_RECV_TMP ": %s", strerror(errno));
		return local_status(errno);
	}
	s->meta_len = np_ul_meta_build(s->wbuf, 768, req->sop_class, req->sop_inst, req->ts, s->calling_ae);
	if (!s->meta_len) {
		drop_tmp(s);
		return NP_DIMSE_CANNOT_UNDERSTAND;
	}
	s->wlen = s->meta_len;
	s->size = s->meta_len;
	s->headlen = 0;
	s->flushed = 0;
	return 0;
}

/* Write out wbuf, which stays as it is (the log record of a whole file). */
static unsigned write_wbuf(struct np_recv_store *s)
{
	int r = np_write_all(s->fd, s->wbuf, s->wlen);
	if (r == 0 && fault_enospc(s->wlen)) {
		errno = ENOSPC;
		r = -1;
	}
	if (r < 0) {
		int e = errno;
		np_warn(NULL, "unable to write " NP_RECV_TMP "/%s: %s", s->tmpname, strerror(e));
		drop_tmp(s);
		return local_status(e);
	}
	return 0;
}

/* wbuf is full: write it out; the first time, keep the head of the data set. */
static unsigned flush_wbuf(struct np_recv_store *s)
{
	if (!s->flushed) {
		size_t n = s->wlen - s->meta_len;
		s->headlen = n < HEAD_CAP ? n : HEAD_CAP;
		memcpy(s->head, s->wbuf + s->meta_len, s->headlen);
		s->flushed = 1;
	}
	unsigned st = write_wbuf(s);
	s->wlen = 0;
	return st;
}

static unsigned st_data(void *ctx, const void *p, size_t n)
{
	struct np_recv_store *s = ctx;
	const unsigned char *b = p;
	s->size += n;
	while (n > 0) {
		size_t k = WBUF_CAP - s->wlen < n ? WBUF_CAP - s->wlen : n;
		memcpy(s->wbuf + s->wlen, b, k);
		s->wlen += k;
		b += k;
		n -= k;
		if (s->wlen == WBUF_CAP) {
			unsigned st = flush_wbuf(s);
			if (st)
				return st;
		}
	}
	return 0;
}

/* A name safe for the file system: the UID itself when valid, else
 * "unsafe-" and 32 hex digits of its SHA-256 (flagged by the caller). */
static int safe_name(char *out, size_t n, const char *uid, const char *suffix)
{
	if (np_dicom_uid_valid(uid)) {
		snprintf(out, n, "%s%s", uid, suffix);
		return 0;
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdl = 0;
	EVP_Digest(uid, strlen(uid), md, &mdl, EVP_sha256(), NULL);
	char hex[33];
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(out, n, "unsafe-%s%s", hex, suffix);
	return 1;
}

/* Create name in dirfd exclusively with content (temp file in spool/incoming/.tmp,
 * fsync, link). An existing file is kept. Returns 0 or -1 (errno). */
static int create_once(struct np_recv_store *s, int dirfd, const char *name, const char *content)
{
	char tmp[96];
	snprintf(tmp, sizeof tmp, "np-recv.%ld.%llu.%s", (long)s->pid, ++s->seq, name);
	int fd = openat(s->tmpfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0660);
	if (fd < 0)
		return -1;
	int r = np_write_all(fd, content, strlen(content));
	if (r == 0)
		r = fsync(fd);
	int e = errno;
	close(fd);
	if (r == 0 && linkat(s->tmpfd, tmp, dirfd, name, 0) < 0 && errno != EEXIST) {
		r = -1;
		e = errno;
	}
	unlinkat(s->tmpfd, tmp, 0);
	errno = e;
	return r;
}

static void read_npuid(struct study_lock *l)
{
	l->npuid[0] = 0;
	int fd = openat(l->dirfd, "npuid", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, l->npuid, 36);
	close(fd);
	l->npuid[n == 36 ? 36 : 0] = 0;
	if (!np_uuid_valid(l->npuid))
		l->npuid[0] = 0;
}

/* The locked study folder for name: from the table, or created/opened and
 * locked shared (see np-spool(7): re-check the inode after flock, since
 * np-stable may have renamed the folder away meanwhile). */
static struct study_lock *study_lock(struct np_recv_store *s, const char *name, int unsafe)
{
	for (int i = 0; i < s->nlocks; i++)
		if (!strcmp(s->locks[i].name, name)) {
			s->locks[i].used = ++s->tick;
			return &s->locks[i];
		}
	if (s->nlocks == MAX_LOCKS) {
		checkpoint(s);
		int lru = 0;
		for (int i = 1; i < s->nlocks; i++)
			if (s->locks[i].used < s->locks[lru].used)
				lru = i;
		unlock_one(&s->locks[lru]);
		s->locks[lru] = s->locks[--s->nlocks];
	}
	for (int attempt = 0; attempt < 10; attempt++) {
		int created = mkdirat(s->incomingfd, name, 0770) == 0;
		if (!created && errno != EEXIST)
			return NULL;
		if (created)
			np_crash_point("recv-mkdir");
		int dirfd = openat(s->incomingfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dirfd < 0) {
			if (errno == ENOENT)
				continue;
			return NULL;
		}
		int lockfd = openat(dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0660);
		if (lockfd < 0 || flock(lockfd, LOCK_SH) < 0) {
			int e = errno;
			if (lockfd >= 0)
				close(lockfd);
			close(dirfd);
			errno = e;
			return NULL;
		}
		struct stat a, b;
		if (fstat(dirfd, &a) < 0 || fstatat(s->incomingfd, name, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
		    a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
			close(lockfd);
			close(dirfd);
			continue; /* stabilized under us: start a fresh folder */
		}
		struct study_lock *l = &s->locks[s->nlocks];
		copy_str(l->name, sizeof l->name, name);
		l->dirfd = dirfd;
		l->lockfd = lockfd;
		l->used = ++s->tick;
		read_npuid(l);
		if (!l->npuid[0]) {
			/* New folder (or one whose creator died before this step). */
			char id[37], now[32], *src = NULL;
			np_time_iso(now);
			if (np_uuid4(id, NULL) < 0)
				goto fail;
			json_t *j = json_pack("{s:s, s:s}", "calling_ae", s->calling_ae, "first_arrival", now);
			if (unsafe)
				json_object_set_new(j, "unsafe_study_uid", json_true());
			src = json_dumps(j, JSON_COMPACT);
			json_decref(j);
			int r = src ? create_once(s, dirfd, "source.json", src) : -1;
			free(src);
			if (r < 0 || create_once(s, dirfd, "npuid", id) < 0 || fsync(dirfd) < 0)
				goto fail;
			read_npuid(l);
		}
		if (created && fsync(s->incomingfd) < 0)
			goto fail;
		s->nlocks++;
		s->studies++;
		return l;
	fail:;
		int e = errno;
		close(lockfd);
		close(dirfd);
		errno = e;
		return NULL;
	}
	errno = EAGAIN;
	return NULL;
}

static int walk(const struct np_recv_store *s, const unsigned char *p, size_t len, struct np_dsw_uids *u)
{
	int kind = np_ul_ts_kind(s->ts);
	if (kind < 0)
		return -1;
	return kind == 3 ? np_dsw_uids_deflated(p, len, DEFLATE_LOOKAHEAD, u) : np_dsw_uids(p, len, kind, u);
}

/* The UIDs of the data set: from memory (all of a small instance, the head
 * of a large one); from the file only when they lie beyond the head. */
static int find_uids(struct np_recv_store *s, struct np_dsw_uids *u)
{
	size_t len = (size_t)(s->size - s->meta_len);
	if (len == 0)
		return -1;
	if (!s->flushed)
		return walk(s, s->wbuf + s->meta_len, len, u);
	int r = walk(s, s->head, s->headlen, u);
	if (r != 1 || s->headlen == len)
		return r;
	/* mmap: only the pages of the header are touched, whatever the size. */
	long pg = sysconf(_SC_PAGESIZE);
	off_t base = (off_t)(s->meta_len / (size_t)pg * (size_t)pg);
	size_t skip = s->meta_len - (size_t)base;
	int rfd = openat(s->tmpfd, s->tmpname, O_RDONLY | O_CLOEXEC);
	if (rfd < 0)
		return -1;
	void *m = mmap(NULL, len + skip, PROT_READ, MAP_PRIVATE, rfd, base);
	close(rfd);
	if (m == MAP_FAILED)
		return -1;
	r = walk(s, (const unsigned char *)m + skip, len, u);
	munmap(m, len + skip);
	return r;
}

/* Make the instance durable before its success response: one log record
 * when it is whole in wbuf, else (or when the log fails) fsync of the file
 * and of its folder. */
static int make_durable(struct np_recv_store *s, struct study_lock *l, const char *dname, const char *fname, int whole)
{
	struct stat st;
	if (whole && s->wal && fstat(s->fd, &st) == 0) {
		struct np_err err = {0};
		long long mt = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
		if (np_wal_append(s->wal, s->wlen, dname, fname, (unsigned long long)st.st_ino, mt, &err) == 0) {
			np_crash_point("recv-logged");
			return 0;
		}
		np_warn(l->npuid, "%s; fsyncing every file instead", err.msg);
		np_wal_close(s->wal, NULL);
		s->wal = NULL;
		/* wbuf lived in the log: the instance is already written out */
		s->wbuf = malloc(WBUF_CAP);
		if (!s->wbuf) {
			errno = ENOMEM;
			return -1;
		}
	}
	if (fsync(s->fd) < 0 || fsync(l->dirfd) < 0)
		return -1;
	np_crash_point("recv-fsynced");
	return 0;
}

/* A SOP Class UID for the log: the UID and what it is, or "invalid" for
 * bytes that are not a UID (never echoed: they come from the peer). */
static void class_for_log(const char *uid, char *out, size_t n)
{
	const struct np_sopclass *c = np_sopclass_find(uid);
	const struct np_sopclass *np = c ? NULL : np_sopclass_nonpatient(uid);
	if (!np_dicom_uid_valid(uid))
		snprintf(out, n, "invalid");
	else if (c)
		snprintf(out, n, "%s (%s)", uid, c->name);
	else if (np)
		snprintf(out, n, "%s (%s, not a patient's instance)", uid, np->name);
	else
		snprintf(out, n, "%s (not a storage SOP class)", uid);
}

static void st_refused(void *ctx, const struct np_ul_store_req *req, unsigned status)
{
	struct np_recv_store *s = ctx;
	char cls[160], pcls[160];
	class_for_log(req->sop_class, cls, sizeof cls);
	class_for_log(req->context_class, pcls, sizeof pcls);
	if (!req->sop_inst[0])
		np_warn(NULL, "refused a C-STORE without SOP Instance UID status=%04X sop_class=%s calling=%s", status,
			cls, s->calling_ae);
	else
		np_warn(NULL,
			"refused a C-STORE whose SOP Class UID is not its presentation context's status=%04X "
			"sop_class=%s context=%s calling=%s",
			status, cls, pcls, s->calling_ae);
}

static unsigned st_end(void *ctx, int complete)
{
	struct np_recv_store *s = ctx;
	if (!complete) {
		drop_tmp(s);
		return 0;
	}
	/* The UIDs are read from memory first; the file is written after. */
	int whole = !s->flushed;
	if (!whole && s->wlen) {
		unsigned st = flush_wbuf(s);
		if (st)
			return st;
	}
	struct np_dsw_uids u = {0};
	int r = find_uids(s, &u);
	if (r == 0 && u.have_inst && (!u.have_study || !u.study[0])) {
		/* Readable, but of no study: np-stable could not file it.
		 * Negotiation refuses the non-patient classes; this is what
		 * gets past it (an IOD sent without its Study Instance UID). */
		char cls[160];
		class_for_log(s->sop_class, cls, sizeof cls);
		np_warn(NULL, "refused an instance without Study Instance UID status=%04X sop_class=%s calling=%s",
			NP_DIMSE_DATASET_MISMATCH, cls, s->calling_ae);
		drop_tmp(s);
		return NP_DIMSE_DATASET_MISMATCH;
	}
	if (r != 0 || !u.have_study || !u.have_inst || !u.study[0]) {
		np_warn(NULL,
			"refused an instance whose data set cannot be read (walk=%d study=%d instance=%d) calling=%s",
			r, u.have_study, u.have_inst, s->calling_ae);
		drop_tmp(s);
		return NP_DIMSE_CANNOT_UNDERSTAND;
	}
	if (strcmp(u.sop_inst, s->sop_inst) || (u.have_class && strcmp(u.sop_class, s->sop_class))) {
		np_warn(NULL, "refused an instance whose data set UIDs differ from the C-STORE command calling=%s",
			s->calling_ae);
		drop_tmp(s);
		return NP_DIMSE_DATASET_MISMATCH;
	}
	if (whole) {
		unsigned st = write_wbuf(s);
		if (st)
			return st;
	}
	char dname[80], fname[80];
	int unsafe_study = safe_name(dname, sizeof dname, u.study, "");
	int unsafe_inst = safe_name(fname, sizeof fname, s->sop_inst, ".dcm");
	struct study_lock *l = study_lock(s, dname, unsafe_study);
	if (!l) {
		int e = errno;
		np_warn(NULL, "unable to prepare a study folder in spool/incoming: %s", strerror(e));
		drop_tmp(s);
		return local_status(e);
	}
	if (unsafe_study || unsafe_inst)
		np_warn(l->npuid, "stored under a safe name: %s UID is not a valid DICOM UID (flagged %s)",
			unsafe_study ? "study" : "instance", unsafe_study ? dname : fname);
	/* rename over an older copy of the same instance: atomic replacement */
	if (renameat(s->tmpfd, s->tmpname, l->dirfd, fname) < 0) {
		int e = errno;
		np_warn(l->npuid, "unable to move an instance into spool/incoming/%s: %s", dname, strerror(e));
		drop_tmp(s);
		return local_status(e);
	}
	np_crash_point("recv-renamed");
	if (make_durable(s, l, dname, fname, whole) < 0) {
		/* In incoming/ but not durable: not acknowledged, so the sender
		 * sends it again; the copy there is whole either way. */
		int e = errno;
		np_warn(l->npuid, "unable to make an instance durable in spool/incoming/%s: %s", dname, strerror(e));
		close(s->fd);
		s->fd = -1;
		return local_status(e);
	}
	close(s->fd);
	s->fd = -1;
	return 0;
}

const struct np_ul_store_ops np_recv_store_ops = {
    .begin = st_begin, .data = st_data, .end = st_end, .stop = NULL, .refused = st_refused};

/* ---- the daemon ---- */

static volatile sig_atomic_t child_stop;

static void on_child_term(int sig)
{
	(void)sig;
	child_stop = 1;
}

/* The ARTIM backstop: np_ul keeps the deadline for the A-ASSOCIATE-RQ, but
 * the TLS handshake before it reads through OpenSSL with a timeout per
 * read. SIGALRM at the deadline shuts the socket down, which ends any read
 * in progress. */
static volatile sig_atomic_t artim_fired;
static volatile int artim_fd = -1;

static void on_artim(int sig)
{
	(void)sig;
	artim_fired = 1;
	if (artim_fd >= 0)
		shutdown(artim_fd, SHUT_RDWR);
}

static void artim_arm(int fd, int seconds)
{
	struct sigaction sa = {.sa_handler = on_artim}; /* no SA_RESTART: a blocked read returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	artim_fired = 0;
	artim_fd = fd;
	alarm((unsigned)seconds);
}

static void artim_disarm(void)
{
	alarm(0);
	artim_fd = -1;
}

/* Eviction. When dicom.max_associations connections are open, a new one
 * takes the place of the oldest that has not yet sent its whole
 * A-ASSOCIATE-RQ: nothing was negotiated or stored on it, so nothing is
 * lost, and peers trickling their requests cannot keep a real PACS (which
 * sends its request in milliseconds) out for the ARTIM time. Each
 * connection has a state word shared with np-recv (MAP_SHARED); whoever
 * swaps it away from CONN_NEGOTIATING first wins: the association process
 * once it has read the request (then it is never evicted), or np-recv,
 * which then sends SIGUSR1 to end any read in progress. */
enum { CONN_NEGOTIATING, CONN_ASSOCIATING, CONN_EVICTED };
static _Atomic int *conn_state; /* this association process's; NULL: never evicted */

static void on_evict(int sig)
{
	(void)sig;
	if (artim_fd >= 0)
		shutdown(artim_fd, SHUT_RDWR);
}

static int evicted(void)
{
	return conn_state && atomic_load(conn_state) == CONN_EVICTED;
}

/* np_ul's rq_read: claim the connection once the request is in. */
static int claim_association(void *ctx)
{
	(void)ctx;
	int expect = CONN_NEGOTIATING;
	return conn_state && !atomic_compare_exchange_strong(conn_state, &expect, CONN_ASSOCIATING);
}

static int stop_requested(void *ctx)
{
	(void)ctx;
	return child_stop;
}

struct listener {
	int fd;
	int tls;
	char bind[64];
	int port;
};

static int listen_on(struct listener *L, const char *bind_addr, int port, int tls, struct np_err *err)
{
	char ps[16];
	snprintf(ps, sizeof ps, "%d", port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
	int g = getaddrinfo(*bind_addr ? bind_addr : NULL, ps, &hints, &res);
	if (g)
		return np_err_set(err, NP_ERR_PERM, "unable to resolve bind address %s: %s", bind_addr,
				  gai_strerror(g));
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return np_err_sys(err, e, "unable to listen on %s port %d", bind_addr, port);
	}
	freeaddrinfo(res);
	np_ul_sock_tune(fd); /* accepted sockets inherit TCP_NODELAY on Linux; set again per socket anyway */
	L->fd = fd;
	L->tls = tls;
	L->port = port;
	copy_str(L->bind, sizeof L->bind, bind_addr);
	return 0;
}

static void peer_name(int fd, char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char host[64] = "?";
	int port = 0;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
			port = ntohs(a->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
			port = ntohs(a->sin6_port);
		}
	}
	snprintf(out, n, "%s:%d", host, port);
}

/* Peek the first byte within ARTIM: 0x01 is an A-ASSOCIATE-RQ, 0x16 a TLS
 * handshake record. Returns the byte, or -1 (closed or timed out). */
static int first_byte(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR && !child_stop);
	if (r <= 0)
		return -1;
	unsigned char b;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK);
	return n == 1 ? b : -1;
}

/* Into the index through np-stable (np_recv_events.h): np-recv does not
 * open the index. */
static void record_rejection(const char *home, const char *detail)
{
	struct np_err err = {0};
	if (np_recv_event_drop(home, "association_rejected", detail, &err) < 0)
		np_log_err(NULL, &err);
}

/* One association, start to end; fd is owned (closed here). */
static void serve(const struct np_recv_cfg *c, struct np_tls_ctx *tlsctx, int fd, int tls)
{
	double t0 = np_mono();
	char peer[80];
	peer_name(fd, peer, sizeof peer);
	np_ul_sock_tune(fd);
	/* ARTIM runs from the accept: first byte, TLS handshake and the whole
	 * A-ASSOCIATE-RQ must be done by then. */
	artim_arm(fd, c->artim_s);
	/* Evicted before artim_fd was set (np-recv logs evictions). */
	int b = evicted() ? -1 : first_byte(fd, c->artim_s * 1000);
	if (b < 0) {
		artim_disarm();
		if (!evicted())
			np_info(NULL, "connection closed or ARTIM expired before any PDU peer=%s", peer);
		close(fd);
		return;
	}
	if (tls && b == 0x01) {
		np_warn(NULL, "plain DICOM on TLS port: rejected peer=%s port=%d (configure the sender for TLS)", peer,
			c->tls_port);
		np_ul_send_reject(fd, NP_RJ_PERMANENT, NP_RJ_SRC_USER, NP_RJ_USER_NO_REASON);
		artim_disarm();
		close(fd);
		return;
	}
	if (!tls && b == 0x16) {
		artim_disarm();
		np_warn(NULL,
			"TLS on plain DICOM port: closed peer=%s port=%d (sender uses TLS; enable dicom.tls or "
			"configure the sender without TLS)",
			peer, c->port);
		close(fd);
		return;
	}
	struct np_err err = {0};
	struct np_tls *t = NULL;
	if (tls && !(t = np_tls_accept(tlsctx, fd, c->artim_s * 1000, &err))) {
		artim_disarm();
		if (evicted())
			np_debug(NULL, "given up for a new connection during the TLS handshake peer=%s", peer);
		else if (artim_fired)
			np_warn(NULL, "ARTIM expired: no TLS handshake within %d s of connecting peer=%s", c->artim_s,
				peer);
		else
			np_warn(NULL, "%s peer=%s", err.msg, peer);
		close(fd);
		return;
	}
	struct np_ul *ul = np_ul_new(fd, t, c->max_pdu, c->artim_s * 1000, &err);
	if (!ul) {
		artim_disarm();
		np_log_err(NULL, &err);
		np_tls_close(t);
		close(fd);
		return;
	}
	const char *allowed[NP_RECV_MAX_ALLOWED];
	for (size_t i = 0; i < c->nallowed; i++)
		allowed[i] = c->allowed[i];
	struct np_ul_scp_cfg sc = {.ae_title = c->ae_title,
				   .allowed_aets = allowed,
				   .nallowed = c->nallowed,
				   .artim_s = c->artim_s,
				   .idle_s = c->idle_s,
				   .artim_deadline = t0 + c->artim_s,
				   .rq_read = claim_association};
	struct np_ul_reject rj;
	int r = np_ul_scp_associate(ul, &sc, &rj, &err);
	artim_disarm();
	if (r < 0 && evicted()) {
		np_debug(NULL, "given up for a new connection before its A-ASSOCIATE-RQ was complete peer=%s", peer);
		np_ul_free(ul);
		np_tls_close(t);
		close(fd);
		return;
	}
	if (r < 0 && (artim_fired || strstr(err.msg, "ARTIM")))
		np_err_set(&err, NP_ERR_TEMP, "ARTIM expired: A-ASSOCIATE-RQ not complete within %d s of connecting",
			   c->artim_s);
	if (r == 1) {
		char detail[256];
		snprintf(detail, sizeof detail, "peer=%s calling_ae=%s called_ae=%s reason=%s", peer, ul->calling_ae,
			 ul->called_ae, np_ul_reject_text(rj.source, rj.reason));
		np_warn(NULL, "association rejected %s", detail);
		record_rejection(c->home, detail);
	} else if (r < 0) {
		np_warn(NULL, "association failed peer=%s: %s", peer, err.msg);
	} else {
		int accepted = 0;
		char refused[1024] = "";
		for (int i = 0; i < ul->npc; i++) {
			accepted += ul->pc[i].result == NP_PC_ACCEPT;
			if (ul->pc[i].result != NP_PC_AS_NOT_SUPPORTED)
				continue;
			char cls[160];
			class_for_log(ul->pc[i].as, cls, sizeof cls);
			if (!strstr(refused, cls)) {
				size_t l = strlen(refused);
				snprintf(refused + l, sizeof refused - l, "%s%s", l ? ", " : "", cls);
			}
		}
		if (*refused)
			np_info(NULL, "presentation contexts refused calling=%s abstract_syntaxes=%s", ul->calling_ae,
				refused);
		struct np_recv_store *st = np_recv_store_new(c->home, ul->calling_ae, &err);
		const char *end = "error";
		if (!st) {
			np_log_err(NULL, &err);
			np_ul_abort(ul, 2, 0);
		} else {
			struct np_ul_store_ops ops = np_recv_store_ops;
			ops.stop = stop_requested;
			int sr = np_ul_scp_serve(ul, &ops, st, &err);
			end = sr == 0 ? "released" : sr == 1 ? (child_stop ? "stopped" : "aborted") : "error";
		}
		np_info(NULL,
			"association peer=%s calling=%s called=%s tls=%s%s%s contexts=%d/%d instances=%llu studies=%d "
			"bytes=%llu seconds=%.3f end=%s%s%s",
			peer, ul->calling_ae, ul->called_ae, t ? np_tls_version(t) : "no", t ? " cipher=" : "",
			t ? np_tls_cipher(t) : "", accepted, ul->npc, ul->instances, st ? np_recv_store_studies(st) : 0,
			ul->bytes, np_mono() - t0, end, !strcmp(end, "error") || !strcmp(end, "aborted") ? " why=" : "",
			!strcmp(end, "error") || !strcmp(end, "aborted") ? err.msg : "");
		np_recv_store_free(st);
	}
	np_ul_free(ul);
	np_tls_close(t);
	close(fd);
}

/* Whether pid names a process that can still write: a killed association
 * process stays a zombie until its new parent reaps it, and kill(pid, 0)
 * succeeds on zombies, so its state in /proc decides. */
static int pid_running(long pid)
{
	if (pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno != EPERM))
		return 0;
	char p[64], buf[512];
	snprintf(p, sizeof p, "/proc/%ld/stat", pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = 0;
	const char *rp = strrchr(buf, ')');
	return !(rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'));
}

/* Remove partial files a killed np-recv left in its temporary folder (their
 * process is gone); never those of a running process. */
static void clean_tmp(const char *home)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/" NP_RECV_TMP, home);
	DIR *d = opendir(p);
	if (!d)
		return;
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		long pid;
		if (sscanf(e->d_name, "np-recv.%ld.", &pid) != 1)
			continue;
		if (pid_running(pid))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	if (n)
		np_info(NULL, "removed %d partial files of an earlier run from " NP_RECV_TMP, n);
}

/* Replay what killed association processes left in the instance log. */
static void recover_log(const char *home)
{
	struct np_err err = {0};
	if (np_wal_recover_all(home, &err) < 0)
		np_log_err(NULL, &err);
}

static int load(const char *home, const struct np_recv_overrides *ov, struct np_recv_cfg *c, struct np_err *err)
{
	struct np_config cfg;
	if (np_config_load(&cfg, home, err) < 0)
		return -1;
	int r = np_recv_cfg_from(c, &cfg, ov, err);
	np_config_free(&cfg);
	return r;
}

static struct np_tls_ctx *make_tls(const struct np_recv_cfg *c, struct np_err *err)
{
	if (!c->tls_enabled)
		return NULL;
	struct np_tls_ctx *t = np_tls_server_ctx(c->cert_file, c->key_file, c->ca_file, c->verify_client, err);
	if (t && np_tls_ctx_set_profile(t, c->tls_profile, err) < 0) {
		np_tls_ctx_free(t);
		return NULL;
	}
	/* Said at every start and reload, where a security review reads. */
	if (t && np_tls_profiles[c->tls_profile].weak)
		np_warn(NULL,
			"dicom.tls.profile is %s: DICOM TLS also accepts TLS_RSA_WITH_AES_128_CBC_SHA (no forward "
			"secrecy, CBC) for senders on the retired DICOM AES profile; set bcp195 once they are upgraded",
			np_tls_profiles[c->tls_profile].name);
	return t;
}

static int open_listener(const struct np_recv_cfg *c, struct listener *L, struct np_err *err)
{
	int port = c->tls_enabled ? c->tls_port : c->port;
	if (L->fd >= 0 && L->port == port && L->tls == c->tls_enabled && !strcmp(L->bind, c->bind))
		return 0;
	struct listener n = {.fd = -1};
	if (listen_on(&n, c->bind, port, c->tls_enabled, err) < 0) {
		/* A new bind address on the same port conflicts with our own
		 * listener (0.0.0.0 and 127.0.0.1, say): give the port up for
		 * the new one, and take the old one back if that fails. */
		if (L->fd < 0 || L->port != port)
			return -1;
		struct listener old = *L;
		close(L->fd);
		L->fd = -1;
		struct np_err e2 = {0};
		if (listen_on(&n, c->bind, port, c->tls_enabled, &e2) < 0) {
			if (listen_on(L, old.bind, old.port, old.tls, NULL) < 0)
				np_error(NULL, "unable to listen again on %s port %d", old.bind, old.port);
			return -1;
		}
	} else if (L->fd >= 0)
		close(L->fd);
	*L = n;
	np_info(NULL, "listening bind=%s port=%d tls=%s%s%s ae=%s max_associations=%d per_address=%d", c->bind, port,
		c->tls_enabled ? (c->verify_client ? "mutual" : "yes") : "no", c->tls_enabled ? " tls_profile=" : "",
		c->tls_enabled ? np_tls_profiles[c->tls_profile].name : "", c->ae_title, c->max_assoc, c->max_per_addr);
	return 0;
}

/* An association process and who it serves, for the per-address cap and
 * eviction (state is its word in the shared table). */
struct kid {
	pid_t pid;
	unsigned char addr[16];
	char peer[80];
	double t; /* accepted, np_mono */
	int state, evicted;
};

/* dicom.max_associations is at most 1024; evicted processes stay in the
 * table until they have exited (milliseconds), hence room for more. */
#define NP_RECV_KIDS 2048

/* Give up the oldest connection still sending its A-ASSOCIATE-RQ (see
 * CONN_NEGOTIATING); never an association. Returns its index, or -1. */
static int evict_oldest(struct kid *kids, int nchild, _Atomic int *states)
{
	for (;;) {
		int o = -1;
		for (int k = 0; k < nchild; k++)
			if (!kids[k].evicted && atomic_load(&states[kids[k].state]) == CONN_NEGOTIATING &&
			    (o < 0 || kids[k].t < kids[o].t))
				o = k;
		if (o < 0)
			return -1;
		int expect = CONN_NEGOTIATING;
		if (!atomic_compare_exchange_strong(&states[kids[o].state], &expect, CONN_EVICTED))
			continue; /* its request just came in: it is an association now */
		kids[o].evicted = 1;
		kill(kids[o].pid, SIGUSR1);
		return o;
	}
}

/* The address a connection counts against: IPv4 (mapped into IPv6, as a
 * dual-stack listener sees it), or the /64 of an IPv6 address, since one
 * IPv6 host commonly holds a whole /64. */
static void addr_key(const struct sockaddr_storage *ss, unsigned char key[16])
{
	memset(key, 0, 16);
	if (ss->ss_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const unsigned char *a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
		memcpy(key, a, IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a) ? 16 : 8);
	}
}

/* Refusals come in floods (that is the point of the limits), so a line at
 * most every few seconds per kind, with the number not logged since. */
struct refusals {
	double last;
	unsigned long quiet;
};

static void refusal_log(struct refusals *r, const char *why, int open, const char *peer)
{
	double now = np_mono();
	if (r->last > 0 && now - r->last < 5) {
		r->quiet++;
		return;
	}
	if (r->quiet)
		np_warn(NULL,
			"association refused: %d associations already open (%s) peer=%s; %lu more refused "
			"in the last %.0f s",
			open, why, peer, r->quiet, now - r->last);
	else
		np_warn(NULL, "association refused: %d associations already open (%s) peer=%s", open, why, peer);
	r->last = now;
	r->quiet = 0;
}

static void eviction_log(struct refusals *r, const struct kid *k, const char *peer)
{
	double now = np_mono();
	if (r->last > 0 && now - r->last < 5) {
		r->quiet++;
		return;
	}
	char more[80] = "";
	if (r->quiet)
		snprintf(more, sizeof more, "; %lu more given up in the last %.0f s", r->quiet, now - r->last);
	np_warn(NULL,
		"dicom.max_associations reached: gave up peer=%s, which had not sent its whole A-ASSOCIATE-RQ in "
		"%.0f s, for peer=%s%s",
		k->peer, now - k->t, peer, more);
	r->last = now;
	r->quiet = 0;
}

/* Seconds with no more than the slots made at start in use before the
 * extra instance log slots of a burst are removed: long enough that a
 * steady load does not make and remove a 32 MiB slot per association. */
static int wal_trim_seconds(void)
{
#ifdef NP_TEST_HOOKS
	const char *s = getenv("NP_RECV_WAL_TRIM_SECONDS");
	if (s && *s)
		return atoi(s);
#endif
	return 60;
}

static void wal_trim(const char *home, int keep)
{
	struct np_err err = {0};
	int n = np_wal_trim(home, keep, &err);
	if (n < 0)
		np_log_err(NULL, &err);
	else if (n > 0)
		np_info(NULL, "instance log: removed %d idle slots made for a burst of associations (kept %d)", n,
			keep);
}

int np_recv_run(const char *home, const struct np_recv_overrides *ov, struct np_err *err)
{
	static struct np_recv_cfg cfg, next;
	if (load(home, ov, &cfg, err) < 0)
		return -1;
	if (np_spool_init(home, err) < 0)
		return -1;
	clean_tmp(home);
	recover_log(home);
	struct np_err werr = {0};
	int keep = cfg.max_assoc < 4 ? cfg.max_assoc : 4; /* instance log slots kept ready */
	if (np_wal_prepare(home, keep, &werr) < 0)
		np_log_err(NULL, &werr);
	/* Slots a burst (of an earlier run, too) left beyond those. */
	int grown = 1, trim_s = wal_trim_seconds();
	double trim_at = 0;
	struct refusals over_all = {0}, over_addr = {0}, evictions = {0};
	struct np_tls_ctx *tlsctx = make_tls(&cfg, err);
	if (cfg.tls_enabled && !tlsctx)
		return -1;
	struct listener L = {.fd = -1};
	if (open_listener(&cfg, &L, err) < 0) {
		np_tls_ctx_free(tlsctx);
		return -1;
	}
	int inproc = getenv("NP_RECV_INPROCESS") != NULL; /* for bench/recv.sh: the measured alternative */

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	signal(SIGPIPE, SIG_IGN);
	static struct kid kids[NP_RECV_KIDS];
	static unsigned char state_used[NP_RECV_KIDS];
	_Atomic int *states =
	    mmap(NULL, sizeof *states * NP_RECV_KIDS, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (states == MAP_FAILED) {
		np_warn(NULL, "unable to map the connection table (%s): no eviction of slow senders", strerror(errno));
		states = NULL;
	}
	struct sigaction ev = {.sa_handler = on_evict}; /* inherited; no SA_RESTART: a blocked read returns */
	sigemptyset(&ev.sa_mask);
	sigaction(SIGUSR1, &ev, NULL);
	int nchild = 0, stopping = 0;
	while (!stopping || nchild > 0) {
		if (nchild > keep) {
			grown = 1;
			trim_at = 0;
		} else if (grown && trim_at == 0) {
			trim_at = np_mono() + trim_s;
		}
		int wait_ms = -1;
		if (trim_at > 0 && !stopping) {
			double left = trim_at - np_mono();
			wait_ms = left <= 0 ? 0 : (int)(left * 1000) + 1;
		}
		struct pollfd p[2] = {{.fd = sfd, .events = POLLIN}, {.fd = stopping ? -1 : L.fd, .events = POLLIN}};
		if (poll(p, 2, wait_ms) < 0 && errno != EINTR)
			break;
		if (trim_at > 0 && !stopping && np_mono() >= trim_at) {
			wal_trim(home, keep);
			grown = 0;
			trim_at = 0;
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) == sizeof si) {
				if (si.ssi_signo == SIGCHLD) {
					pid_t w;
					int status, died = 0;
					while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
						died |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
						for (int k = 0; k < nchild; k++)
							if (kids[k].pid == w) {
								state_used[kids[k].state] = 0;
								kids[k] = kids[--nchild];
								break;
							}
					}
					if (died) /* its log slot may hold records */
						recover_log(home);
				} else if (si.ssi_signo == SIGHUP && !stopping) {
					struct np_err e2 = {0};
					struct np_tls_ctx *nt = NULL;
					if (load(home, ov, &next, &e2) < 0 ||
					    (next.tls_enabled && !(nt = make_tls(&next, &e2))) ||
					    open_listener(&next, &L, &e2) < 0) {
						np_error(NULL, "reload failed, keeping the running settings: %s",
							 e2.msg);
						np_tls_ctx_free(nt);
					} else {
						np_tls_ctx_free(tlsctx);
						tlsctx = nt;
						cfg = next;
						np_info(NULL, "settings reloaded");
					}
				} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
					if (!stopping)
						np_info(NULL, "stopping: waiting for %d associations", nchild);
					stopping = 1;
					close(L.fd);
					L.fd = -1;
					for (int k = 0; k < nchild; k++)
						kill(kids[k].pid, SIGTERM);
				}
			}
		}
		if (!stopping && (p[1].revents & POLLIN)) {
			struct sockaddr_storage ss = {0};
			socklen_t sl = sizeof ss;
			int fd = accept4(L.fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			unsigned char key[16];
			addr_key(&ss, key);
			char peer[80];
			peer_name(fd, peer, sizeof peer);
			int same = 0, open = 0;
			for (int k = 0; k < nchild; k++)
				if (!kids[k].evicted) {
					open++;
					same += !memcmp(kids[k].addr, key, sizeof key);
				}
			/* All taken, and this address within its share: the new
			 * connection takes the place of the oldest one still
			 * sending its request. */
			if (open >= cfg.max_assoc && same < cfg.max_per_addr && states && nchild < NP_RECV_KIDS) {
				int o = evict_oldest(kids, nchild, states);
				if (o >= 0) {
					eviction_log(&evictions, &kids[o], peer);
					open--;
				}
			}
			/* Refused before a byte is read: a transient A-ASSOCIATE-RJ
			 * (local limit exceeded) tells a PACS to try again later. On
			 * the TLS port it would not be understood: closed. */
			int full = open >= cfg.max_assoc || nchild >= NP_RECV_KIDS;
			if (full || same >= cfg.max_per_addr) {
				if (full)
					refusal_log(&over_all, "dicom.max_associations", open, peer);
				else
					refusal_log(&over_addr, "from this address, dicom.max_associations_per_address",
						    same, peer);
				if (!L.tls)
					np_ul_send_reject(fd, NP_RJ_TRANSIENT, NP_RJ_SRC_PRESENTATION,
							  NP_RJ_PRES_LIMIT);
				close(fd);
				continue;
			}
			if (inproc) {
				serve(&cfg, tlsctx, fd, L.tls);
				continue;
			}
			int slot = 0;
			while (state_used[slot]) /* nchild < NP_RECV_KIDS: one is free */
				slot++;
			if (states)
				atomic_store(&states[slot], CONN_NEGOTIATING);
			pid_t pid = fork();
			if (pid == 0) {
				conn_state = states ? &states[slot] : NULL;
				close(L.fd);
				close(sfd);
				struct sigaction sa = {.sa_handler = on_child_term};
				sigaction(SIGTERM, &sa, NULL);
				sigaction(SIGINT, &sa, NULL);
				signal(SIGHUP, SIG_IGN);
				signal(SIGCHLD, SIG_DFL);
				sigprocmask(SIG_UNBLOCK, &set, NULL);
				serve(&cfg, tlsctx, fd, L.tls);
				_exit(0);
			}
			if (pid > 0) {
				struct kid *k = &kids[nchild++];
				*k = (struct kid){.pid = pid, .t = np_mono(), .state = slot};
				memcpy(k->addr, key, sizeof key);
				copy_str(k->peer, sizeof k->peer, peer);
				state_used[slot] = 1;
			} else
				np_warn(NULL, "unable to fork: %s", strerror(errno));
			close(fd);
		}
	}
	if (L.fd >= 0)
		close(L.fd);
	close(sfd);
	np_tls_ctx_free(tlsctx);
	np_info(NULL, "stopped");
	return 0;
}
