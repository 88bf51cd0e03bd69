/* test_sig.c -- HTTP Signatures against an independent computation: the signing
 * string is written out by hand here, the openssl CLI signs it with the same key
 * and the bytes must match ours (RSA PKCS#1 v1.5 is deterministic); signatures
 * round-trip through the verifier, and every Mastodon verification rule rejects
 * what it should. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net.h"
#include "net_test_util.h"

typedef struct {
    char dir[128];
    sig_key *priv, *pub;
    char *pem;
} ctx;

static int setup(void **state)
{
    ctx *c = calloc(1, sizeof *c);
    size_t len;
    c->pem = nt_tmpdir_rsa_key(c->dir, sizeof c->dir,
                               "openssl rsa -in key.pem -pubout -out pub.pem 2>/dev/null", &len);
    char path[256], err[NET_ERRLEN];
    c->priv = sig_key_from_pem(c->pem, len, err, sizeof err);
    assert_non_null(c->priv);
    snprintf(path, sizeof path, "%s/pub.pem", c->dir);
    char *pub = nt_read_file(path, &len);
    c->pub = sig_key_from_pem(pub, len, err, sizeof err);
    free(pub);
    assert_non_null(c->pub);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx *c = *state;
    sig_key_free(c->priv);
    sig_key_free(c->pub);
    free(c->pem);
    nt_rmdir(c->dir);
    free(c);
    return 0;
}

/* The base64 signature="..." value of a Signature header; malloc'd. */
static char *sig_value(const char *header)
{
    const char *p = strstr(header, "signature=\"");
    assert_non_null(p);
    p += 11;
    return strndup(p, strcspn(p, "\""));
}

static void test_get_matches_openssl(void **state)
{
    ctx *c = *state;
    sig_header h[] = {
        {"host", "remote.example"},
        {"date", "Tue, 24 Nov 2026 16:23:10 GMT"},
        {"(request-target)", "get /users/alice?page=1"},
    };
    const char *expected = "host: remote.example\n"
                           "date: Tue, 24 Nov 2026 16:23:10 GMT\n"
                           "(request-target): get /users/alice?page=1";
    char *text = sig_signing_string(h, 3);
    assert_string_equal(text, expected);
    free(text);

    char err[NET_ERRLEN];
    char *header = sig_sign(c->priv, "https://local.example/actor#main-key", h, 3, err, sizeof err);
    assert_non_null(header);
    assert_non_null(strstr(header, "keyId=\"https://local.example/actor#main-key\""));
    assert_non_null(strstr(header, "algorithm=\"rsa-sha256\""));
    assert_non_null(strstr(header, "headers=\"host date (request-target)\""));

    char path[256];
    snprintf(path, sizeof path, "%s/string", c->dir);
    assert_int_equal(nt_write_file(path, expected, strlen(expected)), 0);
    char *theirs = nt_run("openssl dgst -sha256 -sign '%s/key.pem' '%s' | openssl base64 -A", c->dir, path);
    assert_non_null(theirs);
    char *ours = sig_value(header);
    assert_string_equal(ours, theirs);
    free(ours);
    free(theirs);
    free(header);
}

static void test_post_verified_by_openssl(void **state)
{
    ctx *c = *state;
    const char *body = "{\"type\":\"Create\"}";
    char *digest = sig_digest_header(body, strlen(body));
    char *theirs = nt_run("printf '%%s' '%s' | openssl dgst -sha256 -binary | openssl base64 -A", body);
    assert_non_null(theirs);
    char want[128];
    snprintf(want, sizeof want, "SHA-256=%s", theirs);
    assert_string_equal(digest, want);
    free(theirs);

    sig_header h[] = {
        {"host", "remote.example"},
        {"date", "Tue, 24 Nov 2026 16:23:10 GMT"},
        {"content-type", "application/activity+json"},
        {"digest", digest},
        {"(request-target)", "post /inbox"},
    };
    char err[NET_ERRLEN];
    char *header = sig_sign(c->priv, "https://local.example/ap/users/1#main-key", h, 5, err, sizeof err);
    assert_non_null(header);
    assert_non_null(strstr(header, "headers=\"host date content-type digest (request-target)\""));
    char text[1024];
    snprintf(text, sizeof text,
             "host: remote.example\ndate: Tue, 24 Nov 2026 16:23:10 GMT\n"
             "content-type: application/activity+json\ndigest: %s\n(request-target): post /inbox", digest);
    char path[256], sigpath[256];
    snprintf(path, sizeof path, "%s/string", c->dir);
    snprintf(sigpath, sizeof sigpath, "%s/sig.b64", c->dir);
    assert_int_equal(nt_write_file(path, text, strlen(text)), 0);
    char *ours = sig_value(header);
    assert_int_equal(nt_write_file(sigpath, ours, strlen(ours)), 0);
    char *ok = nt_run("cd '%s' && openssl base64 -d -A -in sig.b64 -out sig.bin && "
                      "openssl dgst -sha256 -verify pub.pem -signature sig.bin string", c->dir);
    assert_non_null(ok);
    assert_non_null(strstr(ok, "Verified OK"));
    free(ok);
    free(ours);
    free(header);
    free(digest);
}

/* A signed POST as a remote server would receive it, for the verifier tests. */
typedef struct {
    char date[64];
    char *digest;
    char *signature;
    sig_header headers[4];
} signed_post;

/* full: signs host date content-type digest; else only host date. */
static void make_post(ctx *c, signed_post *p, time_t when, const char *body, bool full)
{
    http_date(when, p->date, sizeof p->date);
    p->digest = sig_digest_header(body, strlen(body));
    p->headers[0] = (sig_header){"Host", "remote.example"};
    p->headers[1] = (sig_header){"Date", p->date};
    p->headers[2] = (sig_header){"Content-Type", "application/activity+json"};
    p->headers[3] = (sig_header){"Digest", p->digest};
    sig_header h[5];
    size_t n = 0;
    for (size_t i = 0; i < (full ? 4u : 2u); i++)
        h[n++] = p->headers[i];
    h[n++] = (sig_header){"(request-target)", "post /inbox"};
    char err[NET_ERRLEN];
    p->signature = sig_sign(c->priv, "https://local.example/actor#main-key", h, n, err, sizeof err);
    assert_non_null(p->signature);
}

static void free_post(signed_post *p)
{
    free(p->digest);
    free(p->signature);
}

static void test_round_trip_and_rules(void **state)
{
    ctx *c = *state;
    time_t now = time(NULL);
    char err[NET_ERRLEN];
    const char *body = "{\"type\":\"Follow\"}";
    signed_post p;
    make_post(c, &p, now, body, true);
    assert_int_equal(sig_verify_request(c->pub, p.signature, "POST", "/inbox", p.headers, 4,
                                        body, strlen(body), now, err, sizeof err), 0);
    /* the private key verifies too (it holds the public half) */
    assert_int_equal(sig_verify_request(c->priv, p.signature, "POST", "/inbox", p.headers, 4,
                                        body, strlen(body), now, err, sizeof err), 0);
    /* another body: Digest mismatch */
    assert_int_equal(sig_verify_request(c->pub, p.signature, "POST", "/inbox", p.headers, 4,
                                        "{}", 2, now, err, sizeof err), -1);
    assert_non_null(strstr(err, "Digest"));
    /* another target */
    assert_int_equal(sig_verify_request(c->pub, p.signature, "POST", "/other", p.headers, 4,
                                        body, strlen(body), now, err, sizeof err), -1);
    assert_non_null(strstr(err, "does not verify"));
    /* a changed Host */
    p.headers[0].value = "evil.example";
    assert_int_equal(sig_verify_request(c->pub, p.signature, "POST", "/inbox", p.headers, 4,
                                        body, strlen(body), now, err, sizeof err), -1);
    p.headers[0].value = "remote.example";
    /* too old, too far ahead */
    assert_int_equal(sig_verify_request(c->pub, p.signature, "POST", "/inbox", p.headers, 4,
                                        body, strlen(body), now + 14 * 3600, err, sizeof err), -1);
    assert_non_null(strstr(err, "window"));
    assert_int_equal(sig_verify_request(c->pub, p.signature, "POST", "/inbox", p.headers, 4,
                                        body, strlen(body), now - 2 * 3600, err, sizeof err), -1);
    free_post(&p);

    /* POST that does not sign digest */
    make_post(c, &p, now, body, false);
    assert_int_equal(sig_verify_request(c->pub, p.signature, "POST", "/inbox", p.headers, 4,
                                        body, strlen(body), now, err, sizeof err), -1);
    assert_non_null(strstr(err, "digest"));
    free_post(&p);

    /* another key */
    char *other = nt_run("openssl genrsa 2048 2>/dev/null | openssl rsa -pubout 2>/dev/null");
    assert_non_null(other);
    sig_key *wrong = sig_key_from_pem(other, strlen(other), err, sizeof err);
    assert_non_null(wrong);
    make_post(c, &p, now, body, true);
    assert_int_equal(sig_verify_request(wrong, p.signature, "POST", "/inbox", p.headers, 4,
                                        body, strlen(body), now, err, sizeof err), -1);
    free_post(&p);
    sig_key_free(wrong);
    free(other);
}

static void test_get_rules_and_query_fallback(void **state)
{
    ctx *c = *state;
    time_t now = time(NULL);
    char date[64], err[NET_ERRLEN];
    http_date(now, date, sizeof date);
    sig_header req[] = {{"Host", "remote.example"}, {"Date", date}};
    /* signed without the query string: Mastodon accepts it either way */
    sig_header h[] = {{"host", "remote.example"}, {"date", date}, {"(request-target)", "get /users/bob"}};
    char *s = sig_sign(c->priv, "k", h, 3, err, sizeof err);
    assert_int_equal(sig_verify_request(c->pub, s, "GET", "/users/bob?page=2", req, 2, NULL, 0, now,
                                        err, sizeof err), 0);
    free(s);
    /* a GET that does not sign host */
    sig_header nohost[] = {{"date", date}, {"(request-target)", "get /users/bob"}};
    s = sig_sign(c->priv, "k", nohost, 2, err, sizeof err);
    assert_int_equal(sig_verify_request(c->pub, s, "GET", "/users/bob", req, 2, NULL, 0, now,
                                        err, sizeof err), -1);
    assert_non_null(strstr(err, "host"));
    free(s);
    /* neither date nor (created) */
    sig_header nodate[] = {{"host", "remote.example"}, {"(request-target)", "get /users/bob"}};
    s = sig_sign(c->priv, "k", nodate, 2, err, sizeof err);
    assert_int_equal(sig_verify_request(c->pub, s, "GET", "/users/bob", req, 2, NULL, 0, now,
                                        err, sizeof err), -1);
    free(s);
    /* unsupported algorithm; malformed header */
    assert_int_equal(sig_verify_request(c->pub, "keyId=\"k\",algorithm=\"hmac-sha256\",headers=\"host date (request-target)\",signature=\"AAAA\"",
                                        "GET", "/", req, 2, NULL, 0, now, err, sizeof err), -1);
    assert_non_null(strstr(err, "hmac-sha256"));
    assert_int_equal(sig_verify_request(c->pub, "keyId=k", "GET", "/", req, 2, NULL, 0, now, err, sizeof err), -1);
    /* a public key cannot sign */
    assert_null(sig_sign(c->pub, "k", h, 3, err, sizeof err));
}

static void test_key_forms(void **state)
{
    ctx *c = *state;
    char err[NET_ERRLEN];
    /* PKCS#8 and the PKCS#1 public form load too; the public PEM round-trips */
    char *pkcs8 = nt_run("openssl pkcs8 -topk8 -nocrypt -in '%s/key.pem'", c->dir);
    char *rsapub = nt_run("openssl rsa -in '%s/key.pem' -RSAPublicKey_out 2>/dev/null", c->dir);
    assert_non_null(pkcs8);
    assert_non_null(rsapub);
    sig_key *k1 = sig_key_from_pem(pkcs8, strlen(pkcs8), err, sizeof err);
    sig_key *k2 = sig_key_from_pem(rsapub, strlen(rsapub), err, sizeof err);
    assert_non_null(k1);
    assert_non_null(k2);
    char *pub1 = sig_key_public_pem(k1), *pub2 = sig_key_public_pem(k2), *pub3 = sig_key_public_pem(c->pub);
    assert_string_equal(pub1, pub3);
    assert_string_equal(pub2, pub3);
    free(pub1);
    free(pub2);
    free(pub3);
    sig_key_free(k1);
    sig_key_free(k2);
    free(pkcs8);
    free(rsapub);
    assert_null(sig_key_from_pem("garbage", 7, err, sizeof err));
    assert_non_null(strstr(err, "PEM"));
    /* a plain PEM column needs no AR keys */
    sig_key *k3 = sig_key_from_column(c->pem, NULL, err, sizeof err);
    assert_non_null(k3);
    sig_key_free(k3);
    assert_null(sig_key_from_column("{\"p\":\"AA==\",\"h\":{}}", NULL, err, sizeof err));
    assert_non_null(strstr(err, "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_matches_openssl),
        cmocka_unit_test(test_post_verified_by_openssl),
        cmocka_unit_test(test_round_trip_and_rules),
        cmocka_unit_test(test_get_rules_and_query_fallback),
        cmocka_unit_test(test_key_forms),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
