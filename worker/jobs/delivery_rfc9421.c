/* delivery_rfc9421.c -- the second knock of Mastodon's "double-knock" (mastodon.md
 * §6.1): when an inbox refuses a draft-cavage signature with 400 or 401, the
 * delivery is sent once more signed with RFC 9421 HTTP Message Signatures, covering
 * "@method", "@target-uri" and "content-digest", RSA v1.5 SHA-256, same keyid. */
#include "delivery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The RFC 9421 signature base is "name": value lines, which is the shape of the
 * draft-cavage signing string when the names carry their quotes; sig_sign signs it,
 * and the signature is the value of its signature="..." parameter. */
static char *rfc9421_sign(const sig_key *key, const sig_header *base, size_t n, char *err,
                          size_t errlen)
{
    char *cavage = sig_sign(key, "", base, n, err, errlen);
    if (!cavage)
        return NULL;
    char *sig = strstr(cavage, ",signature=\"");
    char *out = NULL;
    if (sig) {
        sig += strlen(",signature=\"");
        size_t len = strcspn(sig, "\"");
        out = malloc(len + 1);
        if (out) {
            memcpy(out, sig, len);
            out[len] = '\0';
        }
    }
    if (!out)
        snprintf(err, errlen, "RFC 9421 signing produced no signature");
    free(cavage);
    return out;
}

int delivery_rfc9421_headers(const delivery_signer *s, const char *url, const void *body,
                             size_t len, delivery_rfc9421 *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char *digest = sig_digest_header(body, len); /* "SHA-256=<b64>" */
    if (!digest) {
        snprintf(err, errlen, "out of memory computing Content-Digest");
        return -1;
    }
    snprintf(out->content_digest, sizeof out->content_digest, "sha-256=:%s:",
             digest + strlen("SHA-256="));
    free(digest);
    char params[1400];
    snprintf(params, sizeof params, "(\"@method\" \"@target-uri\" \"content-digest\");created=%lld;"
             "keyid=\"%s\"", (long long)time(NULL), s->key_id);
    snprintf(out->signature_input, sizeof out->signature_input, "sig1=%s", params);
    sig_header base[] = {
        {"\"@method\"", "POST"},
        {"\"@target-uri\"", url},
        {"\"content-digest\"", out->content_digest},
        {"\"@signature-params\"", params},
    };
    char *sig = rfc9421_sign(s->key, base, sizeof base / sizeof base[0], err, errlen);
    if (!sig)
        return -1;
    snprintf(out->signature, sizeof out->signature, "sig1=:%s:", sig);
    free(sig);
    return 0;
}
