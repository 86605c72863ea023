/* SPDX-License-Identifier: Apache-2.0 */
/* np_dcm_walk: the one VR table and the one bounded walker over encoded
 * DICOM data sets (PS3.5 section 7), beside GDCM. np-recv's UID walk
 * (np_dsw), the pre-scan before GDCM (np_dcm_bounds) and the de-identifier's
 * reader (np_deid) all step through their input with it, so the rules of the
 * encoding (which VRs have a 4-byte length, where items and delimiters may
 * stand, where a value, an item or a sequence must end) live here once.
 *
 * The walker is a pull parser over a buffer: each call returns the next
 * event (an element header, an item, the end of an item or a sequence) and
 * never reads a byte outside the buffer: every length is checked against the
 * container it stands in, and nesting is limited. It allocates nothing and
 * interprets no values; the caller decides for each element whether its
 * value is skipped or walked as a sequence (and in which encoding: a UN of
 * undefined length holds implicit VR little endian, PS3.5 6.2.2), and
 * checks what else it needs (known VRs, its own depth limit, ...). A walker
 * is a plain value: copying it saves a position to come back to. */
#ifndef NP_DCM_WALK_H
#define NP_DCM_WALK_H

#include <stddef.h>
#include <stdint.h>

/* ---- the VR table (PS3.5 6.2 and 7.1.2) ---- */
enum {
	NP_VR_KNOWN = 1, /* one of the VRs of PS3.5 6.2 */
	NP_VR_LONG = 2,	 /* explicit VR: 2 reserved bytes and a 4-byte length */
	NP_VR_TEXT = 4,	 /* a character string */
};
/* Flags of the VR spelled a, b; 0 for anything not in the table. */
unsigned np_vr_flags(unsigned char a, unsigned char b);
/* Maximum value length of a text VR (PS3.5 6.2), 0 = unlimited or none. */
size_t np_vr_max(unsigned char a, unsigned char b);

/* ---- encodings ---- */
#define NP_DCM_UNDEF 0xFFFFFFFFu /* undefined length */
enum {
	NP_DCM_EXPLICIT = 1, /* VR letters after the tag */
	NP_DCM_BE = 2,	     /* big endian (retired, PS3.5 A.3) */
	NP_DCM_IMPLICIT_LE = 0,
	NP_DCM_EXPLICIT_LE = NP_DCM_EXPLICIT,
	NP_DCM_EXPLICIT_BE = NP_DCM_EXPLICIT | NP_DCM_BE,
};

/* An element, item or delimiter header. */
struct np_dcm_el {
	uint16_t g, e;
	char vr[2];   /* explicit VR as read; 0 0 implicit, items and delimiters */
	unsigned vrf; /* np_vr_flags(vr), 0 when there are no VR letters */
	uint32_t len; /* value length, NP_DCM_UNDEF for undefined */
	size_t pos;   /* offset of the header */
	size_t value; /* offset of the value (pos + 8 or 12) */
	size_t end;   /* end of the container the header stands in */
};

/* Reads the header at b[pos] (group FFFE never has a VR). Returns 0, or -1
 * when end - pos is shorter than the header. The value is not checked. */
int np_dcm_head(const unsigned char *b, size_t pos, size_t end, int enc, struct np_dcm_el *el);

/* ---- the walker ---- */
#define NP_DCM_MAX_DEPTH 40 /* hard limit of nested sequences */

enum np_dcm_event {
	NP_DCM_ERROR = -1,   /* w->why says what */
	NP_DCM_DONE = 0,     /* the top-level data set ended exactly at its end */
	NP_DCM_ELEMENT = 1,  /* an element header; its value is skipped unless entered */
	NP_DCM_ITEM = 2,     /* an item header; its data set is walked next (raw: skipped) */
	NP_DCM_ITEM_END = 3, /* an item's data set ended (delimiter, or its length) */
	NP_DCM_SEQ_END = 4,  /* a sequence entered ended (delimiter, or its length) */
};

enum np_dcm_why {
	NP_DCM_OK,
	NP_DCM_SHORT_EL,	  /* less than an element header left */
	NP_DCM_SHORT_SEQ,	  /* less than an item header left in a sequence */
	NP_DCM_LONG_EL,		  /* a value past its container's end, or undefined and not entered */
	NP_DCM_LONG_ITEM,	  /* an item past its sequence's end */
	NP_DCM_DELIM,		  /* an item or delimiter tag among elements */
	NP_DCM_NOT_ITEM,	  /* something other than an item or the delimiter in a sequence */
	NP_DCM_SEQ_DELIM_DEFINED, /* a sequence delimiter in a sequence of defined length */
	NP_DCM_NO_ITEM_DELIM,	  /* an item of undefined length reached its container's end */
	NP_DCM_RAW_UNDEF,	  /* an item of undefined length among raw items (fragments) */
	NP_DCM_DEEP,		  /* sequences nested deeper than max_depth */
	NP_DCM_MISUSE,		  /* enter or skip at the wrong moment */
};

struct np_dcm_walk {
	const unsigned char *b;
	size_t pos;
	int max_depth, nf, why;
	int pending; /* the last event was an element whose value is still ahead */
	struct np_dcm_el last;
	struct np_dcm_frame {
		size_t end;
		unsigned char seq, undef, enc, raw;
	} f[2 * NP_DCM_MAX_DEPTH + 1]; /* the data set, then a sequence and an item's data set per level */
};

/* Walk the data set b[pos..end) in encoding enc, with at most max_depth
 * nested sequences (at most NP_DCM_MAX_DEPTH). */
void np_dcm_walk_init(struct np_dcm_walk *w, const unsigned char *b, size_t pos, size_t end, int enc, int max_depth);
/* The next event; el gets the header of an element or item. */
int np_dcm_walk_next(struct np_dcm_walk *w, struct np_dcm_el *el);
/* Right after NP_DCM_ELEMENT: walk its value as a sequence of items in
 * encoding enc; raw: the items are bytes (encapsulated pixel data
 * fragments), reported and skipped. Returns 0, or -1 (w->why) when the value
 * does not fit or the sequence is nested too deeply. */
int np_dcm_walk_enter(struct np_dcm_walk *w, int enc, int raw);
/* Right after NP_DCM_ITEM of defined length: skip its data set. Returns 0 or -1. */
int np_dcm_walk_skip(struct np_dcm_walk *w);
/* Sequences open around the current position. */
static inline int np_dcm_walk_depth(const struct np_dcm_walk *w)
{
	return w->nf / 2;
}
/* The encoding at the current position. */
static inline int np_dcm_walk_enc(const struct np_dcm_walk *w)
{
	return w->f[w->nf - 1].enc;
}

#endif
