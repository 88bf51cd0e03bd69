/* http_transfer.c -- libcurl's callbacks during one hop: the SSRF check on every
 * socket opened, the response head (Content-Length against the cap, the
 * ActivityPub content type), the body (streamed cap, memory or file), the caller's
 * give_up while the hop is under way, and the mapping of libcurl's result codes to
 * typed errors. */
#include "http_internal.h"

#include "queues.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTP_ERROR_BODY_MAX (64 * 1024)  /* kept of a non-2xx body, for messages */

bool http_is_redirect(long status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

void http_fail(http_hop *h, http_err e, const char *fmt, ...)
{
    if (h->err != HTTP_OK)
        return;
    h->err = e;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->why, sizeof h->why, fmt, ap);
    va_end(ap);
}

curl_socket_t http_opensocket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    http_hop *h = ud;
    char why[NET_ERRLEN];
    if (!h->via_proxy && !ssrf_guard_allows(h->c->guard, &a->addr, why, sizeof why)) {
        http_fail(h, HTTP_E_REFUSED, "%s", why);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static void http_trim_copy(char *dst, size_t dstlen, const char *src, size_t n)
{
    while (n && isspace((unsigned char)*src)) {
        src++;
        n--;
    }
    while (n && isspace((unsigned char)src[n - 1]))
        n--;
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

bool http_head_check(http_hop *h)
{
    if (h->status / 100 == 1)
        return true;  /* interim response; the real head follows */
    if (http_is_redirect(h->status) && h->location[0])
        return true;
    if (h->status / 100 != 2)
        return true;
    if (h->content_length > h->cap) {
        http_fail(h, HTTP_E_TOO_LARGE, "Content-Length %lld is over the cap of %ld bytes",
                  h->content_length, h->cap);
        return false;
    }
    if ((h->req->flags & HTTP_F_ACTIVITYPUB) && !http_is_activitypub_type(h->content_type)) {
        http_fail(h, HTTP_E_CONTENT_TYPE,
                  "answered with Content-Type \"%s\", not an ActivityPub type "
                  "(application/activity+json or application/ld+json with the ActivityStreams profile)",
                  h->content_type);
        return false;
    }
    return true;
}

size_t http_on_header(char *line, size_t size, size_t n, void *ud)
{
    http_hop *h = ud;
    size_t len = size * n;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        h->content_length = -1;
        h->content_type[0] = h->location[0] = h->content_disposition[0] = '\0';
        return len;
    }
    if (len <= 2 && (line[0] == '\r' || line[0] == '\n')) {
        curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &h->status);
        return http_head_check(h) ? len : 0;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return len;
    size_t nlen = (size_t)(colon - line);
    const char *val = colon + 1;
    size_t vlen = len - nlen - 1;
    if (nlen == 12 && strncasecmp(line, "content-type", 12) == 0) {
        http_trim_copy(h->content_type, sizeof h->content_type, val, vlen);
    } else if (nlen == 19 && strncasecmp(line, "content-disposition", 19) == 0) {
        http_trim_copy(h->content_disposition, sizeof h->content_disposition, val, vlen);
    } else if (nlen == 8 && strncasecmp(line, "location", 8) == 0) {
        http_trim_copy(h->location, sizeof h->location, val, vlen);
    } else if (nlen == 14 && strncasecmp(line, "content-length", 14) == 0) {
        char num[32];
        http_trim_copy(num, sizeof num, val, vlen);
        char *end;
        errno = 0;
        long long v = strtoll(num, &end, 10);
        h->content_length = (errno || *end || v < 0) ? -1 : v;
    }
    return len;
}

static int http_write_fd(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

size_t http_on_body(char *data, size_t size, size_t n, void *ud)
{
    http_hop *h = ud;
    size_t len = size * n;
    h->received += len;
    if (h->received > (size_t)h->cap) {
        http_fail(h, HTTP_E_TOO_LARGE, "the body grew past the cap of %ld bytes", h->cap);
        return 0;
    }
    if (http_is_redirect(h->status) && h->location[0])
        return len;  /* a redirect's body is not kept */
    if (h->status / 100 != 2) {
        size_t room = h->body->len < HTTP_ERROR_BODY_MAX ? HTTP_ERROR_BODY_MAX - h->body->len : 0;
        if (room < len) {
            base_buf_add(h->body, data, room);
            h->stopped_quietly = true;
            return 0;
        }
        base_buf_add(h->body, data, len);
        return len;
    }
    if (h->req->body_fd > 0) {
        if (http_write_fd(h->req->body_fd, data, len) != 0) {
            http_fail(h, HTTP_E_INTERNAL, "writing the body to its file failed: %s", strerror(errno));
            return 0;
        }
        return len;
    }
    base_buf_add(h->body, data, len);
    return len;
}

int http_on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                     curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    http_hop *h = ud;
    char why[NET_ERRLEN];
    if (h->req->give_up(h->req->give_up_arg, why, sizeof why) == 0)
        return 0;
    http_fail(h, HTTP_E_TIMEOUT, "%s", why);
    return 1;
}

http_err http_map_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return HTTP_E_TIMEOUT;
    case CURLE_PARTIAL_FILE:
        return HTTP_E_TRUNCATED;
    case CURLE_URL_MALFORMAT:
        return HTTP_E_INVALID;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
        return HTTP_E_TLS;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_FAILED_INIT:
        return HTTP_E_INTERNAL;
    default:
        return HTTP_E_CONNECT;
    }
}
