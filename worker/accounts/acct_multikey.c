/* acct_multikey.c -- multibase ('z' base58btc, 'u' base64url) and FEP-521a keys: a
 * Multikey's publicKeyMultibase (multibase, then a multicodec varint tag) as the PEM and keypairs
 * type Mastodon stores (its Multibase.decode_key_to_pem): rsa-pub (0x1205, a DER RSA
 * key, written as SubjectPublicKeyInfo PEM), ed25519-pub (0xed, 32 bytes) and
 * mldsa-44-pub (0x1210, 1312 bytes), the last two as SubjectPublicKeyInfo DER built
 * from their fixed header. */
#include "acct_parse.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCT_MULTIBASE_MAX 4096   /* encoded characters; an ML-DSA-44 key is about 1,800 */

/* Base58 with Bitcoin's alphabet into out (at most *len bytes); false if a character
 * is outside the alphabet or the value does not fit. */
static bool acct_base58_decode(const char *s, unsigned char *out, size_t *len)
{
    static const char alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    size_t cap = *len, used = 0, zeros = 0;
    while (s[zeros] == '1')
        zeros++;
    /* big-endian digits in out[cap - used .. cap) */
    for (const char *p = s + zeros; *p; p++) {
        const char *d = strchr(alphabet, *p);
        if (!d)
            return false;
        unsigned carry = (unsigned)(d - alphabet);
        for (size_t i = 0; i < used; i++) {
            carry += 58u * out[cap - 1 - i];
            out[cap - 1 - i] = (unsigned char)(carry & 0xff);
            carry >>= 8;
        }
        while (carry) {
            if (used == cap)
                return false;
            out[cap - 1 - used++] = (unsigned char)(carry & 0xff);
            carry >>= 8;
        }
    }
    if (zeros + used > cap)
        return false;
    memmove(out + zeros, out + cap - used, used);
    memset(out, 0, zeros);
    *len = zeros + used;
    return true;
}

/* Base64url, padded or not (Ruby's urlsafe_decode64), into out; false if malformed. */
static bool acct_base64url_decode(const char *s, unsigned char *out, size_t *len)
{
    size_t n = strlen(s);
    while (n && s[n - 1] == '=')
        n--;
    if (n % 4 == 1 || (n + 3) / 4 * 3 > *len)
        return false;
    char *std = malloc(n + 4);
    if (!std)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+' || c == '/' || c == '=')
            c = '!'; /* not in the URL-safe alphabet: rejected below */
        std[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    size_t padded = n;
    while (padded % 4)
        std[padded++] = '=';
    std[padded] = '\0';
    int got = EVP_DecodeBlock(out, (const unsigned char *)std, (int)padded);
    free(std);
    if (got < 0)
        return false;
    *len = (size_t)got - (padded - n); /* EVP_DecodeBlock counts the padding as zero bytes */
    return true;
}

bool acct_multibase_decode(const char *s, unsigned char *out, size_t *len)
{
    return s && (s[0] == 'z' ? acct_base58_decode(s + 1, out, len)
                 : s[0] == 'u' ? acct_base64url_decode(s + 1, out, len)
                               : false);
}

/* DER SubjectPublicKeyInfo as "-----BEGIN PUBLIC KEY-----" PEM, 64 columns. */
static char *acct_spki_pem(const unsigned char *der, size_t len)
{
    size_t b64 = 4 * ((len + 2) / 3), lines = (b64 + 63) / 64;
    static const char head[] = "-----BEGIN PUBLIC KEY-----\n", tail[] = "-----END PUBLIC KEY-----\n";
    char *pem = malloc(sizeof head + b64 + lines + sizeof tail);
    unsigned char *enc = malloc(b64 + 1);
    if (!pem || !enc) {
        free(pem);
        free(enc);
        return NULL;
    }
    EVP_EncodeBlock(enc, der, (int)len);
    char *w = pem + sprintf(pem, "%s", head);
    for (size_t i = 0; i < b64; i += 64) {
        size_t k = b64 - i < 64 ? b64 - i : 64;
        memcpy(w, enc + i, k);
        w += k;
        *w++ = '\n';
    }
    strcpy(w, tail);
    free(enc);
    return pem;
}

/* An RSA public key in DER (SubjectPublicKeyInfo or PKCS#1) as OpenSSL writes its PEM. */
static char *acct_rsa_pem(const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)len);
    if (!k) {
        p = der;
        k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
    }
    if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
        EVP_PKEY_free(k);
        return NULL;
    }
    BIO *b = BIO_new(BIO_s_mem());
    char *pem = NULL, *data;
    if (b && PEM_write_bio_PUBKEY(b, k)) {
        long n = BIO_get_mem_data(b, &data);
        pem = n > 0 ? strndup(data, (size_t)n) : NULL;
    }
    BIO_free(b);
    EVP_PKEY_free(k);
    return pem;
}

int acct_multikey_pem(const char *multibase, int *type, char **pem, char *err, size_t errlen)
{
    /* SubjectPublicKeyInfo headers of the two fixed-size key kinds */
    static const unsigned char ed25519_spki[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
    static const unsigned char mldsa44_spki[] = {0x30, 0x82, 0x05, 0x32, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48,
                                                 0x01, 0x65, 0x03, 0x04, 0x03, 0x11, 0x03, 0x82, 0x05, 0x21, 0x00};
    *pem = NULL;
    if (!multibase || strlen(multibase) > ACCT_MULTIBASE_MAX) {
        snprintf(err, errlen, "publicKeyMultibase is %s", multibase ? "too long" : "missing");
        return 1;
    }
    unsigned char raw[ACCT_MULTIBASE_MAX];
    size_t n = sizeof raw;
    if (!acct_multibase_decode(multibase, raw, &n)) {
        snprintf(err, errlen, "publicKeyMultibase is not base58btc ('z') or base64url ('u')");
        return 1;
    }
    const unsigned char *key = raw + 2;
    size_t klen = n >= 2 ? n - 2 : 0;
    unsigned char der[sizeof mldsa44_spki + 1312];
    if (n >= 2 && raw[0] == 0xed && raw[1] == 0x01) {
        if (klen != 32) {
            snprintf(err, errlen, "an ed25519-pub multikey of %zu bytes, not 32", klen);
            return 1;
        }
        memcpy(der, ed25519_spki, sizeof ed25519_spki);
        memcpy(der + sizeof ed25519_spki, key, klen);
        *type = 1;
        *pem = acct_spki_pem(der, sizeof ed25519_spki + klen);
    } else if (n >= 2 && raw[0] == 0x90 && raw[1] == 0x24) {
        if (klen != 1312) {
            snprintf(err, errlen, "an mldsa-44-pub multikey of %zu bytes, not 1312", klen);
            return 1;
        }
        memcpy(der, mldsa44_spki, sizeof mldsa44_spki);
        memcpy(der + sizeof mldsa44_spki, key, klen);
        *type = 2;
        *pem = acct_spki_pem(der, sizeof mldsa44_spki + klen);
    } else if (n >= 2 && raw[0] == 0x85 && raw[1] == 0x24) {
        *type = 0;
        *pem = acct_rsa_pem(key, klen);
        if (!*pem) {
            snprintf(err, errlen, "an rsa-pub multikey that is no DER RSA public key");
            return 1;
        }
    } else {
        snprintf(err, errlen, "a multikey of an unknown or unsupported multicodec type");
        return 1;
    }
    if (!*pem) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    return 0;
}
