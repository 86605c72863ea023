/* SPDX-License-Identifier: Apache-2.0 */
/* np_dsw: a minimal, allocation-free DICOM data set walker for the receive
 * path. It reads just the top-level SOP Class UID (0008,0016), SOP Instance
 * UID (0008,0018) and Study Instance UID (0020,000D) from the start of a
 * data set in implicit VR LE, explicit VR LE or explicit VR BE, stepping over
 * sequences of undefined length, and stops at the first top-level tag past
 * (0020,000D). It touches only the bytes before that tag (typically 1-3 KB),
 * which is why np-recv uses it instead of a full parse: no allocations, no
 * C++ boundary, independent of the instance's size. Every length is checked
 * against the buffer; nesting is limited. Deflated data sets are inflated
 * (only as far as needed) by np_dsw_uids_deflated. */
#ifndef NP_DSW_H
#define NP_DSW_H

#include <stddef.h>

struct np_dsw_uids {
	char sop_class[65], sop_inst[65], study[65];
	int have_class, have_inst, have_study;
	int too_long; /* a wanted UID was longer than 64 characters */
};

enum { NP_DSW_IMPLICIT_LE = 0, NP_DSW_EXPLICIT_LE = 1, NP_DSW_EXPLICIT_BE = 2 };

/* Walk p[0..n). Returns 0 when the walk passed (0020,000D) or ended exactly
 * at the end of the data; 1 when the data ends inside an element (truncated,
 * or more input needed); -1 when the data set is malformed. out is filled
 * with what was found either way. */
int np_dsw_uids(const unsigned char *p, size_t n, int kind, struct np_dsw_uids *out);
/* Same for a deflated explicit VR LE data set (raw deflate, RFC 1951):
 * inflates at most max_out bytes, more only when the UIDs lie further.
 * Returns as np_dsw_uids (1 also when max_out was not enough). */
int np_dsw_uids_deflated(const unsigned char *p, size_t n, size_t max_out, struct np_dsw_uids *out);

#endif
