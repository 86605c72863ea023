// SPDX-License-Identifier: Apache-2.0
/* GET /api/openapi.json: the OpenAPI document that make generates from the
 * route table, the settings schema and the study columns
 * (share/openapi/gen.py), embedded at build time, so that the document served
 * is the one built with this np-httpd, whatever share directory it runs with. */
#include "np_httpd_int.h"

extern const unsigned char np_openapi_doc[];
extern const unsigned int np_openapi_doc_len;

int np__h_openapi(struct np_req *r)
{
	return np__reply_bytes(r, 200, "application/json", np_openapi_doc, np_openapi_doc_len,
			       "Cache-Control: no-cache\r\n");
}
