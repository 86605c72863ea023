// SPDX-License-Identifier: Apache-2.0
/* The one table of np-httpd's routes and the minimum role of each. A route
 * missing here does not exist. make generates the OpenAPI document's
 * operations and roles from this table (share/openapi/gen.py, which fails
 * the build on a route without a description in share/openapi/paths.json). */
#include "np_httpd_int.h"

#define H(name) int name(struct np_req *r)
H(np__h_health);
H(np__h_api_health);
H(np__h_status);
H(np__h_metrics);
H(np__h_openapi);
H(np__h_conformance);
H(np__h_api_docs);
H(np__h_studies);
H(np__h_study_info);
H(np__h_study_qc);
H(np__h_bypass_qc);
H(np__h_force_stable);
H(np__h_study_cancel);
H(np__h_study_retry);
H(np__h_study_delete);
H(np__h_study_check_status);
H(np__h_study_group);
H(np__h_results);
H(np__h_result_get);
H(np__h_reports);
H(np__h_result_resend);
H(np__h_groups);
H(np__h_group_get);
H(np__h_group_create);
H(np__h_group_delete);
H(np__h_group_report);
H(np__h_group_report_send);
H(np__h_sidecar_template);
H(np__h_upload);
H(np__h_upload_status);
H(np__h_logs);
H(np__h_log_services);
H(np__h_logs_stream);
H(np__h_logs_download);
H(np__h_settings_get);
H(np__h_settings_put);
H(np__h_settings_schema);
H(np__h_settings_cron);
H(np__h_test_delivery);
H(np__h_test_notification);
H(np__h_test_atna);
H(np__h_refresh_token);
H(np__h_updates);
H(np__h_tls_get);
H(np__h_tls_upload);
H(np__h_audit);
H(np__h_login);
H(np__h_logout);
H(np__h_session);
H(np__h_saml_metadata);
H(np__h_saml_login);
H(np__h_saml_acs);
H(np__h_saml_fetch);
H(np__h_saml_slo);
#undef H

#define PUB NP_ROLE_PUBLIC
#define USR NP_ROLE_USER
#define ADM NP_ROLE_ADMIN

const struct np_route np_httpd_routes[] = {
    /* health */
    {"GET", "/health", PUB, np__h_health},
    {"GET", "/api/health", PUB, np__h_api_health},
    {"GET", "/api/status", USR, np__h_status},
    {"GET", "/metrics", PUB, np__h_metrics},
    {"GET", "/api/openapi.json", PUB, np__h_openapi},
    {"GET", "/api/conformance", PUB, np__h_conformance},
    {"GET", "/api-docs", PUB, np__h_api_docs},
    /* authentication */
    {"POST", "/api/auth/login", PUB, np__h_login},
    {"POST", "/api/auth/logout", USR, np__h_logout},
    {"GET", "/api/auth/session", PUB, np__h_session},
    {"GET", "/api/saml/metadata", PUB, np__h_saml_metadata},
    {"GET", "/api/saml/login", PUB, np__h_saml_login},
    {"POST", "/api/saml/acs", PUB, np__h_saml_acs},
    {"GET", "/api/saml/slo", PUB, np__h_saml_slo},
    {"POST", "/api/saml/fetch-metadata", ADM, np__h_saml_fetch},
    /* studies */
    {"GET", "/api/studies", USR, np__h_studies},
    {"GET", "/api/study-info/{}", USR, np__h_study_info},
    {"GET", "/api/studies/{}/qc", USR, np__h_study_qc},
    {"GET", "/api/studies/{}/status", USR, np__h_study_check_status},
    {"POST", "/api/studies/{}/cancel", USR, np__h_study_cancel},
    {"POST", "/api/studies/{}/retry", USR, np__h_study_retry},
    {"DELETE", "/api/studies/{}", ADM, np__h_study_delete},
    {"PUT", "/api/studies/{}/group", USR, np__h_study_group},
    {"PUT", "/api/bypass-qc", ADM, np__h_bypass_qc},
    {"PUT", "/api/force-stable", USR, np__h_force_stable},
    /* results */
    {"GET", "/api/results", USR, np__h_results},
    {"GET", "/api/results/{}", USR, np__h_result_get},
    {"POST", "/api/results/{}/resend", ADM, np__h_result_resend},
    {"GET", "/api/reports", USR, np__h_reports},
    /* groups */
    {"GET", "/api/groups", USR, np__h_groups},
    {"POST", "/api/groups", USR, np__h_group_create},
    {"GET", "/api/groups/{}", USR, np__h_group_get},
    {"DELETE", "/api/groups/{}", ADM, np__h_group_delete},
    {"GET", "/api/groups/{}/report", USR, np__h_group_report},
    {"POST", "/api/groups/{}/report/send", ADM, np__h_group_report_send},
    /* uploads */
    {"POST", "/api/uploads", USR, np__h_upload},
    {"GET", "/api/uploads/sidecar-template", USR, np__h_sidecar_template},
    {"GET", "/api/uploads/{}", USR, np__h_upload_status},
    /* logs and audit */
    {"GET", "/api/logs", USR, np__h_logs},
    {"GET", "/api/logs/services", USR, np__h_log_services},
    {"GET", "/api/logs/stream", USR, np__h_logs_stream},
    {"GET", "/api/logs/download", USR, np__h_logs_download},
    {"GET", "/api/audit", ADM, np__h_audit},
    /* settings and administration */
    {"GET", "/api/settings", ADM, np__h_settings_get},
    {"PUT", "/api/settings", ADM, np__h_settings_put},
    {"GET", "/api/settings/schema", USR, np__h_settings_schema},
    {"GET", "/api/settings/cron", ADM, np__h_settings_cron},
    {"POST", "/api/settings/test-delivery", ADM, np__h_test_delivery},
    {"POST", "/api/settings/test-notification", ADM, np__h_test_notification},
    {"POST", "/api/settings/test-atna", ADM, np__h_test_atna},
    {"POST", "/api/cloud/refresh-token", ADM, np__h_refresh_token},
    {"GET", "/api/updates", ADM, np__h_updates},
    {"GET", "/api/tls/certificate", ADM, np__h_tls_get},
    {"POST", "/api/tls/certificate", ADM, np__h_tls_upload},
};
const size_t np_httpd_nroutes = sizeof np_httpd_routes / sizeof np_httpd_routes[0];
