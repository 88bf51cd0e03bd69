/* http_client.c -- the shared HTTP client: settings from options and Mastodon's
 * environment, libcurl's shared caches (connections, DNS, TLS sessions) so
 * connections are reused across jobs and threads, and the per-host limit on
 * connections in use at once. */
#include "http_internal.h"

#include "queues.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* curl_global_init runs once per process; the once-flag is its only state. */
static pthread_once_t http_global_once = PTHREAD_ONCE_INIT;
static CURLcode http_global_rc;

static void http_global_init(void)
{
    http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *http_setting(const char *given, const char *env, const char *fallback)
{
    const char *v = given ? given : getenv(env);
    return strdup(v ? v : fallback);
}

static int http_client_settings(http_client *c, const http_client_opts *o, char *err, size_t errlen)
{
    const char *allowed = o->allowed_private_addresses ? o->allowed_private_addresses
                                                       : getenv("ALLOWED_PRIVATE_ADDRESSES");
    c->guard = ssrf_guard_new(allowed, err, errlen);
    if (!c->guard)
        return -1;
    if (o->user_agent) {
        c->user_agent = strdup(o->user_agent);
    } else {
        const char *domain = o->local_domain ? o->local_domain : getenv("LOCAL_DOMAIN");
        base_buf b;
        base_buf_init(&b);
        base_buf_addf(&b, "scotty/%s (libcurl/%s; +https://%s/)", SCOTTY_VERSION,
                   curl_version_info(CURLVERSION_NOW)->version, domain && *domain ? domain : "localhost");
        c->user_agent = base_buf_take(&b);
    }
    c->proxy = http_setting(o->proxy, "http_proxy", "");
    c->hidden_proxy = http_setting(o->hidden_proxy, "http_hidden_proxy", "");
    c->ca_file = o->ca_file ? strdup(o->ca_file) : NULL;
    if (o->allow_hidden_services != 0) {
        c->allow_hidden = o->allow_hidden_services > 0;
    } else {
        const char *v = getenv("ALLOW_ACCESS_TO_HIDDEN_SERVICE");
        c->allow_hidden = v && strcmp(v, "true") == 0;
    }
    for (size_t i = 0; o->resolve && o->resolve[i]; i++) {
        struct curl_slist *l = curl_slist_append(c->resolve, o->resolve[i]);
        if (!l) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        c->resolve = l;
    }
    c->connect_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 5000;
    c->read_ms = o->read_timeout_ms > 0 ? o->read_timeout_ms : 10000;
    c->total_ms = o->total_timeout_ms > 0 ? o->total_timeout_ms : 30000;
    c->max_redirects = o->max_redirects == 0 ? 3 : (o->max_redirects < 0 ? 0 : o->max_redirects);
    c->max_per_host = o->max_per_host > 0 ? o->max_per_host : 8;
    c->max_idle = o->max_idle > 0 ? o->max_idle : 64;
    if (!c->user_agent || !c->proxy || !c->hidden_proxy || (o->ca_file && !c->ca_file)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

http_client *http_client_new(const http_client_opts *o, char *err, size_t errlen)
{
    static const http_client_opts defaults;
    if (!o)
        o = &defaults;
    pthread_once(&http_global_once, http_global_init);
    if (http_global_rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl global initialisation failed: %s",
                 curl_easy_strerror(http_global_rc));
        return NULL;
    }
    http_client *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->slots_lock, NULL);
    pthread_mutex_init(&c->easy_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->slots_cond, &ca);
    pthread_condattr_destroy(&ca);
    if (http_client_settings(c, o, err, errlen) != 0) {
        http_client_free(c);
        return NULL;
    }
    if (curlshare_init(&c->share) != 0) {
        snprintf(err, errlen, "libcurl share setup failed (libcurl %s needs connection sharing, 7.57+)",
                 curl_version_info(CURLVERSION_NOW)->version);
        http_client_free(c);
        return NULL;
    }
    return c;
}

void http_client_free(http_client *c)
{
    if (!c)
        return;
    /* the handles first: a share with handles attached cannot be cleaned up */
    for (size_t i = 0; i < c->n_easy_idle; i++)
        curl_easy_cleanup(c->easy_idle[i]);
    free(c->easy_idle);
    pthread_mutex_destroy(&c->easy_lock);
    curlshare_cleanup(&c->share);
    pthread_mutex_destroy(&c->slots_lock);
    pthread_cond_destroy(&c->slots_cond);
    free(c->slots);
    ssrf_guard_free(c->guard);
    curl_slist_free_all(c->resolve);
    free(c->user_agent);
    free(c->proxy);
    free(c->hidden_proxy);
    free(c->ca_file);
    free(c);
}

CURL *http_easy_get(http_client *c)
{
    CURL *easy = NULL;
    pthread_mutex_lock(&c->easy_lock);
    if (c->n_easy_idle)
        easy = c->easy_idle[--c->n_easy_idle];
    pthread_mutex_unlock(&c->easy_lock);
    return easy ? easy : curl_easy_init();
}

void http_easy_put(http_client *c, CURL *easy)
{
    curl_easy_reset(easy);
    pthread_mutex_lock(&c->easy_lock);
    if (c->n_easy_idle == c->cap_easy_idle) {
        size_t cap = c->cap_easy_idle ? c->cap_easy_idle * 2 : 16;
        CURL **grown = realloc(c->easy_idle, cap * sizeof *grown);
        if (grown) {
            c->easy_idle = grown;
            c->cap_easy_idle = cap;
        }
    }
    if (c->n_easy_idle < c->cap_easy_idle) {
        c->easy_idle[c->n_easy_idle++] = easy;
        easy = NULL;
    }
    pthread_mutex_unlock(&c->easy_lock);
    if (easy)
        curl_easy_cleanup(easy);
}

static http_host_slot *http_slot_find(http_client *c, const char *key)
{
    for (size_t i = 0; i < c->nslots; i++)
        if (strcmp(c->slots[i].key, key) == 0)
            return &c->slots[i];
    return NULL;
}

int http_slot_acquire(http_client *c, const char *key, double deadline)
{
    struct timespec ts;
    double whole = (double)(long)deadline;
    ts.tv_sec = (time_t)whole;
    ts.tv_nsec = (long)((deadline - whole) * 1e9);
    pthread_mutex_lock(&c->slots_lock);
    for (;;) {
        http_host_slot *s = http_slot_find(c, key);
        if (!s) {
            http_host_slot *grown = realloc(c->slots, (c->nslots + 1) * sizeof *grown);
            if (!grown)
                break;
            c->slots = grown;
            s = &c->slots[c->nslots++];
            snprintf(s->key, sizeof s->key, "%s", key);
            s->in_use = 0;
        }
        if (s->in_use < c->max_per_host) {
            s->in_use++;
            pthread_mutex_unlock(&c->slots_lock);
            return 0;
        }
        if (pthread_cond_timedwait(&c->slots_cond, &c->slots_lock, &ts) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&c->slots_lock);
    return -1;
}

void http_slot_release(http_client *c, const char *key)
{
    pthread_mutex_lock(&c->slots_lock);
    http_host_slot *s = http_slot_find(c, key);
    if (s && --s->in_use == 0) {
        /* drop idle entries so the table stays as small as the set of busy hosts */
        *s = c->slots[--c->nslots];
    }
    pthread_cond_broadcast(&c->slots_cond);
    pthread_mutex_unlock(&c->slots_lock);
}

bool http_client_refuses_literal(const http_client *c, const char *url, char *why, size_t whylen)
{
    if (c->proxy[0])
        return false; /* behind a proxy Mastodon does not check addresses either */
    CURLU *u = curl_url();
    char *host = NULL;
    bool refused = false;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof ss);
        struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
        size_t n = strlen(host);
        char bare[64] = "";
        if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof bare)
            memcpy(bare, host + 1, n - 2);
        if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
            refused = !ssrf_guard_allows(c->guard, (struct sockaddr *)v4, why, whylen);
        } else if (bare[0] && inet_pton(AF_INET6, bare, &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            refused = !ssrf_guard_allows(c->guard, (struct sockaddr *)v6, why, whylen);
        }
    }
    curl_free(host);
    curl_url_cleanup(u);
    return refused;
}
