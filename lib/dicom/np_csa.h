/* SPDX-License-Identifier: Apache-2.0 */
/* np_csa: the Siemens CSA headers, private elements (0029,xx10) "image" and
 * (0029,xx20) "series" under the creator "SIEMENS CSA HEADER".
 *
 * A CSA header is a list of named elements, each with a VR, a VM and items of
 * text. Siemens leaves stale memory in the padding of names and values (the
 * Station Name, fragments of the protocol name), and the series header holds
 * the whole scan protocol, with its name, file paths and UIDs. So a header is
 * never kept byte for byte: np_csa_filter rebuilds it from an allow-list of
 * the elements that diffusion and geometry readers (dcm2niix, nibabel, dipy)
 * use, writes every padding byte as zero, and keeps an element only when all
 * its values are numbers (or one of a few fixed words).
 *
 * Both formats are read and written: CSA2 ("SV10" first) and the older CSA1.
 * All numbers are little-endian. The output has the format of the input. */
#ifndef NP_CSA_H
#define NP_CSA_H

#include <stddef.h>

/* Rebuild the CSA header in[0,len), image or series alike, keeping only the
 * allow-listed elements whose values pass their check (lib/dicom/np_csa.c lists
 * them and says why each is there). MrPhoenixProtocol, in the series header,
 * is rebuilt as an ASCCONV block of allow-listed numeric keys only: it holds
 * no quoted string and nothing of the XProtocol text.
 *
 * Returns 1 and sets *out (malloc'd, the caller frees it) and *outlen (a
 * multiple of 4, so an even DICOM value length) when something is kept; 0
 * when nothing is left (the caller drops the element); -1 when in does not
 * parse, or memory ran out (errno ENOMEM): the caller drops the element and
 * may log *why (NUL-terminated, at most whysz bytes, never a value of the
 * input). *out is NULL unless 1 is returned. Rebuilding a rebuilt header
 * gives the same bytes. */
int np_csa_filter(const unsigned char *in, size_t len, unsigned char **out, size_t *outlen, char *why, size_t whysz);

/* Read the numeric element name (e.g. "B_value", "DiffusionGradientDirection")
 * of the CSA header in[0,len) into v[0..max). Returns the number of values
 * stored (at most max), 0 when the element is absent or has no values, -1
 * when the header does not parse or a value is not a number. */
int np_csa_get(const unsigned char *in, size_t len, const char *name, double *v, int max);

#endif
