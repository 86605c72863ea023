/* SPDX-License-Identifier: Apache-2.0 */
/* np_csv: one cell of every CSV the agent writes (audit, logs, group
 * reports), so that no file opened in a spreadsheet runs a formula.
 * A cell is written as RFC 4180 asks: quoted when it holds a quote, a comma,
 * CR or LF, quotes doubled. Text that starts with = + - @ TAB CR or LF, which
 * Excel and LibreOffice read as a formula ("CSV injection", OWASP), gets a
 * leading single quote and is always quoted: "'=HYPERLINK(...)". A plain
 * decimal number (-0.5, 12, 1e-3) is left as it is, so negative values stay
 * numbers. */
#ifndef NP_CSV_H
#define NP_CSV_H

#include <stdio.h>

/* Write s (NULL: an empty cell) as one cell to f, without a separator.
 * Returns 0, or EOF on a write error. */
int np_csv_cell(FILE *f, const char *s);

/* 1 if a spreadsheet would take s as a formula (what np_csv_cell defuses). */
int np_csv_formula(const char *s);

#endif
