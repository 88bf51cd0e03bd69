/* http_internal.h -- the client structure shared by http_client.c (lifecycle,
 * connection cache, per-host slots) and http_perform.c (one request). */
#ifndef SCOTTY_HTTP_INTERNAL_H
#define SCOTTY_HTTP_INTERNAL_H

#include "net.h"

#include <curl/curl.h>
#include <pthread.h>

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

    /* libcurl's shared connection, DNS and TLS-session caches; curl calls the
     * share callbacks, which take share_locks[data]. */
    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

    /* Per-host in-use counts; guarded by slots_lock, waiters sleep on slots_cond. */
    pthread_mutex_t slots_lock;
    pthread_cond_t slots_cond;
    http_host_slot *slots;
    size_t nslots;
};

/* Waits (until the monotonic deadline, seconds) for a free slot for key.
 * 0, or -1 on timeout. */
int http_slot_acquire(http_client *c, const char *key, double deadline);
void http_slot_release(http_client *c, const char *key);

#endif
