/* arenc.c -- decrypts columns written by Rails ActiveRecord Encryption
 * (non-deterministic mode, the default key provider), as Mastodon stores
 * keypairs.private_key.
 *
 * The scheme, from Rails' activerecord/lib/active_record/encryption:
 *   key   = PBKDF2-HMAC(primary_key, key_derivation_salt, 2^16 iterations, 32 bytes);
 *           the digest is SHA-256 under Rails >= 7.1 defaults and SHA-1 for data
 *           written under 7.0 defaults, so both are tried;
 *   text  = AES-256-GCM(key, iv = 12 random bytes, no associated data), tag 16 bytes;
 *           clear text over 140 bytes is zlib-deflated first;
 *   value = JSON {"p": b64(ciphertext), "h": {"iv": b64, "at": b64, "c": true if
 *           compressed, "e": b64(encoding name) if not UTF-8}}. */
#include "net.h"
#include "sig_internal.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define ARENC_ITERATIONS 65536
#define ARENC_KEY_LEN 32
#define ARENC_IV_LEN 12
#define ARENC_TAG_LEN 16
#define ARENC_MAX_PLAIN (1024 * 1024)  /* refuse to inflate past 1 MB */

struct arenc_keys {
    unsigned char sha256[ARENC_KEY_LEN];  /* immutable after arenc_keys_new */
    unsigned char sha1[ARENC_KEY_LEN];
};

arenc_keys *arenc_keys_new(const char *primary_key, const char *salt, char *err, size_t errlen)
{
    if (!primary_key || !*primary_key || !salt || !*salt) {
        snprintf(err, errlen,
                 "ActiveRecord encryption needs both ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY and "
                 "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT (copy them from Mastodon's .env.production)");
        return NULL;
    }
    arenc_keys *k = calloc(1, sizeof *k);
    if (!k) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (PKCS5_PBKDF2_HMAC(primary_key, (int)strlen(primary_key), (const unsigned char *)salt,
                          (int)strlen(salt), ARENC_ITERATIONS, EVP_sha256(), ARENC_KEY_LEN,
                          k->sha256) != 1 ||
        PKCS5_PBKDF2_HMAC(primary_key, (int)strlen(primary_key), (const unsigned char *)salt,
                          (int)strlen(salt), ARENC_ITERATIONS, EVP_sha1(), ARENC_KEY_LEN,
                          k->sha1) != 1) {
        sig_openssl_error("PBKDF2 key derivation failed", err, errlen);
        arenc_keys_free(k);
        return NULL;
    }
    return k;
}

arenc_keys *arenc_keys_from_env(char *err, size_t errlen)
{
    return arenc_keys_new(getenv("ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY"),
                          getenv("ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT"), err, errlen);
}

void arenc_keys_free(arenc_keys *k)
{
    if (!k)
        return;
    OPENSSL_cleanse(k, sizeof *k);
    free(k);
}

bool arenc_is_encrypted(const char *text)
{
    while (*text == ' ' || *text == '\n' || *text == '\t' || *text == '\r')
        text++;
    return text[0] == '{' && strstr(text, "\"p\"") != NULL;
}

/* Decodes the base64 string member name of obj. */
static unsigned char *arenc_field(json_t *obj, const char *name, size_t *len)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_string(v))
        return NULL;
    return sig_b64_decode(json_string_value(v), json_string_length(v), len);
}

/* 0 on success (tag verified), -1 if this key does not open the message. */
static int arenc_open(const unsigned char *key, const unsigned char *iv, const unsigned char *tag,
                      const unsigned char *ct, size_t ct_len, unsigned char *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    int ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, ARENC_IV_LEN, NULL) == 1 &&
             EVP_DecryptInit_ex(c, NULL, NULL, key, iv) == 1 &&
             (ct_len == 0 || EVP_DecryptUpdate(c, out, &len, ct, (int)ct_len) == 1) &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, ARENC_TAG_LEN, (void *)tag) == 1 &&
             EVP_DecryptFinal_ex(c, out + len, &fin) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : -1;
}

/* zlib-inflates in into a malloc'd NUL-terminated buffer, at most ARENC_MAX_PLAIN. */
static int arenc_inflate(const unsigned char *in, size_t in_len, char **out, size_t *out_len,
                         char *err, size_t errlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK) {
        snprintf(err, errlen, "zlib initialisation failed");
        return -1;
    }
    size_t cap = in_len * 4 + 256, used = 0;
    char *buf = malloc(cap + 1);
    int zr = Z_OK;
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)in_len;
    while (buf && zr == Z_OK) {
        if (used == cap) {
            if (cap >= ARENC_MAX_PLAIN)
                break;
            cap *= 2;
            char *grown = realloc(buf, cap + 1);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
        }
        z.next_out = (unsigned char *)buf + used;
        z.avail_out = (uInt)(cap - used);
        zr = inflate(&z, Z_NO_FLUSH);
        used = cap - z.avail_out;
    }
    inflateEnd(&z);
    if (zr != Z_STREAM_END) {
        free(buf);
        snprintf(err, errlen, "the decrypted value is marked compressed but does not inflate "
                 "(zlib: %s)", zr == Z_OK ? "output over 1 MB" : zError(zr));
        return -1;
    }
    buf[used] = '\0';
    *out = buf;
    *out_len = used;
    return 0;
}

int arenc_decrypt(const arenc_keys *k, const char *text, char **out, size_t *out_len,
                  char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    json_t *h = doc ? json_object_get(doc, "h") : NULL;
    unsigned char *ct = NULL, *iv = NULL, *tag = NULL, *plain = NULL;
    size_t ct_len = 0, iv_len = 0, tag_len = 0;
    int rc = -1;
    if (!json_is_object(h)) {
        snprintf(err, errlen, "the value is not an ActiveRecord-encrypted envelope "
                 "(want JSON {\"p\":...,\"h\":{...}})");
        goto done;
    }
    if (json_object_get(h, "k") || json_object_get(h, "i")) {
        snprintf(err, errlen, "the value uses envelope encryption or key references (h.k / h.i), "
                 "which Mastodon does not configure; it cannot be decrypted with the primary key");
        goto done;
    }
    ct = arenc_field(doc, "p", &ct_len);
    iv = arenc_field(h, "iv", &iv_len);
    tag = arenc_field(h, "at", &tag_len);
    if (!ct || !iv || !tag || iv_len != ARENC_IV_LEN || tag_len != ARENC_TAG_LEN) {
        snprintf(err, errlen, "the envelope lacks a valid base64 p, h.iv (12 bytes) or h.at (16 bytes)");
        goto done;
    }
    plain = malloc(ct_len + 1);
    if (!plain) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (arenc_open(k->sha256, iv, tag, ct, ct_len, plain) != 0 &&
        arenc_open(k->sha1, iv, tag, ct, ct_len, plain) != 0) {
        snprintf(err, errlen, "decryption failed: the authentication tag does not match; check that "
                 "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY and ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT "
                 "are the ones Mastodon uses");
        goto done;
    }
    if (json_is_true(json_object_get(h, "c"))) {
        rc = arenc_inflate(plain, ct_len, out, out_len, err, errlen);
    } else {
        plain[ct_len] = '\0';
        *out = (char *)plain;
        *out_len = ct_len;
        plain = NULL;
        rc = 0;
    }
done:
    if (plain)
        OPENSSL_cleanse(plain, ct_len);
    free(plain);
    free(ct);
    free(iv);
    free(tag);
    json_decref(doc);
    return rc;
}
