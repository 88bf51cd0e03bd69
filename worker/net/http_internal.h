/* http_internal.h -- what the http_ files share: the client structure
 * (http_client.c: lifecycle, connection cache, per-host slots) and the state of
 * one hop (http_perform.c drives it, http_transfer.c's callbacks fill it). */
#ifndef SCOTTY_HTTP_INTERNAL_H
#define SCOTTY_HTTP_INTERNAL_H

#include "curlshare.h"
#include "net.h"

#include <curl/curl.h>
#include <pthread.h>

#include "queues.h"

typedef struct http_host_slot {
    char key[300];          /* "scheme://host:port", lowercase */
    int in_use;             /* requests holding a connection to it now */
} http_host_slot;

struct http_client {
    /* Settings: written by http_client_new only, then read-only. */
    char *user_agent;
    char *proxy;            /* "" for none */
    char *hidden_proxy;     /* "" for none */
    char *ca_file;          /* NULL: system bundle */
    struct curl_slist *resolve;
    bool allow_hidden;
    long connect_ms, read_ms, total_ms;
    int max_redirects, max_per_host, max_idle;
    ssrf_guard *guard;

    /* libcurl's shared connection, DNS and TLS-session caches (curlshare.h). */
    curlshare share;

    /* Easy handles between requests, kept so a request does not set one up (and
     * its buffers) again; guarded by easy_lock. */
    pthread_mutex_t easy_lock;
    CURL **easy_idle;
    size_t n_easy_idle, cap_easy_idle;

    /* Per-host in-use counts; guarded by slots_lock, waiters sleep on slots_cond. */
    pthread_mutex_t slots_lock;
    pthread_cond_t slots_cond;
    http_host_slot *slots;
    size_t nslots;
};

/* State of one hop of a request; owned by the calling thread. */
typedef struct http_hop {
    http_client *c;
    const http_request *req;
    CURL *easy;
    bool via_proxy;
    long cap;
    /* current response head */
    long status;
    long long content_length;  /* -1 unknown */
    char content_type[256];
    char location[2048];
    char content_disposition[512];
    /* outcome */
    http_err err;              /* set by callbacks when they abort the transfer */
    char why[NET_ERRLEN];
    bool stopped_quietly;      /* error body truncated on purpose */
    bool reused;               /* ran on a connection from the cache */
    size_t received;           /* body bytes of this hop */
    base_buf *body;
} http_hop;

/* libcurl callbacks and helpers of one hop (http_transfer.c). */
bool http_is_redirect(long status);
/* Checks a finished response head whose status is in h->status: the caps and the
 * content type of a final 2xx. false (with h->err) to abort the transfer. */
bool http_head_check(http_hop *h);
void http_fail(http_hop *h, http_err e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
curl_socket_t http_opensocket(void *ud, curlsocktype purpose, struct curl_sockaddr *a);
size_t http_on_header(char *line, size_t size, size_t n, void *ud);
size_t http_on_body(char *data, size_t size, size_t n, void *ud);
/* libcurl's progress callback: asks the request's give_up (set only then). */
int http_on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                     curl_off_t ulnow);
http_err http_map_curl(CURLcode rc);

/* The parts of one hop's URL that headers and the slot key need (http_perform.c). */
typedef struct http_target {
    char *url, *scheme, *host, *port, *path, *query;
} http_target;
void http_target_free(http_target *t);
/* Reads the URL u names into t and checks it: HTTP_E_INVALID without a scheme or a
 * host, HTTP_E_REFUSED for a scheme other than http(s) or a hidden service the
 * client may not reach, with why. key gets the per-host slot key,
 * "scheme://host:port" in lower case. Call http_target_free in every case. */
http_err http_target_check(const http_client *c, CURLU *u, http_target *t, char *key, size_t keylen,
                           char *why, size_t whylen);
/* Follows a redirect: resolves location against u (the URL that answered status)
 * and sets *method for the next hop (303, and 301/302 after a POST, turn it into a
 * GET). HTTP_OK, or HTTP_E_REDIRECTS with why for a Location that is no URL. */
http_err http_redirect(CURLU *u, const char *location, long status, const char **method, char *why,
                       size_t whylen);

/* Waits (until the monotonic deadline, seconds) for a free slot for key.
 * 0, or -1 on timeout. */
int http_slot_acquire(http_client *c, const char *key, double deadline);
void http_slot_release(http_client *c, const char *key);

/* An easy handle for one request: an idle one of c's, else a new one (NULL when
 * out of memory). http_easy_put resets it and keeps it for the next request. */
CURL *http_easy_get(http_client *c);
void http_easy_put(http_client *c, CURL *easy);

#endif
