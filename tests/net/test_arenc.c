/* test_arenc.c -- decrypting Rails ActiveRecord-encrypted columns. The vectors are
 * made at test time by make_arenc_vector.rb (Ruby's OpenSSL, written from Rails'
 * documented envelope, not from this C code): a private key PEM as Mastodon keeps
 * in keypairs.private_key (compressed), a short value (not compressed), a value
 * under SHA-1-derived keys; then wrong keys, tampering and unsupported envelopes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "net_test_util.h"

#define PRIMARY "EGY8WhulUOXixybod7ZWwMIL68R9o5kC"
#define SALT "xEY0dt6TZcAMg52K7O84wYzkjvbA62Hz"

typedef struct {
    char dir[128];
    arenc_keys *keys;
    char *pem;
} ctx;

static int setup(void **state)
{
    ctx *c = calloc(1, sizeof *c);
    c->pem = nt_tmpdir_rsa_key(c->dir, sizeof c->dir, "printf 'hello' > short.txt", NULL);
    char err[NET_ERRLEN];
    c->keys = arenc_keys_new(PRIMARY, SALT, err, sizeof err);
    assert_non_null(c->keys);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx *c = *state;
    arenc_keys_free(c->keys);
    free(c->pem);
    nt_rmdir(c->dir);
    free(c);
    return 0;
}

/* Encrypts dir/file with the Ruby reference; malloc'd envelope. */
static char *envelope(ctx *c, const char *primary, const char *digest, const char *file)
{
    char *out = nt_run("ruby '%s/make_arenc_vector.rb' '%s' '%s' '%s' '%s/%s'", NT_SOURCE_DIR,
                       primary, SALT, digest, c->dir, file);
    if (!out)
        fail_msg("make_arenc_vector.rb failed: is ruby installed?");
    return out;
}

static void test_private_key_column(void **state)
{
    ctx *c = *state;
    char *env = envelope(c, PRIMARY, "sha256", "key.pem");
    assert_true(arenc_is_encrypted(env));
    assert_non_null(strstr(env, "\"c\":true"));  /* a PEM is long enough to be compressed */
    char *plain = NULL, err[NET_ERRLEN];
    size_t len = 0;
    assert_int_equal(arenc_decrypt(c->keys, env, &plain, &len, err, sizeof err), 0);
    assert_int_equal(len, strlen(c->pem));
    assert_string_equal(plain, c->pem);
    free(plain);

    /* the same column as a signing key; its public half matches the PEM's */
    sig_key *k = sig_key_from_column(env, c->keys, err, sizeof err);
    assert_non_null(k);
    sig_key *direct = sig_key_from_pem(c->pem, strlen(c->pem), err, sizeof err);
    char *a = sig_key_public_pem(k), *b = sig_key_public_pem(direct);
    assert_string_equal(a, b);
    free(a);
    free(b);
    sig_key_free(k);
    sig_key_free(direct);
    free(env);
}

static void test_short_value_uncompressed(void **state)
{
    ctx *c = *state;
    char *env = envelope(c, PRIMARY, "sha256", "short.txt");
    assert_null(strstr(env, "\"c\""));
    char *plain = NULL, err[NET_ERRLEN];
    size_t len = 0;
    assert_int_equal(arenc_decrypt(c->keys, env, &plain, &len, err, sizeof err), 0);
    assert_string_equal(plain, "hello");
    assert_int_equal(len, 5);
    free(plain);
    free(env);
}

static void test_sha1_derived_keys(void **state)
{
    ctx *c = *state;
    char *env = envelope(c, PRIMARY, "sha1", "key.pem");
    char *plain = NULL, err[NET_ERRLEN];
    size_t len = 0;
    assert_int_equal(arenc_decrypt(c->keys, env, &plain, &len, err, sizeof err), 0);
    assert_string_equal(plain, c->pem);
    free(plain);
    free(env);
}

static void test_wrong_key_and_tampering(void **state)
{
    ctx *c = *state;
    char *plain = NULL, err[NET_ERRLEN];
    size_t len = 0;
    char *env = envelope(c, "another-primary-key", "sha256", "short.txt");
    assert_int_equal(arenc_decrypt(c->keys, env, &plain, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY"));
    assert_null(plain);
    free(env);

    env = envelope(c, PRIMARY, "sha256", "key.pem");
    /* flip one base64 character of the ciphertext */
    char *p = strstr(env, "\"p\":\"") + 5;
    p[10] = p[10] == 'A' ? 'B' : 'A';
    assert_int_equal(arenc_decrypt(c->keys, env, &plain, &len, err, sizeof err), -1);
    assert_null(sig_key_from_column(env, c->keys, err, sizeof err));
    free(env);

    assert_int_equal(arenc_decrypt(c->keys, "not json", &plain, &len, err, sizeof err), -1);
    assert_int_equal(arenc_decrypt(c->keys, "{\"p\":\"AA==\",\"h\":{\"iv\":\"AAAA\",\"at\":\"AAAA\"}}",
                                   &plain, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "12 bytes"));
    assert_int_equal(arenc_decrypt(c->keys, "{\"p\":\"AA==\",\"h\":{\"k\":{\"p\":\"AA==\"}}}",
                                   &plain, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "envelope encryption"));
    assert_false(arenc_is_encrypted("-----BEGIN RSA PRIVATE KEY-----"));
}

static void test_keys_from_env(void **state)
{
    ctx *c = *state;
    char err[NET_ERRLEN];
    unsetenv("ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY");
    assert_null(arenc_keys_from_env(err, sizeof err));
    assert_non_null(strstr(err, "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY"));
    setenv("ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY", PRIMARY, 1);
    setenv("ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT", SALT, 1);
    arenc_keys *k = arenc_keys_from_env(err, sizeof err);
    assert_non_null(k);
    char *env = envelope(c, PRIMARY, "sha256", "short.txt");
    char *plain = NULL;
    size_t len;
    assert_int_equal(arenc_decrypt(k, env, &plain, &len, err, sizeof err), 0);
    assert_string_equal(plain, "hello");
    free(plain);
    free(env);
    arenc_keys_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_private_key_column),
        cmocka_unit_test(test_short_value_uncompressed),
        cmocka_unit_test(test_sha1_derived_keys),
        cmocka_unit_test(test_wrong_key_and_tampering),
        cmocka_unit_test(test_keys_from_env),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
