#!/bin/sh
# Make a throw-away test PKI: CA, server cert (CN/SAN localhost,127.0.0.1), client cert,
# peer cert (serverAuth+clientAuth EKU, for Orthanc), rogue self-signed cert (negative tests).
# Usage: mkpki.sh DIR      -> DIR/{ca,server,client}.{key,crt}  (unencrypted PEM keys)
set -eu
D=${1:-pki}; mkdir -p "$D"; cd "$D"
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Test CA" \
  -keyout ca.key -out ca.crt -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
for n in server client peer; do
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$( [ $n = server ] && echo localhost || echo test-client )" \
    -keyout $n.key -out $n.csr 2>/dev/null
  if [ $n = server ]; then
    printf "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n" > $n.ext
  elif [ $n = peer ]; then  # both roles, e.g. Orthanc uses ONE cert as TLS SCP and SCU
    printf "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n" > $n.ext
  else
    printf "extendedKeyUsage=clientAuth\n" > $n.ext
  fi
  openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 \
    -extfile $n.ext -out $n.crt 2>/dev/null
  rm -f $n.csr $n.ext
done
# an untrusted client (self-signed) for negative mTLS tests
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=rogue" -keyout rogue.key -out rogue.crt 2>/dev/null

