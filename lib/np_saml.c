// SPDX-License-Identifier: Apache-2.0
#include "np_httpd_int.h"

int np_h_saml_metadata(struct np_req *r) { return np__reply_not_impl(r, "SAML"); }
int np_h_saml_login(struct np_req *r) { return np__reply_not_impl(r, "SAML"); }
int np_h_saml_acs(struct np_req *r) { return np__reply_not_impl(r, "SAML"); }
int np_h_saml_fetch(struct np_req *r) { return np__reply_not_impl(r, "SAML"); }
