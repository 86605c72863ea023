/* SPDX-License-Identifier: Apache-2.0 */
/* np_recv_tls_check: whether np-recv could use the DICOM TLS files a
 * settings save names, checked by np-httpd before it saves them. Under the
 * privilege split (np-privileges.sh) np-recv runs as a user of its own,
 * which cannot read what np-httpd can (the HTTPS key the Settings page
 * uploads, 0600): a save that answered "reloaded" would leave np-recv on
 * its old listener and, at its next start, exiting in a loop. */
#ifndef NP_RECV_TLS_CHECK_H
#define NP_RECV_TLS_CHECK_H

struct np_config;
struct np_err;

/* 0 when dicom.tls is off, or when np-recv's user can read cert_file,
 * key_file and ca_file (relative names are under cfg's home, as np-recv
 * reads them: np_recv_cfg_from) and they make a
 * server context np-recv would load; else -1 with a permanent err that
 * names the setting and says what to do. np-recv's identity comes from
 * as_recv (np-privileges.sh's NP_AS_RECV: setpriv --reuid= --regid=
 * [--groups=]); NULL or "" is no split: np-recv runs as the caller. */
int np_recv_tls_check(const struct np_config *cfg, const char *as_recv, struct np_err *err);

#endif
