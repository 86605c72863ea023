// SPDX-License-Identifier: Apache-2.0
/* np_dsw: see np_dsw.h. Encoding rules from PS3.5 section 7. */
#include "np_dsw.h"
#include "np_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 16
#define UNDEFINED 0xFFFFFFFFu
#define TAG(g, e) ((uint32_t)(g) << 16 | (e))
#define ITEM TAG(0xFFFE, 0xE000)
#define ITEM_END TAG(0xFFFE, 0xE00D)
#define SEQ_END TAG(0xFFFE, 0xE0DD)

struct walk {
	const unsigned char *p;
	size_t n, off;
	int kind;
	struct np_dsw_uids *out;
};

static uint16_t u16(const struct walk *w, size_t o)
{
	const unsigned char *b = w->p + o;
	return w->kind == NP_DSW_EXPLICIT_BE ? (uint16_t)(b[0] << 8 | b[1]) : (uint16_t)(b[0] | b[1] << 8);
}

static uint32_t u32(const struct walk *w, size_t o)
{
	const unsigned char *b = w->p + o;
	if (w->kind == NP_DSW_EXPLICIT_BE)
		return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* VRs with a 4-byte length after 2 reserved bytes (PS3.5 table 7.1-1). */
static int long_vr(const unsigned char *vr)
{
	static const char *const l[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"};
	for (size_t i = 0; i < sizeof l / sizeof l[0]; i++)
		if (vr[0] == l[i][0] && vr[1] == l[i][1])
			return 1;
	return 0;
}

/* Element header at w->off: fills tag, len, header size and whether the
 * value must be walked as implicit VR LE (UN of undefined length). Returns 0,
 * 1 truncated. Items and delimiters (group FFFE) never have a VR. */
static int header(const struct walk *w, int kind, uint32_t *tag, uint32_t *len, size_t *hl, int *is_sq)
{
	size_t r = w->n - w->off;
	if (r < 8)
		return 1;
	struct walk k = *w;
	k.kind = kind;
	*tag = TAG(u16(&k, w->off), u16(&k, w->off + 2));
	*is_sq = 0;
	if (kind == NP_DSW_IMPLICIT_LE || *tag >> 16 == 0xFFFE) {
		*len = u32(&k, w->off + 4);
		*hl = 8;
		*is_sq = *len == UNDEFINED;
		return 0;
	}
	const unsigned char *vr = w->p + w->off + 4;
	if (long_vr(vr)) {
		if (r < 12)
			return 1;
		*len = u32(&k, w->off + 8);
		*hl = 12;
		*is_sq = (vr[0] == 'S' && vr[1] == 'Q') || (*len == UNDEFINED);
	} else {
		*len = u16(&k, w->off + 6);
		*hl = 8;
	}
	return 0;
}

static void take_uid(char out[65], int *have, int *too_long, const unsigned char *v, uint32_t n)
{
	while (n > 0 && (v[n - 1] == 0 || v[n - 1] == ' '))
		n--;
	*have = 1;
	if (n > 64) {
		*too_long = 1;
		n = 64;
	}
	memcpy(out, v, n);
	out[n] = 0;
}

static int walk_items(struct walk *w, int kind, uint32_t seqlen, int depth);

/* Elements until end (a byte offset) or, for end == SIZE_MAX, an item
 * delimiter. depth 0 is the top level, where the wanted UIDs live. */
static int walk_elements(struct walk *w, int kind, size_t end, int depth)
{
	for (;;) {
		if (end != SIZE_MAX && w->off >= end)
			return w->off == end ? 0 : -1;
		if (depth == 0 && w->off == w->n)
			return 0;
		uint32_t tag, len;
		size_t hl;
		int sq;
		if (header(w, kind, &tag, &len, &hl, &sq))
			return 1;
		if (tag == ITEM_END) {
			if (end != SIZE_MAX || depth == 0)
				return -1;
			w->off += hl;
			return 0;
		}
		if (tag >> 16 == 0xFFFE)
			return -1;
		if (depth == 0 && tag > TAG(0x0020, 0x000D))
			return 0;
		w->off += hl;
		if (sq && len == UNDEFINED) {
			/* Undefined-length UN holds implicit VR LE (PS3.5 6.2.2). */
			int k = (kind != NP_DSW_IMPLICIT_LE && w->off >= 12 && w->p[w->off - 8] == 'U' &&
				 w->p[w->off - 7] == 'N')
				    ? NP_DSW_IMPLICIT_LE
				    : kind;
			int r = walk_items(w, k, UNDEFINED, depth + 1);
			if (r)
				return r;
			continue;
		}
		if (len == UNDEFINED || len > w->n - w->off)
			return 1;
		if (depth == 0) {
			const unsigned char *v = w->p + w->off;
			struct np_dsw_uids *o = w->out;
			if (tag == TAG(0x0008, 0x0016))
				take_uid(o->sop_class, &o->have_class, &o->too_long, v, len);
			else if (tag == TAG(0x0008, 0x0018))
				take_uid(o->sop_inst, &o->have_inst, &o->too_long, v, len);
			else if (tag == TAG(0x0020, 0x000D))
				take_uid(o->study, &o->have_study, &o->too_long, v, len);
		}
		w->off += len;
	}
}

/* Items of an undefined-length sequence (or encapsulated pixel data) until
 * the sequence delimiter. Defined-length items are skipped whole. */
static int walk_items(struct walk *w, int kind, uint32_t seqlen, int depth)
{
	(void)seqlen;
	if (depth > MAX_DEPTH)
		return -1;
	for (;;) {
		uint32_t tag, len;
		size_t hl;
		int sq;
		if (header(w, kind, &tag, &len, &hl, &sq))
			return 1;
		w->off += hl;
		if (tag == SEQ_END)
			return 0;
		if (tag != ITEM)
			return -1;
		if (len == UNDEFINED) {
			int r = walk_elements(w, kind, SIZE_MAX, depth);
			if (r)
				return r;
		} else {
			if (len > w->n - w->off)
				return 1;
			w->off += len;
		}
	}
}

int np_dsw_uids(const unsigned char *p, size_t n, int kind, struct np_dsw_uids *out)
{
	memset(out, 0, sizeof *out);
	if (kind < NP_DSW_IMPLICIT_LE || kind > NP_DSW_EXPLICIT_BE)
		return -1;
	struct walk w = {.p = p, .n = n, .off = 0, .kind = kind, .out = out};
	return walk_elements(&w, kind, SIZE_MAX, 0);
}

int np_dsw_uids_deflated(const unsigned char *p, size_t n, size_t max_out, struct np_dsw_uids *out)
{
	memset(out, 0, sizeof *out);
	size_t cap = 65536 < max_out ? 65536 : max_out;
	unsigned char *buf = NULL;
	struct np__inflate z;
	if (np__inflate_begin(&z, p, n) < 0)
		return -1;
	int ret = -1;
	size_t have = 0;
	for (;;) {
		unsigned char *nb = realloc(buf, cap);
		if (!nb)
			break;
		buf = nb;
		int zr = np__inflate_more(&z, buf, cap, &have);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			ret = -1;
			break;
		}
		ret = np_dsw_uids(buf, have, NP_DSW_EXPLICIT_LE, out);
		if (ret != 1 || zr == Z_STREAM_END || have < cap || cap >= max_out)
			break;
		cap = cap * 2 < max_out ? cap * 2 : max_out;
	}
	np__inflate_end(&z);
	free(buf);
	return ret;
}
