/* sig.c -- draft-cavage HTTP Signatures as Mastodon writes and checks them:
 * rsa-sha256 (RSA PKCS#1 v1.5 over SHA-256), the Digest header, the Signature
 * header's parameters, and the verification rules of Mastodon's SignedRequest. */
#include "net.h"
#include "sig_internal.h"

#include "queues.h"

#include <ctype.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SIG_MAX_AGE (12 * 3600)   /* Mastodon's EXPIRATION_WINDOW_LIMIT */
#define SIG_MAX_SKEW 3600         /* CLOCK_SKEW_MARGIN */

char *sig_digest_header(const void *body, size_t len)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(body, len, md);
    char *b64 = sig_b64_encode(md, sizeof md);
    if (!b64)
        return NULL;
    base_buf b;
    base_buf_init(&b);
    base_buf_addf(&b, "SHA-256=%s", b64);
    free(b64);
    return base_buf_take(&b);
}

char *sig_signing_string(const sig_header *h, size_t n)
{
    base_buf b;
    base_buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        if (i)
            base_buf_add(&b, "\n", 1);
        for (const char *p = h[i].name; *p; p++) {
            char c = (char)tolower((unsigned char)*p);
            base_buf_add(&b, &c, 1);
        }
        base_buf_adds(&b, ": ");
        base_buf_adds(&b, h[i].value);
    }
    return base_buf_take(&b);
}

char *sig_sign(const sig_key *key, const char *key_id, const sig_header *h, size_t n,
               char *err, size_t errlen)
{
    if (!key->is_private) {
        snprintf(err, errlen, "signing needs a private key; this one is public");
        return NULL;
    }
    char *text = sig_signing_string(h, n);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t siglen = 0;
    char *out = NULL;
    if (!text || !md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key->pkey) != 1 ||
        EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)text, strlen(text)) != 1 ||
        !(sig = malloc(siglen)) ||
        EVP_DigestSign(md, sig, &siglen, (const unsigned char *)text, strlen(text)) != 1) {
        sig_openssl_error("RSA-SHA256 signing failed", err, errlen);
        goto done;
    }
    char *b64 = sig_b64_encode(sig, siglen);
    base_buf b;
    base_buf_init(&b);
    base_buf_addf(&b, "keyId=\"%s\",algorithm=\"rsa-sha256\",headers=\"", key_id);
    for (size_t i = 0; i < n; i++) {
        if (i)
            base_buf_add(&b, " ", 1);
        for (const char *p = h[i].name; *p; p++) {
            char c = (char)tolower((unsigned char)*p);
            base_buf_add(&b, &c, 1);
        }
    }
    base_buf_addf(&b, "\",signature=\"%s\"", b64 ? b64 : "");
    free(b64);
    out = base_buf_take(&b);
done:
    free(sig);
    EVP_MD_CTX_free(md);
    free(text);
    return out;
}

void sig_params_free(sig_params *p)
{
    free(p->key_id);
    free(p->algorithm);
    free(p->headers);
    free(p->signature);
    memset(p, 0, sizeof *p);
}

int sig_params_parse(const char *value, sig_params *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *p = value;
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *name = p;
        while (*p && *p != '=')
            p++;
        size_t nlen = (size_t)(p - name);
        if (*p != '=' || p[1] != '"') {
            snprintf(err, errlen, "Signature header is malformed near \"%.20s\" (want name=\"value\")", name);
            sig_params_free(out);
            return -1;
        }
        p += 2;
        const char *val = p;
        while (*p && *p != '"')
            p++;
        if (*p != '"') {
            snprintf(err, errlen, "Signature header has an unterminated quoted value");
            sig_params_free(out);
            return -1;
        }
        char *copy = strndup(val, (size_t)(p - val));
        p++;
        char **slot = NULL;
        if (nlen == 5 && strncasecmp(name, "keyId", 5) == 0)
            slot = &out->key_id;
        else if (nlen == 9 && strncasecmp(name, "algorithm", 9) == 0)
            slot = &out->algorithm;
        else if (nlen == 7 && strncasecmp(name, "headers", 7) == 0)
            slot = &out->headers;
        else if (nlen == 9 && strncasecmp(name, "signature", 9) == 0)
            slot = &out->signature;
        if (slot) {
            free(*slot);
            *slot = copy;
        } else {
            free(copy);
        }
    }
    if (!out->key_id || !out->signature) {
        snprintf(err, errlen, "Signature header lacks keyId or signature");
        sig_params_free(out);
        return -1;
    }
    if (!out->headers)
        out->headers = strdup("date");
    return 0;
}

static const char *sig_find(const sig_header *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(h[i].name, name) == 0)
            return h[i].value;
    return NULL;
}

/* Splits the space-separated header list; fills names (pointers into buf). */
static size_t sig_split(char *buf, char **names, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ", &save); tok && n < max; tok = strtok_r(NULL, " ", &save))
        names[n++] = tok;
    return n;
}

static bool sig_listed(char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(names[i], name) == 0)
            return true;
    return false;
}

static int sig_check_rsa(const sig_key *pub, const char *text, const unsigned char *sig,
                         size_t siglen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub->pkey) == 1 &&
             EVP_DigestVerify(md, sig, siglen, (const unsigned char *)text, strlen(text)) == 1;
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return ok ? 0 : -1;
}

/* Builds the signing string for the listed names; -1 with err if one is missing. */
static char *sig_build(char *const *names, size_t n, const char *target_value,
                       const sig_header *headers, size_t nh, char *err, size_t errlen)
{
    sig_header *list = calloc(n ? n : 1, sizeof *list);
    if (!list)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        list[i].name = names[i];
        list[i].value = strcasecmp(names[i], "(request-target)") == 0
                            ? target_value : sig_find(headers, nh, names[i]);
        if (!list[i].value) {
            snprintf(err, errlen, "header \"%s\" is signed but missing from the request", names[i]);
            free(list);
            return NULL;
        }
    }
    char *text = sig_signing_string(list, n);
    free(list);
    return text;
}

static int sig_check_policy(char *const *names, size_t n, const char *method,
                            const sig_params *p, char *err, size_t errlen)
{
    if (strcasecmp(p->algorithm ? p->algorithm : "rsa-sha256", "rsa-sha256") != 0 &&
        strcasecmp(p->algorithm, "hs2019") != 0) {
        snprintf(err, errlen, "algorithm \"%s\" is not supported (rsa-sha256 or hs2019)", p->algorithm);
        return -1;
    }
    if (!sig_listed(names, n, "date") && !sig_listed(names, n, "(created)")) {
        snprintf(err, errlen, "the signature must cover date or (created)");
        return -1;
    }
    if (!sig_listed(names, n, "(request-target)") && !sig_listed(names, n, "digest")) {
        snprintf(err, errlen, "the signature must cover (request-target) or digest");
        return -1;
    }
    if (strcasecmp(method, "GET") == 0 && !sig_listed(names, n, "host")) {
        snprintf(err, errlen, "a signed GET must cover host");
        return -1;
    }
    if (strcasecmp(method, "POST") == 0 && !sig_listed(names, n, "digest")) {
        snprintf(err, errlen, "a signed POST must cover digest");
        return -1;
    }
    return 0;
}

static int sig_check_digest(const char *digest, const void *body, size_t len, char *err,
                            size_t errlen)
{
    char *want = sig_digest_header(body, len);
    /* Digest may list several algorithms: "SHA-256=...,SHA-512=..." */
    int rc = -1;
    bool has_sha256 = false;
    char *copy = strdup(digest);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        if (strncasecmp(tok, "SHA-256=", 8) != 0)
            continue;
        has_sha256 = true;
        if (want && strcmp(tok + 8, want + 8) == 0)
            rc = 0;
    }
    if (!has_sha256)
        snprintf(err, errlen, "the Digest header has no SHA-256 value");
    else if (rc != 0)
        snprintf(err, errlen, "the Digest header does not match the body");
    free(copy);
    free(want);
    return rc;
}

static int sig_check_date(const char *date, time_t now, char *err, size_t errlen)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end) {
        snprintf(err, errlen, "Date \"%.40s\" is not an HTTP date", date);
        return -1;
    }
    time_t t = timegm(&tm);
    if (t > now + SIG_MAX_SKEW || t < now - SIG_MAX_AGE - SIG_MAX_SKEW) {
        snprintf(err, errlen, "Date \"%.40s\" is outside the accepted window (12 h back, 1 h ahead)", date);
        return -1;
    }
    return 0;
}

int sig_verify_request(const sig_key *pub, const char *signature_value, const char *method,
                       const char *target, const sig_header *headers, size_t n,
                       const void *body, size_t body_len, time_t now, char *err, size_t errlen)
{
    sig_params p;
    if (sig_params_parse(signature_value, &p, err, errlen) != 0)
        return -1;
    int rc = -1;
    char *list = strdup(p.headers);
    char *names[32];
    size_t nn = sig_split(list, names, 32);
    size_t siglen = 0;
    unsigned char *sig = sig_b64_decode(p.signature, strlen(p.signature), &siglen);
    char target_value[2048], bare_value[2048];
    char lower[16];
    size_t mi = 0;
    for (; method[mi] && mi < sizeof lower - 1; mi++)
        lower[mi] = (char)tolower((unsigned char)method[mi]);
    lower[mi] = '\0';
    snprintf(target_value, sizeof target_value, "%s %s", lower, target);
    snprintf(bare_value, sizeof bare_value, "%s %.*s", lower, (int)strcspn(target, "?"), target);

    if (!sig) {
        snprintf(err, errlen, "the signature is not valid base64");
        goto done;
    }
    if (sig_check_policy(names, nn, method, &p, err, errlen) != 0)
        goto done;
    const char *date = sig_find(headers, n, "date");
    if (sig_listed(names, nn, "date") && (!date || sig_check_date(date, now, err, errlen) != 0)) {
        if (!date)
            snprintf(err, errlen, "Date is signed but missing");
        goto done;
    }
    if (sig_listed(names, nn, "digest")) {
        const char *digest = sig_find(headers, n, "digest");
        if (!digest) {
            snprintf(err, errlen, "Digest is signed but missing");
            goto done;
        }
        if (sig_check_digest(digest, body, body_len, err, errlen) != 0)
            goto done;
    }
    for (int attempt = 0; attempt < 2 && rc != 0; attempt++) {
        if (attempt == 1 && strcmp(target_value, bare_value) == 0)
            break;
        char *text = sig_build(names, nn, attempt ? bare_value : target_value, headers, n, err, errlen);
        if (!text)
            goto done;
        rc = sig_check_rsa(pub, text, sig, siglen);
        free(text);
    }
    if (rc != 0)
        snprintf(err, errlen, "the signature by %s does not verify with the given public key", p.key_id);
done:
    free(sig);
    free(list);
    sig_params_free(&p);
    return rc;
}
