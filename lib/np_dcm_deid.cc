// SPDX-License-Identifier: Apache-2.0
// De-identification side of the GDCM shim: the public data dictionary, used
// by the streaming rewriter (lib/np_deid.c) to learn the VR of elements in
// implicit-VR files, and a full GDCM parse used to validate output files.
#include "np_dcm.h"

extern "C" {
#include "np_err.h"
}

#include <gdcmDict.h>
#include <gdcmDicts.h>
#include <gdcmGlobal.h>
#include <gdcmReader.h>
#include <gdcmTag.h>
#include <gdcmVR.h>

#include <cstring>
#include <exception>
#include <istream>
#include <streambuf>
#include <string>

extern "C" int np_dcm_dict_vr(unsigned group, unsigned elem, char vr[3])
{
	try {
		const gdcm::Dicts &dicts = gdcm::Global::GetInstance().GetDicts();
		const gdcm::DictEntry &de = dicts.GetDictEntry(gdcm::Tag((uint16_t)group, (uint16_t)elem));
		gdcm::VR v = de.GetVR();
		const char *s;
		if (v == gdcm::VR::INVALID || v == gdcm::VR::VR_END)
			return 0;
		if (v & gdcm::VR::OB_OW || v == gdcm::VR::US_SS_OW)
			s = "OW";
		else if (v == gdcm::VR::US_SS)
			s = "US";
		else
			s = gdcm::VR::GetVRString(v);
		if (!s || strlen(s) != 2 || s[0] < 'A' || s[0] > 'Z')
			return 0;
		vr[0] = s[0];
		vr[1] = s[1];
		vr[2] = 0;
		return 1;
	} catch (...) {
		return 0;
	}
}

namespace
{
/* A read-only, seekable stream over caller memory (no copy). */
struct membuf : std::streambuf {
	membuf(const char *b, size_t n)
	{
		char *p = const_cast<char *>(b);
		setg(p, p, p + n);
	}
	pos_type seekoff(off_type off, std::ios_base::seekdir dir, std::ios_base::openmode) override
	{
		char *p = dir == std::ios_base::beg ? eback() : dir == std::ios_base::cur ? gptr() : egptr();
		p += off;
		if (p < eback() || p > egptr())
			return pos_type(off_type(-1));
		setg(eback(), p, egptr());
		return pos_type(p - eback());
	}
	pos_type seekpos(pos_type pos, std::ios_base::openmode m) override
	{
		return seekoff(off_type(pos), std::ios_base::beg, m);
	}
};
} // namespace

extern "C" int np_dcm_parse_buffer(const void *buf, size_t len, struct np_err *err)
{
	try {
		membuf mb(static_cast<const char *>(buf), len);
		std::istream is(&mb);
		gdcm::Reader r;
		r.SetStream(is);
		if (!r.Read())
			return np_err_set(err, NP_ERR_PERM, "GDCM cannot parse the file");
		return 0;
	} catch (const std::bad_alloc &) {
		return np_err_set(err, NP_ERR_TEMP, "out of memory in GDCM");
	} catch (...) {
		return np_err_set(err, NP_ERR_PERM, "GDCM cannot parse the file");
	}
}
