/* objstore_s3.c -- the S3 backend: one signed request at a time through libcurl's
 * SigV4 (CURLOPT_AWS_SIGV4), with the workarounds curl 7.88 needs (see
 * shared/reference/peers-and-anchors.md §4): explicit "aws:amz:REGION:s3", our own
 * x-amz-content-sha256 header, keys and queries encoded and sorted by us. Requests
 * are retried with exponential backoff on 5xx answers and network errors. */
#include "objstore_internal.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define S3_CACHE_CONTROL "Cache-Control: public, max-age=315576000, immutable"

static pthread_once_t s3_curl_once = PTHREAD_ONCE_INIT;
static void s3_curl_global(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

void objstore_uri_encode(base_buf *out, const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char ch = *p;
        bool plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                     (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
                     ch == '~' || (keep_slash && ch == '/');
        if (plain) {
            base_buf_add(out, (const char *)p, 1);
        } else {
            char esc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            base_buf_add(out, esc, 3);
        }
    }
}

void objstore_xml_value(const char *xml, const char *tag, char *out, size_t len)
{
    out[0] = '\0';
    if (!xml)
        return;
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = strstr(xml, open);
    const char *b = a ? strstr(a, close) : NULL;
    if (!b)
        return;
    a += strlen(open);
    snprintf(out, len, "%.*s", (int)(b - a), a);
}

void objstore_s3_cleanup(objstore *o)
{
    objstore_breaker_destroy(o);
    curlshare_cleanup(&o->share);
}

int objstore_s3_init(objstore *o, char *err, size_t errlen)
{
    pthread_once(&s3_curl_once, s3_curl_global);
    const objstore_cfg *c = &o->cfg;
    o->s3_vhost = !c->path_style;
    char endpoint[512];
    if (c->endpoint[0])
        snprintf(endpoint, sizeof endpoint, "%s", c->endpoint);
    else
        snprintf(endpoint, sizeof endpoint, "https://s3.%s.amazonaws.com", c->region);
    size_t n = strlen(endpoint);
    while (n && endpoint[n - 1] == '/')
        endpoint[--n] = '\0';
    const char *host = strstr(endpoint, "://");
    if (!host || strchr(host + 3, '/')) {
        snprintf(err, errlen, "S3_ENDPOINT=%s is not a scheme://host[:port] URL", endpoint);
        return -1;
    }
    if (o->s3_vhost)
        snprintf(o->s3_base, sizeof o->s3_base, "%.*s://%s.%s", (int)(host - endpoint), endpoint,
                 c->bucket, host + 3);
    else
        snprintf(o->s3_base, sizeof o->s3_base, "%s", endpoint);
    /* Connections are reused across requests and threads instead of one TCP
     * (and TLS) handshake per request. */
    if (curlshare_init(&o->share) != 0)
        abort();
    objstore_breaker_init(o);
    return 0;
}

static void s3_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static size_t s3_read_body(char *dst, size_t size, size_t nmemb, void *user)
{
    objstore_body *b = user;
    size_t want = size * nmemb;
    long long left = b->length - b->pos;
    if ((long long)want > left)
        want = (size_t)left;
    if (want == 0)
        return 0;
    if (b->data) {
        memcpy(dst, b->data + b->pos, want);
    } else {
        ssize_t got = pread(fileno(b->file), dst, want, (off_t)(b->offset + b->pos));
        if (got <= 0)
            return CURL_READFUNC_ABORT;
        want = (size_t)got;
    }
    b->pos += (long long)want;
    return want;
}

static int s3_seek_body(void *user, curl_off_t offset, int origin)
{
    objstore_body *b = user;
    if (origin != SEEK_SET || offset < 0 || offset > b->length)
        return CURL_SEEKFUNC_CANTSEEK;
    b->pos = offset;
    return CURL_SEEKFUNC_OK;
}

static size_t s3_write_response(char *src, size_t size, size_t nmemb, void *user)
{
    base_buf_add(user, src, size * nmemb);
    return size * nmemb;
}

static size_t s3_read_header(char *line, size_t size, size_t nmemb, void *user)
{
    size_t n = size * nmemb;
    objstore_s3_req *req = user;
    if (n > 5 && strncasecmp(line, "etag:", 5) == 0) {
        size_t a = 5, b = n;
        while (a < b && (line[a] == ' ' || line[a] == '\t'))
            a++;
        while (b > a && (line[b - 1] == '\r' || line[b - 1] == '\n' || line[b - 1] == ' '))
            b--;
        snprintf(req->etag, sizeof req->etag, "%.*s", (int)(b - a), line + a);
    }
    return n;
}

/* Builds the header list every attempt sends (and curl signs). */
static struct curl_slist *s3_headers(const objstore *o, const objstore_s3_req *req)
{
    struct curl_slist *h = NULL;
    char line[640];
    char sha[65] = S3_EMPTY_SHA256;
    if (req->body && req->body->file)
        snprintf(sha, sizeof sha, "UNSIGNED-PAYLOAD");
    else if (req->body)
        s3_sha256_hex(req->body->data, (size_t)req->body->length, sha);
    snprintf(line, sizeof line, "x-amz-content-sha256: %s", sha);
    h = curl_slist_append(h, line);
    if (req->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", req->content_type);
        h = curl_slist_append(h, line);
    }
    if (req->object_headers) {
        h = curl_slist_append(h, S3_CACHE_CONTROL);
        if (o->cfg.permission[0]) {
            snprintf(line, sizeof line, "x-amz-acl: %s", o->cfg.permission);
            h = curl_slist_append(h, line);
        }
        if (o->cfg.storage_class[0]) {
            snprintf(line, sizeof line, "x-amz-storage-class: %s", o->cfg.storage_class);
            h = curl_slist_append(h, line);
        }
    }
    return h;
}

static void s3_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* One attempt. Returns the curl result; *status gets the HTTP status. */
static CURLcode s3_attempt(const objstore *o, objstore_s3_req *req, const char *url,
                           struct curl_slist *headers, base_buf *resp, char *curl_err)
{
    CURL *h = curl_easy_init();
    if (!h)
        abort();
    char sigv4[128];
    snprintf(sigv4, sizeof sigv4, "aws:amz:%s:s3", o->cfg.region);
    curl_easy_setopt(h, CURLOPT_SHARE, o->share.sh);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4);
    curl_easy_setopt(h, CURLOPT_USERNAME, o->cfg.access_key);
    curl_easy_setopt(h, CURLOPT_PASSWORD, o->cfg.secret_key);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->cfg.open_timeout_ms);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, o->cfg.read_timeout_ms / 1000 > 0
                                                    ? o->cfg.read_timeout_ms / 1000 : 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s3_write_response);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, s3_read_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, req);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");

    objstore_body *b = req->body;
    if (b) {
        b->pos = 0;
        curl_easy_setopt(h, CURLOPT_READFUNCTION, s3_read_body);
        curl_easy_setopt(h, CURLOPT_READDATA, b);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, s3_seek_body);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, b);
    }
    if (strcmp(req->method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(b ? b->length : 0));
    } else if (strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        if (!b)
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(b ? b->length : 0));
    } else if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    }
    CURLcode rc = curl_easy_perform(h);
    req->status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &req->status);
    curl_easy_cleanup(h);
    return rc;
}

int objstore_s3_request(objstore *o, objstore_s3_req *req, char *err, size_t errlen)
{
    req->status = 0;
    if (!objstore_breaker_allow(o, err, errlen))
        return -1;
    base_buf url;
    base_buf_init(&url);
    base_buf_adds(&url, o->s3_base);
    if (!o->s3_vhost) {
        base_buf_adds(&url, "/");
        objstore_uri_encode(&url, o->cfg.bucket, false);
    }
    base_buf_adds(&url, "/");
    objstore_uri_encode(&url, req->key, true);
    if (req->query)
        base_buf_addf(&url, "?%s", req->query);
    struct curl_slist *headers = s3_headers(o, req);

    int attempts = o->cfg.retries + 1, rc = -1;
    bool unhealthy = false;
    long delay = o->cfg.backoff_ms;
    for (int i = 0; i < attempts; i++) {
        if (i > 0) {
            s3_sleep_ms(delay);
            delay = delay * 2 > 5000 ? 5000 : delay * 2;
        }
        base_buf resp;
        base_buf_init(&resp);
        char curl_err[CURL_ERROR_SIZE] = "";
        req->etag[0] = '\0';
        CURLcode cc = s3_attempt(o, req, url.data, headers, &resp, curl_err);
        if (cc == CURLE_OK && req->status >= 200 && req->status < 300) {
            if (req->response && resp.len)
                base_buf_add(req->response, resp.data, resp.len);
            base_buf_free(&resp);
            rc = 0;
            break;
        }
        if (cc != CURLE_OK) {
            snprintf(err, errlen, "S3 %s %s failed (attempt %d of %d): %s (check S3_ENDPOINT and "
                                  "that the object store is reachable)", req->method, url.data,
                     i + 1, attempts, curl_err[0] ? curl_err : curl_easy_strerror(cc));
        } else {
            char code[128], msg[256];
            objstore_xml_value(resp.data, "Code", code, sizeof code);
            objstore_xml_value(resp.data, "Message", msg, sizeof msg);
            const char *hint = "";
            if (req->status == 403)
                hint = " (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and S3_REGION)";
            else if (strcmp(code, "NoSuchBucket") == 0)
                hint = " (check S3_BUCKET)";
            snprintf(err, errlen, "S3 %s %s answered HTTP %ld%s%s%s%s (attempt %d of %d)%s",
                     req->method, url.data, req->status, code[0] ? " " : "", code,
                     msg[0] ? ": " : "", msg, i + 1, attempts, hint);
        }
        base_buf_free(&resp);
        bool retryable = cc != CURLE_OK ? cc != CURLE_ABORTED_BY_CALLBACK && cc != CURLE_READ_ERROR
                                        : req->status >= 500;
        unhealthy = retryable;
        if (!retryable)
            break;
        if (i + 1 < attempts)
            base_log(BASE_LOG_WARN, "%s; retrying", err);
    }
    objstore_breaker_record(o, rc != 0 && unhealthy);
    curl_slist_free_all(headers);
    base_buf_free(&url);
    return rc;
}

int objstore_s3_put(objstore *o, const char *key, objstore_body *body, const char *content_type,
                    char *err, size_t errlen)
{
    if ((size_t)body->length > o->cfg.multipart_threshold)
        return objstore_s3_put_multipart(o, key, body, content_type, err, errlen);
    objstore_s3_req req = {.method = "PUT", .key = key, .body = body,
                           .content_type = content_type, .object_headers = true};
    return objstore_s3_request(o, &req, err, errlen);
}

int objstore_s3_get(objstore *o, const char *key, base_buf *out, char *err, size_t errlen)
{
    objstore_s3_req req = {.method = "GET", .key = key, .response = out};
    int rc = objstore_s3_request(o, &req, err, errlen);
    return rc != 0 && req.status == 404 ? OBJSTORE_NOT_FOUND : rc;
}

int objstore_s3_delete(objstore *o, const char *key, char *err, size_t errlen)
{
    objstore_s3_req req = {.method = "DELETE", .key = key};
    int rc = objstore_s3_request(o, &req, err, errlen);
    return rc != 0 && req.status == 404 ? 0 : rc;
}

int objstore_s3_exists(objstore *o, const char *key, char *err, size_t errlen)
{
    objstore_s3_req req = {.method = "HEAD", .key = key};
    int rc = objstore_s3_request(o, &req, err, errlen);
    if (rc == 0)
        return 1;
    return req.status == 404 ? 0 : -1;
}
