#!/bin/sh
# PUT /api/settings refuses a value that a service would refuse or mangle
# later: 400 {"error":{"code":"invalid_settings","key":<dotted path of the
# field>,"message":"<key>: <rule in words>"}}, and nothing is saved. The
# Settings page shows that message and puts the focus on the field named by
# the key. AE titles are never cut to 16 characters. A destination without
# what its type needs, notifications without an address, no sender when mail
# is sent, a cron expression that never fires, a first retry delay over the
# longest and user:password@ in a URL are refused too; cron shorthands
# (@hourly, @daily, ...) are accepted.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/httpd.sh"
plan 96
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

# Rules between fields.
refused '{"delivery":{"destinations":[{"type":"rest","name":"r"}]}}' delivery.destinations.0.url \
	"required for a REST destination (the http:// or https:// address that receives the report)" "a REST destination without url"
refused '{"delivery":{"destinations":[{"type":"none"},{"type":"email","name":"m"}]}}' delivery.destinations.1.recipients \
	"required for an e-mail destination (name@domain, several separated by commas)" "an e-mail destination without recipients"
refused '{"failure_delivery":{"type":"dicom_pdf","ae_title":"PACS"}}' failure_delivery.host \
	"required for a DICOM destination (host name or address of the PACS)" "a DICOM destination without host"
refused '{"delivery":{"destinations":[{"type":"dicom_sr","host":"pacs","port":104}]}}' delivery.destinations.0.ae_title \
	"required for a DICOM destination (the called AE title of the PACS)" "a DICOM destination without AE title"
refused '{"notifications":{"method":"email","recipients":""}}' notifications.recipients \
	'required when notifications.method is "email" (name@domain, several separated by commas)' "e-mail notifications without recipients"
refused '{"notifications":{"method":"webhook","webhook_url":""}}' notifications.webhook_url \
	'required when notifications.method is "webhook"' "webhook notifications without webhook_url"
refused '{"smtp":{"from":""},"delivery":{"destinations":[{"type":"email","recipients":"ris@example.test"}]}}' smtp.from \
	"required when e-mail is sent (an e-mail destination, e-mail notifications or an SMTP host): the sender address, name@domain" \
	"an empty sender while an e-mail destination is on"
refused '{"smtp":{"host":"mail.example.test","from":""}}' smtp.from \
	"required when e-mail is sent (an e-mail destination, e-mail notifications or an SMTP host): the sender address, name@domain" \
	"an empty sender with an SMTP host"
refused '{"scheduler":{"retention_cron":"0 0 31 2 *"}}' scheduler.retention_cron \
	"it never fires: the days it names do not occur in the months it names" "a cron expression that never fires (31 February)"
refused '{"scheduler":{"metrics_cron":"@reboot"}}' scheduler.metrics_cron \
	'unknown cron shorthand "@reboot" (use @hourly, @daily, @weekly, @monthly, @yearly or 5 fields: minute hour day month weekday)' "@reboot"
refused '{"retry":{"initial_seconds":7200,"max_seconds":3600}}' retry.initial_seconds \
	"at most retry.max_seconds (got 7200, longest delay 3600): the first delay doubles up to the longest" "a first retry delay over the longest"
refused '{"delivery":{"destinations":[{"type":"rest","url":"https://ris:Pw-S3cret@ris.example.test/in"}]}}' delivery.destinations.0.url \
	'no user name or password in the URL (it would be stored and logged in clear): set auth to "basic" with username and password (kept as a secret), or "bearer" with the token as password' \
	"a REST URL with user:password@"
refused '{"notifications":{"method":"webhook","webhook_url":"http://hook:Pw-S3cret@hooks.example.test/n"}}' notifications.webhook_url \
	'no user name or password in the URL (it would be stored and logged in clear): set webhook_auth to "basic" with webhook_username and webhook_password (kept as a secret)' \
	"a webhook URL with user:password@"
refused '{"http":{"release_feed_url":"https://u:Pw-S3cret@releases.example.test/feed"}}' http.release_feed_url \
	"a URL cannot hold a user name or password (user:password@): use the setting's authentication fields, whose password is kept as a secret" \
	"any other URL with user:password@"
nok "no refused password is saved or echoed" grep -rq 'S3cret' "$NP_HOME/etc/neuropacs.json" "$T/body"
is "$(put '{"scheduler":{"retention_cron":"@daily","metrics_cron":"@hourly"},"groups":{"schedule_cron":"@weekly"}}')" 200 \
	"cron shorthands are saved"
is "$(jq -r '[.scheduler.retention_cron, .scheduler.metrics_cron] | join(" ")' "$NP_HOME/etc/neuropacs.json")" "@daily @hourly" "... as written"
is "$(put '{"smtp":{"from":"agent@example.test","host":"mail.example.test"},"notifications":{"method":"email","recipients":"ops@example.test"},"delivery":{"destinations":[{"type":"rest","url":"https://ris.example.test/in","auth":"basic","username":"ris","password":"Pw-S3cret"},{"type":"dicom_pdf","host":"pacs","ae_title":"PACS"}]},"retry":{"initial_seconds":60,"max_seconds":60}}')" 200 \
	"complete destinations, notifications with recipients and a sender are saved"
is "$(put '{"notifications":{"method":"none","recipients":""}}')" 200 "no notifications need no recipients"

# A program the back-end runs (local processing) is not set from the web:
# an admin session, or np-httpd taken over, would be a shell on the host.
# The limits of the guide's Local Processing page stay editable.
is "$(put '{"local_processing":{"command":"sh -c id"}}')" 400 "local_processing.command cannot be set through the API"
is "$(jq -r .error.key "$T/body")" local_processing.command "... the refusal names the setting"
grep -q 'set on the host with np-config' "$T/body"
ok "... and says where it is set" test $? = 0
is "$(put '{"local_processing":{"runner":"docker","image":"evil/image"}}')" 400 "nor the runner or the image"
echo '{"local_processing":{"command":"/opt/site/preprocess"}}' | "$BIN/np-config" merge
is "$(put '{"local_processing":{"command":"/opt/site/preprocess","memory_gb":4}}')" 200 \
	"np-config sets it on the host; the page may send it back unchanged with a new limit"
is "$(jq -r '"\(.local_processing.command) \(.local_processing.memory_gb)"' "$NP_HOME/etc/neuropacs.json")" \
	"/opt/site/preprocess 4" "a change made on the host is not written over by the next save from the page"
