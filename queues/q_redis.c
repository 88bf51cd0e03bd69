/* q_redis.c -- Redis endpoints (URL parsing) and the process-wide health state
 * that turns connection failures into exactly two log lines: down, and back. */
#include "queues.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Percent-decodes src[0..n) into dst (size len). */
static void q_url_decode(const char *src, size_t n, char *dst, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < len; i++) {
        if (src[i] == '%' && i + 2 < n && isxdigit((unsigned char)src[i + 1]) &&
            isxdigit((unsigned char)src[i + 2])) {
            char hex[3] = {src[i + 1], src[i + 2], 0};
            dst[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            dst[o++] = src[i];
        }
    }
    dst[o] = '\0';
}

static int q_url_query(const char *q, q_redis_opts *out, char *err, size_t errlen)
{
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        char kv[512];
        q_url_decode(q, n, kv, sizeof kv);
        char *eq = strchr(kv, '=');
        const char *val = eq ? eq + 1 : "";
        if (eq)
            *eq = '\0';
        if (strcmp(kv, "db") == 0)
            out->db = atoi(val);
        else if (strcmp(kv, "ssl_cert_reqs") == 0)
            out->tls_verify = strcmp(val, "none") != 0 && strcmp(val, "CERT_NONE") != 0;
        else if (strcmp(kv, "ssl_ca_certs") == 0)
            snprintf(out->tls_ca_file, sizeof out->tls_ca_file, "%s", val);
        else if (strcmp(kv, "password") == 0)
            snprintf(out->password, sizeof out->password, "%s", val);
        else {
            snprintf(err, errlen, "unknown Redis URL option '%s' (known: db, password, "
                     "ssl_cert_reqs, ssl_ca_certs)", kv);
            return -1;
        }
        q = amp ? amp + 1 : NULL;
    }
    return 0;
}

int q_redis_parse_url(const char *url, q_redis_opts *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->port = 6379;
    out->tls_verify = true;
    snprintf(out->host, sizeof out->host, "127.0.0.1");
    const char *rest;
    if (strncmp(url, "redis://", 8) == 0)
        rest = url + 8;
    else if (strncmp(url, "rediss://", 9) == 0)
        rest = url + 9, out->tls = true;
    else if (strncmp(url, "unix://", 7) == 0) {
        rest = url + 7;
        const char *q = strchr(rest, '?');
        size_t n = q ? (size_t)(q - rest) : strlen(rest);
        if (n == 0 || n >= sizeof out->unix_path) {
            snprintf(err, errlen, "Redis URL '%s' has no usable socket path", url);
            return -1;
        }
        memcpy(out->unix_path, rest, n);
        out->unix_path[n] = '\0';
        return q_url_query(q ? q + 1 : NULL, out, err, errlen);
    } else {
        snprintf(err, errlen, "Redis URL '%s' must start with redis://, rediss:// or unix://", url);
        return -1;
    }
    const char *end = rest + strcspn(rest, "/?");
    const char *at = memchr(rest, '@', (size_t)(end - rest));
    if (at) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        if (colon) {
            q_url_decode(rest, (size_t)(colon - rest), out->username, sizeof out->username);
            q_url_decode(colon + 1, (size_t)(at - colon - 1), out->password, sizeof out->password);
        } else {
            q_url_decode(rest, (size_t)(at - rest), out->password, sizeof out->password);
        }
        rest = at + 1;
    }
    const char *hostend = end;
    if (*rest == '[') { /* [IPv6]:port */
        const char *rb = memchr(rest, ']', (size_t)(end - rest));
        if (!rb) {
            snprintf(err, errlen, "Redis URL '%s' has an unclosed IPv6 bracket", url);
            return -1;
        }
        snprintf(out->host, sizeof out->host, "%.*s", (int)(rb - rest - 1), rest + 1);
        if (rb[1] == ':')
            out->port = atoi(rb + 2);
    } else {
        const char *colon = memchr(rest, ':', (size_t)(end - rest));
        if (colon) {
            hostend = colon;
            char *pe;
            long port = strtol(colon + 1, &pe, 10);
            if (pe != end || port <= 0 || port > 65535) {
                snprintf(err, errlen, "Redis URL '%s' has an invalid port", url);
                return -1;
            }
            out->port = (int)port;
        }
        if (hostend > rest)
            snprintf(out->host, sizeof out->host, "%.*s", (int)(hostend - rest), rest);
    }
    if (*end == '/') {
        const char *q = strchr(end, '?');
        if (end[1] && end[1] != '?')
            out->db = atoi(end + 1);
        end = q ? q : end + strlen(end);
    }
    if (*end == '?')
        return q_url_query(end + 1, out, err, errlen);
    return 0;
}

void q_redis_describe(const q_redis_opts *o, char *buf, size_t len)
{
    if (o->nsentinels > 0) {
        int n = snprintf(buf, len, "master %s (db %d) via sentinels", o->sentinel_master, o->db);
        for (int i = 0; i < o->nsentinels && n > 0 && (size_t)n < len; i++)
            n += snprintf(buf + n, len - (size_t)n, "%s%s:%d", i ? "," : " ", o->sentinels[i].host,
                          o->sentinels[i].port);
        return;
    }
    if (o->unix_path[0])
        snprintf(buf, len, "unix://%s (db %d)", o->unix_path, o->db);
    else
        snprintf(buf, len, "%s://%s:%d/%d", o->tls ? "rediss" : "redis", o->host, o->port, o->db);
}

/* Process-wide Redis health; every connection reports into it. Owned by this
 * file, guarded by q_health_mu. */
static pthread_mutex_t q_health_mu = PTHREAD_MUTEX_INITIALIZER;
static bool q_health_down;
static double q_health_since;
static unsigned long q_health_outages; /* outages that ended */

unsigned long q_redis_health_outages(void)
{
    pthread_mutex_lock(&q_health_mu);
    unsigned long n = q_health_outages;
    pthread_mutex_unlock(&q_health_mu);
    return n;
}

void q_redis_health_down(const char *what)
{
    pthread_mutex_lock(&q_health_mu);
    if (!q_health_down) {
        q_health_down = true;
        q_health_since = base_monotonic();
        base_log(BASE_LOG_ERROR, "Redis is unreachable: %s; jobs stay in Redis, retrying with backoff",
              what);
    }
    pthread_mutex_unlock(&q_health_mu);
}

void q_redis_health_up(void)
{
    pthread_mutex_lock(&q_health_mu);
    if (q_health_down) {
        q_health_down = false;
        q_health_outages++;
        base_log(BASE_LOG_INFO, "Redis is back online after %.1f s", base_monotonic() - q_health_since);
    }
    pthread_mutex_unlock(&q_health_mu);
}
