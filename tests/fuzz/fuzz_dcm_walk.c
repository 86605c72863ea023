// SPDX-License-Identifier: Apache-2.0
// Fuzz np_dcm_walk on arbitrary bytes: the first byte picks the encoding,
// the depth limit and which elements are walked as sequences (raw or not).
// Every header must lie inside the buffer (an exact-size copy, so ASan sees
// any read past it), the walk must end within a number of events bounded by
// the input's size, end only when every sequence is closed, and a copy of
// the walker taken midway must walk on to the same events.
#include "np_dcm_walk.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Walk on from w; returns a hash of the events after the snapshot (snap,
 * taken after the first element's decision) or of all events. */
static unsigned walk(struct np_dcm_walk *w, size_t n, unsigned how, struct np_dcm_walk *snap)
{
	unsigned sum = 0;
	for (size_t steps = 0;; steps++) {
		if (steps > n + 2)
			abort(); /* every event moves on or closes a frame */
		struct np_dcm_el el;
		int ev = np_dcm_walk_next(w, &el);
		if (w->pos > n)
			abort();
		sum = sum * 31 + (unsigned)(ev + 1);
		if (ev == NP_DCM_ERROR || ev == NP_DCM_DONE) {
			if (ev == NP_DCM_DONE && (np_dcm_walk_depth(w) || w->pos != n))
				abort();
			return sum * 7 + (unsigned)w->why;
		}
		if (ev == NP_DCM_ITEM && (el.value > el.end || el.end > n))
			abort();
		if (ev != NP_DCM_ELEMENT)
			continue;
		if (el.value > n || el.end > n || el.pos >= el.value)
			abort();
		int sq = (el.vr[0] == 'S' && el.vr[1] == 'Q') || el.len == NP_DCM_UNDEF || (how & 1 && el.g & 1);
		if (sq) {
			int e = how & 2 && el.vr[0] == 'U' && el.vr[1] == 'N' ? NP_DCM_IMPLICIT_LE : np_dcm_walk_enc(w);
			if (np_dcm_walk_enter(w, e, el.g == 0x7FE0 && !(how & 4)) < 0 && w->why != NP_DCM_LONG_EL &&
			    w->why != NP_DCM_DEEP)
				abort();
		}
		if (snap) {
			*snap = *w;
			snap = NULL;
			sum = 0;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const int encs[] = {NP_DCM_IMPLICIT_LE, NP_DCM_EXPLICIT_LE, NP_DCM_EXPLICIT_BE, NP_DCM_BE};
	unsigned cfg = data[0];
	size_t n = size - 1;
	uint8_t *b = malloc(n ? n : 1);
	if (!b)
		return 0;
	memcpy(b, data + 1, n);
	struct np_dcm_walk w, snap;
	np_dcm_walk_init(&w, b, 0, n, encs[cfg & 3], 1 + (int)(cfg >> 2 & 7) * 6);
	snap = w;
	unsigned a = walk(&w, n, cfg >> 5, &snap);
	if (walk(&snap, n, cfg >> 5, NULL) != a)
		abort();
	free(b);
	return 0;
}
