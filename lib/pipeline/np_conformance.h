/* SPDX-License-Identifier: Apache-2.0 */
/* np_conformance: the DICOM Conformance Statement (PS3.2, Annex A layout)
 * of np-recv (Storage SCP) and np-deliver (Storage SCU), written from the
 * tables the code runs on, so that it cannot drift from them: the Storage
 * SOP Classes (np_sopclass), the transfer syntaxes (np_ts), the upper layer
 * identity (np_ul.h), the shipped defaults (etc/neuropacs.json, embedded),
 * the C-STORE statuses (np_recv_statuses), the TLS profiles (np_tls_policy,
 * with the suites OpenSSL enables for each) and the de-identification codes
 * (np_deid_codes). bin/np-conformance prints it; make builds
 * np-conformance(7) and share/doc/np-conformance.html with it, np-httpd
 * serves it at GET /api/conformance, and e2e 19-conformance reads the JSON
 * form to check every claim against DCMTK. */
#ifndef NP_CONFORMANCE_H
#define NP_CONFORMANCE_H

#include <stdio.h>

enum np_conf_format {
	NP_CONF_MDOC, /* mdoc(7) manual page, section 7 */
	NP_CONF_HTML, /* a standalone HTML page (no script, inline style) */
	NP_CONF_JSON, /* the facts only, for tests and tools */
};

/* Write the statement to out. Returns 0, or -1 when writing failed. */
int np_conformance_write(FILE *out, enum np_conf_format fmt);

#endif
