// SPDX-License-Identifier: Apache-2.0
#include "np_pdfreport.h"

#include "np_err.h"
#include "np_fs.h"
#include "np_json.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char np_pdfreport_disclaimer[] =
    "Patient management decisions should not be made solely on the basis of analysis by neuropacs\u2122.";
const char np_pdfreport_not_clinical[] = "Not for clinical use.";

static const struct {
	const char *key, *label;
} fw[] = {{"FWpSN", "Posterior substantia nigra"},
	  {"FWPutamen", "Putamen"},
	  {"FWSCP", "Superior cerebellar peduncle"},
	  {"FWMCP", "Middle cerebellar peduncle"}};

static int num_of(json_t *v, double *out)
{
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 1;
	}
	if (json_is_string(v)) {
		char *end;
		double d = strtod(json_string_value(v), &end);
		if (end != json_string_value(v)) {
			*out = d;
			return 1;
		}
	}
	return 0;
}

int np_pdfreport_value(json_t *result, const char *key, const char *field, double *out)
{
	char p[128];
	snprintf(p, sizeof p, "results.%s", key);
	json_t *o = np_json_path(result, p);
	if (json_is_object(o))
		return num_of(json_object_get(o, field ? field : "value"), out);
	if (o && !field)
		return num_of(o, out);
	snprintf(p, sizeof p, "result.%s", key);
	o = np_json_path(result, p);
	if (json_is_object(o))
		return num_of(json_object_get(o, field ? field : "value"), out);
	return !field && o ? num_of(o, out) : 0;
}

/* Lines of the report; kind: 't' title, 'w' warning, 'h' heading, 'n' normal, 'b' bold. */
struct line {
	char kind;
	char text[300];
};

static int build(json_t *r, json_t *order, struct line *ls, int max)
{
	int n = 0;
#define L(k, ...)                                                                                                      \
	do {                                                                                                           \
		if (n < max) {                                                                                         \
			ls[n].kind = k;                                                                                \
			snprintf(ls[n].text, sizeof ls[n].text, __VA_ARGS__);                                          \
			n++;                                                                                           \
		}                                                                                                      \
	} while (0)
	const char *oid = np_json_str(r, "orderID", np_json_str(order, "order_id", "unknown"));
	char date[16];
	snprintf(date, sizeof date, "%.10s", np_json_str(r, "date", np_json_str(order, "created_at", "unknown")));
	char input[64];
	snprintf(input, sizeof input, "%lld DICOM files", np_json_int(order, "files", 0));
	const char *prod = np_json_str(r, "product", np_json_str(order, "jobs_started.0", "Atypical/MSAp/PSP-v1.0"));
	/* A notice from the result producer (the demo stand-in says its
	 * analysis is synthetic) heads and ends the report. */
	const char *notice = np_json_str(r, "notice", "");
	L('t', "neuropacs\u2122 analysis report");
	if (*notice)
		L('w', "%s", notice);
	L('w', "%s", np_pdfreport_not_clinical);
	L('n', "Report ID: %s", oid);
	L('n', "Submission date: %s", date);
	L('n', "Input: %s", np_json_str(r, "input", input));
	L('n', "Processing type: %s", prod);
	L('n', "ML model version: %s", np_json_str(r, "model_version", np_json_str(r, "modelVersion", "not reported")));
	L('h', "Results");
	double a = 0, m = 0;
	if (np_pdfreport_value(r, "Atypical", NULL, &a)) {
		L('b', "Atypical score: %.3f (%s)", a, a >= 0.5 ? "positive" : "negative");
		L('n', "The result indicates that there is %sevidence of Atypical Parkinsonism.",
		  a >= 0.5 ? "" : "no ");
		if (a >= 0.5 && np_pdfreport_value(r, "PSPvsMSAp", NULL, &m)) {
			L('b', "MSAp-vs-PSP score: %.3f (%s)", m, m >= 0.5 ? "PSP" : "MSAp");
			L('n', "The result indicates that the findings are more consistent with %s.",
			  m >= 0.5 ? "Progressive Supranuclear Palsy (PSP)"
				   : "Multiple System Atrophy, parkinsonian type (MSAp)");
		}
	} else {
		L('b', "Atypical score: not present in the result");
	}
	L('h', "Free-water biomarkers (0-1)      value    control mean    control SD");
	for (size_t i = 0; i < sizeof fw / sizeof fw[0]; i++) {
		double v, cm, sd;
		char vs[16] = "-", cms[16] = "-", sds[16] = "-";
		if (np_pdfreport_value(r, fw[i].key, NULL, &v))
			snprintf(vs, sizeof vs, "%.3f", v);
		if (np_pdfreport_value(r, fw[i].key, "control_mean", &cm))
			snprintf(cms, sizeof cms, "%.3f", cm);
		if (np_pdfreport_value(r, fw[i].key, "control_sd", &sd))
			snprintf(sds, sizeof sds, "%.3f", sd);
		L('n', "%-30s %8s %12s %14s", fw[i].label, vs, cms, sds);
	}
	L('h', " ");
	/* With a notice (the demo stand-in) the result is not neuropacs' own. */
	if (*notice)
		L('n', "Result source: see the notice above; this PDF was rendered on site by");
	else
		L('n',
		  "This result was produced by neuropacs\u2122 (Neuropacs cloud); this PDF was rendered on site by");
	L('n', "neuropacs-agent from the JSON result because the cloud protocol in use offers no PDF.");
	L('b', "%s", np_pdfreport_disclaimer);
	L('w', "%s", np_pdfreport_not_clinical);
	if (*notice)
		L('w', "%s", notice);
#undef L
	return n;
}

char *np_pdfreport_text(json_t *result, json_t *order)
{
	struct line ls[40];
	int n = build(result, order, ls, 40);
	size_t cap = (size_t)n * 302 + 1, off = 0;
	char *s = malloc(cap);
	if (!s)
		return NULL;
	s[0] = 0;
	for (int i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, cap - off, "%s\n", ls[i].text);
	return s;
}

#define PAGE_W 595.0 /* A4 in points */
#define PAGE_H 842.0
#define MARGIN 50.0

/* Width of the first n bytes of p in the current font. */
static double width_of(cairo_t *cr, const char *p, size_t n)
{
	char buf[sizeof((struct line *)0)->text];
	cairo_text_extents_t te;
	memcpy(buf, p, n);
	buf[n] = 0;
	cairo_text_extents(cr, buf, &te);
	return te.x_advance;
}

/* Show text from (MARGIN, *y) in the current font, broken at spaces into
 * lines no wider than the page between its margins (a word wider than that
 * alone is cut between characters); *y moves past every line drawn. */
static void show_wrapped(cairo_t *cr, const char *text, double step, double *y)
{
	const double width = PAGE_W - 2 * MARGIN;
	char buf[sizeof((struct line *)0)->text];
	const char *p = text;
	while (*p) {
		size_t len = strlen(p), take = 0;
		for (size_t i = 1; i <= len; i++) {
			if (i < len && p[i] != ' ')
				continue;
			if (width_of(cr, p, i) > width)
				break;
			take = i;
		}
		/* One word wider than the page: as many characters as fit (at
		 * least one), cut between UTF-8 sequences. */
		for (size_t i = 1, cut = !take; cut && i <= len; i++) {
			if (i < len && ((unsigned char)p[i] & 0xC0) == 0x80)
				continue;
			if (take && width_of(cr, p, i) > width)
				break;
			take = i;
		}
		memcpy(buf, p, take);
		buf[take] = 0;
		cairo_move_to(cr, MARGIN, *y);
		cairo_show_text(cr, buf);
		*y += step;
		p += take;
		while (*p == ' ')
			p++;
	}
}

int np_pdfreport_pdf(json_t *result, json_t *order, const char *png_path, const char *pdf_path, struct np_err *err)
{
	struct line ls[40];
	int n = build(result, order, ls, 40);
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", pdf_path, (long)getpid());
	cairo_surface_t *s = cairo_pdf_surface_create(tmp, PAGE_W, PAGE_H);
	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
		cairo_surface_destroy(s);
		return np_err_set(err, NP_ERR_TEMP, "unable to create %s", tmp);
	}
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, "neuropacs report");
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "neuropacs-agent");
	cairo_t *cr = cairo_create(s);
	double y = 60;
	for (int i = 0; i < n; i++) {
		const char *family = "DejaVu Sans";
		double size = 10;
		cairo_font_weight_t w = CAIRO_FONT_WEIGHT_NORMAL;
		cairo_set_source_rgb(cr, 0, 0, 0);
		if (ls[i].kind == 't')
			size = 18, w = CAIRO_FONT_WEIGHT_BOLD;
		else if (ls[i].kind == 'h')
			size = 11, w = CAIRO_FONT_WEIGHT_BOLD, y += 8;
		else if (ls[i].kind == 'b')
			w = CAIRO_FONT_WEIGHT_BOLD;
		else if (ls[i].kind == 'w')
			w = CAIRO_FONT_WEIGHT_BOLD, cairo_set_source_rgb(cr, 0.75, 0, 0);
		if (ls[i].kind == 'n' && strstr(ls[i].text, "  "))
			family = "DejaVu Sans Mono";
		cairo_select_font_face(cr, family, CAIRO_FONT_SLANT_NORMAL, w);
		cairo_set_font_size(cr, size);
		show_wrapped(cr, ls[i].text, size * 1.6, &y);
	}
	if (png_path && access(png_path, R_OK) == 0) {
		cairo_surface_t *img = cairo_image_surface_create_from_png(png_path);
		if (cairo_surface_status(img) == CAIRO_STATUS_SUCCESS) {
			double iw = cairo_image_surface_get_width(img), ih = cairo_image_surface_get_height(img);
			double room = PAGE_H - 40 - (y + 10), scale = (PAGE_W - 2 * MARGIN) / iw;
			if (ih * scale > room)
				scale = room / ih;
			if (scale > 0 && iw > 0 && ih > 0) {
				cairo_save(cr);
				cairo_translate(cr, MARGIN, y + 10);
				cairo_scale(cr, scale, scale);
				cairo_set_source_surface(cr, img, 0, 0);
				cairo_paint(cr);
				cairo_restore(cr);
			}
		}
		cairo_surface_destroy(img);
	}
	cairo_show_page(cr);
	cairo_destroy(cr);
	cairo_surface_finish(s);
	cairo_status_t st = cairo_surface_status(s);
	cairo_surface_destroy(s);
	if (st != CAIRO_STATUS_SUCCESS) {
		unlink(tmp);
		return np_err_set(err, NP_ERR_TEMP, "unable to render %s: %s", pdf_path, cairo_status_to_string(st));
	}
	int fd = open(tmp, O_RDONLY);
	if (fd >= 0) {
		if (fchmod(fd, 0640) < 0 || fsync(fd) < 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			return np_err_sys(err, e, "unable to write %s", pdf_path);
		}
		close(fd);
	}
	return np_rename_durable(tmp, pdf_path, err);
}
