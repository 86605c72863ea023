// SPDX-License-Identifier: Apache-2.0
// The locally rendered PDF report stays inside its A4 page: every word box
// pdftotext -bbox finds ends left of the right margin, and the required
// sentences read whole in pdftotext -layout.
#include "np_err.h"
#include "np_json.h"
#include "np_pdfreport.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#define RIGHT_EDGE (595.0 - 50.0 + 0.5) /* page width - margin, half a point for rounding */

/* Render result (JSON text) with an order to tmp/r.pdf. */
static const char *render(const char *result)
{
	struct np_err err = {0};
	json_t *r = json_loads(result, 0, NULL),
	       *o = json_pack("{s:s,s:s,s:i}", "order_id", "O-1", "created_at", "2026-11-20T10:00:00Z", "files", 12);
	assert_non_null(r);
	const char *pdf = at("r.pdf");
	assert_int_equal(np_pdfreport_pdf(r, o, NULL, pdf, &err), 0);
	json_decref(r);
	json_decref(o);
	return pdf;
}

/* The widest word's right edge in the PDF, the page width, and the number
 * of words, read from pdftotext -bbox. */
static void boxes(const char *pdf, double *xmax, double *page_w, int *words)
{
	char cmd[1200], line[4096];
	snprintf(cmd, sizeof cmd, "pdftotext -bbox '%s' - 2>/dev/null", pdf);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	*xmax = 0, *page_w = 0, *words = 0;
	while (fgets(line, sizeof line, p)) {
		const char *w = strstr(line, "<page width=\"");
		if (w)
			*page_w = strtod(w + 13, NULL);
		const char *x = strstr(line, "xMax=\"");
		if (strstr(line, "<word ") && x) {
			double v = strtod(x + 6, NULL);
			if (v > *xmax)
				*xmax = v;
			(*words)++;
		}
	}
	assert_int_equal(pclose(p), 0);
}

/* pdftotext -layout text with every run of white space made one space. */
static char *layout_text(const char *pdf)
{
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "pdftotext -layout '%s' - 2>/dev/null", pdf);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t cap = 1 << 16, n = 0;
	char *s = malloc(cap);
	assert_non_null(s);
	int c, sp = 0;
	while ((c = fgetc(p)) != EOF && n + 2 < cap) {
		if (c == ' ' || c == '\n' || c == '\t' || c == '\f' || c == '\r') {
			sp = 1;
			continue;
		}
		if (sp && n)
			s[n++] = ' ';
		sp = 0;
		s[n++] = (char)c;
	}
	s[n] = 0;
	pclose(p);
	return s;
}

static void inside(const char *pdf)
{
	double xmax, pw;
	int words;
	boxes(pdf, &xmax, &pw, &words);
	assert_true(words > 20);
	assert_true(pw > 594 && pw < 596);
	if (xmax > RIGHT_EDGE)
		fail_msg("a word ends at x=%.1f, past the right margin (%.1f)", xmax, RIGHT_EDGE);
}

static void closing_sentence_inside_page(void **state)
{
	(void)state;
	const char *pdf = render("{\"results\": {\"Atypical\": 0.8, \"PSPvsMSAp\": 0.2, \"FWpSN\": 0.3}}");
	inside(pdf);
	char *t = layout_text(pdf);
	assert_non_null(strstr(t, "Patient management decisions should not be made solely on the basis of "
				  "analysis by neuropacs\u2122."));
	assert_non_null(strstr(t, "neuropacs-agent from the JSON result because the cloud protocol in use offers "
				  "no PDF."));
	free(t);
}

static void long_notice_wraps(void **state)
{
	(void)state;
	const char *pdf = render(
	    "{\"notice\": \"DEMO ONLY: this result was made up by the neuropacs demo stand-in from random numbers, "
	    "it says nothing about any patient and must never be used for any decision whatsoever.\", "
	    "\"results\": {\"Atypical\": 0.2}}");
	inside(pdf);
	char *t = layout_text(pdf);
	assert_non_null(strstr(t, "it says nothing about any patient and must never be used for any decision "
				  "whatsoever."));
	free(t);
}

static void long_word_is_cut(void **state)
{
	(void)state;
	char r[600], word[201];
	memset(word, 'W', 200);
	word[200] = 0;
	snprintf(r, sizeof r, "{\"notice\": \"%s\", \"results\": {\"Atypical\": 0.2}}", word);
	inside(render(r));
}

int main(void)
{
	if (system("pdftotext -v >/dev/null 2>&1") != 0) {
		printf("1..0 # SKIP pdftotext is not installed\n");
		return 0;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(closing_sentence_inside_page, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(long_notice_wraps, tmp_setup, tmp_teardown),
	    cmocka_unit_test_setup_teardown(long_word_is_cut, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
