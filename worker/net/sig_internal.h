/* sig_internal.h -- what the sig_ and arenc_ files share inside the module: the key
 * structure, OpenSSL error text and strict base64. Not part of the public API. */
#ifndef SCOTTY_SIG_INTERNAL_H
#define SCOTTY_SIG_INTERNAL_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

struct sig_key {
    EVP_PKEY *pkey;      /* read-only after loading: safe to use from many threads */
    bool is_private;
};

/* "<what>: <OpenSSL's reason>" into err; clears OpenSSL's error queue. */
void sig_openssl_error(const char *what, char *err, size_t errlen);

/* Standard base64 with padding, no newlines; malloc'd, NUL-terminated. */
char *sig_b64_encode(const unsigned char *data, size_t len);
/* Strict base64 (what Ruby's strict_decode64 accepts); malloc'd (NUL-terminated
 * for convenience). NULL if the text is not valid base64. */
unsigned char *sig_b64_decode(const char *text, size_t len, size_t *out_len);

#endif
