// SPDX-License-Identifier: Apache-2.0
// Write side of the GDCM shim for result delivery: an Encapsulated PDF and a
// Comprehensive SR that belong to the ORIGINAL study (patient and study
// modules copied byte for byte from one of its instances) in a new series,
// so the PACS files them next to the images (peers-notes pain point 14).
#include "np_dcm.h"
#include "np_dcm_header.hh"

extern "C" {
#include "np_dicom_int.h"
#include "np_err.h"
#include "np_fs.h"
#include "np_util.h"
}

#include <gdcmDataSet.h>
#include <gdcmFile.h>
#include <gdcmFileMetaInformation.h>
#include <gdcmItem.h>
#include <gdcmReader.h>
#include <gdcmSequenceOfItems.h>
#include <gdcmTransferSyntax.h>
#include <gdcmWriter.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <new>
#include <sstream>
#include <string>
#include <vector>

static const char PDF_STORAGE[] = "1.2.840.10008.5.1.4.1.1.104.1";
static const char COMP_SR[] = "1.2.840.10008.5.1.4.1.1.88.33";

/* Patient and General Study attributes copied from the original study, with
 * the VR we write them with (the source may be implicit VR). */
static const struct {
	uint16_t g, e;
	gdcm::VR::VRType vr;
} copied[] = {
    {0x0010, 0x0010, gdcm::VR::PN}, {0x0010, 0x0020, gdcm::VR::LO}, {0x0010, 0x0021, gdcm::VR::LO},
    {0x0010, 0x0030, gdcm::VR::DA}, {0x0010, 0x0040, gdcm::VR::CS}, {0x0020, 0x000d, gdcm::VR::UI},
    {0x0008, 0x0020, gdcm::VR::DA}, {0x0008, 0x0030, gdcm::VR::TM}, {0x0008, 0x0090, gdcm::VR::PN},
    {0x0020, 0x0010, gdcm::VR::SH}, {0x0008, 0x0050, gdcm::VR::SH}, {0x0008, 0x1030, gdcm::VR::LO},
};

static void put_bytes(gdcm::DataSet &ds, uint16_t g, uint16_t e, gdcm::VR::VRType vr, const char *p, size_t n)
{
	gdcm::DataElement de(gdcm::Tag(g, e));
	de.SetVR(vr);
	std::string v(p, n);
	if (v.size() % 2)
		v.push_back(vr == gdcm::VR::UI || vr == gdcm::VR::OB ? '\0' : ' ');
	de.SetByteValue(v.data(), (uint32_t)v.size());
	ds.Replace(de);
}

static void put(gdcm::DataSet &ds, uint16_t g, uint16_t e, gdcm::VR::VRType vr, const std::string &s)
{
	put_bytes(ds, g, e, vr, s.data(), s.size());
}

static void put_empty_sq(gdcm::DataSet &ds, uint16_t g, uint16_t e)
{
	gdcm::SmartPointer<gdcm::SequenceOfItems> sq = new gdcm::SequenceOfItems;
	sq->SetLengthToUndefined();
	gdcm::DataElement de(gdcm::Tag(g, e));
	de.SetVR(gdcm::VR::SQ);
	de.SetValue(*sq);
	de.SetVLToUndefined();
	ds.Replace(de);
}

static void put_sq(gdcm::DataSet &ds, uint16_t g, uint16_t e, const gdcm::DataSet *items, size_t n)
{
	gdcm::SmartPointer<gdcm::SequenceOfItems> sq = new gdcm::SequenceOfItems;
	sq->SetLengthToUndefined();
	for (size_t i = 0; i < n; i++) {
		gdcm::Item it;
		it.SetVLToUndefined();
		it.SetNestedDataSet(items[i]);
		sq->AddItem(it);
	}
	gdcm::DataElement de(gdcm::Tag(g, e));
	de.SetVR(gdcm::VR::SQ);
	de.SetValue(*sq);
	de.SetVLToUndefined();
	ds.Replace(de);
}

static gdcm::DataSet code(const char *value, const char *scheme, const char *meaning)
{
	gdcm::DataSet c;
	put(c, 0x0008, 0x0100, gdcm::VR::SH, value);
	put(c, 0x0008, 0x0102, gdcm::VR::SH, scheme);
	put(c, 0x0008, 0x0104, gdcm::VR::LO, meaning);
	return c;
}

static void put_code(gdcm::DataSet &ds, uint16_t g, uint16_t e, const char *value, const char *scheme,
		     const char *meaning)
{
	gdcm::DataSet c = code(value, scheme, meaning);
	put_sq(ds, g, e, &c, 1);
}

static std::string raw_value(const gdcm::DataSet &src, uint16_t g, uint16_t e)
{
	gdcm::Tag t(g, e);
	if (!src.FindDataElement(t))
		return std::string();
	const gdcm::ByteValue *bv = src.GetDataElement(t).GetByteValue();
	if (!bv)
		return std::string();
	std::string v(bv->GetPointer(), bv->GetLength());
	while (!v.empty() && (v.back() == ' ' || v.back() == '\0'))
		v.pop_back();
	return v;
}

static bool is_utf8_compatible(const std::string &cs)
{
	return cs.empty() || cs == "ISO_IR 6" || cs == "ISO_IR 192";
}

/* Modules common to both objects: SOP Common, Patient, General Study, the
 * new series, General Equipment. Returns the source's character set. */
static std::string common(gdcm::DataSet &ds, const gdcm::DataSet &src, const char *sop_class,
			  const struct np_dcm_result_info *info, const char *modality, bool utf8)
{
	std::string cs = raw_value(src, 0x0008, 0x0005);
	/* Our own text may carry a trademark sign; when the source's names are
	 * ASCII-compatible, UTF-8 is a safe superset. Otherwise keep the
	 * source's repertoire and the caller writes ASCII only. */
	/* Specific Character Set is Type 1C: absent (the default repertoire)
	 * when there is no value, never empty. */
	std::string out_cs = utf8 && is_utf8_compatible(cs) ? std::string("ISO_IR 192") : cs;
	if (!out_cs.empty())
		put(ds, 0x0008, 0x0005, gdcm::VR::CS, out_cs);
	for (const auto &c : copied)
		put(ds, c.g, c.e, c.vr, raw_value(src, c.g, c.e));
	char date[16], tim[16];
	time_t now = (time_t)np_now();
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%Y%m%d", &tm);
	strftime(tim, sizeof tim, "%H%M%S", &tm);
	put(ds, 0x0008, 0x0012, gdcm::VR::DA, date);
	put(ds, 0x0008, 0x0013, gdcm::VR::TM, tim);
	put(ds, 0x0008, 0x0016, gdcm::VR::UI, sop_class);
	put(ds, 0x0008, 0x0018, gdcm::VR::UI, info->sop_instance_uid);
	put(ds, 0x0008, 0x0023, gdcm::VR::DA, date);
	put(ds, 0x0008, 0x0033, gdcm::VR::TM, tim);
	put(ds, 0x0008, 0x0060, gdcm::VR::CS, modality);
	put(ds, 0x0008, 0x0070, gdcm::VR::LO, info->manufacturer ? info->manufacturer : "");
	put(ds, 0x0008, 0x103e, gdcm::VR::LO, info->series_description ? info->series_description : "");
	if (info->software_versions && *info->software_versions)
		put(ds, 0x0018, 0x1020, gdcm::VR::LO, info->software_versions);
	put(ds, 0x0020, 0x000e, gdcm::VR::UI, info->series_instance_uid);
	put(ds, 0x0020, 0x0011, gdcm::VR::IS, std::to_string(info->series_number));
	put(ds, 0x0020, 0x0013, gdcm::VR::IS, "1");
	return cs;
}

static int write_out(gdcm::DataSet &ds, const char *out_path, struct np_err *err)
{
	gdcm::Writer w;
	gdcm::File &f = w.GetFile();
	f.SetDataSet(ds);
	gdcm::FileMetaInformation &fmi = f.GetHeader();
	fmi.SetDataSetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
	std::ostringstream os;
	w.SetStream(os);
	if (!w.Write())
		return np_err_set(err, NP_ERR_PERM, "unable to encode a DICOM object");
	std::string s = os.str();
	return np_write_atomic(out_path, s.data(), s.size(), 0640, err);
}

static bool open_source(gdcm::Reader &r, const char *study_file, struct np_err *err)
{
	/* The bounds check GDCM needs before it reads (as np_dcm_open), and
	 * the transfer syntax the header read depends on. */
	np__dcm_ts ts;
	r.SetFileName(study_file);
	if (!np__dcm_lengths_ok(study_file, &ts) || !np__dcm_read_header(r, ts.uid)) {
		np_err_set(err, NP_ERR_PERM, "the original study has no readable DICOM instance");
		return false;
	}
	if (raw_value(r.GetFile().GetDataSet(), 0x0020, 0x000d).empty()) {
		np_err_set(err, NP_ERR_PERM, "the original study instance has no StudyInstanceUID");
		return false;
	}
	return true;
}

extern "C" int np_dcm_uid_new(char out[65], struct np_err *err)
{
	unsigned char b[16];
	if (np_random(b, sizeof b, err) < 0)
		return -1;
	/* 2.25.<128-bit integer> (PS3.5 B.2), no registered root needed. */
	unsigned __int128 v = 0;
	for (unsigned char c : b)
		v = (v << 8) | c;
	char digits[48];
	int n = 0;
	do {
		digits[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v);
	int k = snprintf(out, 65, "2.25.");
	while (n)
		out[k++] = digits[--n];
	out[k] = 0;
	return 0;
}

extern "C" int np_dcm_build_pdf(const char *study_file, const struct np_dcm_result_info *info, const void *pdf,
				size_t pdf_len, const char *out_path, struct np_err *err)
{
	try {
		if (pdf_len < 5 || memcmp(pdf, "%PDF-", 5))
			return np_err_set(err, NP_ERR_PERM, "the report is not a PDF file");
		if (pdf_len > 0xfffffff0u)
			return np_err_set(err, NP_ERR_PERM, "the report is too large for DICOM");
		gdcm::Reader r;
		if (!open_source(r, study_file, err))
			return -1;
		gdcm::DataSet ds;
		common(ds, r.GetFile().GetDataSet(), PDF_STORAGE, info, "DOC", false);
		put(ds, 0x0008, 0x0064, gdcm::VR::CS, "WSD");
		put(ds, 0x0008, 0x002a, gdcm::VR::DT, "");
		put(ds, 0x0028, 0x0301, gdcm::VR::CS, "NO");
		put(ds, 0x0042, 0x0010, gdcm::VR::ST, info->document_title ? info->document_title : "");
		put_empty_sq(ds, 0x0040, 0xa043);
		put(ds, 0x0042, 0x0012, gdcm::VR::LO, "application/pdf");
		put_bytes(ds, 0x0042, 0x0011, gdcm::VR::OB, (const char *)pdf, pdf_len);
		gdcm::DataElement len(gdcm::Tag(0x0042, 0x0015));
		len.SetVR(gdcm::VR::UL);
		uint32_t n = (uint32_t)pdf_len;
		len.SetByteValue((const char *)&n, 4); /* little endian host, as GDCM itself assumes */
		ds.Replace(len);
		return write_out(ds, out_path, err);
	} catch (const std::bad_alloc &) {
		return np_err_sys(err, ENOMEM, "unable to build the PDF object");
	} catch (...) {
		return np_err_set(err, NP_ERR_PERM, "unable to build the PDF object");
	}
}

/* Text for a source whose character set is not ASCII-compatible: the only
 * non-ASCII we write ourselves is the trademark sign. */
static std::string ascii_tm(const char *s)
{
	std::string out;
	for (; *s; s++) {
		if (!strncmp(s, "\xe2\x84\xa2", 3)) {
			out += "(TM)";
			s += 2;
		} else if ((unsigned char)*s < 0x80) {
			out.push_back(*s);
		} else {
			out.push_back('?');
		}
	}
	return out;
}

static gdcm::DataSet content_item(const struct np_dcm_sr_item *it, bool utf8)
{
	gdcm::DataSet d;
	put(d, 0x0040, 0xa010, gdcm::VR::CS, "CONTAINS");
	put(d, 0x0040, 0xa040, gdcm::VR::CS, it->type == NP_DCM_SR_NUM ? "NUM" : "TEXT");
	put_code(d, 0x0040, 0xa043, it->code_value, it->code_scheme, it->code_meaning);
	if (it->type == NP_DCM_SR_NUM) {
		char num[32];
		snprintf(num, sizeof num, "%.6g", it->value);
		gdcm::DataSet mv;
		put(mv, 0x0040, 0xa30a, gdcm::VR::DS, num);
		put_code(mv, 0x0040, 0x08ea, it->unit_value ? it->unit_value : "1",
			 it->unit_scheme ? it->unit_scheme : "UCUM", it->unit_meaning ? it->unit_meaning : "no units");
		put_sq(d, 0x0040, 0xa300, &mv, 1);
	} else {
		const char *t = it->text ? it->text : "";
		put(d, 0x0040, 0xa160, gdcm::VR::UT, utf8 ? std::string(t) : ascii_tm(t));
	}
	return d;
}

extern "C" int np_dcm_build_sr(const char *study_file, const struct np_dcm_result_info *info,
			       const struct np_dcm_sr_item *items, size_t n, const char *out_path, struct np_err *err)
{
	try {
		gdcm::Reader r;
		if (!open_source(r, study_file, err))
			return -1;
		gdcm::DataSet ds;
		std::string cs = common(ds, r.GetFile().GetDataSet(), COMP_SR, info, "SR", true);
		bool utf8 = is_utf8_compatible(cs);
		put_empty_sq(ds, 0x0008, 0x1111);
		put(ds, 0x0040, 0xa491, gdcm::VR::CS, "COMPLETE");
		put(ds, 0x0040, 0xa493, gdcm::VR::CS, "UNVERIFIED");
		put_empty_sq(ds, 0x0040, 0xa372);
		put(ds, 0x0040, 0xa040, gdcm::VR::CS, "CONTAINER");
		put_code(ds, 0x0040, 0xa043, "18748-4", "LN", "Diagnostic imaging report");
		put(ds, 0x0040, 0xa050, gdcm::VR::CS, "SEPARATE");
		std::vector<gdcm::DataSet> content;
		gdcm::DataSet lang;
		put(lang, 0x0040, 0xa010, gdcm::VR::CS, "HAS CONCEPT MOD");
		put(lang, 0x0040, 0xa040, gdcm::VR::CS, "CODE");
		put_code(lang, 0x0040, 0xa043, "121049", "DCM", "Language of Content Item and Descendants");
		put_code(lang, 0x0040, 0xa168, "en-US", "RFC5646", "English (United States)");
		content.push_back(lang);
		for (size_t i = 0; i < n; i++)
			content.push_back(content_item(&items[i], utf8));
		put_sq(ds, 0x0040, 0xa730, content.data(), content.size());
		return write_out(ds, out_path, err);
	} catch (const std::bad_alloc &) {
		return np_err_sys(err, ENOMEM, "unable to build the SR object");
	} catch (...) {
		return np_err_set(err, NP_ERR_PERM, "unable to build the SR object");
	}
}
