#!/bin/sh
# Cloud over HTTPS: the stand-in serves a certificate of a test CA; the agent
# trusts it only through cloud.ca_file (system store + that file).
. "$(dirname "$0")/../lib/tap.sh"
. "$NP_TOP/tests/peers/cloud.sh"
plan 6
cloud_mkca "$T/pki"
ok "test CA and server certificate made" test -s "$T/pki/srv.crt"
cloud_start "$T/cloud" --tls-cert "$T/pki/srv.crt" --tls-key "$T/pki/srv.key"
like "$CLOUD_URL" '^https://' "stand-in serves HTTPS"
U=2b2b2b2b-0000-4000-8000-000000000001
cloud_study $U
cloud_home v1
"$BIN/np-upload" "$STUDY" 2>"$T/no-ca.log"; rc=$?
is "$rc" 1 "without the CA the certificate is refused"
like "$(cat "$T/no-ca.log")" "certificate|SSL" "and the log says why"
U2=2b2b2b2b-0000-4000-8000-000000000002
cloud_clone $U2
CLOUD_EXTRA=",\"ca_file\":\"$T/pki/ca.crt\"" cloud_home v1
"$BIN/np-upload" "$STUDY" 2>"$T/ca.log"; rc=$?
is "$rc" 0 "with cloud.ca_file the upload succeeds over TLS"
cloud_ctl '{"steps": 1}'
"$BIN/np-poll" "$STUDY" 2>>"$T/ca.log"; rc=$?
is "$rc" 0 "and the results come back over TLS"
