#!/usr/bin/env ruby
# Encrypts a file the way Rails ActiveRecord Encryption stores a column
# (non-deterministic mode, derived-secret key provider), written from the scheme
# described in Rails' documentation and sources, without Rails:
#   key = PBKDF2-HMAC(primary_key, salt, 2**16, 32) with SHA-256 or SHA-1
#   clear text over 140 bytes is zlib-deflated and the "c" header set to true
#   AES-256-GCM, random 12-byte IV, empty associated data, 16-byte tag
#   {"p": b64(ciphertext), "h": {"iv": b64(iv), "at": b64(tag)[, "c": true]}}
# Usage: make_arenc_vector.rb PRIMARY_KEY SALT sha256|sha1 FILE
require 'openssl'
require 'zlib'
require 'json'
require 'base64'

primary_key, salt, digest, file = ARGV
clear = File.binread(file)
key = OpenSSL::KDF.pbkdf2_hmac(primary_key, salt: salt, iterations: 2**16, length: 32,
                               hash: OpenSSL::Digest.new(digest.upcase))
compressed = clear.bytesize > 140
clear = Zlib::Deflate.deflate(clear) if compressed

cipher = OpenSSL::Cipher.new('aes-256-gcm')
cipher.encrypt
cipher.key = key
iv = cipher.random_iv
cipher.auth_data = ''
payload = (clear.empty? ? '' : cipher.update(clear)) + cipher.final

headers = { 'iv' => Base64.strict_encode64(iv), 'at' => Base64.strict_encode64(cipher.auth_tag) }
headers['c'] = true if compressed
print JSON.dump({ 'p' => Base64.strict_encode64(payload), 'h' => headers })
