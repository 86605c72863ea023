// SPDX-License-Identifier: Apache-2.0
/* np_dcm_walk: see np_dcm_walk.h. Encoding rules from PS3.5 section 7. */
#include "np_dcm_walk.h"

#include <string.h>

/* Every VR of PS3.5 6.2 by its two letters. A table, not a search: the
 * de-identifier asks several times for every element. */
static const struct vr {
	unsigned char flags;
	unsigned short max;
} vr_tab[26 * 26] = {
#define VR(a, b, f, m) [(a - 'A') * 26 + (b - 'A')] = {NP_VR_KNOWN | (f), m}
#define L NP_VR_LONG
#define T NP_VR_TEXT
    VR('A', 'E', T, 16),    VR('A', 'S', T, 4),	    VR('A', 'T', 0, 0),	    VR('C', 'S', T, 16),   VR('D', 'A', T, 8),
    VR('D', 'S', T, 16),    VR('D', 'T', T, 26),    VR('F', 'D', 0, 0),	    VR('F', 'L', 0, 0),	   VR('I', 'S', T, 12),
    VR('L', 'O', T, 64),    VR('L', 'T', T, 10240), VR('O', 'B', L, 0),	    VR('O', 'D', L, 0),	   VR('O', 'F', L, 0),
    VR('O', 'L', L, 0),	    VR('O', 'V', L, 0),	    VR('O', 'W', L, 0),	    VR('P', 'N', T, 64),   VR('S', 'H', T, 16),
    VR('S', 'L', 0, 0),	    VR('S', 'Q', L, 0),	    VR('S', 'S', 0, 0),	    VR('S', 'T', T, 1024), VR('S', 'V', L, 0),
    VR('T', 'M', T, 14),    VR('U', 'C', L | T, 0), VR('U', 'I', T, 64),    VR('U', 'L', 0, 0),	   VR('U', 'N', L, 0),
    VR('U', 'R', L | T, 0), VR('U', 'S', 0, 0),	    VR('U', 'T', L | T, 0), VR('U', 'V', L, 0),
#undef T
#undef L
#undef VR
};

static const struct vr *vr_of(unsigned char a, unsigned char b)
{
	static const struct vr none;
	if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z')
		return &none;
	return &vr_tab[(a - 'A') * 26 + (b - 'A')];
}

unsigned np_vr_flags(unsigned char a, unsigned char b)
{
	return vr_of(a, b)->flags;
}

size_t np_vr_max(unsigned char a, unsigned char b)
{
	return vr_of(a, b)->max;
}

static uint16_t rd16(const unsigned char *p, int enc)
{
	return enc & NP_DCM_BE ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const unsigned char *p, int enc)
{
	if (enc & NP_DCM_BE)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int np_dcm_head(const unsigned char *b, size_t pos, size_t end, int enc, struct np_dcm_el *el)
{
	if (pos > end || end - pos < 8)
		return -1;
	const unsigned char *p = b + pos;
	el->g = rd16(p, enc);
	el->e = rd16(p + 2, enc);
	el->pos = pos;
	el->end = end;
	el->vr[0] = el->vr[1] = 0;
	el->vrf = 0;
	if (!(enc & NP_DCM_EXPLICIT) || el->g == 0xFFFE) {
		el->len = rd32(p + 4, enc);
		el->value = pos + 8;
		return 0;
	}
	el->vr[0] = (char)p[4];
	el->vr[1] = (char)p[5];
	el->vrf = np_vr_flags(p[4], p[5]);
	if (el->vrf & NP_VR_LONG) {
		if (end - pos < 12)
			return -1;
		el->len = rd32(p + 8, enc);
		el->value = pos + 12;
	} else {
		el->len = rd16(p + 6, enc);
		el->value = pos + 8;
	}
	return 0;
}

void np_dcm_walk_init(struct np_dcm_walk *w, const unsigned char *b, size_t pos, size_t end, int enc, int max_depth)
{
	w->b = b;
	w->pos = pos;
	w->max_depth = max_depth < NP_DCM_MAX_DEPTH ? max_depth : NP_DCM_MAX_DEPTH;
	w->nf = 1;
	w->why = NP_DCM_OK;
	w->pending = 0;
	w->f[0] = (struct np_dcm_frame){.end = end, .seq = 0, .undef = 0, .enc = (unsigned char)enc, .raw = 0};
}

static int fail(struct np_dcm_walk *w, int why)
{
	w->why = why;
	return NP_DCM_ERROR;
}

static void push(struct np_dcm_walk *w, size_t end, int seq, int undef, int enc, int raw)
{
	w->f[w->nf++] = (struct np_dcm_frame){.end = end,
					      .seq = (unsigned char)seq,
					      .undef = (unsigned char)undef,
					      .enc = (unsigned char)enc,
					      .raw = (unsigned char)raw};
}

/* The next element of the data set frame f. */
static int next_element(struct np_dcm_walk *w, const struct np_dcm_frame *f, struct np_dcm_el *el)
{
	if (w->pos >= f->end) {
		if (f->undef)
			return fail(w, NP_DCM_NO_ITEM_DELIM);
		if (w->nf == 1)
			return NP_DCM_DONE;
		w->nf--;
		return NP_DCM_ITEM_END;
	}
	if (np_dcm_head(w->b, w->pos, f->end, f->enc, el) < 0)
		return fail(w, NP_DCM_SHORT_EL);
	if (el->g == 0xFFFE) {
		/* among elements only the delimiter of an item of undefined length */
		if (el->e != 0xE00D || !f->undef)
			return fail(w, NP_DCM_DELIM);
		w->pos += 8;
		w->nf--;
		return NP_DCM_ITEM_END;
	}
	w->pending = 1;
	w->last = *el;
	return NP_DCM_ELEMENT;
}

/* The next item of the sequence frame f. */
static int next_item(struct np_dcm_walk *w, const struct np_dcm_frame *f, struct np_dcm_el *el)
{
	if (!f->undef && w->pos == f->end) {
		w->nf--;
		return NP_DCM_SEQ_END;
	}
	if (np_dcm_head(w->b, w->pos, f->end, f->enc & NP_DCM_BE, el) < 0)
		return fail(w, NP_DCM_SHORT_SEQ);
	if (el->g != 0xFFFE)
		return fail(w, NP_DCM_NOT_ITEM);
	if (el->e == 0xE0DD) {
		if (!f->undef)
			return fail(w, NP_DCM_SEQ_DELIM_DEFINED);
		w->pos += 8;
		w->nf--;
		return NP_DCM_SEQ_END;
	}
	if (el->e != 0xE000)
		return fail(w, NP_DCM_NOT_ITEM);
	w->pos += 8;
	if (el->len == NP_DCM_UNDEF) {
		if (f->raw)
			return fail(w, NP_DCM_RAW_UNDEF);
		push(w, f->end, 0, 1, f->enc, 0);
		return NP_DCM_ITEM;
	}
	if (el->len > f->end - w->pos)
		return fail(w, NP_DCM_LONG_ITEM);
	if (f->raw)
		w->pos += el->len;
	else
		push(w, w->pos + el->len, 0, 0, f->enc, 0);
	return NP_DCM_ITEM;
}

int np_dcm_walk_next(struct np_dcm_walk *w, struct np_dcm_el *el)
{
	if (w->why != NP_DCM_OK)
		return NP_DCM_ERROR;
	const struct np_dcm_frame *f = &w->f[w->nf - 1];
	if (w->pending) {
		/* the value of the last element, not entered: skipped */
		w->pending = 0;
		if (w->last.len == NP_DCM_UNDEF || w->last.len > f->end - w->last.value)
			return fail(w, NP_DCM_LONG_EL);
		w->pos = w->last.value + w->last.len;
	}
	return f->seq ? next_item(w, f, el) : next_element(w, f, el);
}

int np_dcm_walk_enter(struct np_dcm_walk *w, int enc, int raw)
{
	if (!w->pending)
		return fail(w, NP_DCM_MISUSE);
	w->pending = 0;
	const struct np_dcm_frame *f = &w->f[w->nf - 1];
	const struct np_dcm_el *el = &w->last;
	int undef = el->len == NP_DCM_UNDEF;
	if (!undef && el->len > f->end - el->value)
		return fail(w, NP_DCM_LONG_EL);
	if (np_dcm_walk_depth(w) + 1 > w->max_depth)
		return fail(w, NP_DCM_DEEP);
	w->pos = el->value;
	push(w, undef ? f->end : el->value + el->len, 1, undef, enc, raw);
	return 0;
}

int np_dcm_walk_skip(struct np_dcm_walk *w)
{
	const struct np_dcm_frame *f = &w->f[w->nf - 1];
	if (w->why != NP_DCM_OK || w->pending || f->seq || f->undef || w->nf == 1)
		return fail(w, NP_DCM_MISUSE);
	w->pos = f->end;
	w->nf--;
	return 0;
}
