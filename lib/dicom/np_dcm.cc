// SPDX-License-Identifier: Apache-2.0
// Read side of the GDCM shim: open a file, read header attributes.
#include "np_dcm.h"
#include "np_dcm_header.hh"

extern "C" {
#include "np_err.h"
#include "np_dicom_int.h"
}

#include <gdcmDataSet.h>
#include <gdcmFile.h>
#include <gdcmFileMetaInformation.h>
#include <gdcmPrivateTag.h>
#include <gdcmReader.h>
#include <gdcmSequenceOfItems.h>
#include <gdcmStringFilter.h>
#include <gdcmTrace.h>
#include <gdcmTransferSyntax.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <fcntl.h>
#include <istream>
#include <memory>
#include <streambuf>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* A read-only view of a file mapped copy-on-write, so that a few bytes can
 * be changed for GDCM without touching the file. GDCM seeks both ways. */
class mapped_file : public std::streambuf
{
      public:
	bool open(const char *path)
	{
		int fd = ::open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return false;
		struct stat st;
		if (fstat(fd, &st) == 0 && st.st_size > 0) {
			len_ = (size_t)st.st_size;
			void *p = mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
			map_ = p == MAP_FAILED ? nullptr : static_cast<char *>(p);
		}
		::close(fd);
		if (map_)
			setg(map_, map_, map_ + len_);
		return map_ != nullptr;
	}
	char *data() { return map_; }
	~mapped_file() override
	{
		if (map_)
			munmap(map_, len_);
	}

      protected:
	pos_type seekoff(off_type off, std::ios_base::seekdir dir, std::ios_base::openmode) override
	{
		char *base = dir == std::ios_base::beg ? eback() : dir == std::ios_base::cur ? gptr() : egptr();
		if (off < eback() - base || off > egptr() - base)
			return pos_type(off_type(-1));
		setg(eback(), base + off, egptr());
		return pos_type(gptr() - eback());
	}
	pos_type seekpos(pos_type pos, std::ios_base::openmode which) override
	{
		return seekoff(off_type(pos), std::ios_base::beg, which);
	}

      private:
	char *map_ = nullptr;
	size_t len_ = 0;
};

struct np_dcm {
	gdcm::Reader reader;
	std::string ts;
	bool meta = false;
	/* Only for a renamed transfer syntax: the stream GDCM read from. */
	std::unique_ptr<mapped_file> file;
	std::unique_ptr<std::istream> stream;
};

/* GDCM 3.0 refuses transfer syntaxes newer than itself (HTJ2K, HEVC, JPEG
 * XL...), yet every syntax DICOM adds encodes its data set as Explicit VR
 * Little Endian, which is all np_dcm reads. Such a file is given to GDCM with that
 * syntax named in its meta header instead, in memory only. */
static bool rename_ts(np_dcm *d, const char *path, const np__dcm_ts &ts)
{
	static const char explicit_le[] = "1.2.840.10008.1.2.1";
	if (ts.len < sizeof explicit_le - 1)
		return false;
	d->file.reset(new mapped_file);
	if (!d->file->open(path))
		return false;
	memset(d->file->data() + ts.off, 0, ts.len);
	memcpy(d->file->data() + ts.off, explicit_le, sizeof explicit_le - 1);
	d->stream.reset(new std::istream(d->file.get()));
	d->reader.SetStream(*d->stream);
	return true;
}

extern "C" struct np_dcm *np_dcm_open(const char *path, int flags, struct np_err *err)
{
	static const bool quiet = [] {
		/* Our errors name the file; GDCM's go to stderr otherwise. */
		gdcm::Trace::WarningOff();
		gdcm::Trace::ErrorOff();
		gdcm::Trace::DebugOff();
		return true;
	}();
	(void)quiet;
	try {
		struct stat st;
		if (stat(path, &st) < 0) {
			np_err_sys(err, errno, "unable to open %s", path);
			return nullptr;
		}
		/* GDCM aborts or allocates gigabytes on lengths that run past
		 * the end of the file (see np_dcm_bounds.c). */
		np__dcm_ts ts;
		if (!np__dcm_lengths_ok(path, &ts)) {
			np_err_set(err, NP_ERR_PERM, "%s is not a readable DICOM file (truncated or bad lengths)",
				   path);
			return nullptr;
		}
		np_dcm *d = new np_dcm;
		bool ok = true;
		if (ts.uid[0] && gdcm::TransferSyntax::GetTSType(ts.uid) == gdcm::TransferSyntax::TS_END)
			ok = rename_ts(d, path, ts);
		else
			d->reader.SetFileName(path);
		ok = ok && ((flags & NP_DCM_HEADER_ONLY) ? np__dcm_read_header(d->reader, ts.uid) : d->reader.Read());
		if (!ok) {
			delete d;
			np_err_set(err, NP_ERR_PERM, "%s is not a readable DICOM file", path);
			return nullptr;
		}
		const gdcm::FileMetaInformation &fmi = d->reader.GetFile().GetHeader();
		d->meta = !fmi.IsEmpty();
		if (ts.uid[0]) {
			d->ts = ts.uid;
		} else {
			const char *name = gdcm::TransferSyntax::GetTSString(fmi.GetDataSetTransferSyntax());
			d->ts = name ? name : "";
			while (!d->ts.empty() && (d->ts.back() == '\0' || d->ts.back() == ' '))
				d->ts.pop_back();
		}
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
