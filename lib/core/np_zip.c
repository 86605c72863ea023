// SPDX-License-Identifier: Apache-2.0
/* np_zip: stored ZIPs as a byte stream with their size known up front (see
 * np_zip.h). The field values mirror libarchive 3.6's ZIP writer
 * (archive_write_set_format_zip.c) for stored regular files of known size. */
#include "np_zip.h"

#include "np_crypto.h"
#include "np_err.h"

#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define MAX32 0xffffffffLL
#define MTIME 946684800 /* 2000-01-01 00:00:00 UTC: fixed, no file's clock leaks */
#define LOCAL_EXTRA 24	/* "UT" with the mtime (9) + "ux" with uid and gid (15) */

struct ent {
	const char *name, *rel, *mem; /* mem: the in-memory entry's bytes, else rel is read */
	size_t nlen;
	long long size, off; /* off: of its local header */
	uint16_t flags, version;
	int z64; /* ZIP64 local header and data descriptor (size past 4 GiB) */
	uint32_t crc;
};

enum phase { P_LOCAL, P_DATA, P_CENTRAL, P_END, P_DONE };

struct np_zip {
	char root[PATH_MAX];
	struct ent *e;
	size_t n;
	char *mem;
	uint32_t dtime;
	long long cd_off, cd_len, total;
	/* stream state */
	enum phase phase;
	size_t i;	     /* current entry */
	long long done, pos; /* data bytes of entry i sent; ZIP bytes produced */
	int fd;
	unsigned char *hdr; /* the header being sent */
	size_t hlen, hpos, hcap;
	struct np_digest *sha;
	char sha_hex[65];
	int finished;
};

/* libarchive's dos_time: the local time's fields. */
static uint32_t dos_time(time_t t)
{
	struct tm tm;
	if (!localtime_r(&t, &tm) || tm.tm_year < 80)
		return 0x00210000U;
	if (tm.tm_year > 207)
		return 0xff9fbf7dU;
	uint32_t d = ((uint32_t)(tm.tm_year - 80) & 0x7f) << 9 | ((uint32_t)(tm.tm_mon + 1) & 0x0f) << 5 |
		     ((uint32_t)tm.tm_mday & 0x1f);
	return d << 16 | ((uint32_t)tm.tm_hour & 0x1f) << 11 | ((uint32_t)tm.tm_min & 0x3f) << 5 |
	       ((uint32_t)tm.tm_sec & 0x3e) >> 1;
}

static int all_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s > 127)
			return 0;
	return 1;
}

/* The central directory's ZIP64 extra: sizes and offset that do not fit. */
static size_t cd_z64_len(const struct ent *e)
{
	if (e->size <= MAX32 && e->off <= MAX32)
		return 0;
	return 4 + (e->size >= MAX32 ? 16 : 0) + (e->off >= MAX32 ? 8 : 0);
}

static long long local_len(const struct ent *e)
{
	return 30 + (long long)e->nlen + LOCAL_EXTRA + (e->z64 ? 20 : 0);
}

static long long desc_len(const struct ent *e)
{
	return e->z64 ? 24 : 16;
}

static int zip64_end(const struct np_zip *z)
{
	return z->cd_len > MAX32 || z->cd_off > MAX32 || z->n > 0xffff;
}

struct np_zip *np_zip_new(const char *root, const struct np_zip_file *files, size_t count, const char *mem_name,
			  const char *mem, struct np_err *err)
{
	struct np_zip *z = calloc(1, sizeof *z);
	size_t n = count + (mem ? 1 : 0);
	if (!z || !(z->e = calloc(n ? n : 1, sizeof *z->e)) || (mem && !(z->mem = strdup(mem)))) {
		np_zip_free(z);
		np_err_set(err, NP_ERR_TEMP, "unable to plan a ZIP: out of memory");
		return NULL;
	}
	z->fd = -1;
	z->n = n;
	if (snprintf(z->root, sizeof z->root, "%s", root) >= (int)sizeof z->root) {
		np_zip_free(z);
		np_err_set(err, NP_ERR_PERM, "unable to plan a ZIP: folder name too long");
		return NULL;
	}
	/* libarchive sets the UTF-8 name flag on a non-ASCII name only when the
	 * locale's charset is UTF-8. */
	int utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
	size_t maxname = 0;
	long long off = 0;
	for (size_t k = 0; k < n; k++) {
		struct ent *e = &z->e[k];
		const struct np_zip_file *f = mem ? (k ? &files[k - 1] : NULL) : &files[k];
		e->name = f ? f->name : mem_name;
		e->rel = f ? f->rel : NULL;
		e->mem = f ? NULL : z->mem;
		e->size = f ? f->size : (long long)strlen(mem);
		e->nlen = e->name ? strlen(e->name) : 0;
		if (!e->nlen || e->nlen > 0xffff || e->size < 0 || (e->rel && !*e->rel)) {
			np_zip_free(z);
			np_err_set(err, NP_ERR_PERM, "unable to plan a ZIP: an entry has no name or a bad size");
			return NULL;
		}
		e->z64 = e->size > MAX32;
		e->version = e->z64 ? 45 : 10;
		e->flags = 0x0008 | (utf8 && !all_ascii(e->name) ? 0x0800 : 0);
		e->off = off;
		off += local_len(e) + e->size + desc_len(e);
		z->cd_len += 46 + (long long)e->nlen + LOCAL_EXTRA + (long long)cd_z64_len(e);
		if (e->nlen > maxname)
			maxname = e->nlen;
	}
	z->cd_off = off;
	z->total = off + z->cd_len + (zip64_end(z) ? 56 + 20 : 0) + 22;
	z->hcap = 46 + maxname + LOCAL_EXTRA + 32 + 98; /* the largest header: a central entry, or the end */
	if (!(z->hdr = malloc(z->hcap))) {
		np_zip_free(z);
		np_err_set(err, NP_ERR_TEMP, "unable to plan a ZIP: out of memory");
		return NULL;
	}
	z->dtime = dos_time(MTIME);
	z->phase = P_DONE; /* np_zip_rewind starts it */
	return z;
}

void np_zip_free(struct np_zip *z)
{
	if (!z)
		return;
	if (z->fd >= 0)
		close(z->fd);
	np_digest_free(z->sha);
	free(z->hdr);
	free(z->mem);
	free(z->e);
	free(z);
}

long long np_zip_size(const struct np_zip *z)
{
	return z->total;
}

const char *np_zip_sha(const struct np_zip *z)
{
	return z->finished ? z->sha_hex : NULL;
}

static void path_of(const struct np_zip *z, const struct ent *e, char *p, size_t psz)
{
	snprintf(p, psz, "%s/%s", z->root, e->rel);
}

static int changed(const struct ent *e, long long now, struct np_err *err)
{
	return np_err_set(err, NP_ERR_PERM,
			  "the de-identified set changed: %s is %lld bytes, %lld when the upload was planned", e->rel,
			  now, e->size);
}

int np_zip_rewind(struct np_zip *z, struct np_err *err)
{
	if (z->fd >= 0)
		close(z->fd);
	z->fd = -1;
	for (size_t k = 0; k < z->n; k++) {
		const struct ent *e = &z->e[k];
		if (e->mem)
			continue;
		char p[PATH_MAX];
		path_of(z, e, p, sizeof p);
		struct stat st;
		if (stat(p, &st) < 0)
			return np_err_sys(err, errno, "unable to stat %s", p);
		if ((long long)st.st_size != e->size)
			return changed(e, (long long)st.st_size, err);
	}
	np_digest_free(z->sha);
	if (!(z->sha = np_digest_new("sha256", err)))
		return -1;
	z->phase = P_LOCAL;
	z->i = 0;
	z->done = z->pos = 0;
	z->hlen = z->hpos = 0;
	z->finished = 0;
	return 0;
}

static unsigned char *le16(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	return p + 2;
}

static unsigned char *le32(unsigned char *p, uint32_t v)
{
	return le16(le16(p, v & 0xffff), v >> 16);
}

static unsigned char *le64(unsigned char *p, uint64_t v)
{
	return le32(le32(p, (uint32_t)v), (uint32_t)(v >> 32));
}

static uint32_t min32(long long v)
{
	return v >= MAX32 ? 0xffffffffU : (uint32_t)v;
}

/* "UT" with the mtime and "ux" with uid 0 and gid 0, in the local header
 * and the central directory alike. */
static unsigned char *extras(unsigned char *p)
{
	memcpy(p, "UT\005\000\001", 5);
	p = le32(p + 5, MTIME);
	memcpy(p, "ux\013\000\001\004", 6);
	p = le32(p + 6, 0);
	*p++ = 4;
	return le32(p, 0);
}

static void build_local(struct np_zip *z, const struct ent *e)
{
	unsigned char *p = z->hdr;
	memcpy(p, "PK\003\004", 4);
	p = le16(p + 4, e->version);
	p = le16(p, e->flags);
	p = le16(p, 0); /* stored */
	p = le32(p, z->dtime);
	p = le32(p, 0); /* CRC: in the data descriptor */
	p = le32(p, e->z64 ? 0xffffffffU : (uint32_t)e->size);
	p = le32(p, e->z64 ? 0xffffffffU : (uint32_t)e->size);
	p = le16(p, (uint32_t)e->nlen);
	p = le16(p, LOCAL_EXTRA + (e->z64 ? 20 : 0));
	memcpy(p, e->name, e->nlen);
	p = extras(p + e->nlen);
	if (e->z64) {
		memcpy(p, "\001\000\020\000", 4);
		p = le64(le64(p + 4, (uint64_t)e->size), (uint64_t)e->size);
	}
	z->hlen = (size_t)(p - z->hdr);
}

static void build_desc(struct np_zip *z, const struct ent *e)
{
	unsigned char *p = z->hdr;
	memcpy(p, "PK\007\010", 4);
	p = le32(p + 4, e->crc);
	if (e->z64)
		p = le64(le64(p, (uint64_t)e->size), (uint64_t)e->size);
	else
		p = le32(le32(p, (uint32_t)e->size), (uint32_t)e->size);
	z->hlen = (size_t)(p - z->hdr);
}

static void build_central(struct np_zip *z, const struct ent *e)
{
	size_t x = cd_z64_len(e);
	unsigned char *p = z->hdr;
	memcpy(p, "PK\001\002", 4);
	p = le16(p + 4, 3 * 256 + e->version); /* made by: Unix */
	p = le16(p, x && e->version < 45 ? 45 : e->version);
	p = le16(p, e->flags);
	p = le16(p, 0);
	p = le32(p, z->dtime);
	p = le32(p, e->crc);
	p = le32(p, min32(e->size));
	p = le32(p, min32(e->size));
	p = le16(p, (uint32_t)e->nlen);
	p = le16(p, (uint32_t)(LOCAL_EXTRA + x));
	p = le16(p, 0);		     /* comment */
	p = le16(p, 0);		     /* disk */
	p = le16(p, 0);		     /* internal attributes */
	p = le32(p, 0100644U << 16); /* external: the mode, as Info-ZIP */
	p = le32(p, min32(e->off));
	memcpy(p, e->name, e->nlen);
	p = extras(p + e->nlen);
	if (x) {
		memcpy(p, "\001\000", 2);
		p = le16(p + 2, (uint32_t)(x - 4));
		if (e->size >= MAX32)
			p = le64(le64(p, (uint64_t)e->size), (uint64_t)e->size);
		if (e->off >= MAX32)
			p = le64(p, (uint64_t)e->off);
	}
	z->hlen = (size_t)(p - z->hdr);
}

static void build_end(struct np_zip *z)
{
	unsigned char *p = z->hdr;
	long long cd_end = z->cd_off + z->cd_len;
	if (zip64_end(z)) {
		memcpy(p, "PK\006\006", 4);
		p = le64(p + 4, 44);
		p = le16(le16(p, 45), 45);
		p = le32(le32(p, 0), 0); /* disk 0 of 0 */
		p = le64(le64(p, z->n), z->n);
		p = le64(le64(p, (uint64_t)z->cd_len), (uint64_t)z->cd_off);
		memcpy(p, "PK\006\007", 4);
		p = le32(p + 4, 0);
		p = le64(p, (uint64_t)cd_end);
		p = le32(p, 1);
	}
	memcpy(p, "PK\005\006", 4);
	p = le32(p + 4, 0);
	p = le16(le16(p, z->n > 0xffff ? 0xffff : (uint32_t)z->n), z->n > 0xffff ? 0xffff : (uint32_t)z->n);
	p = le32(le32(p, min32(z->cd_len)), min32(z->cd_off));
	p = le16(p, 0);
	z->hlen = (size_t)(p - z->hdr);
}

/* Up to n data bytes of entry e into buf: from memory, or from its file,
 * opened on the first call; checks the file keeps its planned size. */
static long read_data(struct np_zip *z, struct ent *e, char *buf, size_t n, struct np_err *err)
{
	long long left = e->size - z->done;
	size_t want = (long long)n < left ? n : (size_t)left;
	if (e->mem) {
		memcpy(buf, e->mem + z->done, want);
		return (long)want;
	}
	char p[PATH_MAX];
	path_of(z, e, p, sizeof p);
	struct stat st;
	if (z->fd < 0) {
		if ((z->fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
			return np_err_sys(err, errno, "unable to open %s", p);
		if (fstat(z->fd, &st) < 0)
			return np_err_sys(err, errno, "unable to stat %s", p);
		if ((long long)st.st_size != e->size)
			return changed(e, (long long)st.st_size, err);
	}
	ssize_t r = 0;
	while (want && (r = read(z->fd, buf, want)) < 0 && errno == EINTR)
		;
	if (r < 0)
		return np_err_sys(err, errno, "unable to read %s", p);
	if (want && r == 0) /* shrank while being read */
		return changed(e, z->done, err);
	if (z->done + r == e->size) {
		/* Grown while being read? Then what went out is not the file. */
		if (fstat(z->fd, &st) < 0)
			return np_err_sys(err, errno, "unable to stat %s", p);
		if ((long long)st.st_size != e->size)
			return changed(e, (long long)st.st_size, err);
		close(z->fd);
		z->fd = -1;
	}
	return (long)r;
}

long np_zip_read(struct np_zip *z, void *out, size_t n, struct np_err *err)
{
	char *buf = out;
	size_t got = 0;
	while (got < n && z->phase != P_DONE) {
		if (z->hpos < z->hlen) {
			size_t k = z->hlen - z->hpos < n - got ? z->hlen - z->hpos : n - got;
			memcpy(buf + got, z->hdr + z->hpos, k);
			z->hpos += k;
			got += k;
			continue;
		}
		z->hlen = z->hpos = 0;
		struct ent *e = z->i < z->n ? &z->e[z->i] : NULL;
		switch (z->phase) {
		case P_LOCAL:
			if (!e) {
				z->phase = P_CENTRAL;
				z->i = 0;
				break;
			}
			build_local(z, e);
			e->crc = 0;
			z->done = 0;
			z->phase = P_DATA;
			break;
		case P_DATA: {
			if (z->done == e->size) {
				build_desc(z, e);
				z->i++;
				z->phase = P_LOCAL;
				break;
			}
			long r = read_data(z, e, buf + got, n - got, err);
			if (r < 0) {
				z->phase = P_DONE; /* stop short: the stream must be rewound */
				z->finished = 0;
				return -1;
			}
			e->crc = (uint32_t)crc32(e->crc, (const Bytef *)buf + got, (uInt)r);
			z->done += r;
			got += (size_t)r;
			break;
		}
		case P_CENTRAL:
			if (!e) {
				build_end(z);
				z->phase = P_END;
				break;
			}
			build_central(z, e);
			z->i++;
			break;
		case P_END:
			z->phase = P_DONE;
			break;
		case P_DONE:
			break;
		}
	}
	if (z->phase == P_END && z->hpos == z->hlen)
		z->phase = P_DONE; /* the last byte went out: the caller need not ask for more */
	if (z->sha)
		np_digest_update(z->sha, buf, got);
	z->pos += (long long)got;
	if (z->phase == P_DONE && z->hpos == z->hlen && z->sha && !z->finished) {
		if (z->pos != z->total) /* a bug in the layout above: never send such a ZIP */
			return np_err_set(err, NP_ERR_PERM, "ZIP is %lld bytes, %lld were planned", z->pos, z->total);
		np_digest_final_hex(z->sha, z->sha_hex);
		z->sha = NULL;
		z->finished = 1;
	}
	if (z->pos > z->total)
		return np_err_set(err, NP_ERR_PERM, "ZIP longer than the %lld bytes planned", z->total);
	return (long)got;
}
