// SPDX-License-Identifier: Apache-2.0
/* np_wal: the received-instance log (see np_wal.h).
 *
 * A slot is a file of SLOT_SIZE bytes, all written once when made, so later
 * writes change no block map and need a single flush. Block 0 holds the
 * superblock: the generation and its key. Records follow at 4 KiB
 * boundaries: a clear header (magic, generation, sequence number, length,
 * GCM tag) and, encrypted with AES-256-GCM under the generation's key, the
 * file's folder, name, inode and mtime and its bytes. The tag also tells a
 * torn record from a whole one. A checkpoint writes a new generation with
 * a fresh key, so the patient data of earlier records cannot be read back
 * from the slot once their files are durable. */
#include "np_wal.h"

#include "np_err.h"
#include "np_fs.h"
#include "np_log.h"
#include "np_spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SLOT_SIZE (32u << 20)
#define BLOCK 4096u
#define MAX_SLOTS 1024

static const char SB_MAGIC[8] = "NPWALSB1";
static const char REC_MAGIC[8] = "NPWALREC";

struct sb {
	char magic[8];
	uint64_t gen;
	unsigned char key[32];
	uint32_t crc; /* of the fields above: a torn superblock is no superblock */
};

/* In the clear: what a reader needs to find and check the record. */
struct rec_head {
	char magic[8];
	uint64_t gen;
	uint64_t seq; /* 0, 1, 2... within a generation: the GCM nonce */
	uint32_t len; /* of the encrypted part */
	uint32_t pad;
	unsigned char tag[16];
};

/* Encrypted, ahead of the file's bytes. */
struct rec_file {
	uint64_t ino;
	int64_t mtime_ns;
	char dir[96];
	char name[96];
};

#define HEAD_LEN sizeof(struct rec_head)
#define REC_HDR (HEAD_LEN + sizeof(struct rec_file))

struct np_wal {
	int lockfd, fd, incomingfd;
	unsigned char *buf; /* REC_HDR bytes of header, then the caller's file */
	struct sb sb;
	uint64_t seq;
	size_t off;
};

static uint32_t sb_crc(const struct sb *s)
{
	return (uint32_t)crc32(0L, (const Bytef *)s, offsetof(struct sb, crc));
}

static int sb_valid(const struct sb *s)
{
	return !memcmp(s->magic, SB_MAGIC, 8) && s->crc == sb_crc(s);
}

static size_t round_block(size_t n)
{
	return (n + BLOCK - 1) / BLOCK * BLOCK;
}

/* AES-256-GCM in place over p; the clear head is authenticated too. */
static int gcm(int enc, const unsigned char key[32], uint64_t seq, const struct rec_head *h, unsigned char *p, size_t n,
	       unsigned char tag[16])
{
	unsigned char iv[12] = {0};
	memcpy(iv, &seq, sizeof seq);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv, enc) == 1;
	int l = 0;
	ok = ok && EVP_CipherUpdate(c, NULL, &l, (const unsigned char *)h, offsetof(struct rec_head, tag)) == 1;
	ok = ok && EVP_CipherUpdate(c, p, &l, p, (int)n) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
	ok = ok && EVP_CipherFinal_ex(c, p + l, &l) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

/* A folder or file name from a record: one path component, not hidden. */
static int name_ok(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	return n > 0 && n < cap && s[0] != '.' && !memchr(s, '/', n);
}

int np_wal_parse(const unsigned char *img, size_t len, int (*fn)(void *ctx, const struct np_wal_rec *r), void *ctx)
{
	struct sb sb;
	if (len < 2 * BLOCK)
		return 0;
	memcpy(&sb, img, sizeof sb);
	if (!sb_valid(&sb))
		return 0;
	int n = 0;
	for (size_t off = BLOCK; off + REC_HDR <= len;) {
		struct rec_head h;
		memcpy(&h, img + off, sizeof h);
		size_t body = h.len;
		if (memcmp(h.magic, REC_MAGIC, 8) || h.gen != sb.gen || h.seq != (uint64_t)n ||
		    body < sizeof(struct rec_file) || body > sizeof(struct rec_file) + NP_WAL_MAX ||
		    body > len - off - HEAD_LEN)
			break;
		unsigned char *plain = malloc(body);
		if (!plain)
			break;
		memcpy(plain, img + off + HEAD_LEN, body);
		struct rec_file f;
		int ok = gcm(0, sb.key, h.seq, &h, plain, body, h.tag) == 0;
		if (ok) {
			memcpy(&f, plain, sizeof f);
			ok = name_ok(f.dir, sizeof f.dir) && name_ok(f.name, sizeof f.name);
		}
		int stop = !ok;
		if (ok) {
			struct np_wal_rec r = {.dir = f.dir,
					       .name = f.name,
					       .ino = f.ino,
					       .mtime_ns = f.mtime_ns,
					       .data = plain + sizeof f,
					       .len = body - sizeof f};
			n++;
			stop = fn(ctx, &r);
		}
		OPENSSL_cleanse(plain, body);
		free(plain);
		if (stop)
			break;
		off = round_block(off + HEAD_LEN + body);
	}
	OPENSSL_cleanse(&sb, sizeof sb);
	return n;
}

/* ---- replay ---- */

struct replay {
	int incomingfd, tmpfd;
	int records, written, failed;
	unsigned long long seq;
};

static int same_content(int dirfd, const char *name, const struct np_wal_rec *r, const struct stat *st)
{
	if (st->st_size != (off_t)r->len)
		return 0;
	if (r->len == 0)
		return 1;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	void *m = mmap(NULL, r->len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return 0;
	int same = !memcmp(m, r->data, r->len);
	munmap(m, r->len);
	return same;
}

/* Bring incoming/dir/name back to the logged bytes unless a newer copy of
 * the instance replaced it since. Durability comes from the syncfs after. */
static int replay_one(void *ctx, const struct np_wal_rec *r)
{
	struct replay *p = ctx;
	p->records++;
	int dirfd = openat(p->incomingfd, r->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0) {
		/* np-stable took the study: it did so only once this slot had
		 * no record of it, so this record is already durable there. */
		return 0;
	}
	struct stat st;
	int have = fstatat(dirfd, r->name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	long long mt = have ? (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec : 0;
	if (have && st.st_ino != r->ino && mt >= r->mtime_ns) {
		close(dirfd); /* a newer copy of the instance arrived since */
		return 0;
	}
	if (have && S_ISREG(st.st_mode) && same_content(dirfd, r->name, r, &st)) {
		close(dirfd);
		return 0;
	}
	char tmp[96];
	snprintf(tmp, sizeof tmp, "np-recv.%ld.wal.%llu.part", (long)getpid(), ++p->seq);
	int fd = openat(p->tmpfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0660);
	int ok = fd >= 0 && np_write_all(fd, r->data, r->len) == 0;
	if (fd >= 0)
		ok = close(fd) == 0 && ok;
	ok = ok && renameat(p->tmpfd, tmp, dirfd, r->name) == 0;
	if (!ok) {
		/* no UIDs in the log: they identify the patient's study */
		np_warn(NULL, "instance log: unable to write an instance back into spool/incoming: %s",
			strerror(errno));
		unlinkat(p->tmpfd, tmp, 0);
		p->failed++;
	} else {
		p->written++;
	}
	close(dirfd);
	return 0;
}

/* ---- slots ---- */

static int write_sb(int fd, struct sb *sb, int direct)
{
	if (RAND_bytes(sb->key, sizeof sb->key) != 1) {
		errno = EIO;
		return -1;
	}
	memcpy(sb->magic, SB_MAGIC, 8);
	sb->crc = sb_crc(sb);
	unsigned char *blk = NULL;
	if (posix_memalign((void **)&blk, BLOCK, BLOCK)) {
		errno = ENOMEM;
		return -1;
	}
	memset(blk, 0, BLOCK);
	memcpy(blk, sb, sizeof *sb);
	ssize_t w = pwrite(fd, blk, BLOCK, 0);
	int e = errno;
	free(blk);
	if (w != (ssize_t)BLOCK) {
		errno = w < 0 ? e : EIO;
		return -1;
	}
	return direct ? 0 : fdatasync(fd);
}

/* Write the whole slot once (zeros, then a superblock). A slot that could
 * not be made (a full disk) is emptied again: the space is better left to
 * the instances themselves. */
static int make_slot(int fd, int waldirfd, struct sb *sb)
{
	static const unsigned char zero[64 * 1024];
	if (ftruncate(fd, 0) < 0)
		return -1;
	for (size_t off = 0; off < SLOT_SIZE; off += sizeof zero) {
		ssize_t w = pwrite(fd, zero, sizeof zero, (off_t)off);
		if (w != (ssize_t)sizeof zero) {
			int e = w < 0 ? errno : ENOSPC;
			int r = ftruncate(fd, 0); /* if this fails too, the next try empties it */
			(void)r;
			errno = e;
			return -1;
		}
	}
	sb->gen = 1;
	if (write_sb(fd, sb, 0) < 0)
		return -1;
	return fsync(waldirfd);
}

/* Replay a locked slot (fd) and start a new generation if it held records.
 * Returns files written again, or -1. */
static int recover_slot(int fd, int incomingfd, int tmpfd, const char *slot)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)(2 * BLOCK))
		return 0;
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -1;
	struct replay p = {.incomingfd = incomingfd, .tmpfd = tmpfd};
	int n = np_wal_parse(m, (size_t)st.st_size, replay_one, &p);
	struct sb sb;
	if (n > 0)
		memcpy(&sb, m, sizeof sb);
	munmap(m, (size_t)st.st_size);
	if (n == 0)
		return 0;
	if (p.failed) {
		OPENSSL_cleanse(&sb, sizeof sb);
		errno = EIO;
		return -1; /* keep the records for the next try */
	}
	if (syncfs(incomingfd) < 0)
		return -1;
	sb.gen++;
	int r = write_sb(fd, &sb, 0);
	OPENSSL_cleanse(&sb, sizeof sb);
	if (r < 0)
		return -1;
	np_info(NULL, "instance log %s replayed: %d instances logged, %d written again", slot, p.records, p.written);
	return p.written;
}

static int open_spool_dirs(const char *home, int *incomingfd, int *tmpfd, struct np_err *err)
{
	char p[4200];
	snprintf(p, sizeof p, "%s/spool/incoming", home);
	/* never through a link: the replay runs in np-stable, another user
	 * than np-recv, which writes these folders */
	*incomingfd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	snprintf(p, sizeof p, "%s/" NP_RECV_TMP, home);
	*tmpfd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*incomingfd >= 0 && *tmpfd >= 0)
		return 0;
	int e = errno;
	if (*incomingfd >= 0)
		close(*incomingfd);
	if (*tmpfd >= 0)
		close(*tmpfd);
	return np_err_sys(err, e, "unable to open %s/spool/incoming or " NP_RECV_TMP, home);
}

static int open_waldir(const char *home, int create, struct np_err *err)
{
	char p[4200];
	snprintf(p, sizeof p, "%s/spool/wal", home);
	if (create && mkdir(p, 0770) < 0 && errno != EEXIST)
		return np_err_sys(err, errno, "unable to create %s", p);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (create || errno != ENOENT))
		return np_err_sys(err, errno, "unable to open %s", p);
	return fd;
}

/* Whether fd is (still) the file called name in waldirfd. */
static int still_named(int waldirfd, const char *name, int fd)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && a.st_nlink > 0 && fstatat(waldirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	       a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

struct np_wal *np_wal_open(const char *home, struct np_err *err)
{
	struct np_wal *w = calloc(1, sizeof *w);
	if (!w) {
		np_err_sys(err, ENOMEM, "unable to allocate the instance log");
		return NULL;
	}
	w->lockfd = w->fd = w->incomingfd = -1;
	int tmpfd = -1, waldirfd = open_waldir(home, 1, err);
	if (waldirfd < 0 || open_spool_dirs(home, &w->incomingfd, &tmpfd, err) < 0)
		goto fail;
	char name[32];
	for (int i = 0, again = 0; i < MAX_SLOTS && w->lockfd < 0; i++) {
		snprintf(name, sizeof name, "slot-%d", i);
		int fd = openat(waldirfd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0660);
		if (fd < 0) {
			np_err_sys(err, errno, "unable to open spool/wal/%s", name);
			goto fail;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && still_named(waldirfd, name, fd)) {
			w->lockfd = fd;
		} else {
			/* np_wal_trim removed the slot between our open and flock:
			 * a recovery would never find records written to it, so
			 * take the name again (a few times at most). */
			int removed = !still_named(waldirfd, name, fd);
			close(fd);
			if (removed && again++ < 3)
				i--;
		}
	}
	if (w->lockfd < 0) {
		np_err_sys(err, EBUSY, "every instance log slot is in use");
		goto fail;
	}
	/* Replay first: a slot of another size (an older version) is still read. */
	if (recover_slot(w->lockfd, w->incomingfd, tmpfd, name) < 0) {
		np_err_sys(err, errno, "unable to replay spool/wal/%s", name);
		goto fail;
	}
	struct stat st;
	int whole = fstat(w->lockfd, &st) == 0 && st.st_size == SLOT_SIZE &&
		    pread(w->lockfd, &w->sb, sizeof w->sb, 0) == (ssize_t)sizeof w->sb && sb_valid(&w->sb);
	if (!whole && make_slot(w->lockfd, waldirfd, &w->sb) < 0) {
		np_err_sys(err, errno, "unable to prepare spool/wal/%s", name);
		goto fail;
	}
	w->fd = openat(waldirfd, name, O_RDWR | O_DIRECT | O_DSYNC | O_CLOEXEC);
	if (w->fd < 0) {
		np_err_sys(err, errno, "unable to open spool/wal/%s for direct writes", name);
		goto fail;
	}
	if (posix_memalign((void **)&w->buf, BLOCK, round_block(REC_HDR + NP_WAL_MAX))) {
		np_err_sys(err, ENOMEM, "unable to allocate the instance log");
		goto fail;
	}
	w->off = BLOCK;
	close(tmpfd);
	close(waldirfd);
	return w;
fail:
	if (tmpfd >= 0)
		close(tmpfd);
	if (waldirfd >= 0)
		close(waldirfd);
	np_wal_close(w, NULL);
	return NULL;
}

unsigned char *np_wal_buf(struct np_wal *w)
{
	return w->buf + REC_HDR;
}

int np_wal_dirty(const struct np_wal *w)
{
	return w->seq > 0;
}

int np_wal_checkpoint(struct np_wal *w, struct np_err *err)
{
	if (!w->seq)
		return 0;
	if (syncfs(w->incomingfd) < 0)
		return np_err_sys(err, errno, "unable to make spool/incoming durable (syncfs)");
	struct sb next = w->sb;
	next.gen++;
	if (write_sb(w->fd, &next, 1) < 0) {
		OPENSSL_cleanse(&next, sizeof next);
		return np_err_sys(err, errno, "unable to start a new instance log generation");
	}
	w->sb = next;
	OPENSSL_cleanse(&next, sizeof next);
	w->seq = 0;
	w->off = BLOCK;
	return 0;
}

int np_wal_append(struct np_wal *w, size_t len, const char *dir, const char *name, unsigned long long ino,
		  long long mtime_ns, struct np_err *err)
{
	struct rec_file f = {.ino = ino, .mtime_ns = mtime_ns};
	if (len > NP_WAL_MAX || strlen(dir) >= sizeof f.dir || strlen(name) >= sizeof f.name)
		return np_err_set(err, NP_ERR_PERM, "instance too large for the instance log");
	size_t total = round_block(REC_HDR + len);
	if (w->off + total > SLOT_SIZE && np_wal_checkpoint(w, err) < 0)
		return -1;
	snprintf(f.dir, sizeof f.dir, "%s", dir);
	snprintf(f.name, sizeof f.name, "%s", name);
	memcpy(w->buf + HEAD_LEN, &f, sizeof f);
	struct rec_head h = {.gen = w->sb.gen, .seq = w->seq, .len = (uint32_t)(sizeof f + len)};
	memcpy(h.magic, REC_MAGIC, 8);
	if (gcm(1, w->sb.key, h.seq, &h, w->buf + HEAD_LEN, sizeof f + len, h.tag) < 0)
		return np_err_set(err, NP_ERR_TEMP, "unable to encrypt an instance log record");
	memcpy(w->buf, &h, sizeof h);
	memset(w->buf + REC_HDR + len, 0, total - REC_HDR - len);
	ssize_t wr = pwrite(w->fd, w->buf, total, (off_t)w->off);
	if (wr != (ssize_t)total)
		return np_err_sys(err, wr < 0 ? errno : EIO, "unable to write the instance log");
	w->off += total;
	w->seq++;
	return 0;
}

int np_wal_close(struct np_wal *w, struct np_err *err)
{
	if (!w)
		return 0;
	int r = w->fd >= 0 ? np_wal_checkpoint(w, err) : 0;
	if (w->fd >= 0)
		close(w->fd);
	if (w->lockfd >= 0)
		close(w->lockfd); /* drops the flock */
	if (w->incomingfd >= 0)
		close(w->incomingfd);
	if (w->buf) {
		OPENSSL_cleanse(w->buf, round_block(REC_HDR + NP_WAL_MAX));
		free(w->buf);
	}
	OPENSSL_cleanse(&w->sb, sizeof w->sb);
	free(w);
	return r;
}

/* Replay every slot numbered from `from` on (every slot for from < 0) that
 * no association holds,
 * and with drop remove it afterwards. Adds the instances written back to
 * *instances and the slots removed to *dropped. Returns 0 or -1 with err. */
static int replay_free_slots(const char *home, int from, int drop, int *instances, int *dropped, struct np_err *err)
{
	int waldirfd = open_waldir(home, 0, err);
	if (waldirfd < 0)
		return errno == ENOENT ? 0 : -1;
	int incomingfd, tmpfd;
	if (open_spool_dirs(home, &incomingfd, &tmpfd, err) < 0) {
		close(waldirfd);
		return -1;
	}
	DIR *d = fdopendir(dup(waldirfd));
	int rc = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		int n;
		char end;
		if (strncmp(e->d_name, "slot-", 5) ||
		    (from >= 0 && (sscanf(e->d_name, "slot-%d%c", &n, &end) != 1 || n < from)))
			continue;
		int fd = openat(waldirfd, e->d_name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		/* Locked: an association (or another replay) uses it now. */
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && still_named(waldirfd, e->d_name, fd)) {
			int k = recover_slot(fd, incomingfd, tmpfd, e->d_name);
			if (k < 0) {
				rc = np_err_sys(err, errno, "unable to replay spool/wal/%s", e->d_name);
			} else {
				*instances += k;
				if (drop && unlinkat(waldirfd, e->d_name, 0) == 0)
					(*dropped)++;
				else if (drop)
					rc = np_err_sys(err, errno, "unable to remove spool/wal/%s", e->d_name);
			}
		}
		close(fd); /* drops the flock after the unlink: nobody else had it meanwhile */
	}
	if (d)
		closedir(d);
	close(tmpfd);
	close(incomingfd);
	close(waldirfd);
	return rc;
}

int np_wal_recover_all(const char *home, struct np_err *err)
{
	int instances = 0, dropped = 0;
	return replay_free_slots(home, -1, 0, &instances, &dropped, err) < 0 ? -1 : instances;
}

int np_wal_prepare(const char *home, int n, struct np_err *err)
{
	int waldirfd = open_waldir(home, 1, err);
	if (waldirfd < 0)
		return -1;
	int rc = 0;
	for (int i = 0; i < n && i < MAX_SLOTS && rc == 0; i++) {
		char name[32];
		snprintf(name, sizeof name, "slot-%d", i);
		int fd = openat(waldirfd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0660);
		struct stat st;
		if (fd < 0)
			rc = np_err_sys(err, errno, "unable to open spool/wal/%s", name);
		else if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 && st.st_size == 0 &&
			 still_named(waldirfd, name, fd)) {
			struct sb sb;
			if (make_slot(fd, waldirfd, &sb) < 0)
				rc = np_err_sys(err, errno, "unable to prepare spool/wal/%s", name);
			OPENSSL_cleanse(&sb, sizeof sb);
		}
		if (fd >= 0)
			close(fd);
		/* A file system without direct writes (tmpfs) gets no more slots:
		 * np-recv fsyncs every file there. */
		int probe = rc == 0 ? openat(waldirfd, name, O_RDWR | O_DIRECT | O_CLOEXEC) : -1;
		if (probe < 0)
			break;
		close(probe);
	}
	close(waldirfd);
	return rc;
}

int np_wal_trim(const char *home, int keep, struct np_err *err)
{
	int instances = 0, dropped = 0;
	return replay_free_slots(home, keep, 1, &instances, &dropped, err) < 0 ? -1 : dropped;
}
