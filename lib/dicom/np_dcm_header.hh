// SPDX-License-Identifier: Apache-2.0
// The header read of the GDCM shim (np_dcm.cc, np_dcm_build.cc): C++ only.
#ifndef NP_DCM_HEADER_HH
#define NP_DCM_HEADER_HH

#include <gdcmReader.h>
#include <gdcmTag.h>

#include <cstring>
#include <set>

/* Read a file up to its Pixel Data (7FE0,0010), without it. GDCM's
 * ReadUpToTag reads the value of the tag it stops at unless that tag is
 * also in skiptags: a header read then held the whole pixel data in
 * memory (80 MB for an enhanced multi-frame DTI instance), and np-stable's
 * peak grew with the largest instance of a study. A deflated data set
 * (ts_uid, the meta header's transfer syntax from np__dcm_lengths_ok) is
 * read with its pixel value: GDCM skips a value by seeking, which its
 * inflating stream cannot, and the read fails. */
inline bool np__dcm_read_header(gdcm::Reader &r, const char *ts_uid)
{
	static const gdcm::Tag pixels(0x7fe0, 0x0010);
	static const std::set<gdcm::Tag> skip{pixels};
	if (!strcmp(ts_uid, "1.2.840.10008.1.2.1.99"))
		return r.ReadUpToTag(pixels);
	return r.ReadUpToTag(pixels, skip);
}

#endif
