/* fuzz_sig.c -- libFuzzer target for the HTTP Signature helpers (worker/net/sig*.c)
 * and the RFC 9421 second knock (worker/jobs/delivery_rfc9421.c).
 *
 * Input lines: the Signature header value, the method, the request target, then
 * "name: value" request headers up to an empty line, then the body. Properties: no
 * crash or leak in sig_params_parse, sig_b64_decode and sig_verify_request; a
 * signature made with sig_sign over the input's headers parses back with the same
 * keyId and verifies when the policy is met; the RFC 9421 headers for the input's
 * target and body carry the body's SHA-256 and a signature that verifies over the
 * RFC 9421 signature base rebuilt from them. */
#include "delivery.h"
#include "net.h"
#include "sig_internal.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FZ_MAX_HEADERS 16
#define FZ_NOW 1795536000 /* 2026-11-24 12:00:00 UTC */

static sig_key *fz_private, *fz_public;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* A small key keeps signing cheap; the code paths are those of a 2048-bit one. */
    EVP_PKEY *pk = EVP_RSA_gen(1024);
    BIO *priv = BIO_new(BIO_s_mem()), *pub = BIO_new(BIO_s_mem());
    char err[256];
    if (!pk || !PEM_write_bio_PrivateKey(priv, pk, NULL, NULL, 0, NULL, NULL) ||
        !PEM_write_bio_PUBKEY(pub, pk))
        abort();
    char *text;
    long n = BIO_get_mem_data(priv, &text);
    fz_private = sig_key_from_pem(text, (size_t)n, err, sizeof err);
    n = BIO_get_mem_data(pub, &text);
    fz_public = sig_key_from_pem(text, (size_t)n, err, sizeof err);
    if (!fz_private || !fz_public)
        abort();
    BIO_free(priv);
    BIO_free(pub);
    EVP_PKEY_free(pk);
    return 0;
}

static char *fz_line(const uint8_t *data, size_t size, size_t *pos)
{
    if (*pos >= size)
        return strdup("");
    const uint8_t *nl = memchr(data + *pos, '\n', size - *pos);
    size_t end = nl ? (size_t)(nl - data) : size;
    char *s = strndup((const char *)data + *pos, end - *pos);
    *pos = nl ? end + 1 : size;
    return s;
}

static bool fz_verifies(const char *text, const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, fz_public->pkey) == 1 &&
              EVP_DigestVerify(md, sig, siglen, (const unsigned char *)text, strlen(text)) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

/* sig_sign over the request's headers (and (request-target)), then parse and verify. */
static void fz_roundtrip(const char *method, const char *target, sig_header *h, size_t n,
                         const char *key_id, const void *body, size_t len)
{
    char err[512];
    char request_target[2100];
    char lower[16];
    size_t i = 0;
    for (; method[i] && i < sizeof lower - 1; i++)
        lower[i] = (char)(method[i] >= 'A' && method[i] <= 'Z' ? method[i] + 32 : method[i]);
    lower[i] = '\0';
    snprintf(request_target, sizeof request_target, "%s %s", lower, target);
    /* Our own requests carry header names that are HTTP tokens. */
    for (size_t k = 0; k < n; k++)
        if (!*h[k].name || strspn(h[k].name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "0123456789!#$%&'*+-.^_`|~") != strlen(h[k].name))
            return;
    sig_header all[FZ_MAX_HEADERS + 1];
    memcpy(all, h, n * sizeof *h);
    all[n] = (sig_header){"(request-target)", request_target};
    char *value = sig_sign(fz_private, key_id, all, n + 1, err, sizeof err);
    if (!value)
        abort();
    sig_params p;
    if (sig_params_parse(value, &p, err, sizeof err) != 0 || strcmp(p.key_id, key_id) != 0)
        abort(); /* our own Signature header must read back */
    sig_params_free(&p);
    /* Verification may refuse for policy (date window, digest, names with spaces), but
     * a signature over exactly these headers must verify when nothing else is wrong. */
    bool plain = strlen(request_target) < 2040 && !strchr(target, '?');
    for (size_t k = 0; k < n; k++) {
        for (size_t j = 0; j < k; j++)
            if (strcasecmp(h[j].name, h[k].name) == 0)
                plain = false; /* the verifier reads the first of duplicate headers */
    }
    if (sig_verify_request(fz_public, value, method, target, h, n, body, len, FZ_NOW, err,
                           sizeof err) != 0 && plain && n < 31) {
        bool policy = strstr(err, "must cover") || strstr(err, "Date") || strstr(err, "Digest") ||
                      strstr(err, "signed but missing");
        if (!policy)
            abort();
    }
    free(value);
}

static void fz_rfc9421(const char *url, const char *key_id, const void *body, size_t len)
{
    delivery_signer s = {.key = fz_private};
    snprintf(s.key_id, sizeof s.key_id, "%s", key_id);
    delivery_rfc9421 out;
    char err[512];
    if (delivery_rfc9421_headers(&s, url, body, len, &out, err, sizeof err) != 0)
        abort();
    char *digest = sig_digest_header(body, len);
    char want[128];
    snprintf(want, sizeof want, "sha-256=:%s:", digest + strlen("SHA-256="));
    free(digest);
    if (strcmp(out.content_digest, want) != 0)
        abort();
    if (strncmp(out.signature_input, "sig1=", 5) != 0 || strncmp(out.signature, "sig1=:", 6) != 0)
        abort();
    size_t slen = strlen(out.signature);
    if (slen < 7 || out.signature[slen - 1] != ':')
        abort();
    size_t siglen;
    unsigned char *sig = sig_b64_decode(out.signature + 6, slen - 7, &siglen);
    if (!sig)
        abort();
    sig_header base[] = {
        {"\"@method\"", "POST"},
        {"\"@target-uri\"", url},
        {"\"content-digest\"", out.content_digest},
        {"\"@signature-params\"", out.signature_input + 5},
    };
    char *text = sig_signing_string(base, 4);
    if (!fz_verifies(text, sig, siglen))
        abort(); /* the signature is not over the base its headers describe */
    free(text);
    free(sig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    size_t pos = 0;
    char *value = fz_line(data, size, &pos);
    char *method = fz_line(data, size, &pos);
    char *target = fz_line(data, size, &pos);
    sig_header h[FZ_MAX_HEADERS];
    char *lines[FZ_MAX_HEADERS];
    size_t n = 0;
    while (pos < size && n < FZ_MAX_HEADERS) {
        char *l = fz_line(data, size, &pos);
        if (!*l) {
            free(l);
            break;
        }
        char *colon = strchr(l, ':');
        char *v = colon ? colon + 1 : l + strlen(l);
        if (colon)
            *colon = '\0';
        while (*v == ' ')
            v++;
        lines[n] = l;
        h[n++] = (sig_header){l, v};
    }
    const void *body = data + pos;
    size_t len = size - pos;
    char err[512];

    sig_params p;
    if (sig_params_parse(value, &p, err, sizeof err) == 0) {
        if (!p.key_id || !p.signature || !p.headers)
            abort();
        sig_params_free(&p);
    }
    size_t blen;
    free(sig_b64_decode(value, strlen(value), &blen));
    sig_verify_request(fz_public, value, method, target, h, n, body, len, FZ_NOW, err, sizeof err);

    const char *key_id = strchr(value, '"') ? "https://scotty.test/users/alice#main-key" : value;
    fz_roundtrip(method, target, h, n, key_id, body, len);
    fz_rfc9421(target, key_id, body, len);

    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(value);
    free(method);
    free(target);
    return 0;
}
