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
    q_buf *body;
} http_hop;

/* libcurl callbacks and helpers of one hop (http_transfer.c). */
bool http_is_redirect(long status);
void http_fail(http_hop *h, http_err e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
curl_socket_t http_opensocket(void *ud, curlsocktype purpose, struct curl_sockaddr *a);
size_t http_on_header(char *line, size_t size, size_t n, void *ud);
size_t http_on_body(char *data, size_t size, size_t n, void *ud);
http_err http_map_curl(CURLcode rc);

/* Waits (until the monotonic deadline, seconds) for a free slot for key.
 * 0, or -1 on timeout. */
int http_slot_acquire(http_client *c, const char *key, double deadline);
void http_slot_release(http_client *c, const char *key);

#endif
