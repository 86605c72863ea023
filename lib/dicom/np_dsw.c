// SPDX-License-Identifier: Apache-2.0
/* np_dsw: see np_dsw.h. The stepping is np_dcm_walk's; this file only says
 * what to take and where to stop. */
#include "np_dsw.h"
#include "np_dcm_walk.h"
#include "np_dicom_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 16
#define TAG(g, e) ((uint32_t)(g) << 16 | (e))

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

/* 1 for what more input may complete (a header, value or item cut short,
 * or no delimiter yet), -1 for what no more input can mend. */
static int why_ret(int why)
{
	switch (why) {
	case NP_DCM_SHORT_EL:
	case NP_DCM_SHORT_SEQ:
	case NP_DCM_LONG_EL:
	case NP_DCM_LONG_ITEM:
	case NP_DCM_NO_ITEM_DELIM:
		return 1;
	default:
		return -1;
	}
}

int np_dsw_uids(const unsigned char *p, size_t n, int kind, struct np_dsw_uids *out)
{
	memset(out, 0, sizeof *out);
	if (kind < NP_DSW_IMPLICIT_LE || kind > NP_DSW_EXPLICIT_BE)
		return -1;
	static const int enc[] = {NP_DCM_IMPLICIT_LE, NP_DCM_EXPLICIT_LE, NP_DCM_EXPLICIT_BE};
	struct np_dcm_walk w;
	np_dcm_walk_init(&w, p, 0, n, enc[kind], MAX_DEPTH);
	for (;;) {
		struct np_dcm_el el;
		int ev = np_dcm_walk_next(&w, &el);
		if (ev == NP_DCM_ERROR)
			return why_ret(w.why);
		if (ev == NP_DCM_DONE)
			return 0;
		if (ev == NP_DCM_ITEM) {
			/* only items of undefined length are walked: the UIDs wanted are
			 * at the top level, and a defined length says where it ends */
			if (el.len != NP_DCM_UNDEF && np_dcm_walk_skip(&w) < 0)
				return -1;
			continue;
		}
		if (ev != NP_DCM_ELEMENT)
			continue;
		int top = np_dcm_walk_depth(&w) == 0;
		uint32_t tag = TAG(el.g, el.e);
		if (top && tag > TAG(0x0020, 0x000D))
			return 0;
		if (el.len == NP_DCM_UNDEF) {
			/* a sequence (or encapsulated pixel data) walked to its
			 * delimiter; an undefined-length UN holds implicit VR LE
			 * (PS3.5 6.2.2) */
			int e = el.vr[0] == 'U' && el.vr[1] == 'N' ? NP_DCM_IMPLICIT_LE : np_dcm_walk_enc(&w);
			if (np_dcm_walk_enter(&w, e, 0) < 0)
				return why_ret(w.why);
			continue;
		}
		if (el.len > el.end - el.value)
			return 1;
		if (top) {
			const unsigned char *v = p + el.value;
			if (tag == TAG(0x0008, 0x0016))
				take_uid(out->sop_class, &out->have_class, &out->too_long, v, el.len);
			else if (tag == TAG(0x0008, 0x0018))
				take_uid(out->sop_inst, &out->have_inst, &out->too_long, v, el.len);
			else if (tag == TAG(0x0020, 0x000D))
				take_uid(out->study, &out->have_study, &out->too_long, v, el.len);
		}
	}
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
