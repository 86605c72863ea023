/* SPDX-License-Identifier: Apache-2.0 */
/* np_deid: the per-file engine. Parse -> tree of elements pointing into the
 * input -> actions at every depth -> serialize -> re-parse and self-check.
 * Every length is checked before use; malformed input is a permanent error. */
#include "np_deid.h"
#include "np_buf.h"
#include "np_csa.h"
#include "np_dcm_walk.h"
#include "np_err.h"
#include "np_deid_int.h"
#include "np_dicom_int.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <pthread.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const np_deid_count_names[NP_DC_N] = {
    "files",	    "skipped",	     "duplicates", "removed",	  "emptied",	  "uid_replaced",     "date_shifted",
    "date_removed", "text_scrubbed", "zip_masked", "age_capped",  "private_kept", "private_scrubbed", "private_removed",
    "seq_removed",  "group_removed", "excluded",   "csa_rebuilt", "csa_dropped",
};

/* Implementation Class UID of files written by np-deid (2.25 + a fixed UUID). */
#define IMPL_UID "2.25.242591570254402624883390412651338462787"
#define IMPL_NAME "NPDEID_1"
#define MAX_DEPTH 32
#define DICOMDIR_CLASS "1.2.840.10008.1.3.10" /* Media Storage Directory Storage */

/* ---------- arena: every tree node of one file, freed at once ---------- */
struct chunk {
	struct chunk *next;
	size_t used, cap;
	unsigned char data[];
};
struct arena {
	struct chunk *head;
	int oom;
};

static void *ar_alloc(struct arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (!a->head || a->head->cap - a->head->used < n) {
		size_t cap = n > 65536 ? n : 65536;
		struct chunk *c = malloc(sizeof *c + cap);
		if (!c) {
			a->oom = 1;
			return NULL;
		}
		c->next = a->head;
		c->used = 0;
		c->cap = cap;
		a->head = c;
	}
	void *p = a->head->data + a->head->used;
	a->head->used += n;
	return p;
}

static void ar_free(struct arena *a)
{
	while (a->head) {
		struct chunk *n = a->head->next;
		free(a->head);
		a->head = n;
	}
}

/* ---------- tree ---------- */
enum { K_VAL, K_SEQ, K_ENCAP };
struct ds;
struct item {
	struct ds *ds;
	unsigned char undef;
};
struct el {
	uint16_t g, e;
	char vr[3];
	unsigned char kind, undef, drop, implicit_items;
	const unsigned char *v;
	uint32_t vlen;
	struct item *items;
	int nitems;
	int seq; /* input order, for ds_sort */
};
struct ds {
	struct el *el;
	int n, cap;
};

static struct el *ds_push(struct arena *a, struct ds *d)
{
	if (d->n == d->cap) {
		/* Small first: most nested items hold a few elements, and an
		 * enhanced instance has thousands (32 took 40 MB for 2480 frames). */
		int cap = d->cap ? d->cap * 2 : 4;
		struct el *n = ar_alloc(a, sizeof *n * (size_t)cap);
		if (!n)
			return NULL;
		if (d->n)
			memcpy(n, d->el, sizeof *n * (size_t)d->n);
		d->el = n;
		d->cap = cap;
	}
	struct el *e = &d->el[d->n++];
	memset(e, 0, sizeof *e);
	return e;
}

/* ---------- reader ---------- */
/* The stepping (headers, items, delimiters, every length inside its
 * container) is np_dcm_walk's; this reader builds the tree from its events. */
struct rd {
	struct np_dcm_walk w;
	struct arena *ar;
	struct np_err *err;
};

static int vr_long(const char *vr)
{
	return np_vr_flags((unsigned char)vr[0], (unsigned char)vr[1]) & NP_VR_LONG;
}
static int vr_valid(const unsigned char *v)
{
	return np_vr_flags(v[0], v[1]) & NP_VR_KNOWN;
}
static int vr_is(const struct el *e, const char *vr)
{
	return e->vr[0] == vr[0] && e->vr[1] == vr[1];
}

static int vr_text(const char *vr)
{
	return np_vr_flags((unsigned char)vr[0], (unsigned char)vr[1]) & NP_VR_TEXT;
}

/* Maximum value length of a text VR (PS3.5 6.2), 0 = unlimited. */
static size_t vr_max(const char *vr)
{
	return np_vr_max((unsigned char)vr[0], (unsigned char)vr[1]);
}

static int bad(struct rd *r, const char *what)
{
	return np_err_set(r->err, NP_ERR_PERM, "malformed DICOM: %s", what);
}

/* What the walker found wrong, in this reader's words. frags: in
 * encapsulated pixel data. */
static int walk_bad(struct rd *r, int frags)
{
	switch (r->w.why) {
	case NP_DCM_SHORT_EL:
		return bad(r, "truncated element");
	case NP_DCM_SHORT_SEQ:
		return bad(r, frags ? "truncated pixel data" : "truncated sequence");
	case NP_DCM_LONG_EL:
		return bad(r, "element longer than the file");
	case NP_DCM_LONG_ITEM:
		return bad(r, frags ? "bad pixel data fragment" : "item longer than its sequence");
	case NP_DCM_DELIM:
		return bad(r, "unexpected delimiter");
	case NP_DCM_NOT_ITEM:
		return bad(r, frags ? "bad pixel data fragment" : "expected an item");
	case NP_DCM_SEQ_DELIM_DEFINED:
		return bad(r, "sequence delimiter in a defined-length sequence");
	case NP_DCM_NO_ITEM_DELIM:
		return bad(r, "item without delimiter");
	case NP_DCM_RAW_UNDEF:
		return bad(r, "bad pixel data fragment");
	case NP_DCM_DEEP:
		return bad(r, "sequences nested too deeply");
	default:
		return bad(r, "unreadable data set");
	}
}

static int parse_ds(struct rd *r, int depth, struct ds *out);

static int by_tag_then_seq(const void *a, const void *b)
{
	const struct el *x = a, *y = b;
	uint32_t s = (uint32_t)x->g << 16 | x->e, t = (uint32_t)y->g << 16 | y->e;
	return s != t ? (s < t ? -1 : 1) : x->seq - y->seq;
}

/* Elements out of order, or one tag twice (pydicom's winter.dcm palette):
 * put in tag order, and the first of equal tags kept, as DCMTK reads them.
 * The output is then a valid data set, and a value dropped leaks nothing. */
static void ds_sort(struct ds *d)
{
	qsort(d->el, (size_t)d->n, sizeof *d->el, by_tag_then_seq);
	int k = 0;
	for (int i = 0; i < d->n; i++)
		if (!k || d->el[i].g != d->el[k - 1].g || d->el[i].e != d->el[k - 1].e)
			d->el[k++] = d->el[i];
	d->n = k;
}

static int implicit_vr(uint16_t g, uint16_t e, char vr[3])
{
	if (e == 0) {
		memcpy(vr, "UL", 3);
		return 1;
	}
	if (g & 1) {
		if (e >= 0x10 && e <= 0xFF) {
			memcpy(vr, "LO", 3);
			return 1;
		}
		memcpy(vr, "UN", 3);
		return 0;
	}
	if (g == 0x7FE0 && e == 0x0010) {
		memcpy(vr, "OW", 3);
		return 1;
	}
	uint32_t t = (uint32_t)g << 16 | e;
	unsigned lo = 0, hi = np__vrdict_n;
	while (lo < hi) {
		unsigned m = lo + (hi - lo) / 2;
		if (np__vrdict[m].tag < t)
			lo = m + 1;
		else
			hi = m;
	}
	if (lo < np__vrdict_n && np__vrdict[lo].tag == t) {
		vr[0] = np__vrdict[lo].vr[0];
		vr[1] = np__vrdict[lo].vr[1];
		vr[2] = 0;
		return 1;
	}
	memcpy(vr, "UN", 3);
	return 0;
}

/* An element of a standard tag that came as UN (a PACS that did not know
 * it, PS3.5 6.2.2) takes its dictionary VR, so that every rule sees it as
 * what it is: its value is implicit VR LE, which is also how explicit VR LE
 * stores a value. only_sq: 1 convert a sequence, 0 convert a value. Returns
 * 1 (a sequence) or 0 (a value) when converted, -1 when left UN (unknown
 * tag, or not the kind asked for). */
static int un_to_dict(struct el *x, int only_sq)
{
	char vr[3];
	if (!implicit_vr(x->g, x->e, vr) || (vr[0] == 'U' && vr[1] == 'N'))
		return -1;
	if (only_sq != (vr[0] == 'S' && vr[1] == 'Q'))
		return -1; /* asked for a sequence and it is a value, or the other way round */
	x->vr[0] = vr[0];
	x->vr[1] = vr[1];
	x->vr[2] = 0;
	return vr[0] == 'S' && vr[1] == 'Q';
}

/* Items of the sequence just entered, to its end. depth: of the data set
 * the sequence stands in. */
static int parse_items(struct rd *r, int depth, struct el *e)
{
	int cap = 0;
	for (;;) {
		struct np_dcm_el h;
		int ev = np_dcm_walk_next(&r->w, &h);
		if (ev == NP_DCM_ERROR)
			return walk_bad(r, 0);
		if (ev == NP_DCM_SEQ_END)
			return 0;
		/* NP_DCM_ITEM: its data set follows */
		if (e->nitems == cap) {
			cap = cap ? cap * 2 : 4;
			struct item *n = ar_alloc(r->ar, sizeof *n * (size_t)cap);
			if (!n)
				return np_err_set(r->err, NP_ERR_TEMP, "out of memory");
			if (e->nitems)
				memcpy(n, e->items, sizeof *n * (size_t)e->nitems);
			e->items = n;
		}
		struct item *it = &e->items[e->nitems++];
		it->ds = ar_alloc(r->ar, sizeof *it->ds);
		if (!it->ds)
			return np_err_set(r->err, NP_ERR_TEMP, "out of memory");
		memset(it->ds, 0, sizeof *it->ds);
		it->undef = h.len == NP_DCM_UNDEF;
		if (parse_ds(r, depth + 1, it->ds) < 0)
			return -1;
	}
}

/* Encapsulated pixel data just entered: fragments up to the sequence
 * delimiter, kept raw. */
static int parse_frags(struct rd *r, struct el *x, const struct np_dcm_el *h)
{
	for (;;) {
		struct np_dcm_el f;
		int ev = np_dcm_walk_next(&r->w, &f);
		if (ev == NP_DCM_ERROR)
			return walk_bad(r, 1);
		if (ev == NP_DCM_SEQ_END)
			break;
	}
	x->kind = K_ENCAP;
	x->v = r->w.b + h->value;
	x->vlen = (uint32_t)(r->w.pos - h->value);
	return 0;
}

/* The elements of a data set (the top level, or an item just begun) to its
 * end. */
static int parse_ds(struct rd *r, int depth, struct ds *out)
{
	if (depth > MAX_DEPTH)
		return bad(r, "sequences nested too deeply");
	uint32_t last = 0;
	int unsorted = 0;
	for (;;) {
		struct np_dcm_el h;
		int ev = np_dcm_walk_next(&r->w, &h);
		if (ev == NP_DCM_ERROR)
			return walk_bad(r, 0);
		if (ev != NP_DCM_ELEMENT)
			break; /* NP_DCM_DONE or NP_DCM_ITEM_END */
		uint16_t g = h.g, e = h.e;
		uint32_t tag = (uint32_t)g << 16 | e;
		if (out->n && tag <= last)
			unsorted = 1;
		last = tag;
		struct el *x = ds_push(r->ar, out);
		if (!x)
			return np_err_set(r->err, NP_ERR_TEMP, "out of memory");
		x->seq = out->n;
		x->g = g;
		x->e = e;
		uint32_t len = h.len;
		int enc = np_dcm_walk_enc(&r->w), expl = enc & NP_DCM_EXPLICIT;
		int known = 1, un_std = 0; /* un_std: a standard tag sent as UN (un_to_dict) */
		if (expl) {
			if (!(h.vrf & NP_VR_KNOWN))
				return bad(r, "invalid VR");
			x->vr[0] = h.vr[0];
			x->vr[1] = h.vr[1];
			/* its value is implicit VR LE; big endian files are left as they are */
			un_std = !(enc & NP_DCM_BE) && !(g & 1) && vr_is(x, "UN");
		} else {
			known = implicit_vr(g, e, x->vr);
		}
		if (len == NP_DCM_UNDEF) {
			if (g == 0x7FE0 && e == 0x0010 && expl) {
				if (np_dcm_walk_enter(&r->w, enc, 1) < 0)
					return walk_bad(r, 1);
				if (parse_frags(r, x, &h) < 0)
					return -1;
				continue;
			}
			if (vr_is(x, "SQ") || vr_is(x, "UN") || !known) {
				x->kind = K_SEQ;
				x->undef = 1;
				if (vr_is(x, "UN") && expl) {
					/* PS3.5 6.2.2: UN of undefined length holds implicit VR LE items.
					 * A standard sequence becomes SQ again, its items written in
					 * the file's own syntax; anything else stays UN as it came. */
					x->implicit_items = !(un_std && un_to_dict(x, 1) == 1);
					enc = NP_DCM_IMPLICIT_LE;
				}
				if (np_dcm_walk_enter(&r->w, enc, 0) < 0)
					return walk_bad(r, 0);
				if (parse_items(r, depth, x) < 0)
					return -1;
				continue;
			}
			return bad(r, "undefined length on a non-sequence element");
		}
		if (len > h.end - h.value)
			return bad(r, "element longer than the file");
		if (un_std && un_to_dict(x, 1) == 1) {
			/* a standard sequence sent as UN: its items are implicit VR LE (PS3.5 6.2.2) */
			struct np_dcm_walk at = r->w;
			x->kind = K_SEQ;
			if (np_dcm_walk_enter(&r->w, NP_DCM_IMPLICIT_LE, 0) == 0 && parse_items(r, depth, x) == 0)
				continue;
			/* not items after all: an opaque UN value, which apply() removes */
			r->w = at;
			x->kind = K_VAL;
			x->nitems = 0;
			x->items = NULL;
			memcpy(x->vr, "UN", 3);
		}
		if (vr_is(x, "SQ")) {
			x->kind = K_SEQ;
			if (np_dcm_walk_enter(&r->w, enc, 0) < 0)
				return walk_bad(r, 0);
			if (parse_items(r, depth, x) < 0)
				return -1;
			continue;
		}
		x->kind = K_VAL;
		x->v = r->w.b + h.value;
		x->vlen = len; /* the walker steps over it */
		if (un_std && x->e != 0)
			un_to_dict(x, 0);
	}
	if (unsorted)
		ds_sort(out);
	return 0;
}

/* ---------- file level parse ---------- */
enum { TS_IMPLICIT, TS_EXPLICIT, TS_BIG };
struct file {
	struct ds meta, ds;
	char ts[65];
	int enc;
	int had_meta;
	const unsigned char *pix; /* pixel data value (or encapsulated bytes) */
	uint32_t pixlen;
	unsigned char *inflated; /* the data set of a deflated file (malloc'd), or NULL */
};

static void val_str(const struct el *e, char *out, size_t outsz)
{
	if (e->kind != K_VAL || !e->v) { /* a sequence or an empty value */
		out[0] = 0;
		return;
	}
	size_t n = e->vlen;
	while (n && (e->v[n - 1] == ' ' || e->v[n - 1] == 0))
		n--;
	size_t s = 0;
	while (s < n && e->v[s] == ' ')
		s++;
	if (n - s >= outsz)
		n = s + outsz - 1;
	memcpy(out, e->v + s, n - s);
	out[n - s] = 0;
}

static struct el *ds_find(struct ds *d, uint16_t g, uint16_t e)
{
	uint32_t t = (uint32_t)g << 16 | e;
	int lo = 0, hi = d->n - 1;
	while (lo <= hi) {
		int m = (lo + hi) / 2;
		uint32_t mt = (uint32_t)d->el[m].g << 16 | d->el[m].e;
		if (mt == t)
			return &d->el[m];
		if (mt < t)
			lo = m + 1;
		else
			hi = m - 1;
	}
	return NULL;
}

int np_deid_sniff(const unsigned char *in, size_t len)
{
	if (len >= 132 && !memcmp(in + 128, "DICM", 4))
		return 1;
	if (len < 8)
		return 0;
	/* a raw data set starts with group 0002 or 0008, little or big endian */
	uint16_t g = (uint16_t)(in[0] | in[1] << 8), gbe = (uint16_t)(in[0] << 8 | in[1]);
	return g == 0x0008 || g == 0x0002 || (gbe == 0x0008 && vr_valid(in + 4));
}

/* A deflated data set (raw deflate, PS3.5 A.5), inflated whole. The limit
 * stops a small file from filling memory (deflate reaches 1000:1 on zeros). */
#define INFLATE_MAX ((size_t)1 << 30)
static int inflate_ds(const unsigned char *p, size_t n, unsigned char **out, size_t *outlen, struct np_err *err)
{
	struct np__inflate z;
	size_t cap = n * 4 + 4096, have = 0;
	unsigned char *o = malloc(cap);
	if (!o || np__inflate_begin(&z, p, n) < 0) {
		free(o);
		return np_err_set(err, NP_ERR_TEMP, "out of memory");
	}
	int zr;
	for (;;) {
		zr = np__inflate_more(&z, o, cap, &have);
		if (zr != Z_OK || have < cap)
			break;
		if (cap >= INFLATE_MAX) {
			zr = Z_MEM_ERROR;
			break;
		}
		size_t nc = cap * 2 > INFLATE_MAX ? INFLATE_MAX : cap * 2;
		unsigned char *g = realloc(o, nc);
		if (!g) {
			zr = Z_MEM_ERROR;
			break;
		}
		o = g;
		cap = nc;
	}
	np__inflate_end(&z);
	if (zr != Z_STREAM_END) {
		free(o);
		if (zr == Z_MEM_ERROR && cap >= INFLATE_MAX)
			return np_err_set(err, NP_ERR_PERM, "malformed DICOM: deflated data set larger than 1 GiB");
		return zr == Z_MEM_ERROR
			   ? np_err_set(err, NP_ERR_TEMP, "out of memory")
			   : np_err_set(err, NP_ERR_PERM, "malformed DICOM: deflated data set is corrupt");
	}
	*out = o;
	*outlen = have;
	return 0;
}

static int parse_file(const unsigned char *b, size_t n, struct arena *ar, struct file *f, struct np_err *err)
{
	struct rd r = {.ar = ar, .err = err};
	size_t pos = 0;
	memset(f, 0, sizeof *f);
	if (n >= 132 && !memcmp(b + 128, "DICM", 4)) {
		f->had_meta = 1;
		pos = 132;
		/* the meta group is explicit VR LE; it ends where group 0002 ends */
		size_t end = pos;
		while (end + 8 <= n && b[end] == 0x02 && b[end + 1] == 0x00) {
			if (!vr_valid(b + end + 4))
				return np_err_set(err, NP_ERR_PERM, "malformed DICOM: bad meta header");
			struct np_dcm_el h;
			if (np_dcm_head(b, end, n, NP_DCM_EXPLICIT_LE, &h) < 0 || h.len > n - h.value)
				return np_err_set(err, NP_ERR_PERM, "malformed DICOM: truncated meta header");
			end = h.value + h.len;
		}
		np_dcm_walk_init(&r.w, b, pos, end, NP_DCM_EXPLICIT_LE, MAX_DEPTH + 1);
		if (parse_ds(&r, 0, &f->meta) < 0)
			return -1;
		pos = end;
		struct el *ts = ds_find(&f->meta, 0x0002, 0x0010);
		if (ts)
			val_str(ts, f->ts, sizeof f->ts);
	} else if (!np_deid_sniff(b, n)) {
		return np_err_set(err, NP_ERR_PERM, "not a DICOM file");
	}
	if (!f->ts[0]) {
		/* no meta header or no transfer syntax in it: infer from the encoding */
		if (n - pos >= 6 && vr_valid(b + pos + 4))
			strcpy(f->ts, b[pos] == 0 && b[pos + 1] ? "1.2.840.10008.1.2.2" : "1.2.840.10008.1.2.1");
		else
			strcpy(f->ts, "1.2.840.10008.1.2");
	}
	const unsigned char *ds = b;
	int enc = NP_DCM_EXPLICIT_LE;
	if (!strcmp(f->ts, "1.2.840.10008.1.2")) {
		f->enc = TS_IMPLICIT;
		enc = NP_DCM_IMPLICIT_LE;
	} else if (!strcmp(f->ts, "1.2.840.10008.1.2.2")) {
		f->enc = TS_BIG;
		enc = NP_DCM_EXPLICIT_BE;
	} else if (!strcmp(f->ts, "1.2.840.10008.1.2.1.99")) {
		/* read inflated, written as explicit VR LE (np-deid(1)) */
		size_t dn = 0;
		if (inflate_ds(b + pos, n - pos, &f->inflated, &dn, err) < 0)
			return -1;
		ds = f->inflated;
		pos = 0;
		n = dn;
		strcpy(f->ts, "1.2.840.10008.1.2.1");
		f->enc = TS_EXPLICIT;
	} else {
		f->enc = TS_EXPLICIT;
	}
	np_dcm_walk_init(&r.w, ds, pos, n, enc, MAX_DEPTH + 1);
	if (parse_ds(&r, 0, &f->ds) < 0)
		return -1;
	struct el *px = ds_find(&f->ds, 0x7FE0, 0x0010);
	if (px) {
		f->pix = px->v;
		f->pixlen = px->vlen;
	}
	return 0;
}

/* ---------- writer ---------- */
/* A large top-level value of the input (pixel data, a big kept value) is not
 * copied into the output buffer: the buffer records where it goes (struct
 * np_deid_piece) and the caller writes it from the input, so that the output
 * of an instance of 2 GB costs its header, not another 2 GB (issue 21). At
 * the top level no enclosing length is computed from the buffer's offsets.
 * From 64 KiB a value has a 4-byte length (a longer one goes out as UN). */
#define EXT_MIN ((size_t)64 << 10)
struct wb {
	unsigned char *p;
	size_t n, cap;
	int oom, be;
	int depth;			    /* of the data set being written, 0 the top level */
	const unsigned char *in_lo, *in_hi; /* the input buffer: values from there may stay there; NULL: copy all */
	struct np_deid_piece *ext;
	size_t next, extcap;
	size_t ext_bytes; /* sum of ext[].n */
};

static void wb_need(struct wb *w, size_t k)
{
	if (w->oom || w->cap - w->n >= k)
		return;
	size_t cap = w->cap ? w->cap : 4096;
	while (cap - w->n < k)
		cap *= 2;
	unsigned char *p = realloc(w->p, cap);
	if (!p) {
		w->oom = 1;
		return;
	}
	w->p = p;
	w->cap = cap;
}
static void wb_put(struct wb *w, const void *s, size_t k)
{
	wb_need(w, k);
	if (w->oom)
		return;
	if (k)
		memcpy(w->p + w->n, s, k);
	w->n += k;
}
static void put16(unsigned char *b, uint16_t v, int be)
{
	b[0] = (unsigned char)(be ? v >> 8 : v);
	b[1] = (unsigned char)(be ? v : v >> 8);
}
static void wb16(struct wb *w, uint16_t v)
{
	unsigned char b[2];
	put16(b, v, w->be);
	wb_put(w, b, 2);
}
static void put32(unsigned char *b, uint32_t v, int be)
{
	if (be) {
		b[0] = (unsigned char)(v >> 24);
		b[1] = (unsigned char)(v >> 16);
		b[2] = (unsigned char)(v >> 8);
		b[3] = (unsigned char)v;
	} else {
		b[0] = (unsigned char)v;
		b[1] = (unsigned char)(v >> 8);
		b[2] = (unsigned char)(v >> 16);
		b[3] = (unsigned char)(v >> 24);
	}
}
static void wb32(struct wb *w, uint32_t v)
{
	unsigned char b[4];
	put32(b, v, w->be);
	wb_put(w, b, 4);
}

static void write_ds(struct wb *w, const struct ds *d, int expl);

/* 1 if value v of n bytes (at least keep bytes) may be left in the input. */
static int wb_extable(const struct wb *w, const unsigned char *v, size_t n, size_t keep)
{
	uintptr_t a = (uintptr_t)v, lo = (uintptr_t)w->in_lo, hi = (uintptr_t)w->in_hi;
	return w->in_lo && !w->depth && n >= EXT_MIN + keep && a >= lo && a <= hi && n <= hi - a;
}

/* Value v of n bytes: its first n - keep bytes as a piece left in the input
 * when it is large, the rest (or all) copied. */
static void wb_value(struct wb *w, const unsigned char *v, size_t n, size_t keep)
{
	if (!wb_extable(w, v, n, keep)) {
		wb_put(w, v, n);
		return;
	}
	if (w->oom)
		return;
	if (w->next == w->extcap) {
		size_t cap = w->extcap ? w->extcap * 2 : 4;
		struct np_deid_piece *e = realloc(w->ext, sizeof *e * cap);
		if (!e) {
			w->oom = 1;
			return;
		}
		w->ext = e;
		w->extcap = cap;
	}
	w->ext[w->next++] = (struct np_deid_piece){.at = w->n, .p = v, .n = n - keep};
	w->ext_bytes += n - keep;
	wb_put(w, v + n - keep, keep);
}

/* 1 if the last 8 bytes of v are a sequence delimitation item (either byte order). */
static int ends_with_delim(const unsigned char *v, size_t n)
{
	static const unsigned char le[8] = {0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0},
				   be[8] = {0xFF, 0xFE, 0xE0, 0xDD, 0, 0, 0, 0};
	return n >= 8 && (!memcmp(v + n - 8, le, 8) || !memcmp(v + n - 8, be, 8));
}

/* An element: its tag, VR and length are put together first and written
 * with one copy (a call per field was most of the writer's time). */
static void write_el(struct wb *w, const struct el *x, int expl)
{
	unsigned char h[12];
	size_t hn = 8, lenpos;
	put16(h, x->g, w->be);
	put16(h + 2, x->e, w->be);
	if (x->kind == K_ENCAP) {
		memcpy(h + 4, "OB\0\0", 4);
		put32(h + 8, 0xFFFFFFFFu, w->be);
		wb_put(w, h, 12);
		/* the fragments may stay in the input; the delimiter is copied, so
		 * that the buffer alone reads as empty encapsulated data (verify) */
		if (ends_with_delim(x->v, x->vlen))
			wb_value(w, x->v, x->vlen, 8);
		else
			wb_put(w, x->v, x->vlen);
		return;
	}
	uint32_t len = x->kind == K_VAL ? x->vlen : 0;
	if (!expl) {
		put32(h + 4, len, w->be);
		lenpos = 4;
	} else if (vr_long(x->vr) || len > 0xFFFF) {
		/* a value too long for its VR's 2-byte length (a UN that got its
		 * dictionary VR back) goes out as UN again */
		int un = !vr_long(x->vr);
		h[4] = (unsigned char)(un ? 'U' : x->vr[0]);
		h[5] = (unsigned char)(un ? 'N' : x->vr[1]);
		h[6] = h[7] = 0;
		put32(h + 8, len, w->be);
		hn = 12;
		lenpos = 8;
	} else {
		h[4] = (unsigned char)x->vr[0];
		h[5] = (unsigned char)x->vr[1];
		put16(h + 6, (uint16_t)len, w->be);
		lenpos = 6;
	}
	lenpos += w->n;
	wb_put(w, h, hn);
	if (x->kind == K_VAL) {
		/* not UN: a standard tag's UN value may parse as a sequence (un_to_dict) */
		if ((!expl || hn == 12) && !vr_is(x, "UN"))
			wb_value(w, x->v, x->vlen, 0);
		else
			wb_put(w, x->v, x->vlen);
		return;
	}
	/* sequence: keep the input's length style, back-patch defined lengths */
	int ibe = w->be;
	int iexpl = expl;
	if (x->implicit_items) {
		iexpl = 0;
		w->be = 0;
	}
	size_t start = w->n;
	w->depth++;
	for (int i = 0; i < x->nitems; i++) {
		const struct item *it = &x->items[i];
		wb16(w, 0xFFFE);
		wb16(w, 0xE000);
		size_t ipos = w->n;
		wb32(w, it->undef ? 0xFFFFFFFFu : 0);
		size_t istart = w->n;
		write_ds(w, it->ds, iexpl);
		if (it->undef) {
			wb16(w, 0xFFFE);
			wb16(w, 0xE00D);
			wb32(w, 0);
		} else if (!w->oom) {
			put32(w->p + ipos, (uint32_t)(w->n - istart), w->be);
		}
	}
	if (x->undef) {
		wb16(w, 0xFFFE);
		wb16(w, 0xE0DD);
		wb32(w, 0);
	}
	w->depth--;
	w->be = ibe;
	if (w->oom)
		return;
	put32(w->p + lenpos, x->undef ? 0xFFFFFFFFu : (uint32_t)(w->n - start), w->be);
}

static void write_ds(struct wb *w, const struct ds *d, int expl)
{
	for (int i = 0; i < d->n; i++)
		if (!d->el[i].drop)
			write_el(w, &d->el[i], expl);
}

/* ---------- the action table ---------- */
enum {
	A_DEF = 0, /* by VR: SQ recurse, UI remap, DA/DT shift, TM keep, PN empty */
	A_X,	   /* remove */
	A_Z,	   /* empty value */
	A_K,	   /* keep */
	A_TXT,	   /* clean descriptor: regex + known-value scrub */
	A_ZIP,
	A_AGE,
	A_ACC,
	A_SWV,
	A_UKEEP, /* a UID that names a class, syntax or scheme, not an instance */
	A_D,	 /* replace with a dummy (Type 1 in some IODs) */
};
#define T(g, e) ((uint32_t)(0x##g) << 16 | 0x##e)
static const struct act {
	uint32_t tag;
	unsigned char a;
} acts[] = {
    {T(0002, 0010), A_UKEEP}, {T(0002, 0012), A_UKEEP}, {T(0004, 1510), A_UKEEP}, {T(0004, 1512), A_UKEEP},
    {T(0008, 0014), A_DEF},   {T(0008, 0016), A_UKEEP}, {T(0008, 001A), A_UKEEP}, {T(0008, 0050), A_ACC},
    {T(0008, 0054), A_X},     {T(0008, 0055), A_X},	{T(0008, 0062), A_UKEEP}, {T(0008, 0080), A_X},
    {T(0008, 0081), A_X},     {T(0008, 0082), A_X},	{T(0008, 0090), A_Z},	  {T(0008, 0092), A_X},
    {T(0008, 0094), A_X},     {T(0008, 0095), A_X},	{T(0008, 0096), A_X},	  {T(0008, 009C), A_X},
    {T(0008, 009D), A_X},     {T(0008, 010C), A_UKEEP}, {T(0008, 010D), A_UKEEP}, {T(0008, 0117), A_UKEEP},
    {T(0008, 0201), A_X},     {T(0008, 1010), A_X},	{T(0008, 1030), A_TXT},	  {T(0008, 103E), A_TXT},
    {T(0008, 1040), A_X},     {T(0008, 1041), A_X},	{T(0008, 1048), A_X},	  {T(0008, 1049), A_X},
    {T(0008, 1050), A_X},     {T(0008, 1052), A_X},	{T(0008, 1060), A_X},	  {T(0008, 1062), A_X},
    {T(0008, 1070), A_Z},     {T(0008, 1072), A_X},	{T(0008, 1080), A_X},	  {T(0008, 1084), A_X},
    {T(0008, 1120), A_X},     {T(0008, 1150), A_UKEEP}, {T(0008, 1190), A_X},	  {T(0008, 2111), A_TXT},
    {T(0008, 4000), A_X},     {T(0010, 0010), A_Z},	{T(0010, 0020), A_Z},	  {T(0010, 0021), A_X},
    {T(0010, 0022), A_X},     {T(0010, 0024), A_X},	{T(0010, 0026), A_X},	  {T(0010, 0027), A_X},
    {T(0010, 0028), A_X},     {T(0010, 0040), A_K},	{T(0010, 0050), A_X},	  {T(0010, 0101), A_X},
    {T(0010, 0102), A_X},     {T(0010, 1000), A_X},	{T(0010, 1001), A_X},	  {T(0010, 1002), A_X},
    {T(0010, 1005), A_X},     {T(0010, 1010), A_AGE},	{T(0010, 1020), A_X},	  {T(0010, 1030), A_X},
    {T(0010, 1040), A_ZIP},   {T(0010, 1050), A_X},	{T(0010, 1060), A_X},	  {T(0010, 1080), A_X},
    {T(0010, 1081), A_X},     {T(0010, 1090), A_X},	{T(0010, 1100), A_X},	  {T(0010, 2000), A_X},
    {T(0010, 2110), A_X},     {T(0010, 2150), A_X},	{T(0010, 2152), A_X},	  {T(0010, 2154), A_X},
    {T(0010, 2155), A_X},     {T(0010, 2160), A_X},	{T(0010, 2180), A_X},	  {T(0010, 21A0), A_X},
    {T(0010, 21B0), A_X},     {T(0010, 21C0), A_X},	{T(0010, 21D0), A_X},	  {T(0010, 21F0), A_X},
    {T(0010, 2203), A_X},     {T(0010, 2297), A_X},	{T(0010, 2298), A_X},	  {T(0010, 2299), A_X},
    {T(0010, 4000), A_X},     {T(0018, 1000), A_D},	{T(0018, 1004), A_X},	  {T(0018, 1005), A_X},
    {T(0018, 1007), A_X},     {T(0018, 1008), A_X},	{T(0018, 1020), A_SWV},	  {T(0018, 1030), A_TXT},
    {T(0018, 1400), A_TXT},   {T(0018, 4000), A_X},	{T(0018, 700A), A_X},	  {T(0018, 9424), A_TXT},
    {T(0020, 0010), A_Z},     {T(0020, 4000), A_TXT},	{T(0020, 9158), A_X},	  {T(0032, 1030), A_X},
    {T(0032, 1031), A_X},     {T(0032, 1032), A_X},	{T(0032, 1033), A_X},	  {T(0032, 1060), A_X},
    {T(0032, 1070), A_X},     {T(0032, 4000), A_TXT},	{T(0038, 0010), A_X},	  {T(0038, 0011), A_X},
    {T(0038, 0014), A_X},     {T(0038, 0040), A_X},	{T(0038, 0060), A_X},	  {T(0038, 0061), A_X},
    {T(0038, 0062), A_X},     {T(0038, 0064), A_X},	{T(0038, 0300), A_X},	  {T(0038, 0400), A_X},
    {T(0038, 0500), A_X},     {T(0038, 4000), A_X},	{T(0040, 0001), A_X},	  {T(0040, 0006), A_X},
    {T(0040, 0007), A_TXT},   {T(0040, 0009), A_X},	{T(0040, 000B), A_X},	  {T(0040, 0010), A_X},
    {T(0040, 0011), A_X},     {T(0040, 0012), A_X},	{T(0040, 0241), A_X},	  {T(0040, 0242), A_X},
    {T(0040, 0243), A_X},     {T(0040, 0253), A_X},	{T(0040, 0254), A_TXT},	  {T(0040, 0280), A_X},
    {T(0040, 0310), A_X},     {T(0040, 1001), A_X},	{T(0040, 1002), A_X},	  {T(0040, 1004), A_X},
    {T(0040, 1005), A_X},     {T(0040, 1010), A_X},	{T(0040, 1011), A_X},	  {T(0040, 1101), A_X},
    {T(0040, 1102), A_X},     {T(0040, 1103), A_X},	{T(0040, 1104), A_X},	  {T(0040, 1400), A_X},
    {T(0040, 2001), A_TXT},   {T(0040, 2008), A_X},	{T(0040, 2009), A_X},	  {T(0040, 2010), A_X},
    {T(0040, 2011), A_X},     {T(0040, 2016), A_X},	{T(0040, 2017), A_X},	  {T(0040, 2400), A_X},
    {T(0040, 3001), A_X},     {T(0040, 4036), A_X},	{T(0040, 4037), A_X},	  {T(0040, A027), A_D},
    {T(0040, A073), A_DEF},   {T(0040, A075), A_D},	{T(0040, A088), A_Z},	  {T(0040, A123), A_D},
    {T(0040, DB0C), A_UKEEP}, {T(0040, DB0D), A_UKEEP}, {T(0070, 0084), A_Z},	  {T(0070, 0086), A_X},
    {T(0088, 0130), A_X},     {T(0088, 0200), A_X},	{T(0088, 0904), A_X},	  {T(0088, 0906), A_X},
    {T(0088, 0910), A_X},     {T(0088, 0912), A_X},	{T(0400, 0010), A_UKEEP}, {T(0400, 0402), A_X},
    {T(0400, 0403), A_X},     {T(0400, 0500), A_X},	{T(0400, 0561), A_X},	  {T(3006, 0002), A_D},
    {T(3006, 0004), A_X},     {T(3006, 0006), A_X},	{T(300A, 0002), A_D},	  {T(300A, 0003), A_X},
    {T(300A, 0004), A_X},     {T(300A, 000E), A_X},	{T(4008, 4000), A_TXT},	  {T(4FFE, 0001), A_X},
    {T(FFFA, FFFA), A_X},     {T(FFFC, FFFC), A_X},
};
#undef T

static int act_of(uint32_t tag)
{
	int lo = 0, hi = (int)(sizeof acts / sizeof *acts) - 1;
	while (lo <= hi) {
		int m = (lo + hi) / 2;
		if (acts[m].tag == tag)
			return acts[m].a;
		if (acts[m].tag < tag)
			lo = m + 1;
		else
			hi = m - 1;
	}
	return A_DEF;
}

/* Diffusion-critical vendor elements kept byte for byte (cloud-api.md 7):
 * group, private creator (prefix match), element byte. */
static const struct keep {
	uint16_t g;
	const char *creator;
	unsigned char e;
} keeps[] = {
    {0x0019, "GEMS_ACQU_01", 0xBB},
    {0x0019, "GEMS_ACQU_01", 0xBC},
    {0x0019, "GEMS_ACQU_01", 0xBD},
    {0x0019, "GEMS_ACQU_01", 0xE0},
    {0x0043, "GEMS_PARM_01", 0x39},
    {0x0019, "SIEMENS MR HEADER", 0x0A},
    {0x0019, "SIEMENS MR HEADER", 0x0C},
    {0x0019, "SIEMENS MR HEADER", 0x0D},
    {0x0019, "SIEMENS MR HEADER", 0x0E},
    {0x0019, "SIEMENS MR HEADER", 0x27},
    {0x0029, "SIEMENS CSA HEADER", 0x10}, /* rebuilt by np_csa_filter, never as it came */
    {0x0029, "SIEMENS CSA HEADER", 0x20},
    {0x2001, "Philips Imaging DD 001", 0x03},
    {0x2001, "Philips Imaging DD 001", 0x04},
    {0x2005, "Philips MR Imaging DD 001", 0xB0},
    {0x2005, "Philips MR Imaging DD 001", 0xB1},
    {0x2005, "Philips MR Imaging DD 001", 0xB2},
    {0x2005, "Philips MR Imaging DD 0", 0x15},
    {0x2005, "Philips MR Imaging DD 0", 0x99},
};

static int keep_of(uint16_t g, const char *creator, unsigned char e)
{
	for (size_t i = 0; i < sizeof keeps / sizeof *keeps; i++)
		if (keeps[i].g == g && keeps[i].e == e && !strncmp(creator, keeps[i].creator, strlen(keeps[i].creator)))
			return (int)i;
	return -1;
}

/* ---------- tag statistics for the report ---------- */
struct np_deid_tagstat {
	uint64_t *key;
	long *cnt;
	size_t cap, n;
};

struct np_deid_tagstat *np_deid_tagstat_new(void)
{
	return calloc(1, sizeof(struct np_deid_tagstat));
}
void np_deid_tagstat_free(struct np_deid_tagstat *t)
{
	if (!t)
		return;
	free(t->key);
	free(t->cnt);
	free(t);
}

/* key: tag | action << 32 | (keep index + 1) << 40 */
void np__deid_tagstat_add(struct np_deid_tagstat *t, uint64_t key, long k)
{
	if (!t)
		return;
	if (2 * (t->n + 1) > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		uint64_t *nk = calloc(cap, sizeof *nk);
		long *nc = calloc(cap, sizeof *nc);
		if (!nk || !nc) {
			free(nk);
			free(nc);
			return;
		}
		for (size_t i = 0; i < t->cap; i++) {
			if (!t->key[i])
				continue;
			size_t h = (t->key[i] * 0x9E3779B97F4A7C15ull >> 20) & (cap - 1);
			while (nk[h])
				h = (h + 1) & (cap - 1);
			nk[h] = t->key[i];
			nc[h] = t->cnt[i];
		}
		free(t->key);
		free(t->cnt);
		t->key = nk;
		t->cnt = nc;
		t->cap = cap;
	}
	size_t h = (key * 0x9E3779B97F4A7C15ull >> 20) & (t->cap - 1);
	while (t->key[h] && t->key[h] != key)
		h = (h + 1) & (t->cap - 1);
	if (!t->key[h]) {
		t->key[h] = key;
		t->n++;
	}
	t->cnt[h] += k;
}

size_t np__deid_tagstat_each(const struct np_deid_tagstat *t, size_t i, uint64_t *key, long *cnt)
{
	for (; t && i < t->cap; i++)
		if (t->key[i]) {
			*key = t->key[i];
			*cnt = t->cnt[i];
			return i + 1;
		}
	return 0;
}

const char *np__deid_keep_creator(int idx, unsigned *group, unsigned *elem)
{
	if (idx < 0 || (size_t)idx >= sizeof keeps / sizeof *keeps)
		return NULL;
	*group = keeps[idx].g;
	*elem = keeps[idx].e;
	return keeps[idx].creator;
}

/* ---------- pseudonyms ---------- */
/* The same few UIDs (study, series, frame of reference) and the study's
 * offset come back in every file of a series, and a one-shot HMAC costs
 * more than the rest of a small file's rewrite (OpenSSL 3 fetches the
 * algorithms on every call). A small per-thread cache of recent results
 * (4-way sets, most recent first), keyed by the whole input and the key,
 * returns the same bytes. */
#define HMAC_SETS 16
#define HMAC_WAYS 4
struct hmac_memo {
	unsigned char key[64];
	size_t keylen;
	int len; /* of msg; 0 = empty slot */
	char msg[160];
	unsigned char mac[32];
};
static _Thread_local struct hmac_memo hmac_memo[HMAC_SETS][HMAC_WAYS];

/* A miss: HMAC-SHA256 with a keyed context kept per thread, re-keyed only
 * when the key changes (the one-shot HMAC() looks up HMAC and SHA-256 and
 * derives the pads from the key on every call). Falls back to HMAC(). */
static pthread_once_t mac_once = PTHREAD_ONCE_INIT;
static EVP_MAC *mac_alg;
static pthread_key_t mac_tls; /* this thread's EVP_MAC_CTX, freed at thread exit */
static int mac_tls_ok;
static _Thread_local unsigned char mac_for[64]; /* the key mac_tls holds */
static _Thread_local size_t mac_forlen;

static void mac_ctx_free(void *p)
{
	EVP_MAC_CTX_free(p);
}
static void mac_init(void)
{
	mac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
	mac_tls_ok = mac_alg && pthread_key_create(&mac_tls, mac_ctx_free) == 0;
}

static void hmac_raw(const struct np_deid_opts *o, const char *msg, size_t len, unsigned char out[32])
{
	pthread_once(&mac_once, mac_init);
	EVP_MAC_CTX *ctx = mac_tls_ok ? pthread_getspecific(mac_tls) : NULL;
	if (mac_tls_ok && !ctx && (ctx = EVP_MAC_CTX_new(mac_alg)) && pthread_setspecific(mac_tls, ctx)) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	if (ctx) {
		int ok;
		size_t outl = 0;
		if (mac_forlen && mac_forlen == o->keylen && !memcmp(mac_for, o->key, o->keylen)) {
			ok = EVP_MAC_init(ctx, NULL, 0, NULL);
		} else {
			OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
					  OSSL_PARAM_construct_end()};
			mac_forlen = 0;
			ok = EVP_MAC_init(ctx, o->key, o->keylen, p);
			if (ok) {
				memcpy(mac_for, o->key, o->keylen);
				mac_forlen = o->keylen;
			}
		}
		if (ok && EVP_MAC_update(ctx, (const unsigned char *)msg, len) && EVP_MAC_final(ctx, out, &outl, 32) &&
		    outl == 32)
			return;
		mac_forlen = 0;
	}
	unsigned int n = 32;
	HMAC(EVP_sha256(), o->key, (int)o->keylen, (const unsigned char *)msg, len, out, &n);
}

static void hmac(const struct np_deid_opts *o, const char *dom, const char *s, unsigned char out[32])
{
	char buf[160];
	size_t dl = strlen(dom), sl = strlen(s);
	if (dl + 1 + sl >= sizeof buf)
		sl = sizeof buf - 2 - dl;
	memcpy(buf, dom, dl);
	buf[dl] = ':';
	memcpy(buf + dl + 1, s, sl);
	int k = (int)(dl + 1 + sl);
	uint32_t h = 2166136261u;
	for (int i = 0; i < k; i++)
		h = (h ^ (unsigned char)buf[i]) * 16777619u;
	struct hmac_memo *set = hmac_memo[(h ^ h >> 16) % HMAC_SETS], hit;
	int w = 0;
	while (w < HMAC_WAYS && !(set[w].len == k && set[w].keylen == o->keylen &&
				  !memcmp(set[w].msg, buf, (size_t)k) && !memcmp(set[w].key, o->key, o->keylen)))
		w++;
	if (w == 0) { /* most recent already: nothing to move */
		memcpy(out, set[0].mac, 32);
		return;
	}
	if (w < HMAC_WAYS) {
		hit = set[w];
	} else {
		hmac_raw(o, buf, (size_t)k, hit.mac);
		memcpy(hit.key, o->key, o->keylen);
		hit.keylen = o->keylen;
		memcpy(hit.msg, buf, (size_t)k);
		hit.len = k;
		w = HMAC_WAYS - 1;
	}
	memmove(set + 1, set, sizeof *set * (size_t)w);
	set[0] = hit;
	memcpy(out, hit.mac, 32);
}

void np_deid_uid(const struct np_deid_opts *o, const char *orig, char *out)
{
	unsigned char h[32];
	hmac(o, "uid", orig, h);
	/* 128 bits as a decimal number, cut to fit 64 characters. Two 128-bit
	 * divisions by 10^19 (the largest power of ten in 64 bits), then 64-bit
	 * arithmetic: a 128-bit division per digit cost more than the HMAC. */
	unsigned __int128 v = 0;
	for (int i = 0; i < 16; i++)
		v = v << 8 | h[i];
	const uint64_t p19 = 10000000000000000000ull;
	uint64_t part[3];
	part[0] = (uint64_t)(v % p19);
	v /= p19;
	part[1] = (uint64_t)(v % p19);
	part[2] = (uint64_t)(v / p19);
	int top = part[2] ? 2 : part[1] ? 1 : 0;
	char dig[64];
	int nd = 0, k = 0;
	do {
		/* lower parts in full (19 digits, zeros included), the top one without leading zeros */
		uint64_t x = part[k];
		int i = 0;
		do {
			dig[nd++] = (char)('0' + (int)(x % 10));
			x /= 10;
		} while (k < top ? ++i < 19 : x != 0);
	} while (++k <= top);
	size_t rl = strlen(o->uid_root);
	int room = 64 - (int)rl - 1;
	if (room > nd)
		room = nd;
	if (room < 1)
		room = 1;
	memcpy(out, o->uid_root, rl);
	out[rl] = '.';
	int j = (int)rl + 1;
	int first = 1;
	for (int i = nd - 1; i >= nd - room; i--) {
		if (first && dig[i] == '0' && room > 1) {
			out[j++] = '1'; /* no leading zero in a UID component */
			first = 0;
			continue;
		}
		first = 0;
		out[j++] = dig[i];
	}
	out[j] = 0;
}

int np_deid_offset(const struct np_deid_opts *o, const char *study_uid)
{
	unsigned char h[32];
	hmac(o, "date-offset", study_uid, h);
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | h[i];
	int r = o->shift_range > 0 ? o->shift_range : 1;
	int off = (int)(v % (uint64_t)(2 * r)) - r; /* [-r, r-1] */
	if (off >= 0)
		off++; /* [-r, -1] u [1, r] */
	return off;
}

/* ---------- dates (proleptic Gregorian, days from civil) ---------- */
static long days_from_civil(long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}
static void civil_from_days(long z, long *y, unsigned *m, unsigned *d)
{
	z += 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long yy = (long)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

int np_deid_shift_da(const char *da, int days, char *out)
{
	for (int i = 0; i < 8; i++)
		if (!isdigit((unsigned char)da[i]))
			return -1;
	long y = (da[0] - '0') * 1000 + (da[1] - '0') * 100 + (da[2] - '0') * 10 + (da[3] - '0');
	unsigned m = (unsigned)((da[4] - '0') * 10 + (da[5] - '0')), d = (unsigned)((da[6] - '0') * 10 + (da[7] - '0'));
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || (m == 2 && d == 29 && !leap))
		return -1;
	long z = days_from_civil(y, m, d) + days;
	civil_from_days(z, &y, &m, &d);
	if (y < 1 || y > 9999)
		return -1;
	/* what snprintf "%04ld%02u%02u" wrote, without its cost */
	for (int i = 3; i >= 0; i--, y /= 10)
		out[i] = (char)('0' + y % 10);
	out[4] = (char)('0' + m / 10);
	out[5] = (char)('0' + m % 10);
	out[6] = (char)('0' + d / 10);
	out[7] = (char)('0' + d % 10);
	out[8] = 0;
	return 0;
}

/* ---------- text scrubbing ---------- */
enum { P_URL, P_EMAIL, P_IP, P_SSN, P_PHONE, P_MRN, P_ACCT, P_N };
static const struct {
	const char *re;
	const char *rep;
	int icase;
	int bound; /* 1: no digit around; 2: no letter before */
} pats[P_N] = {
    {"(https?|ftp|file)://[^[:space:]\\\\]+|www\\.[^[:space:]\\\\]+", "[URL_REMOVED]", 1, 0},
    {"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}", "[EMAIL_REMOVED]", 0, 0},
    {"[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}", "[IP_ADDRESS_REMOVED]", 0, 1},
    {"[0-9]{3}-[0-9]{2}-[0-9]{4}", "[SSN_REMOVED]", 0, 1},
    {"(\\+[0-9]{1,3}[-. ]?)?(\\([0-9]{3}\\) ?|[0-9]{3}[-. ])[0-9]{3}[-. ][0-9]{4}|\\+[0-9]{1,3}[-. ][0-9]{3}[-. "
     "][0-9]{4}",
     "[PHONE_REMOVED]", 0, 1},
    {"(MRN|MR|RN)[ #:-]*[0-9]{3,}", "[MRN_REMOVED]", 1, 2},
    {"(ACCOUNT|ACCT|ACC)[ #:-]*[0-9]{3,}", "[ACCOUNT_REMOVED]", 1, 2},
};
static regex_t pat_re[P_N];
static int pat_ok;
static pthread_once_t pat_once = PTHREAD_ONCE_INIT;

static void pat_init(void)
{
	for (int i = 0; i < P_N; i++)
		if (regcomp(&pat_re[i], pats[i].re, REG_EXTENDED | (pats[i].icase ? REG_ICASE : 0)))
			return;
	pat_ok = 1;
}

static int bound_ok(const char *s, size_t len, size_t a, size_t b, int kind)
{
	if (kind == 1) {
		if (a > 0 && (isdigit((unsigned char)s[a - 1]) || s[a - 1] == '.'))
			return 0;
		if (b < len &&
		    (isdigit((unsigned char)s[b]) || (s[b] == '.' && b + 1 < len && isdigit((unsigned char)s[b + 1]))))
			return 0;
	} else if (kind == 2) {
		if (a > 0 && isalpha((unsigned char)s[a - 1]))
			return 0;
	}
	return 1;
}

static int has_ci(const char *s, const char *lower)
{
	size_t n = strlen(lower);
	for (; *s; s++)
		if (!strncasecmp(s, lower, n))
			return 1;
	return 0;
}

/* 0 when pattern p cannot match s: characters that every match of the
 * pattern contains are missing. regexec is most of the cost of a text
 * field, and most fields hold none of them. */
static int may_match(int p, const char *s)
{
	int digits = 0;
	for (const char *t = s; *t; t++)
		digits += *t >= '0' && *t <= '9';
	switch (p) {
	case P_URL:
		return strstr(s, "://") || has_ci(s, "www.");
	case P_EMAIL:
		return strchr(s, '@') != NULL;
	case P_IP:
		return digits >= 4 && strchr(s, '.');
	case P_SSN:
		return digits >= 9 && strchr(s, '-');
	case P_PHONE:
		return digits >= 8;
	case P_MRN:
		return digits >= 3 && strpbrk(s, "rR");
	case P_ACCT:
		return digits >= 3 && has_ci(s, "acc");
	default:
		return 1;
	}
}

/* One pattern over s: returns a new string (or NULL when nothing matched). */
static char *scrub_one(int p, const char *s, int *hits)
{
	if (!may_match(p, s))
		return NULL;
	size_t len = strlen(s), off = 0;
	struct np_buf o = {0};
	int any = 0;
	while (off <= len) {
		regmatch_t m;
		if (regexec(&pat_re[p], s + off, 1, &m, off ? REG_NOTBOL : 0))
			break;
		size_t a = off + (size_t)m.rm_so, b = off + (size_t)m.rm_eo;
		if (b == a) {
			off = a + 1;
			continue;
		}
		if (!bound_ok(s, len, a, b, pats[p].bound)) {
			/* not at a boundary: keep one character and look again */
			np_buf_add(&o, s + off, a + 1 - off);
			off = a + 1;
			continue;
		}
		np_buf_add(&o, s + off, a - off);
		np_buf_add(&o, pats[p].rep, strlen(pats[p].rep));
		off = b;
		any = 1;
		(*hits)++;
	}
	if (!any) {
		free(o.p);
		return NULL;
	}
	if (off < len)
		np_buf_add(&o, s + off, len - off);
	if (o.oom) {
		free(o.p);
		return NULL;
	}
	if (!o.p)
		return strdup("");
	return o.p;
}

char *np_deid_scrub_text(const char *s, size_t len, int *hits)
{
	pthread_once(&pat_once, pat_init);
	char *cur = strndup(s, len);
	if (!cur)
		return NULL;
	if (!pat_ok)
		return cur;
	/* every pattern needs a digit, an '@' or a "www"/"://" */
	int cand = 0;
	for (size_t i = 0; cur[i]; i++)
		if (isdigit((unsigned char)cur[i]) || cur[i] == '@' || cur[i] == ':' || cur[i] == 'w' ||
		    cur[i] == 'W') {
			cand = 1;
			break;
		}
	if (!cand)
		return cur;
	for (int p = 0; p < P_N; p++) {
		char *n = scrub_one(p, cur, hits);
		if (n) {
			free(cur);
			cur = n;
		}
	}
	return cur;
}

/* ---------- per-file context ---------- */
/* A value looked for in text or in the output, with its length (every
 * search needs it, and a value is searched for in every field). */
enum { NK_TEXT, NK_DATE, NK_UID }; /* what a needle is, for the self-check */
struct needle {
	const char *s;
	size_t n;
	uint32_t tag; /* where it came from, for the self-check's message */
	unsigned char kind;
};
struct needles {
	struct needle *v;
	int n, cap;
	struct arena *ar; /* holds the strings */
};
static void nd_add(struct needles *v, const char *s, size_t len, uint32_t tag, int kind)
{
	len = strnlen(s, len);
	for (int i = 0; i < v->n; i++)
		if (v->v[i].n == len && !memcmp(v->v[i].s, s, len))
			return;
	if (v->n == v->cap) {
		int cap = v->cap ? v->cap * 2 : 16;
		struct needle *n = realloc(v->v, sizeof *n * (size_t)cap);
		if (!n) {
			v->ar->oom = 1;
			return;
		}
		v->v = n;
		v->cap = cap;
	}
	char *d = ar_alloc(v->ar, len + 1);
	if (!d)
		return;
	memcpy(d, s, len);
	d[len] = 0;
	v->v[v->n].s = d;
	v->v[v->n].tag = tag;
	v->v[v->n].kind = (unsigned char)kind;
	v->v[v->n++].n = len;
}
static void nd_free(struct needles *v)
{
	free(v->v);
	memset(v, 0, sizeof *v);
}

static const unsigned char *find_mem(const unsigned char *h, size_t hl, const char *n, size_t nl)
{
	if (!nl || nl > hl)
		return NULL;
	return memmem(h, hl, n, nl);
}

struct ctx {
	const struct np_deid_opts *o;
	struct arena *ar;
	struct np_deid_file *f;
	struct np_deid_tagstat *ts;
	int offset;
	struct needles scrub; /* known PHI strings replaced in free text */
	struct needles check; /* original values that must not appear in the output */
	struct needles made;  /* dates this run wrote (a shifted date may equal another original) */
	struct np_err *err;
};

static void count(struct ctx *c, int which, const struct el *x, int act)
{
	c->f->counts[which]++;
	if (x)
		np__deid_tagstat_add(c->ts,
				     (uint64_t)((uint32_t)x->g << 16 | x->e) | (uint64_t)(unsigned char)act << 32, 1);
}

static int set_val(struct ctx *c, struct el *x, const char *s, size_t len)
{
	/* the maximum is per value: a multi-valued string is left whole */
	size_t mx = vr_max(x->vr);
	int multi = !vr_is(x, "LT") && !vr_is(x, "ST") && memchr(s, '\\', len);
	if (mx && len > mx && !multi)
		len = mx;
	size_t pl = len + (len & 1);
	unsigned char *p = ar_alloc(c->ar, pl ? pl : 1);
	if (!p)
		return np_err_set(c->err, NP_ERR_TEMP, "out of memory");
	memcpy(p, s, len);
	if (len & 1)
		p[len] = vr_is(x, "UI") || vr_is(x, "OB") ? 0 : ' ';
	x->v = p;
	x->vlen = (uint32_t)pl;
	x->kind = K_VAL;
	return 0;
}

static void collect_value(struct ctx *c, const struct el *x)
{
	char v[1024];
	if (x->kind != K_VAL || !vr_text(x->vr) || vr_is(x, "UI"))
		return;
	val_str(x, v, sizeof v);
	size_t n = strlen(v);
	/* what this profile itself writes (a masked ZIP, the dummy) is no PHI */
	if (!strcmp(v, "DEIDENTIFIED") || (n == 5 && strspn(v, "0123456789") == 5 && !strcmp(v + 3, "00")))
		return;
	uint32_t tag = (uint32_t)x->g << 16 | x->e;
	if (n >= 3)
		nd_add(&c->check, v, n, tag, NK_TEXT);
	if (n >= 4)
		nd_add(&c->scrub, v, n, tag, NK_TEXT);
	if (vr_is(x, "PN") || vr_is(x, "LO") || vr_is(x, "SH")) {
		/* name components and words: "Doe^John" also hides "John Doe" */
		size_t s = 0;
		for (size_t i = 0; i <= n; i++) {
			if (i == n || v[i] == '^' || v[i] == '=' || v[i] == ' ' || v[i] == ',') {
				if (i - s >= 3 && vr_is(x, "PN"))
					nd_add(&c->scrub, v + s, i - s, tag, NK_TEXT);
				s = i + 1;
			}
		}
	}
}

/* Values that name or identify someone or something (not descriptions,
 * which may legitimately repeat a kept Study Description). */
static int identity_tag(uint32_t t, const struct el *x)
{
	if (vr_is(x, "DS") || vr_is(x, "IS") || vr_is(x, "CS") || vr_is(x, "AS"))
		return 0;
	if (vr_is(x, "PN") || (t >= 0x00100000 && t <= 0x00101090))
		return 1;
	switch (t) {
	case 0x00080050:
	case 0x00080080:
	case 0x00080081:
	case 0x00080092:
	case 0x00080094:
	case 0x00081010:
	case 0x00081040:
	case 0x00102154:
	case 0x00102155:
	case 0x00102297:
	case 0x00102298:
	case 0x00102299:
	case 0x00181000:
	case 0x00200010:
	case 0x00380010:
	case 0x00380060:
	case 0x00400009:
	case 0x00400253:
	case 0x00401001:
	case 0x00402016:
	case 0x00402017:
	case 0x00401102:
	case 0x00401103:
	case 0x00401104:
		return 1;
	default:
		return 0;
	}
}

/* Pass 1: gather the values this file loses, for free-text scrubbing and the self-check. */
static void collect(struct ctx *c, struct ds *d)
{
	for (int i = 0; i < d->n; i++) {
		struct el *x = &d->el[i];
		if (x->g & 1)
			continue;
		int a = act_of((uint32_t)x->g << 16 | x->e);
		if (x->kind == K_SEQ) {
			for (int k = 0; k < x->nitems; k++)
				collect(c, x->items[k].ds);
			continue;
		}
		if ((a == A_X || a == A_Z || a == A_D || a == A_ZIP || (a == A_ACC && !c->o->keep_accession) ||
		     (a == A_DEF && vr_is(x, "PN"))) &&
		    identity_tag((uint32_t)x->g << 16 | x->e, x)) {
			collect_value(c, x);
		} else if (a == A_DEF && (vr_is(x, "DA") || vr_is(x, "DT"))) {
			char v[64];
			val_str(x, v, sizeof v);
			if (strlen(v) >= 8 && (vr_is(x, "DA") || vr_is(x, "DT"))) {
				uint32_t tag = (uint32_t)x->g << 16 | x->e;
				nd_add(&c->check, v, 8, tag, NK_DATE);
				nd_add(&c->scrub, v, 8, tag, NK_DATE);
			}
		}
	}
}

/* tolower() of the C locale np-deid runs in, without a call per byte */
static int lc(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int ieq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lc((unsigned char)a[i]) != lc((unsigned char)b[i]))
			return 0;
	return 1;
}

/* The case-folded byte pairs of s[0, len) in a 4096-bit set: a value
 * whose first pair is not in it cannot occur in s (most do not, and every
 * free-text field is searched for every known value). */
static unsigned pair_bit(const char *p)
{
	return ((unsigned)lc((unsigned char)p[0]) << 8 | lc((unsigned char)p[1])) * 2654435761u >> 20;
}
static void text_pairs(const char *s, size_t len, uint64_t set[64])
{
	memset(set, 0, 64 * sizeof *set);
	for (size_t i = 0; i + 1 < len; i++) {
		unsigned b = pair_bit(s + i);
		set[b >> 6] |= 1ull << (b & 63);
	}
}

/* Replace known PHI values (whole words, any case) with [REMOVED]. */
static char *scrub_known(struct ctx *c, char *s, int *hits)
{
	size_t len = strlen(s);
	uint64_t set[64];
	text_pairs(s, len, set);
	for (int k = 0; k < c->scrub.n; k++) {
		const char *nd = c->scrub.v[k].s;
		size_t nl = c->scrub.v[k].n;
		if (nl > len)
			continue;
		if (nl >= 2) {
			unsigned b = pair_bit(nd);
			if (!(set[b >> 6] >> (b & 63) & 1))
				continue;
		}
		struct np_buf o = {0};
		size_t off = 0;
		int any = 0, first = lc((unsigned char)nd[0]);
		for (size_t i = 0; i + nl <= len;) {
			if (lc((unsigned char)s[i]) == first && ieq(s + i, nd, nl) &&
			    (i == 0 || !isalnum((unsigned char)s[i - 1])) &&
			    (i + nl == len || !isalnum((unsigned char)s[i + nl]))) {
				np_buf_add(&o, s + off, i - off);
				np_buf_add(&o, "[REMOVED]", 9);
				i += nl;
				off = i;
				any = 1;
				(*hits)++;
			} else {
				i++;
			}
		}
		if (any) {
			np_buf_add(&o, s + off, len - off);
			if (o.oom) {
				free(o.p);
				continue;
			}
			free(s);
			s = o.p;
			len = o.len;
			text_pairs(s, len, set);
		} else {
			free(o.p);
		}
	}
	return s;
}

static int is_std_uid(const char *u)
{
	return !strncmp(u, "1.2.840.10008.", 14);
}

/* Remap UID-looking tokens inside free text. */
static char *scrub_uids(struct ctx *c, char *s, int *hits, uint32_t tag)
{
	size_t len = strlen(s);
	struct np_buf o = {0};
	size_t off = 0;
	int any = 0;
	for (size_t i = 0; i < len;) {
		if (!isdigit((unsigned char)s[i]) || (i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '.'))) {
			i++;
			continue;
		}
		size_t j = i, dots = 0;
		while (j < len && (isdigit((unsigned char)s[j]) || s[j] == '.')) {
			dots += s[j] == '.';
			j++;
		}
		while (j > i && s[j - 1] == '.') {
			j--;
			dots--;
		}
		/* 4+ dots, or a long 2.25-style UID; an IP address has 3 dots and <= 15 chars */
		if ((dots >= 4 || (dots >= 2 && j - i >= 16)) && j - i <= 64 &&
		    (j == len || !isalnum((unsigned char)s[j]))) {
			char u[65], nu[65];
			memcpy(u, s + i, j - i);
			u[j - i] = 0;
			if (!is_std_uid(u)) {
				np_deid_uid(c->o, u, nu);
				nd_add(&c->check, u, strlen(u), tag, NK_UID);
				np_buf_add(&o, s + off, i - off);
				np_buf_add(&o, nu, strlen(nu));
				off = j;
				any = 1;
				(*hits)++;
			}
		}
		i = j > i ? j : i + 1;
	}
	if (!any) {
		free(o.p);
		return s;
	}
	np_buf_add(&o, s + off, len - off);
	if (o.oom) {
		free(o.p);
		return s;
	}
	free(s);
	return o.p;
}

/* Clean a text value in place. Returns 1 changed, 0 not, -1 error. */
static int clean_text(struct ctx *c, struct el *x)
{
	if (x->kind != K_VAL || !x->vlen)
		return 0;
	size_t n = x->vlen;
	while (n && (x->v[n - 1] == ' ' || x->v[n - 1] == 0))
		n--;
	int hits = 0;
	char *s = np_deid_scrub_text((const char *)x->v, n, &hits);
	if (!s)
		return np_err_set(c->err, NP_ERR_TEMP, "out of memory");
	s = scrub_uids(c, s, &hits, (uint32_t)x->g << 16 | x->e);
	s = scrub_known(c, s, &hits);
	int r = 0;
	if (hits) {
		r = set_val(c, x, s, strlen(s)) < 0 ? -1 : 1;
	}
	free(s);
	return r;
}

static int remap_uid_el(struct ctx *c, struct el *x)
{
	if (x->kind != K_VAL || !x->vlen)
		return 0;
	char v[1024], out[1024];
	val_str(x, v, sizeof v);
	size_t on = 0;
	int changed = 0;
	char *save = NULL;
	for (char *t = strtok_r(v, "\\", &save); t; t = strtok_r(NULL, "\\", &save)) {
		char nu[65];
		const char *w = t;
		if (*t && !is_std_uid(t)) {
			np_deid_uid(c->o, t, nu);
			nd_add(&c->check, t, strlen(t), (uint32_t)x->g << 16 | x->e, NK_UID);
			w = nu;
			changed = 1;
		}
		size_t k = strlen(w);
		if (on + k + 2 >= sizeof out)
			break;
		if (on)
			out[on++] = '\\';
		memcpy(out + on, w, k);
		on += k;
	}
	if (!changed)
		return 0;
	count(c, NP_DC_UID, x, 'U');
	return set_val(c, x, out, on);
}

static int shift_el(struct ctx *c, struct el *x)
{
	char v[256], out[300];
	val_str(x, v, sizeof v);
	if (!v[0])
		return 0;
	size_t on = 0;
	int isdt = vr_is(x, "DT");
	for (size_t i = 0; v[i];) {
		/* copy separators, shift each 8-digit date that starts a value or range end */
		if (v[i] == '\\' || v[i] == '-') {
			out[on++] = v[i++];
			continue;
		}
		size_t j = i;
		while (v[j] && v[j] != '\\' && (isdt || v[j] != '-'))
			j++;
		char nd[9];
		if (j - i < 8 || np_deid_shift_da(v + i, c->offset, nd) < 0 || (!isdt && j - i != 8)) {
			/* unparseable: drop the value rather than leak it */
			count(c, NP_DC_DATE_REMOVED, x, 'Z');
			return set_val(c, x, "", 0);
		}
		memcpy(out + on, nd, 8);
		nd_add(&c->made, nd, 8, 0, NK_DATE);
		on += 8;
		size_t rest = j - i - 8;
		if (on + rest >= sizeof out - 2)
			return set_val(c, x, "", 0);
		memcpy(out + on, v + i + 8, rest);
		on += rest;
		i = j;
	}
	count(c, NP_DC_DATE_SHIFTED, x, 'S');
	return set_val(c, x, out, on);
}

/* Safe Harbor: 3-digit ZIP zones with 20,000 people or fewer become 000. */
static const char *const small_zip3[] = {"036", "059", "063", "102", "203", "556", "692", "790", "821",
					 "823", "830", "831", "878", "879", "884", "890", "893"};

static int zip_el(struct ctx *c, struct el *x)
{
	char v[1024];
	val_str(x, v, sizeof v);
	if (c->o->mask_zip) {
		/* the last 5-digit group not part of a longer number */
		const char *zip = NULL;
		for (size_t i = 0; v[i]; i++)
			if ((i == 0 || !isdigit((unsigned char)v[i - 1])) && isdigit((unsigned char)v[i])) {
				size_t j = i;
				while (isdigit((unsigned char)v[j]))
					j++;
				if (j - i == 5)
					zip = v + i;
			}
		if (zip) {
			char z[6];
			memcpy(z, zip, 3);
			memcpy(z + 3, "00", 3);
			for (size_t k = 0; k < sizeof small_zip3 / sizeof *small_zip3; k++)
				if (!memcmp(z, small_zip3[k], 3))
					memcpy(z, "000", 3);
			count(c, NP_DC_ZIP_MASKED, x, 'M');
			return set_val(c, x, z, 5);
		}
	}
	x->drop = 1;
	count(c, NP_DC_REMOVED, x, 'X');
	return 0;
}

static int age_el(struct ctx *c, struct el *x)
{
	char v[32];
	val_str(x, v, sizeof v);
	if (!v[0])
		return 0;
	if (strlen(v) != 4 || !isdigit((unsigned char)v[0]) || !isdigit((unsigned char)v[1]) ||
	    !isdigit((unsigned char)v[2]) || !strchr("DWMY", v[3])) {
		count(c, NP_DC_EMPTIED, x, 'Z');
		return set_val(c, x, "", 0);
	}
	if (c->o->cap_age && v[3] == 'Y' && atoi(v) > 89) {
		count(c, NP_DC_AGE_CAPPED, x, 'C');
		return set_val(c, x, "090Y", 4);
	}
	return 0;
}

struct creator {
	uint16_t g;
	unsigned char block;
	int used;
	struct el *el;
	char name[65];
};

static int apply(struct ctx *c, struct ds *d, int depth);

static int apply_items(struct ctx *c, struct el *x, int depth)
{
	for (int k = 0; k < x->nitems; k++)
		if (apply(c, x->items[k].ds, depth + 1) < 0)
			return -1;
	return 0;
}

/* A kept Siemens CSA header: rebuilt in place. Returns 1 kept, 0 nothing
 * left or it did not parse (dropped; counted), -1 out of memory. */
static int csa_el(struct ctx *c, struct el *x)
{
	unsigned char *out;
	size_t outlen;
	if (x->kind != K_VAL || !x->vlen)
		return 0;
	int r = np_csa_filter(x->v, x->vlen, &out, &outlen, NULL, 0);
	if (r < 0) {
		c->f->counts[NP_DC_CSA_DROPPED]++;
		return 0;
	}
	if (r == 0)
		return 0;
	unsigned char *p = outlen <= UINT32_MAX ? ar_alloc(c->ar, outlen ? outlen : 1) : NULL;
	if (!p) {
		free(out);
		return np_err_set(c->err, NP_ERR_TEMP, "out of memory");
	}
	memcpy(p, out, outlen);
	free(out);
	x->v = p;
	x->vlen = (uint32_t)outlen;
	return 1;
}

static int apply_private(struct ctx *c, struct el *x, struct creator *cr, int ncr, int depth)
{
	uint16_t g = x->g, e = x->e;
	if (g <= 0x0007 || g == 0xFFFF || (e >= 0x0001 && e <= 0x000F) || (e >= 0x0100 && e <= 0x0FFF)) {
		x->drop = 1;
		count(c, NP_DC_PRIV_REMOVED, x, 'X');
		return 0;
	}
	unsigned char block = (unsigned char)(e >> 8);
	struct creator *owner = NULL;
	for (int i = 0; i < ncr; i++)
		if (cr[i].g == g && cr[i].block == block)
			owner = &cr[i];
	int keep = owner ? keep_of(g, owner->name, (unsigned char)e) : -1;
	if (keep >= 0 && g == 0x0029 && !strncmp(owner->name, "SIEMENS CSA HEADER", 18)) {
		/* its names and padding hold the station name and the protocol:
		 * only the allow-listed numbers go on (np_csa.h) */
		int r = csa_el(c, x);
		if (r < 0)
			return -1;
		if (r == 0) {
			x->drop = 1;
			c->f->counts[NP_DC_PRIV_REMOVED]++;
			np__deid_tagstat_add(c->ts, (uint64_t)((uint32_t)g << 16 | 0xFFFF) | (uint64_t)'X' << 32, 1);
			return 0;
		}
		c->f->counts[NP_DC_CSA_REBUILT]++;
	}
	if (keep >= 0) {
		owner->used = 1;
		c->f->counts[NP_DC_PRIV_KEPT]++;
		np__deid_tagstat_add(c->ts,
				     (uint64_t)((uint32_t)g << 16 | (0x1000u | (e & 0xFF))) | (uint64_t)'K' << 32 |
					 (uint64_t)(keep + 1) << 40,
				     1);
		return 0;
	}
	/* Everything else goes, text included (IFU 2.6: remove private tags;
	 * PS3.15 Basic Profile): a scrub only finds the names it knows, and
	 * free text in a vendor block can hold anyone's name. */
	(void)depth;
	x->drop = 1;
	c->f->counts[NP_DC_PRIV_REMOVED]++;
	np__deid_tagstat_add(c->ts, (uint64_t)((uint32_t)g << 16 | 0xFFFF) | (uint64_t)'X' << 32, 1);
	return 0;
}

static int apply(struct ctx *c, struct ds *d, int depth)
{
	struct creator cr[64];
	int ncr = 0;
	for (int i = 0; i < d->n; i++) {
		struct el *x = &d->el[i];
		uint32_t tag = (uint32_t)x->g << 16 | x->e;
		if (x->e == 0x0000) { /* group lengths: stale after any change */
			x->drop = 1;
			c->f->counts[NP_DC_GROUP_REMOVED]++;
			continue;
		}
		if (x->g & 1) {
			if (x->e >= 0x0010 && x->e <= 0x00FF && x->g > 0x0007 && x->g != 0xFFFF) {
				if (ncr == 64) {
					x->drop = 1;
					continue;
				}
				struct creator *k = &cr[ncr++];
				k->g = x->g;
				k->block = (unsigned char)x->e;
				k->used = 0;
				k->el = x;
				val_str(x, k->name, sizeof k->name);
				continue;
			}
			if (apply_private(c, x, cr, ncr, depth) < 0)
				return -1;
			continue;
		}
		if ((x->g >= 0x5000 && x->g <= 0x50FF) || (x->g >= 0x6000 && x->g <= 0x60FF)) {
			x->drop = 1; /* curves and overlays (data, comments, labels) */
			c->f->counts[NP_DC_GROUP_REMOVED]++;
			np__deid_tagstat_add(c->ts, (uint64_t)((uint32_t)x->g << 16 | 0xFFFF) | (uint64_t)'X' << 32, 1);
			continue;
		}
		int a = act_of(tag);
		switch (a) {
		case A_X:
			x->drop = 1;
			count(c, x->kind == K_SEQ ? NP_DC_SEQ_REMOVED : NP_DC_REMOVED, x, 'X');
			continue;
		case A_Z:
			if (x->kind == K_SEQ) {
				x->nitems = 0;
			} else if (x->vlen) {
				if (set_val(c, x, "", 0) < 0)
					return -1;
			}
			count(c, NP_DC_EMPTIED, x, 'Z');
			continue;
		case A_K:
		case A_UKEEP:
			continue;
		case A_D:
			if (x->kind == K_VAL && x->vlen) {
				count(c, NP_DC_EMPTIED, x, 'D');
				if (set_val(c, x, "DEIDENTIFIED", 12) < 0)
					return -1;
			}
			continue;
		case A_TXT: {
			int r = clean_text(c, x);
			if (r < 0)
				return -1;
			if (r)
				count(c, NP_DC_TEXT_SCRUBBED, x, 'C');
			continue;
		}
		case A_ZIP:
			if (zip_el(c, x) < 0)
				return -1;
			continue;
		case A_AGE:
			if (age_el(c, x) < 0)
				return -1;
			continue;
		case A_ACC:
			if (!c->o->keep_accession) {
				if (x->vlen && set_val(c, x, "", 0) < 0)
					return -1;
				count(c, NP_DC_EMPTIED, x, 'Z');
			}
			continue;
		case A_SWV:
			if (c->o->remove_swv) {
				x->drop = 1;
				count(c, NP_DC_REMOVED, x, 'X');
			}
			continue;
		default:
			break;
		}
		if (x->kind == K_SEQ) {
			if (apply_items(c, x, depth) < 0)
				return -1;
		} else if (x->kind == K_ENCAP) {
			continue;
		} else if (vr_is(x, "UI")) {
			if (remap_uid_el(c, x) < 0)
				return -1;
		} else if (vr_is(x, "DA") || vr_is(x, "DT")) {
			if (!x->vlen)
				continue;
			if (c->o->shift_dates) {
				if (shift_el(c, x) < 0)
					return -1;
			} else {
				count(c, NP_DC_DATE_REMOVED, x, 'Z');
				if (set_val(c, x, "", 0) < 0)
					return -1;
			}
		} else if (vr_is(x, "TM")) {
			if (!c->o->shift_dates && x->vlen) {
				count(c, NP_DC_DATE_REMOVED, x, 'Z');
				if (set_val(c, x, "", 0) < 0)
					return -1;
			}
		} else if (vr_is(x, "PN")) {
			if (x->vlen) {
				count(c, NP_DC_EMPTIED, x, 'Z');
				if (set_val(c, x, "", 0) < 0)
					return -1;
			}
		} else if (vr_is(x, "LT") || vr_is(x, "ST") || vr_is(x, "UT") || vr_is(x, "UC")) {
			/* free text anywhere (SR text values, comments): the same scrub as
			 * the descriptors, since it may name whoever was removed above */
			int r = clean_text(c, x);
			if (r < 0)
				return -1;
			if (r)
				count(c, NP_DC_TEXT_SCRUBBED, x, 'C');
		} else if (vr_is(x, "UN") && x->kind == K_VAL) {
			/* a standard tag this dictionary does not know, or a sequence
			 * that did not parse: what cannot be read cannot be checked */
			x->drop = 1;
			count(c, NP_DC_REMOVED, x, 'X');
		}
	}
	/* a private creator goes with its last surviving element */
	for (int i = 0; i < ncr; i++)
		if (!cr[i].used)
			cr[i].el->drop = 1;
	return 0;
}

/* Insert or replace a top-level element (keeps the tag order). */
static struct el *put_el(struct ctx *c, struct ds *d, uint16_t g, uint16_t e, const char *vr)
{
	struct el *x = ds_find(d, g, e);
	if (!x) {
		if (!ds_push(c->ar, d))
			return NULL;
		uint32_t t = (uint32_t)g << 16 | e;
		int i = d->n - 1;
		while (i > 0 && ((uint32_t)d->el[i - 1].g << 16 | d->el[i - 1].e) > t) {
			d->el[i] = d->el[i - 1];
			i--;
		}
		x = &d->el[i];
		memset(x, 0, sizeof *x);
		x->g = g;
		x->e = e;
	}
	x->drop = 0;
	x->vr[0] = vr[0];
	x->vr[1] = vr[1];
	x->vr[2] = 0;
	x->kind = K_VAL;
	x->nitems = 0;
	return x;
}

static int put_str(struct ctx *c, struct ds *d, uint16_t g, uint16_t e, const char *vr, const char *s)
{
	struct el *x = put_el(c, d, g, e, vr);
	if (!x)
		return np_err_set(c->err, NP_ERR_TEMP, "out of memory");
	return set_val(c, x, s, strlen(s));
}

static int add_code(struct ctx *c, struct el *sq, const char *code, const char *meaning)
{
	struct item *n = ar_alloc(c->ar, sizeof *n * (size_t)(sq->nitems + 1));
	struct ds *d = ar_alloc(c->ar, sizeof *d);
	if (!n || !d)
		return np_err_set(c->err, NP_ERR_TEMP, "out of memory");
	if (sq->nitems)
		memcpy(n, sq->items, sizeof *n * (size_t)sq->nitems);
	memset(d, 0, sizeof *d);
	n[sq->nitems].ds = d;
	n[sq->nitems].undef = 0;
	sq->items = n;
	sq->nitems++;
	if (put_str(c, d, 0x0008, 0x0100, "SH", code) < 0 || put_str(c, d, 0x0008, 0x0102, "SH", "DCM") < 0 ||
	    put_str(c, d, 0x0008, 0x0104, "LO", meaning) < 0)
		return -1;
	return 0;
}

/* CID 7050 codes written into (0012,0064); also listed by the DICOM
 * Conformance Statement (np_conformance.c). */
const struct np_deid_code np_deid_codes[] = {
    {"113100", "Basic Application Confidentiality Profile", 0},
    {"113105", "Clean Descriptors Option", 0},
    {"113107", "Retain Longitudinal Temporal Information Modified Dates Option", 1},
    {"113108", "Retain Patient Characteristics Option", 0},
    {"113111", "Retain Safe Private Option", 0},
};
const unsigned np_deid_ncodes = sizeof np_deid_codes / sizeof np_deid_codes[0];

/* (0012,0062/0063/0064) and (0028,0303): say what was done. */
static int mark(struct ctx *c, struct ds *d)
{
	/* The guide shifts Patient's Birth Date with the study's dates, where the
	 * Basic Profile empties it and no option of CID 7050 keeps it: the
	 * method says so in words, beside the codes of what the options did. */
	if (put_str(c, d, 0x0012, 0x0062, "CS", "YES") < 0 ||
	    put_str(c, d, 0x0012, 0x0063, "LO",
		    c->o->shift_dates ? "np-deid 1: PS3.15 Basic Profile with options\\"
					"Patient's Birth Date shifted, not emptied"
				      : "np-deid 1: PS3.15 Basic Profile with options") < 0)
		return -1;
	struct el *sq = put_el(c, d, 0x0012, 0x0064, "SQ");
	if (!sq)
		return np_err_set(c->err, NP_ERR_TEMP, "out of memory");
	sq->kind = K_SEQ;
	sq->undef = 0;
	sq->items = NULL;
	for (unsigned i = 0; i < np_deid_ncodes; i++)
		if ((!np_deid_codes[i].if_shift || c->o->shift_dates) &&
		    add_code(c, sq, np_deid_codes[i].code, np_deid_codes[i].meaning) < 0)
			return -1;
	return put_str(c, d, 0x0028, 0x0303, "CS", c->o->shift_dates ? "MODIFIED" : "REMOVED");
}

static void write_meta(struct wb *w, const struct file *f, const char *sop_class, const char *sop_uid)
{
	struct wb m = {0};
	const char *vals[][3] = {
	    {"UI", sop_class, NULL}, {"UI", sop_uid, NULL},   {"UI", f->ts, NULL},
	    {"UI", IMPL_UID, NULL},  {"SH", IMPL_NAME, NULL},
	};
	static const uint16_t els[] = {0x0002, 0x0003, 0x0010, 0x0012, 0x0013};
	wb16(&m, 0x0002);
	wb16(&m, 0x0001);
	wb_put(&m, "OB\0\0", 4);
	wb32(&m, 2);
	wb_put(&m, "\0\1", 2);
	for (size_t i = 0; i < sizeof els / sizeof *els; i++) {
		size_t l = strlen(vals[i][1]);
		wb16(&m, 0x0002);
		wb16(&m, els[i]);
		wb_put(&m, vals[i][0], 2);
		wb16(&m, (uint16_t)(l + (l & 1)));
		wb_put(&m, vals[i][1], l);
		if (l & 1)
			wb_put(&m, vals[i][0][0] == 'U' ? "\0" : " ", 1);
	}
	unsigned char pre[128] = {0};
	wb_put(w, pre, 128);
	wb_put(w, "DICM", 4);
	wb16(w, 0x0002);
	wb16(w, 0x0000);
	wb_put(w, "UL", 2);
	wb16(w, 4);
	wb32(w, (uint32_t)m.n);
	wb_put(w, m.p, m.n);
	w->oom |= m.oom;
	free(m.p);
}

/* ---------- the self-check: original values, per element ---------- */
/* A removed value is looked for where it could have gone, element by
 * element of the output: equal to a text value (or one of its values), at
 * the start of a date, as a whole word in free text, equal to a UID. Only
 * inside binary values (kept private blocks, UN) are raw bytes searched,
 * for values long enough that a match means something. */
#define CHECK_EXACT_MIN 3 /* a value of 1-2 characters ("0", "M") matches anything */
#define CHECK_WORD_MIN 5
#define CHECK_RAW_MIN 8

static int leak(struct ctx *c, const struct needle *nd, const struct el *x)
{
	return np_err_set(c->err, NP_ERR_PERM,
			  "self-check: the original value of (%04X,%04X) is still in the output, in (%04X,%04X)",
			  nd->tag >> 16, nd->tag & 0xFFFF, x->g, x->e);
}

static int made_here(const struct ctx *c, const char *s, size_t n)
{
	for (int k = 0; k < c->made.n; k++)
		if (c->made.v[k].n == n && !memcmp(c->made.v[k].s, s, n))
			return 1;
	return 0;
}

/* Text in which a removed value could sit inside other words. */
static int free_text(const struct el *x)
{
	return vr_is(x, "LO") || vr_is(x, "LT") || vr_is(x, "ST") || vr_is(x, "UT") || vr_is(x, "UC") ||
	       vr_is(x, "SH") || vr_is(x, "PN") || act_of((uint32_t)x->g << 16 | x->e) == A_TXT;
}

/* Device descriptors kept by design: a site that names its institution
 * after the vendor ("TOSHIBA") is not leaking it through (0008,0070). */
static int descriptor(const struct el *x)
{
	uint32_t t = (uint32_t)x->g << 16 | x->e;
	return t == 0x00080070 || t == 0x00081090;
}

static int word_at(const char *h, size_t hl, size_t i, size_t n, int uid)
{
	unsigned char a = i ? (unsigned char)h[i - 1] : ' ', b = i + n < hl ? (unsigned char)h[i + n] : ' ';
	if (uid)
		return !isdigit(a) && a != '.' && !isdigit(b) && b != '.';
	return !isalnum(a) && a != '_' && !isalnum(b) && b != '_';
}

static const struct needle *find_word(const struct ctx *c, const char *h, size_t hl)
{
	if (hl < CHECK_WORD_MIN)
		return NULL;
	/* as in scrub_known: a needle whose first byte pair is not in the value
	 * cannot be in it, and most values are short descriptors */
	uint64_t set[64];
	text_pairs(h, hl, set);
	for (int k = 0; k < c->check.n; k++) {
		const struct needle *nd = &c->check.v[k];
		int uid = nd->kind == NK_UID;
		if (nd->n < (uid ? CHECK_RAW_MIN : CHECK_WORD_MIN) || nd->n > hl)
			continue;
		unsigned pb = pair_bit(nd->s);
		if (!(set[pb >> 6] >> (pb & 63) & 1))
			continue;
		for (size_t i = 0; i + nd->n <= hl; i++)
			if (lc((unsigned char)h[i]) == lc((unsigned char)nd->s[0]) && ieq(h + i, nd->s, nd->n) &&
			    word_at(h, hl, i, nd->n, uid) && !(nd->kind == NK_DATE && made_here(c, h + i, nd->n)))
				return nd;
	}
	return NULL;
}

/* One value of a text element, trimmed, against every needle. */
static int check_value(struct ctx *c, const struct el *x, const char *v, size_t n)
{
	while (n && (v[n - 1] == ' ' || v[n - 1] == 0))
		n--;
	while (n && *v == ' ')
		v++, n--;
	if (!n)
		return 0;
	int ui = vr_is(x, "UI"), date = vr_is(x, "DA") || vr_is(x, "DT");
	for (int k = 0; k < c->check.n; k++) {
		const struct needle *nd = &c->check.v[k];
		if (ui != (nd->kind == NK_UID))
			continue;
		if (nd->kind == NK_DATE) {
			if (date && n >= 8 && !memcmp(v, nd->s, 8) && !made_here(c, v, 8))
				return leak(c, nd, x);
			continue;
		}
		if (nd->n >= CHECK_EXACT_MIN && nd->n == n && !descriptor(x) &&
		    (ui ? !memcmp(v, nd->s, n) : ieq(v, nd->s, n)))
			return leak(c, nd, x);
	}
	const struct needle *nd;
	if (!ui && !descriptor(x) && free_text(x) && (nd = find_word(c, v, n)))
		return leak(c, nd, x);
	return 0;
}

static int check_ds(struct ctx *c, const struct ds *d)
{
	for (int i = 0; i < d->n; i++) {
		const struct el *x = &d->el[i];
		if (x->kind == K_SEQ) {
			for (int k = 0; k < x->nitems; k++)
				if (check_ds(c, x->items[k].ds) < 0)
					return -1;
			continue;
		}
		if (x->kind == K_ENCAP || !x->vlen || (x->g == 0x7FE0 && x->e >= 0x0008 && x->e <= 0x0010))
			continue; /* pixel data: compared whole with the input's */
		const char *v = (const char *)x->v;
		if (vr_text(x->vr)) {
			/* LT, ST, UT and UR are single-valued: a backslash is text there */
			int multi = !(vr_is(x, "LT") || vr_is(x, "ST") || vr_is(x, "UT") || vr_is(x, "UR"));
			size_t s = 0;
			for (size_t j = 0; j <= x->vlen; j++)
				if (j == x->vlen || (multi && v[j] == '\\')) {
					if (check_value(c, x, v + s, j - s) < 0)
						return -1;
					s = j + 1;
				}
			continue;
		}
		for (int k = 0; k < c->check.n; k++) {
			const struct needle *nd = &c->check.v[k];
			if (nd->n >= CHECK_RAW_MIN && find_mem(x->v, x->vlen, nd->s, nd->n))
				return leak(c, nd, x);
		}
	}
	return 0;
}

/* The elements of the output whose values stay in the input (struct wb):
 * the buffer is parsed with their lengths set to 0 (an encapsulated one
 * reads as its delimiter alone), then each gets its value back, checked to
 * sit where the buffer says and to have the length its header says. */
static uint32_t get32(const unsigned char *b, int be)
{
	return be ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]
		  : (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

static int parse_pieces(struct ctx *c, struct wb *w, struct file *of, struct np_err *e2)
{
	unsigned char(*save)[4] = NULL;
	if (w->next && !(save = malloc(sizeof *save * w->next)))
		return np_err_set(e2, NP_ERR_TEMP, "out of memory");
	for (size_t k = 0; k < w->next; k++) {
		memcpy(save[k], w->p + w->ext[k].at - 4, 4);
		if (memcmp(save[k], "\xFF\xFF\xFF\xFF", 4)) /* undefined: encapsulated */
			memset(w->p + w->ext[k].at - 4, 0, 4);
	}
	int rc = parse_file(w->p, w->n, c->ar, of, e2);
	for (size_t k = 0; k < w->next; k++)
		memcpy(w->p + w->ext[k].at - 4, save[k], 4);
	for (size_t k = 0; rc == 0 && k < w->next; k++) {
		const struct np_deid_piece *pc = &w->ext[k];
		int encap = !memcmp(save[k], "\xFF\xFF\xFF\xFF", 4), i;
		for (i = 0; i < of->ds.n && of->ds.el[i].v != w->p + pc->at; i++)
			;
		struct el *x = i < of->ds.n ? &of->ds.el[i] : NULL;
		if (!x || x->kind != (encap ? K_ENCAP : K_VAL) || x->vlen != (encap ? 8u : 0u) ||
		    (!encap && get32(save[k], w->be) != pc->n) || (encap && memcmp(x->v, pc->p + pc->n, 8))) {
			rc = np_err_set(e2, NP_ERR_PERM, "a large value is not where it was written");
			break;
		}
		/* its bytes, as written: the piece, then (encapsulated) the input's own delimiter after it */
		x->v = pc->p;
		x->vlen = (uint32_t)(pc->n + (encap ? 8 : 0));
	}
	free(save);
	struct el *px = rc == 0 ? ds_find(&of->ds, 0x7FE0, 0x0010) : NULL;
	if (px) {
		of->pix = px->v;
		of->pixlen = px->vlen;
	}
	return rc;
}

/* Step 6 for one file: the output parses, keeps class, UIDs and pixel data,
 * and holds none of the original values outside pixel data. */
static int verify(struct ctx *c, struct wb *w, const struct file *in, const char *sop_class, const char *sop_uid)
{
	struct file of;
	struct np_err e2;
	int rc = -1;
	/* the tree of the output goes into the input's arena: one allocation less per file */
	if (parse_pieces(c, w, &of, &e2) < 0) {
		np_err_set(c->err, e2.cls, "self-check: the output does not parse (%s)", e2.msg);
		goto done;
	}
	char v[65];
	struct el *x = ds_find(&of.ds, 0x0008, 0x0016);
	if (!x || (val_str(x, v, sizeof v), strcmp(v, sop_class))) {
		np_err_set(c->err, NP_ERR_PERM, "self-check: SOP Class UID changed");
		goto done;
	}
	x = ds_find(&of.meta, 0x0002, 0x0003);
	if (!x || (val_str(x, v, sizeof v), strcmp(v, sop_uid))) {
		np_err_set(c->err, NP_ERR_PERM, "self-check: Media Storage SOP Instance UID mismatch");
		goto done;
	}
	if (in->pixlen != of.pixlen || (in->pixlen && in->pix != of.pix && memcmp(in->pix, of.pix, in->pixlen))) {
		np_err_set(c->err, NP_ERR_PERM, "self-check: pixel data changed");
		goto done;
	}
	if (check_ds(c, &of.meta) < 0 || check_ds(c, &of.ds) < 0)
		goto done;
	rc = 0;
done:
	return rc;
}

/* Storage classes whose instances hold no pixel data (PS3.4 B.5): structured
 * reports, presentation states, RT plans, structures and records, documents,
 * raw data and registrations, waveforms, spectroscopy, palettes, protocols
 * and Siemens' non-image CSA class. */
static int non_image_class(const char *uid)
{
	static const char *const pre[] = {
	    "1.2.840.10008.5.1.4.1.1.88.",   "1.2.840.10008.5.1.4.1.1.11.",   "1.2.840.10008.5.1.4.1.1.104.",
	    "1.2.840.10008.5.1.4.1.1.9.",    "1.2.840.10008.5.1.4.1.1.481.3", "1.2.840.10008.5.1.4.1.1.481.4",
	    "1.2.840.10008.5.1.4.1.1.481.5", "1.2.840.10008.5.1.4.1.1.481.6", "1.2.840.10008.5.1.4.1.1.481.7",
	    "1.2.840.10008.5.1.4.1.1.481.8", "1.2.840.10008.5.1.4.1.1.481.9", "1.2.840.10008.5.1.4.1.1.66",
	    "1.2.840.10008.5.1.4.1.1.4.2",   "1.2.840.10008.5.1.4.39.",	      "1.2.840.10008.5.1.4.38.",
	    "1.3.12.2.1107.5.9.1",
	};
	if (!strcmp(uid, "1.2.840.10008.5.1.4.1.1.66.4"))
		return 0; /* segmentation: an image */
	for (size_t i = 0; i < sizeof pre / sizeof *pre; i++)
		if (!strncmp(uid, pre[i], strlen(pre[i])))
			return 1;
	return 0;
}

int np_deid_buffer(const unsigned char *in, size_t len, const struct np_deid_opts *o, struct np_deid_tagstat *ts,
		   unsigned char **out, size_t *outlen, struct np_deid_file *f, struct np_err *err)
{
	struct np_deid_out po;
	*out = NULL;
	*outlen = 0;
	int rc = np_deid_rewrite(in, len, o, ts, &po, f, err);
	if (rc != 1)
		return rc;
	unsigned char *b = malloc(po.size ? po.size : 1);
	if (!b) {
		np_deid_out_free(&po);
		return np_err_set(err, NP_ERR_TEMP, "out of memory");
	}
	size_t n = 0;
	for (size_t i = 0; i < 2 * po.next + 1; i++) {
		const unsigned char *p;
		size_t k = np_deid_out_piece(&po, i, &p);
		if (k)
			memcpy(b + n, p, k);
		n += k;
	}
	np_deid_out_free(&po);
	*out = b;
	*outlen = n;
	return 1;
}

size_t np_deid_out_piece(const struct np_deid_out *o, size_t i, const unsigned char **p)
{
	size_t k = i / 2;
	if (i & 1) {
		*p = o->ext[k].p;
		return o->ext[k].n;
	}
	size_t from = k ? o->ext[k - 1].at : 0, to = k < o->next ? o->ext[k].at : o->len;
	*p = o->buf + from;
	return to - from;
}

void np_deid_out_free(struct np_deid_out *o)
{
	free(o->buf);
	free(o->ext);
	memset(o, 0, sizeof *o);
}

int np_deid_rewrite(const unsigned char *in, size_t len, const struct np_deid_opts *o, struct np_deid_tagstat *ts,
		    struct np_deid_out *out, struct np_deid_file *f, struct np_err *err)
{
	struct arena ar = {0};
	struct file fl = {0};
	struct ctx c = {.o = o,
			.ar = &ar,
			.f = f,
			.ts = ts,
			.scrub = {.ar = &ar},
			.check = {.ar = &ar},
			.made = {.ar = &ar},
			.err = err};
	struct wb w = {.in_lo = in, .in_hi = in + len};
	int rc = -1;
	memset(out, 0, sizeof *out);
	memset(f, 0, sizeof *f);
	f->image = -1;
	if (parse_file(in, len, &ar, &fl, err) < 0) {
		/* what the file is, from the class its meta header names: a DICOMDIR
		 * or a class without pixel data is not what a study needs; anything
		 * else (an image cut short, no meta header) may be */
		char cls[65] = "";
		struct el *m = ds_find(&fl.meta, 0x0002, 0x0002);
		if (m)
			val_str(m, cls, sizeof cls);
		snprintf(f->sop_class, sizeof f->sop_class, "%s", cls);
		if (!strcmp(cls, DICOMDIR_CLASS)) {
			snprintf(f->why, sizeof f->why, "a DICOMDIR that does not parse (%s)", err->msg);
			rc = 0;
		} else if (non_image_class(cls)) {
			f->image = 0;
		}
		goto done;
	}
	f->image = fl.pix || ds_find(&fl.ds, 0x7FE0, 0x0008) || ds_find(&fl.ds, 0x7FE0, 0x0009);
	char sop_class[65] = "", study[65] = "", series[65] = "", sop[65] = "";
	struct el *x;
	if ((x = ds_find(&fl.ds, 0x0008, 0x0016)))
		val_str(x, sop_class, sizeof sop_class);
	if (!strcmp(sop_class, DICOMDIR_CLASS) ||
	    (!sop_class[0] && (x = ds_find(&fl.meta, 0x0002, 0x0002)) &&
	     (val_str(x, sop_class, sizeof sop_class), !strcmp(sop_class, DICOMDIR_CLASS)))) {
		snprintf(f->why, sizeof f->why, "a DICOMDIR (paths and patient records)");
		rc = 0; /* never copied */
		goto done;
	}
	if ((x = ds_find(&fl.ds, 0x0020, 0x000D)))
		val_str(x, study, sizeof study);
	if ((x = ds_find(&fl.ds, 0x0020, 0x000E)))
		val_str(x, series, sizeof series);
	if ((x = ds_find(&fl.ds, 0x0008, 0x0018)))
		val_str(x, sop, sizeof sop);
	snprintf(f->sop_class, sizeof f->sop_class, "%s", sop_class); /* for messages, whatever follows */
	if (!sop_class[0] || !study[0] || !series[0] || !sop[0]) {
		/* a palette, a fragment: nothing a study can hold */
		snprintf(f->why, sizeof f->why, "not an instance of a study: no %s",
			 !sop_class[0] ? "SOP Class UID"
			 : !study[0]   ? "Study Instance UID"
			 : !series[0]  ? "Series Instance UID"
				       : "SOP Instance UID");
		rc = 0;
		goto done;
	}
	c.offset = o->fixed_offset ? o->date_offset : np_deid_offset(o, study);
	f->offset = c.offset;
	collect(&c, &fl.ds);
	if (apply(&c, &fl.ds, 0) < 0 || mark(&c, &fl.ds) < 0)
		goto done;
	if (ar.oom) {
		np_err_set(err, NP_ERR_TEMP, "out of memory");
		goto done;
	}
	snprintf(f->sop_class, sizeof f->sop_class, "%s", sop_class);
	snprintf(f->orig_study, sizeof f->orig_study, "%s", study);
	snprintf(f->orig_series, sizeof f->orig_series, "%s", series);
	snprintf(f->orig_sop, sizeof f->orig_sop, "%s", sop);
	np_deid_uid(o, study, f->study_uid);
	np_deid_uid(o, series, f->series_uid);
	np_deid_uid(o, sop, f->sop_uid);
	/* the buffer holds all but the pixel data (and other large top-level
	 * values, left in the input): about the input's size less those */
	size_t large = 0;
	for (int i = 0; i < fl.ds.n; i++) {
		const struct el *y = &fl.ds.el[i];
		if (!y->drop && y->kind != K_SEQ && wb_extable(&w, y->v, y->vlen, 8))
			large += y->vlen - 8;
	}
	w.cap = len - large + 4096;
	if (!(w.p = malloc(w.cap)))
		w.oom = 1;
	write_meta(&w, &fl, sop_class, f->sop_uid);
	w.be = fl.enc == TS_BIG;
	write_ds(&w, &fl.ds, fl.enc != TS_IMPLICIT);
	if (w.oom) {
		np_err_set(err, NP_ERR_TEMP, "out of memory");
		goto done;
	}
	if (verify(&c, &w, &fl, sop_class, f->sop_uid) < 0)
		goto done;
	f->counts[NP_DC_FILES] = 1;
	out->buf = w.p;
	out->len = w.n;
	out->ext = w.ext;
	out->next = w.next;
	out->size = w.n + w.ext_bytes;
	w.p = NULL;
	w.ext = NULL;
	rc = 1;
done:
	free(w.p);
	free(w.ext);
	nd_free(&c.scrub);
	nd_free(&c.check);
	nd_free(&c.made);
	free(fl.inflated);
	ar_free(&ar);
	return rc;
}
