// SPDX-License-Identifier: Apache-2.0
// The header read of the GDCM shim (np_dcm.cc, np_dcm_build.cc): C++ only.
#ifndef NP_DCM_HEADER_HH
#define NP_DCM_HEADER_HH

#include <gdcmReader.h>
#include <gdcmTag.h>

#include <set>

/* Read a file up to its Pixel Data (7FE0,0010), without it. GDCM's
 * ReadUpToTag reads the value of the tag it stops at unless that tag is
 * also in skiptags: a header read then held the whole pixel data in
 * memory (80 MB for an enhanced multi-frame DTI instance), and np-stable's
 * peak grew with the largest instance of a study. */
inline bool np__dcm_read_header(gdcm::Reader &r)
{
	static const gdcm::Tag pixels(0x7fe0, 0x0010);
	static const std::set<gdcm::Tag> skip{pixels};
	return r.ReadUpToTag(pixels, skip);
}

#endif
