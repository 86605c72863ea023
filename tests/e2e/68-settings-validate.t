#!/bin/sh
# PUT /api/settings refuses a value that a service would refuse or mangle
# later: 400 {"error":{"code":"invalid_settings","key":<dotted path of the
# field>,"message":"<key>: <rule in words>"}}, and nothing is saved. The
# Settings page shows that message and puts the focus on the field named by
# the key. AE titles are never cut to 16 characters.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
plan 43
mkdir -p "$NP_HOME/etc"
start_httpd --insecure-no-auth
J='Content-Type: application/json'
put() { req PUT /api/settings -H "$J" -d "$1"; }
# refused JSON KEY MESSAGE WHAT: three checks
refused() {
	is "$(put "$1")" 400 "$4 is refused"
	is "$(jget "$T/body" error.key)" "$2" "... key $2"
	is "$(jget "$T/body" error.message)" "$2: $3" "... \"$3\""
}
refused '{"dicom":{"ae_title":"NEUROPACS_SCP_017"}}' dicom.ae_title "at most 16 characters (got 17)" "a 17-character AE title"
is "$(jq -r '.dicom.ae_title // "unset"' "$NP_HOME/etc/neuropacs.json" 2>/dev/null || echo unset)" unset "... nothing was saved"
is "$(put '{"dicom":{"ae_title":"NEUROPACS_SCP_16"}}')" 200 "a 16-character AE title is saved"
is "$(jq -r .dicom.ae_title "$NP_HOME/etc/neuropacs.json")" NEUROPACS_SCP_16 "... whole"
refused '{"dicom":{"ae_title":"STORE\\\\SCP"}}' dicom.ae_title "an AE title cannot contain a backslash" "an AE title with a backslash"
refused '{"delivery":{"destinations":[{"type":"dicom_pdf","host":"pacs","ae_title":"PACS_ARCHIVE_MAIN1"}]}}' \
	delivery.destinations.0.ae_title "at most 16 characters (got 18)" "a long destination AE title"
refused '{"delivery":{"destinations":[{"type":"none"},{"type":"dicom_sr","host":"pacs","ae_title":"PACS","calling_ae_title":"   "}]}}' \
	delivery.destinations.1.calling_ae_title "an AE title cannot be only spaces" "a calling AE title of spaces"
refused '{"delivery":{"destinations":[{"type":"rest","url":"ftp://ris.example.test/in"}]}}' \
	delivery.destinations.0.url "only http:// and https:// URLs are allowed" "an ftp:// REST URL"
refused '{"failure_delivery":{"type":"rest","url":"https://"}}' failure_delivery.url "the URL has no host" "a REST URL without host"
refused '{"delivery":{"destinations":[{"type":"email","recipients":"ops@example.test, radiology"}]}}' \
	delivery.destinations.0.recipients 'address 2 "radiology": an e-mail address has the form name@domain (no @)' "a recipient without @"
refused '{"notifications":{"method":"email","recipients":"ops @example.test"}}' notifications.recipients \
	'address 1 "ops @example.test": an e-mail address cannot contain spaces' "a notification recipient with a space"
refused '{"smtp":{"from":"agent@"}}' smtp.from "the part after the @ is not a domain name" "a sender without domain"
refused '{"dicom":{"port":0}}' dicom.port "must be from 1 to 65535 (got 0)" "port 0"
refused '{"http":{"port":70000}}' http.port "must be from 1 to 65535 (got 70000)" "port 70000"
refused '{"smtp":{"port":"25"}}' smtp.port "must be a whole number (got text)" "a port as text"
refused '{"scheduler":{"retention_cron":"61 * * * *"}}' scheduler.retention_cron 'invalid cron minute field "61"' "cron minute 61"
is "$(put '{"delivery":{"destinations":[{"type":"rest","url":"https://ris.example.test:8443/in"}]},"notifications":{"recipients":"a@example.test; b@example.test"},"scheduler":{"poll_cron":"0 */2 * * 1-5"}}')" 200 "valid values are saved"
