#!/bin/sh
# Creates, in directory $1, what the network tests need: a throw-away test CA
# (ca.pem), a server certificate it signed for 127.0.0.1 and localhost
# (server.pem, server.key), and an RSA key pair for HTTP Signatures in the PKCS#1
# form Ruby's OpenSSL writes, as Mastodon stores it (sig_key.pem, sig_pub.pem).
set -eu
dir=$1
cd "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
  -subj "/CN=scotty test CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
  -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
  -days 2 -extfile server.ext 2>/dev/null
openssl genrsa -traditional -out sig_key.pem 2048 2>/dev/null
openssl rsa -in sig_key.pem -pubout -out sig_pub.pem 2>/dev/null
