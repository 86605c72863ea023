// SPDX-License-Identifier: Apache-2.0
// Read side of the GDCM shim: open a file, read header attributes.
#include "np_dcm.h"

extern "C" {
#include "np_err.h"
#include "np_internal.h"
}

#include <gdcmDataSet.h>
#include <gdcmFile.h>
#include <gdcmFileMetaInformation.h>
#include <gdcmPrivateTag.h>
#include <gdcmReader.h>
#include <gdcmSequenceOfItems.h>
#include <gdcmStringFilter.h>
#include <gdcmTransferSyntax.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <sys/stat.h>

struct np_dcm {
	gdcm::Reader reader;
	std::string ts;
	bool meta = false;
};

static bool parse_tag(const char *s, gdcm::Tag &t, const char **end)
{
	unsigned g, e;
	int n = 0;
	if (sscanf(s, "%4x,%4x%n", &g, &e, &n) != 2 || n != 9)
		return false;
	t = gdcm::Tag((uint16_t)g, (uint16_t)e);
	*end = s + n;
	return true;
}

/* Walk "GGGG,EEEE/N/GGGG,EEEE..." to the element; NULL when absent. */
static const gdcm::DataElement *walk(const gdcm::DataSet &top, const char *path)
{
	const gdcm::DataSet *ds = &top;
	const char *p = path;
	for (;;) {
		gdcm::Tag t;
		const char *end;
		if (!parse_tag(p, t, &end))
			return nullptr;
		if (!ds->FindDataElement(t))
			return nullptr;
		const gdcm::DataElement &de = ds->GetDataElement(t);
		if (*end == 0)
			return &de;
		if (*end != '/')
			return nullptr;
		char *after;
		unsigned long idx = strtoul(end + 1, &after, 10);
		if (after == end + 1 || *after != '/')
			return nullptr;
		gdcm::SmartPointer<gdcm::SequenceOfItems> sq = de.GetValueAsSQ();
		if (!sq || idx >= sq->GetNumberOfItems())
			return nullptr;
		ds = &sq->GetItem(idx + 1).GetNestedDataSet();
		p = after + 1;
	}
}

static void trim_copy(const std::string &v, char *out, size_t outsz)
{
	size_t n = v.size();
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\0'))
		n--;
	size_t start = 0;
	while (start < n && v[start] == ' ')
		start++;
	size_t len = n - start;
	if (outsz == 0)
		return;
	if (len >= outsz)
		len = outsz - 1;
	memcpy(out, v.data() + start, len);
	out[len] = 0;
}

extern "C" struct np_dcm *np_dcm_open(const char *path, int flags, struct np_err *err)
{
	try {
		struct stat st;
		if (stat(path, &st) < 0) {
			np_err_sys(err, errno, "unable to open %s", path);
			return nullptr;
		}
		/* GDCM aborts or allocates gigabytes on lengths that run past
		 * the end of the file (see np_dcm_scan.c). */
		if (!np__dcm_lengths_ok(path)) {
			np_err_set(err, NP_ERR_PERM, "%s is not a readable DICOM file (truncated or bad lengths)",
				   path);
			return nullptr;
		}
		np_dcm *d = new np_dcm;
		d->reader.SetFileName(path);
		bool ok =
		    (flags & NP_DCM_HEADER_ONLY) ? d->reader.ReadUpToTag(gdcm::Tag(0x7fe0, 0x0010)) : d->reader.Read();
		if (!ok) {
			delete d;
			np_err_set(err, NP_ERR_PERM, "%s is not a readable DICOM file", path);
			return nullptr;
		}
		const gdcm::FileMetaInformation &fmi = d->reader.GetFile().GetHeader();
		d->meta = !fmi.IsEmpty();
		const char *ts = gdcm::TransferSyntax::GetTSString(fmi.GetDataSetTransferSyntax());
		d->ts = ts ? ts : "";
		while (!d->ts.empty() && (d->ts.back() == '\0' || d->ts.back() == ' '))
			d->ts.pop_back();
		return d;
	} catch (const std::bad_alloc &) {
		np_err_sys(err, ENOMEM, "unable to read %s", path);
	} catch (const std::exception &e) {
		np_err_set(err, NP_ERR_PERM, "%s is not a readable DICOM file (%s)", path, e.what());
	} catch (...) {
		np_err_set(err, NP_ERR_PERM, "%s is not a readable DICOM file", path);
	}
	return nullptr;
}

extern "C" void np_dcm_close(struct np_dcm *d)
{
	delete d;
}

extern "C" int np_dcm_get(struct np_dcm *d, const char *tagpath, char *out, size_t outsz)
{
	try {
		const gdcm::DataElement *de = walk(d->reader.GetFile().GetDataSet(), tagpath);
		if (!de) {
			if (outsz)
				out[0] = 0;
			return 0;
		}
		if (de->IsEmpty()) {
			if (outsz)
				out[0] = 0;
			return 1;
		}
		gdcm::StringFilter sf;
		sf.SetFile(d->reader.GetFile());
		trim_copy(sf.ToString(*de), out, outsz);
		return 1;
	} catch (...) {
		if (outsz)
			out[0] = 0;
		return -1;
	}
}

extern "C" int np_dcm_get_double(struct np_dcm *d, const char *tagpath, double *out)
{
	char buf[128];
	if (np_dcm_get(d, tagpath, buf, sizeof buf) != 1 || !*buf)
		return 0;
	char *end;
	double v = strtod(buf, &end);
	if (end == buf)
		return 0;
	*out = v;
	return 1;
}

extern "C" int np_dcm_items(struct np_dcm *d, const char *tagpath)
{
	try {
		const gdcm::DataElement *de = walk(d->reader.GetFile().GetDataSet(), tagpath);
		if (!de)
			return 0;
		gdcm::SmartPointer<gdcm::SequenceOfItems> sq = de->GetValueAsSQ();
		return sq ? (int)sq->GetNumberOfItems() : 0;
	} catch (...) {
		return 0;
	}
}

extern "C" int np_dcm_get_private(struct np_dcm *d, unsigned group, const char *creator, unsigned elem, char *out,
				  size_t outsz)
{
	try {
		const gdcm::DataSet &ds = d->reader.GetFile().GetDataSet();
		gdcm::PrivateTag pt((uint16_t)group, (uint16_t)(elem & 0xff), creator);
		if (!ds.FindDataElement(pt)) {
			if (outsz)
				out[0] = 0;
			return 0;
		}
		const gdcm::DataElement &de = ds.GetDataElement(pt);
		const gdcm::ByteValue *bv = de.GetByteValue();
		std::string v = bv ? std::string(bv->GetPointer(), bv->GetLength()) : std::string();
		trim_copy(v, out, outsz);
		return 1;
	} catch (...) {
		if (outsz)
			out[0] = 0;
		return -1;
	}
}

extern "C" const char *np_dcm_transfer_syntax(struct np_dcm *d)
{
	return d->ts.c_str();
}

extern "C" int np_dcm_has_meta(struct np_dcm *d)
{
	return d->meta ? 1 : 0;
}

extern "C" int np_dcm_get_private_raw(struct np_dcm *d, unsigned group, const char *creator, unsigned elem, void *out,
				      size_t outsz, size_t *len)
{
	*len = 0;
	try {
		const gdcm::DataSet &ds = d->reader.GetFile().GetDataSet();
		gdcm::PrivateTag pt((uint16_t)group, (uint16_t)(elem & 0xff), creator);
		if (!ds.FindDataElement(pt))
			return 0;
		const gdcm::ByteValue *bv = ds.GetDataElement(pt).GetByteValue();
		if (!bv)
			return 1;
		*len = bv->GetLength();
		memcpy(out, bv->GetPointer(), *len < outsz ? *len : outsz);
		return 1;
	} catch (...) {
		return -1;
	}
}
