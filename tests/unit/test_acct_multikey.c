/* test_acct_multikey.c -- FEP-521a publicKeyMultibase to the keypairs type and PEM
 * (worker/accounts/acct_multikey.c), against keys OpenSSL makes here. */
#include "acct_parse.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* 'z' + base58btc of the bytes. */
static void multibase58(const unsigned char *in, size_t n, char *out)
{
    static const char alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    unsigned char digits[4096] = {0};
    size_t used = 0, zeros = 0;
    while (zeros < n && in[zeros] == 0)
        zeros++;
    for (size_t i = zeros; i < n; i++) {
        unsigned carry = in[i];
        for (size_t j = 0; j < used; j++) {
            carry += 256u * digits[j];
            digits[j] = (unsigned char)(carry % 58);
            carry /= 58;
        }
        while (carry) {
            digits[used++] = (unsigned char)(carry % 58);
            carry /= 58;
        }
    }
    char *w = out;
    *w++ = 'z';
    for (size_t i = 0; i < zeros; i++)
        *w++ = '1';
    while (used)
        *w++ = alphabet[digits[--used]];
    *w = '\0';
}

static char *pubkey_pem(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(b, k);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *pem = strndup(data, (size_t)n);
    BIO_free(b);
    return pem;
}

static void expect_key(const char *multibase, int want_type, const char *want_pem)
{
    char err[256], *pem = NULL;
    int type = -1;
    assert_int_equal(acct_multikey_pem(multibase, &type, &pem, err, sizeof err), 0);
    assert_int_equal(type, want_type);
    assert_string_equal(pem, want_pem);
    free(pem);
}

static void test_ed25519_base58_and_base64url(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    unsigned char raw[2 + 32] = {0xed, 0x01};
    size_t len = 32;
    assert_int_equal(EVP_PKEY_get_raw_public_key(k, raw + 2, &len), 1);
    char *want = pubkey_pem(k);
    char mb[128];
    multibase58(raw, sizeof raw, mb);
    expect_key(mb, 1, want);
    /* 'u': base64url without padding */
    unsigned char b64[64];
    EVP_EncodeBlock(b64, raw, sizeof raw);
    char u[80] = "u";
    for (size_t i = 0; b64[i] && b64[i] != '='; i++)
        u[i + 1] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
    expect_key(u, 1, want);
    free(want);
    EVP_PKEY_free(k);
}

static void test_rsa_der_is_written_as_openssl_does(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_RSA_gen(2048);
    unsigned char der[1024 + 2] = {0x85, 0x24}, *p = der + 2;
    int n = i2d_PUBKEY(k, &p);
    assert_true(n > 0);
    char *mb = malloc(4096);
    multibase58(der, (size_t)n + 2, mb);
    char *want = pubkey_pem(k);
    expect_key(mb, 0, want);
    free(want);
    free(mb);
    EVP_PKEY_free(k);
}

static void test_mldsa44_gets_its_spki_header(void **state)
{
    (void)state;
    unsigned char raw[2 + 1312] = {0x90, 0x24};
    for (size_t i = 2; i < sizeof raw; i++)
        raw[i] = (unsigned char)i;
    char *mb = malloc(4096);
    multibase58(raw, sizeof raw, mb);
    char err[256], *pem = NULL;
    int type = -1;
    assert_int_equal(acct_multikey_pem(mb, &type, &pem, err, sizeof err), 0);
    assert_int_equal(type, 2);
    /* the DER under the PEM: the SubjectPublicKeyInfo header of id-ml-dsa-44, the key */
    BIO *b = BIO_new_mem_buf(pem, -1);
    char *name, *header;
    unsigned char *der;
    long len;
    assert_int_equal(PEM_read_bio(b, &name, &header, &der, &len), 1);
    assert_string_equal(name, "PUBLIC KEY");
    assert_int_equal(len, 22 + 1312);
    static const unsigned char oid[] = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x11};
    assert_memory_equal(der + 6, oid, sizeof oid);
    assert_memory_equal(der + 22, raw + 2, 1312);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(b);
    free(pem);
    free(mb);
}

static void test_bad_multikeys_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {NULL, "", "m7QAB", "z0OIl", "z6Mk", "u!!!", "zQmWvQxTqbG2Z9HPJgG57jjwR154cKhbtJenbyYTWkjgF3e"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "", *pem = (char *)"unset";
        int type = -1;
        assert_int_equal(acct_multikey_pem(bad[i], &type, &pem, err, sizeof err), 1);
        assert_null(pem);
        assert_true(err[0] != '\0');
    }
    /* an ed25519-pub tag with 31 bytes */
    unsigned char raw[2 + 31] = {0xed, 0x01, 7};
    char mb[128], err[256], *pem;
    int type;
    multibase58(raw, sizeof raw, mb);
    assert_int_equal(acct_multikey_pem(mb, &type, &pem, err, sizeof err), 1);
    assert_non_null(strstr(err, "not 32"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ed25519_base58_and_base64url),
        cmocka_unit_test(test_rsa_der_is_written_as_openssl_does),
        cmocka_unit_test(test_mldsa44_gets_its_spki_header),
        cmocka_unit_test(test_bad_multikeys_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
