/* http_perform.c -- one HTTP request through the shared client, hop by hop:
 * scheme and hidden-service checks, the per-host slot, headers (Host, Date,
 * User-Agent, Accept, optional HTTP Signature), libcurl's options for the limits,
 * redirects (followed here, not by libcurl, so each hop is checked and re-signed)
 * and the error message. The callbacks during a hop are in http_transfer.c. */
#include "http_internal.h"

#include "queues.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define HTTP_AP_ACCEPT "application/activity+json, application/ld+json"

static double http_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Adds the headers Mastodon signs, in its order (Host, Date, Content-Type, the
 * caller's extra headers, Digest), and the Signature over them plus
 * (request-target) when a key is given. */
static int http_hop_headers(http_hop *h, const char *method, const char *host_header,
                            const char *target, struct curl_slist **hdrs, char *err, size_t errlen)
{
    const http_request *req = h->req;
    if (req->n_extra_headers > HTTP_MAX_EXTRA_HEADERS) {
        snprintf(err, errlen, "at most %d extra headers", HTTP_MAX_EXTRA_HEADERS);
        return -1;
    }
    char date[64];
    http_date(time(NULL), date, sizeof date);
    bool has_body = strcmp(method, "POST") == 0;
    char *digest = has_body ? sig_digest_header(req->body ? req->body : "", req->body_len) : NULL;
    sig_header sh[HTTP_MAX_EXTRA_HEADERS + 5];
    size_t n = 0;
    sh[n++] = (sig_header){"Host", host_header};
    sh[n++] = (sig_header){"Date", date};
    if (has_body)
        sh[n++] = (sig_header){"Content-Type", req->content_type ? req->content_type : "application/activity+json"};
    for (size_t i = 0; i < req->n_extra_headers; i++)
        sh[n++] = req->extra_headers[i];
    if (has_body)
        sh[n++] = (sig_header){"Digest", digest ? digest : ""};

    base_buf line;
    base_buf_init(&line);
    for (size_t i = 0; i < n; i++) {
        line.len = 0;
        base_buf_addf(&line, "%s: %s", sh[i].name, sh[i].value);
        *hdrs = curl_slist_append(*hdrs, line.data);
    }
    int rc = 0;
    if (req->sign_key) {
        char lower[16], request_target[2100];
        size_t i = 0;
        for (; method[i] && i < sizeof lower - 1; i++)
            lower[i] = (char)tolower((unsigned char)method[i]);
        lower[i] = '\0';
        snprintf(request_target, sizeof request_target, "%s %s", lower, target);
        sh[n++] = (sig_header){"(request-target)", request_target};
        char *sig = sig_sign(req->sign_key, req->key_id ? req->key_id : "", sh, n, err, errlen);
        if (sig) {
            line.len = 0;
            base_buf_addf(&line, "Signature: %s", sig);
            *hdrs = curl_slist_append(*hdrs, line.data);
            free(sig);
        } else {
            rc = -1;
        }
    }
    free(digest);
    base_buf_free(&line);
    return rc;
}

void http_target_free(http_target *t)
{
    curl_free(t->url);
    curl_free(t->scheme);
    curl_free(t->host);
    curl_free(t->port);
    curl_free(t->path);
    curl_free(t->query);
    memset(t, 0, sizeof *t);
}

static int http_target_get(CURLU *u, http_target *t)
{
    memset(t, 0, sizeof *t);
    if (curl_url_get(u, CURLUPART_URL, &t->url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &t->scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &t->host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &t->port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &t->path, 0) != CURLUE_OK)
        return -1;
    curl_url_get(u, CURLUPART_QUERY, &t->query, 0);
    return 0;
}

http_err http_target_check(const http_client *c, CURLU *u, http_target *t, char *key, size_t keylen,
                           char *why, size_t whylen)
{
    if (http_target_get(u, t) != 0) {
        snprintf(why, whylen, "the URL needs a scheme and a host");
        return HTTP_E_INVALID;
    }
    if (strcmp(t->scheme, "http") != 0 && strcmp(t->scheme, "https") != 0) {
        snprintf(why, whylen, "scheme %s is not http or https", t->scheme);
        return HTTP_E_REFUSED;
    }
    if (ssrf_is_hidden_service(t->host) && !c->allow_hidden) {
        snprintf(why, whylen, "%s is a hidden service; set ALLOW_ACCESS_TO_HIDDEN_SERVICE=true "
                 "(and http_hidden_proxy) to reach it", t->host);
        return HTTP_E_REFUSED;
    }
    snprintf(key, keylen, "%s://%s:%s", t->scheme, t->host, t->port);
    for (char *p = key; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return HTTP_OK;
}

http_err http_redirect(CURLU *u, const char *location, long status, const char **method, char *why,
                       size_t whylen)
{
    if (curl_url_set(u, CURLUPART_URL, location, 0) != CURLUE_OK) {
        snprintf(why, whylen, "redirected to an invalid Location \"%.200s\"", location);
        return HTTP_E_REDIRECTS;
    }
    if (status == 303 || ((status == 301 || status == 302) && strcmp(*method, "POST") == 0))
        *method = "GET";
    return HTTP_OK;
}

static void http_set_error(http_response *r, const char *method, const char *url, http_err e,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void http_set_error(http_response *r, const char *method, const char *url, http_err e,
                           const char *fmt, ...)
{
    char what[NET_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    r->err = e;
    snprintf(r->error, sizeof r->error, "%s %.200s: %.280s", method, url, what);
}

/* Runs one hop (fresh: on a new connection); fills h->status, h->location, h->err. */
static http_err http_run_hop(http_hop *h, const char *method, const http_target *t,
                             double deadline, char *cerr, bool fresh)
{
    http_client *c = h->c;
    const http_request *req = h->req;
    bool hidden = ssrf_is_hidden_service(t->host);
    const char *proxy = hidden && c->hidden_proxy[0] ? c->hidden_proxy : c->proxy;
    h->via_proxy = proxy[0] != '\0';

    bool default_port = (strcmp(t->scheme, "https") == 0 && strcmp(t->port, "443") == 0) ||
                        (strcmp(t->scheme, "http") == 0 && strcmp(t->port, "80") == 0);
    char host_header[300], target[2048];
    snprintf(host_header, sizeof host_header, "%s%s%s", t->host, default_port ? "" : ":",
             default_port ? "" : t->port);
    snprintf(target, sizeof target, "%s%s%s", t->path, t->query ? "?" : "", t->query ? t->query : "");

    struct curl_slist *hdrs = NULL;
    char err[NET_ERRLEN];
    if (http_hop_headers(h, method, host_header, target, &hdrs, err, sizeof err) != 0) {
        curl_slist_free_all(hdrs);
        http_fail(h, HTTP_E_INVALID, "cannot sign the request: %s", err);
        return h->err;
    }
    char accept[300];
    snprintf(accept, sizeof accept, "Accept: %s",
             req->accept ? req->accept : (req->flags & HTTP_F_ACTIVITYPUB) ? HTTP_AP_ACCEPT : "*/*");
    hdrs = curl_slist_append(hdrs, accept);
    hdrs = curl_slist_append(hdrs, "Expect:");

    long remaining = (long)((deadline - http_clock()) * 1000);
    if (remaining < 1)
        remaining = 1;
    CURL *e = h->easy;
    curl_easy_setopt(e, CURLOPT_URL, t->url);
    curl_easy_setopt(e, CURLOPT_SHARE, c->share.sh);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    /* one request per connection, as Mastodon's http.rb: keeps the per-host limit a
     * limit on sockets, and no HTTP/2 stream sharing across threads */
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms < remaining ? c->connect_ms : remaining);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, remaining);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (c->read_ms + 999) / 1000);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, http_opensocket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, h);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(e, CURLOPT_PROXY, proxy);
    curl_easy_setopt(e, CURLOPT_MAXCONNECTS, (long)c->max_idle);
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, fresh ? 1L : 0L);
    if (req->give_up) {
        curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, http_on_progress);
        curl_easy_setopt(e, CURLOPT_XFERINFODATA, h);
    }
    if (c->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
    if (c->resolve)
        curl_easy_setopt(e, CURLOPT_RESOLVE, c->resolve);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(e);
    curl_slist_free_all(hdrs);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &h->status);
    long opened = 0;
    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &opened);
    h->reused = opened == 0;
    if (h->err != HTTP_OK)
        return h->err;
    if (rc == CURLE_WRITE_ERROR && h->stopped_quietly)
        return HTTP_OK;
    if (rc != CURLE_OK) {
        h->err = http_map_curl(rc);
        snprintf(h->why, sizeof h->why, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
        return h->err;
    }
    return HTTP_OK;
}

static const char *http_advice(http_err e)
{
    switch (e) {
    case HTTP_E_TIMEOUT:
        return "; the server is slow or unreachable, retry later";
    case HTTP_E_TLS:
        return "; the server's certificate is not trusted for this name";
    case HTTP_E_CONNECT:
        return "; the host may be down, retry later";
    case HTTP_E_TOO_LARGE:
        return "; the resource is larger than scotty accepts for this use";
    default:
        return "";
    }
}

http_err http_perform(http_client *c, const http_request *req, http_response *resp)
{
    memset(resp, 0, sizeof *resp);
    const char *method = req->method ? req->method : "GET";
    if (!req->url || (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)) {
        http_set_error(resp, method, req->url ? req->url : "(no URL)", HTTP_E_INVALID,
                       "only GET and POST with a URL are supported");
        return resp->err;
    }
    double deadline = http_clock() + (double)c->total_ms / 1000.0;
    base_buf body;
    base_buf_init(&body);
    CURLU *u = curl_url();
    CURL *easy = http_easy_get(c);
    if (!u || !easy) {
        http_set_error(resp, method, req->url, HTTP_E_INTERNAL, "libcurl could not allocate a handle");
        goto done;
    }
    if (curl_url_set(u, CURLUPART_URL, req->url, 0) != CURLUE_OK) {
        http_set_error(resp, method, req->url, HTTP_E_INVALID, "not a valid absolute URL");
        goto done;
    }
    for (int hop = 0;; hop++) {
        http_target t;
        char key[300], why[NET_ERRLEN];
        http_err te = http_target_check(c, u, &t, key, sizeof key, why, sizeof why);
        if (te == HTTP_E_INVALID) {
            http_target_free(&t);
            http_set_error(resp, method, req->url, te, "%s", why);
            goto done;
        }
        free(resp->final_url);
        resp->final_url = strdup(t.url);
        if (te != HTTP_OK) {
            http_set_error(resp, method, t.url, te, "%s", why);
            http_target_free(&t);
            goto done;
        }
        if (http_slot_acquire(c, key, deadline) != 0) {
            http_set_error(resp, method, t.url, HTTP_E_TIMEOUT,
                           "no connection slot to %s came free before the deadline "
                           "(too many requests to one host at once)", t.host);
            http_target_free(&t);
            goto done;
        }
        http_hop h;
        http_err e = HTTP_OK;
        char cerr[CURL_ERROR_SIZE];
        for (int attempt = 0; attempt < 2; attempt++) {
            h = (http_hop){.c = c, .req = req, .easy = easy, .content_length = -1,
                           .body = &body, .cap = req->max_body > 0 ? req->max_body : HTTP_CAP_JSON};
            cerr[0] = '\0';
            base_buf_free(&body);
            if (attempt)
                curl_easy_reset(easy);
            e = http_run_hop(&h, method, &t, deadline, cerr, attempt == 1);
            /* A cached connection can hold leftovers of an earlier response that lied
             * about its length, which then read as a garbled reply: one more try on a
             * new connection, if nothing of this hop reached the caller yet. */
            if (!(e == HTTP_E_CONNECT && h.reused && h.received == 0))
                break;
        }
        http_slot_release(c, key);
        resp->status = h.status;
        resp->body_len = h.received;
        free(resp->content_type);
        resp->content_type = h.content_type[0] ? strdup(h.content_type) : NULL;
        free(resp->content_disposition);
        resp->content_disposition = h.content_disposition[0] ? strdup(h.content_disposition) : NULL;
        if (e != HTTP_OK) {
            char detail[NET_ERRLEN + 128];
            snprintf(detail, sizeof detail, "%s (%s)%s", http_err_name(e), h.why, http_advice(e));
            http_set_error(resp, method, t.url, e, "%s", detail);
            http_target_free(&t);
            goto done;
        }
        http_target_free(&t);
        if (http_is_redirect(h.status) && h.location[0]) {
            if (hop >= c->max_redirects) {
                http_set_error(resp, method, resp->final_url, HTTP_E_REDIRECTS,
                               "more than %d redirects", c->max_redirects);
                goto done;
            }
            if (http_redirect(u, h.location, h.status, &method, why, sizeof why) != HTTP_OK) {
                http_set_error(resp, method, resp->final_url, HTTP_E_REDIRECTS, "%s", why);
                goto done;
            }
            resp->redirects = hop + 1;
            curl_easy_reset(easy);
            continue;
        }
        if (h.status / 100 != 2) {
            http_set_error(resp, method, resp->final_url, HTTP_E_STATUS, "the server answered HTTP %ld",
                           h.status);
        }
        goto done;
    }
done:
    resp->body = base_buf_take(&body);
    curl_url_cleanup(u);
    if (easy)
        http_easy_put(c, easy);
    return resp->err;
}
