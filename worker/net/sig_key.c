/* sig_key.c -- RSA keys for HTTP Signatures: loading PEM and choosing the source
 * column (plain PEM in accounts.private_key, AR-encrypted in keypairs.private_key). */
#include "net.h"
#include "sig_internal.h"

#include <openssl/bio.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sig_openssl_error(const char *what, char *err, size_t errlen)
{
    unsigned long e = ERR_get_error();
    char detail[256] = "no detail";
    if (e)
        ERR_error_string_n(e, detail, sizeof detail);
    ERR_clear_error();
    snprintf(err, errlen, "%s: %s", what, detail);
}

sig_key *sig_key_from_pem(const char *pem, size_t len, char *err, size_t errlen)
{
    /* The decoder takes every form Mastodon rows carry: PKCS#1 and PKCS#8 private
     * keys, SubjectPublicKeyInfo and PKCS#1 ("RSA PUBLIC KEY") public keys. */
    EVP_PKEY *pk = NULL;
    OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(&pk, "PEM", NULL, "RSA", 0, NULL, NULL);
    const unsigned char *data = (const unsigned char *)pem;
    size_t left = len;
    if (!dctx || OSSL_DECODER_from_data(dctx, &data, &left) != 1 || !pk) {
        OSSL_DECODER_CTX_free(dctx);
        EVP_PKEY_free(pk);
        sig_openssl_error("the key is not a PEM RSA key (expected \"-----BEGIN ... KEY-----\")",
                          err, errlen);
        return NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    sig_key *k = calloc(1, sizeof *k);
    if (!k) {
        EVP_PKEY_free(pk);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    k->pkey = pk;
    k->is_private = memmem(pem, len, "PRIVATE KEY-----", 16) != NULL;
    return k;
}

void sig_key_free(sig_key *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

char *sig_key_public_pem(const sig_key *k)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return NULL;
    char *out = NULL;
    if (PEM_write_bio_PUBKEY(bio, k->pkey) == 1) {
        char *data;
        long n = BIO_get_mem_data(bio, &data);
        out = malloc((size_t)n + 1);
        if (out) {
            memcpy(out, data, (size_t)n);
            out[n] = '\0';
        }
    }
    BIO_free(bio);
    return out;
}

sig_key *sig_key_from_column(const char *column, const arenc_keys *keys, char *err, size_t errlen)
{
    if (!column || !*column) {
        snprintf(err, errlen, "the private_key column is empty; this account has no local key");
        return NULL;
    }
    if (!arenc_is_encrypted(column))
        return sig_key_from_pem(column, strlen(column), err, errlen);
    if (!keys) {
        snprintf(err, errlen,
                 "the private key is ActiveRecord-encrypted; set ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY "
                 "and ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT as in Mastodon's .env.production");
        return NULL;
    }
    char *pem = NULL;
    size_t len = 0;
    if (arenc_decrypt(keys, column, &pem, &len, err, errlen) != 0)
        return NULL;
    sig_key *k = sig_key_from_pem(pem, len, err, errlen);
    OPENSSL_cleanse(pem, len);
    free(pem);
    return k;
}
