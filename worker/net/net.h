/* net.h -- the one public header of scotty's network module.
 *
 * Every remote request scotty makes goes through here:
 *   http_   a libcurl client with Mastodon's limits (timeouts, redirects, body caps,
 *           gzip), connection reuse with a per-host limit, and typed errors;
 *   ssrf_   the address guard applied to every socket the client opens;
 *   sig_    draft-cavage HTTP Signatures (rsa-sha256), signing and verifying;
 *   arenc_  decryption of Rails ActiveRecord-encrypted columns (keypairs.private_key).
 * All objects here may be shared between threads unless a comment says otherwise. */
#ifndef SCOTTY_NET_H
#define SCOTTY_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>

#define NET_ERRLEN 512

/* Body caps Mastodon uses; the caller picks one per request. */
#define HTTP_CAP_JSON  (1024L * 1024L)          /* ActivityPub JSON, HTML */
#define HTTP_CAP_IMAGE (16L * 1024L * 1024L)    /* images, thumbnails */
#define HTTP_CAP_MEDIA (99L * 1024L * 1024L)    /* video, audio, gifv */

/* ---- SSRF guard ---------------------------------------------------------- */

typedef struct ssrf_guard ssrf_guard;

/* Builds a guard from ALLOWED_PRIVATE_ADDRESSES syntax: IPs and CIDRs separated
 * by commas and/or spaces (NULL or "" allows nothing). NULL with err on a bad entry. */
ssrf_guard *ssrf_guard_new(const char *allowed, char *err, size_t errlen);
void ssrf_guard_free(ssrf_guard *g);
/* Why Mastodon refuses this address (e.g. "loopback 127.0.0.0/8"), or NULL if it is
 * public. IPv4-mapped and -compatible IPv6 addresses are judged as their IPv4 form. */
const char *ssrf_classify(const struct sockaddr *sa);
/* true if a connection to sa may be opened: public, or exempted by the guard. When
 * refused, why gets the reason with the address in it. */
bool ssrf_guard_allows(const ssrf_guard *g, const struct sockaddr *sa, char *why, size_t whylen);
/* true for .onion and .i2p host names (a trailing dot is ignored). */
bool ssrf_is_hidden_service(const char *host);

/* ---- HTTP Signatures (draft-cavage, rsa-sha256) -------------------------- */

typedef struct sig_key sig_key;

/* A private or public RSA key from PEM (PKCS#1 or PKCS#8 / SPKI). */
sig_key *sig_key_from_pem(const char *pem, size_t len, char *err, size_t errlen);
void sig_key_free(sig_key *k);
/* The public half as a SubjectPublicKeyInfo PEM; malloc'd, NULL on failure. */
char *sig_key_public_pem(const sig_key *k);

/* One header of the signing string. The pseudo-header "(request-target)" carries
 * "<lowercase method> <path>[?query]". Names are compared case-insensitively. */
typedef struct sig_header {
    const char *name;
    const char *value;
} sig_header;

/* "SHA-256=<base64 sha256(body)>"; malloc'd. */
char *sig_digest_header(const void *body, size_t len);
/* The signing string: "name: value" lines, lowercased names, joined by "\n";
 * malloc'd. */
char *sig_signing_string(const sig_header *h, size_t n);
/* Signs the headers in the given order; returns the whole Signature header value
 * (keyId="...",algorithm="rsa-sha256",headers="...",signature="..."), malloc'd. */
char *sig_sign(const sig_key *key, const char *key_id, const sig_header *h, size_t n,
               char *err, size_t errlen);

/* A parsed Signature header. */
typedef struct sig_params {
    char *key_id;
    char *algorithm;
    char *headers;    /* space-separated, as sent; "date" if absent (draft default) */
    char *signature;  /* base64 */
} sig_params;
int sig_params_parse(const char *value, sig_params *out, char *err, size_t errlen);
void sig_params_free(sig_params *p);

/* Verifies an incoming request the way Mastodon's SignedRequest does: algorithm
 * rsa-sha256 or hs2019; date or (created) signed; (request-target) or digest signed;
 * GET signs host, POST signs digest and the Digest matches the body (SHA-256); Date
 * within 12 h in the past and 1 h in the future of now. headers holds the request's
 * headers (without "(request-target)", which is built from method and target).
 * (request-target) is also tried without the query string. Returns 0 or -1 with err. */
int sig_verify_request(const sig_key *pub, const char *signature_value, const char *method,
                       const char *target, const sig_header *headers, size_t n,
                       const void *body, size_t body_len, time_t now, char *err, size_t errlen);

/* ---- Rails ActiveRecord encryption (decrypt only) ------------------------ */

typedef struct arenc_keys arenc_keys;

/* Derives the AES-256-GCM keys the way Rails does: PBKDF2-HMAC(primary_key,
 * key_derivation_salt, 2^16 iterations, 32 bytes), with SHA-256 (Rails >= 7.1) and
 * SHA-1 (data written under 7.0 defaults), both tried when decrypting. */
arenc_keys *arenc_keys_new(const char *primary_key, const char *salt, char *err, size_t errlen);
/* Same from ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY and
 * ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT. */
arenc_keys *arenc_keys_from_env(char *err, size_t errlen);
void arenc_keys_free(arenc_keys *k);
/* true if text looks like an encrypted envelope ({"p":...,"h":{...}}). */
bool arenc_is_encrypted(const char *text);
/* Decrypts one envelope; *out is malloc'd, NUL-terminated, *out_len its length. */
int arenc_decrypt(const arenc_keys *k, const char *text, char **out, size_t *out_len,
                  char *err, size_t errlen);

/* A signing key from a keypairs.private_key or accounts.private_key column: an
 * AR-encrypted envelope (needs keys) or a plain PEM (keys may be NULL). */
sig_key *sig_key_from_column(const char *column, const arenc_keys *keys, char *err,
                             size_t errlen);

/* ---- HTTP client --------------------------------------------------------- */

typedef enum http_err {
    HTTP_OK = 0,
    HTTP_E_INVALID,       /* bad URL or arguments; not retryable */
    HTTP_E_REFUSED,       /* SSRF guard, hidden service, or non-http(s) scheme */
    HTTP_E_CONNECT,       /* DNS failure, connection refused/reset, garbled reply */
    HTTP_E_TLS,           /* handshake or certificate verification failed */
    HTTP_E_TIMEOUT,       /* connect, per-read or total deadline passed */
    HTTP_E_TOO_LARGE,     /* Content-Length or streamed body over the cap */
    HTTP_E_TRUNCATED,     /* connection closed before the announced body arrived */
    HTTP_E_REDIRECTS,     /* more than max_redirects hops, or a bad Location */
    HTTP_E_CONTENT_TYPE,  /* ActivityPub fetch answered with another type */
    HTTP_E_STATUS,        /* final status not 2xx; see status */
    HTTP_E_INTERNAL       /* out of memory, libcurl setup failure */
} http_err;

const char *http_err_name(http_err e);

typedef struct http_client_opts {
    const char *user_agent;    /* NULL: "scotty/<version> (libcurl/<v>; +https://<LOCAL_DOMAIN>/)" */
    const char *local_domain;  /* NULL: env LOCAL_DOMAIN, else "localhost" */
    const char *allowed_private_addresses; /* NULL: env ALLOWED_PRIVATE_ADDRESSES */
    const char *proxy;         /* NULL: env http_proxy; "" for none. With a proxy the
                                  address check is skipped, as in Mastodon. */
    const char *hidden_proxy;  /* NULL: env http_hidden_proxy; for .onion/.i2p */
    int allow_hidden_services; /* 0: env ALLOW_ACCESS_TO_HIDDEN_SERVICE == "true";
                                  1: allow; -1: refuse */
    const char *ca_file;       /* CA bundle used instead of the system's (NULL: system) */
    const char *const *resolve;/* NULL-terminated "host:port:address" pins (curl --resolve) */
    long connect_timeout_ms;   /* 0: 5000 */
    long read_timeout_ms;      /* 0: 10000; no byte for this long fails (1 s granularity) */
    long total_timeout_ms;     /* 0: 30000; across all redirect hops */
    int max_redirects;         /* 0: 3; negative: none (a redirect is HTTP_E_REDIRECTS) */
    int max_per_host;          /* 0: 8 connections in use per host:port at once */
    int max_idle;              /* 0: 64 connections kept open, in use and idle (libcurl's
                                  MAXCONNECTS): past it a finished request closes the
                                  oldest idle one, so this must exceed the requests in
                                  flight at once or keep-alive stops working */
} http_client_opts;

typedef struct http_client http_client;

/* One client per process is the intent: it owns the connection cache. Zeroed
 * options (or NULL) mean Mastodon's defaults and environment. Typical use:
 *   http_request req = {.url = uri, .flags = HTTP_F_ACTIVITYPUB, .max_body = HTTP_CAP_JSON,
 *                       .sign_key = key, .key_id = "https://example.social/actor#main-key"};
 *   http_response r;
 *   if (http_perform(client, &req, &r) != HTTP_OK)
 *       retry_or_give_up(http_response_unsalvageable(&r), r.error);
 *   http_response_free(&r); */
http_client *http_client_new(const http_client_opts *o, char *err, size_t errlen);
void http_client_free(http_client *c);

typedef enum {
    HTTP_F_ACTIVITYPUB = 1 << 0  /* AP Accept header; only AP content types accepted */
} http_flags;

#define HTTP_MAX_EXTRA_HEADERS 8

typedef struct http_request {
    const char *method;        /* "GET" (default) or "POST" */
    const char *url;
    unsigned flags;            /* http_flags */
    long max_body;             /* cap in bytes (0: HTTP_CAP_JSON) */
    const char *content_type;  /* POST body type */
    const void *body;
    size_t body_len;
    const char *accept;        /* overrides the Accept header */
    const sig_header *extra_headers; /* sent and signed after Content-Type, before Digest
                                        (e.g. Collection-Synchronization) */
    size_t n_extra_headers;    /* at most HTTP_MAX_EXTRA_HEADERS */
    const sig_key *sign_key;   /* sign each hop like Mastodon when set */
    const char *key_id;        /* keyId: actor URI + fragment */
    int body_fd;               /* >0: a 2xx body is written here instead of memory;
                                  on any error the file holds a partial body */
    /* Asked while a hop is under way (from libcurl's progress callback: often while
     * bytes move, about once a second while none do): non-zero cuts the request off
     * as HTTP_E_TIMEOUT, with the callback's why. For a caller that knows better than
     * this one request whether its host still answers (the deliveries' breaker). */
    int (*give_up)(void *arg, char *why, size_t whylen);
    void *give_up_arg;
} http_request;

typedef struct http_response {
    http_err err;
    long status;               /* last HTTP status seen (0 if none) */
    char *body;                /* NUL-terminated; the body unless written to body_fd
                                  (of a non-2xx answer, the first 64 KiB) */
    size_t body_len;           /* bytes received (also when written to body_fd) */
    char *content_type;        /* final response's Content-Type, or NULL */
    char *content_disposition; /* final response's Content-Disposition, or NULL */
    char *final_url;           /* URL of the last hop */
    int redirects;             /* hops followed */
    char error[NET_ERRLEN];    /* what failed, why, what to do */
} http_response;

/* Performs the request; returns resp->err. Always call http_response_free. Many
 * threads may perform on one client at once. */
http_err http_perform(http_client *c, const http_request *req, http_response *resp);
void http_response_free(http_response *r);
/* Mastodon's view of a failed delivery: 4xx other than 408/429 will not get better
 * by retrying, nor will refused addresses and invalid URLs. */
bool http_response_unsalvageable(const http_response *r);
/* true when url names its host by an IP address the SSRF guard refuses (why says
 * which range), without any DNS lookup: for rejecting hostile documents up front.
 * Host names are judged only when a request resolves them. */
bool http_client_refuses_literal(const http_client *c, const char *url, char *why, size_t whylen);
/* true for the two AP media types (ld+json needs the ActivityStreams profile). */
bool http_is_activitypub_type(const char *content_type);
/* "Tue, 24 Nov 2026 16:23:10 GMT" into buf (>= 30 bytes). */
void http_date(time_t t, char *buf, size_t len);

#endif
