/* SPDX-License-Identifier: Apache-2.0 */
/* np_validate: the checks behind the settings schema's "format" keyword, so
 * that a value a service would refuse (or silently mangle) later is refused
 * when it is saved, with a reason an admin can act on. Each check writes a
 * short reason without quoting the value ("contains a backslash") into why
 * and returns -1, or returns 0. The empty string passes every check but
 * cron and the service password: an empty setting means "not set" and minLength says when it is
 * required. */
#ifndef NP_VALIDATE_H
#define NP_VALIDATE_H

#include <jansson.h>
#include <stddef.h>

struct np_err;

/* A DICOM AE title: at most 16 characters of the default repertoire (ASCII
 * without backslash and control characters), not only spaces. */
int np_valid_ae_title(const char *s, char *why, size_t whysz);
/* One address "local@domain" (addr-spec without quoting or comments). */
int np_valid_email(const char *s, char *why, size_t whysz);
/* Addresses separated by "," or ";" as e-mail delivery splits them; blanks
 * around each are ignored, an empty item is not an error. */
int np_valid_email_list(const char *s, char *why, size_t whysz);
/* An absolute http:// or https:// URL with a host, an optional port 1-65535,
 * no user:password@ (credentials go in a secret) and no spaces or control
 * characters. */
int np_valid_http_url(const char *s, char *why, size_t whysz);
/* The same without a trailing slash (a base that paths are added to). */
int np_valid_http_base_url(const char *s, char *why, size_t whysz);
/* The service password rules (np_password_check; the reason names the rule
 * broken, never the password). Unlike the others, "" is refused. */
int np_valid_service_password(const char *s, char *why, size_t whysz);
/* A 5-field cron expression (or @hourly, @daily, ...) np_cron_parse
 * accepts and that fires at some time ("0 0 31 2 *" never does). */
int np_valid_cron(const char *s, char *why, size_t whysz);

/* The check named by a schema format ("ae-title", "email", "email-list",
 * "http-url", "http-base-url", "service-password", "cron"): its result, or 0 for a format this build does not
 * check (as JSON Schema treats unknown formats). */
int np_valid_format(const char *format, const char *s, char *why, size_t whysz);

/* The rules between settings that no single field's format can say, on the
 * whole settings (merged over the defaults), before the schema is checked:
 * a destination (delivery.destinations.N, failure_delivery,
 * groups.delivery) has what its type needs (rest: url without
 * user:password@; email: recipients; dicom_pdf/dicom_sr: host, ae_title and
 * a port), notifications by e-mail have recipients and by webhook a
 * webhook_url without user:password@, smtp.from is set when e-mail is sent
 * or an SMTP host is set, retry.initial_seconds <= retry.max_seconds.
 * Returns 0, or -1 with a permanent err "dotted.key: reason". */
int np_valid_settings(json_t *settings, struct np_err *err);

#endif
