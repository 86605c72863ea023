#!/bin/sh
# mkpki.sh DIR: a throw-away test PKI (ECDSA P-256, 2 days).
#   ca.crt/ca.key      the test CA
#   server.crt/.key    SAN localhost + 127.0.0.1, serverAuth + clientAuth (one cert for
#                      peers that are both SCP and SCU, e.g. Orthanc)
#   client.crt/.key    clientAuth, for mutual TLS
#   rogue.crt/.key     self-signed, trusted by nobody
set -eu
d=$1
mkdir -p "$d"
cd "$d"
q() { openssl "$@" >/dev/null 2>&1; }
q req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=np-test-ca" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
for n in server client; do
	if [ $n = server ]; then
		ext="subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth,clientAuth"
	else
		ext="extendedKeyUsage=clientAuth"
	fi
	printf '%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n' "$ext" > $n.ext
	q req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $n.key -out $n.csr -subj "/CN=np-test-$n"
	q x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out $n.crt -extfile $n.ext
	rm -f $n.csr $n.ext
done
chmod 600 ./*.key
# rogue.crt/.key: self-signed, trusted by nobody (negative mutual-TLS tests)
q req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout rogue.key -out rogue.crt -days 2 -subj "/CN=np-test-rogue"
chmod 600 ./*.key
