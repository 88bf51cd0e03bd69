/* fuzz_http.c -- libFuzzer target for HTTP response heads and redirects
 * (worker/net/http_transfer.c http_on_header / http_head_check, http_perform.c
 * http_redirect / http_target_check), the pieces of a hop that read what the
 * server sent, without a network.
 *
 * Input: the first byte picks the request (GET or POST, ActivityPub or not, the body
 * cap), the rest is one or more response heads, each ending with an empty line, as
 * libcurl hands them to the header callback. Each head is read as one hop; a redirect
 * with a Location is followed from the request URL as http_perform follows it, up to
 * the client's limit. Properties: no crash or overread; every header value stays
 * NUL-terminated inside its buffer; a 2xx head passes only within the cap and, for an
 * ActivityPub request, with an ActivityPub content type; a followed URL is http(s),
 * not a refused hidden service, and its slot key is "scheme://host:port" in lower
 * case; a redirected POST turns into a GET exactly on 301, 302 and 303. */
#include "http_internal.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static http_client *fz_client;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[NET_ERRLEN];
    http_client_opts o = {.local_domain = "scotty.test", .allowed_private_addresses = "", .proxy = "",
                          .hidden_proxy = "", .allow_hidden_services = -1};
    fz_client = http_client_new(&o, err, sizeof err);
    if (!fz_client)
        abort();
    return 0;
}

static void fz_check_strings(const http_hop *h)
{
    if (strnlen(h->content_type, sizeof h->content_type) == sizeof h->content_type ||
        strnlen(h->location, sizeof h->location) == sizeof h->location ||
        strnlen(h->content_disposition, sizeof h->content_disposition) == sizeof h->content_disposition)
        abort();
    if (h->content_length < -1)
        abort();
}

/* Feeds one head (lines up to and including the empty line) to the callback; returns
 * the bytes consumed, with *verdict 1 for a head passed, 0 for one refused, -1 for
 * one that never ended. */
static size_t fz_head(http_hop *h, const uint8_t *data, size_t size, int *verdict)
{
    size_t pos = 0;
    *verdict = -1;
    while (pos < size) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - data) - pos + 1 : size - pos;
        char *line = malloc(len + 1); /* libcurl's buffer is not NUL-terminated: ASan sees overreads */
        memcpy(line, data + pos, len);
        pos += len;
        bool blank = len <= 2 && (line[0] == '\r' || line[0] == '\n');
        if (len >= 12 && strncmp(line, "HTTP/", 5) == 0) {
            const char *sp = memchr(line, ' ', len);
            h->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        }
        if (blank) {
            *verdict = http_head_check(h) ? 1 : 0;
            free(line);
            break;
        }
        if (http_on_header(line, 1, len, h) != len)
            abort(); /* header lines are never refused */
        free(line);
        fz_check_strings(h);
    }
    return pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16384)
        return 0;
    static const long caps[] = {HTTP_CAP_JSON, HTTP_CAP_IMAGE, HTTP_CAP_MEDIA, 10};
    http_request req = {.method = data[0] & 1 ? "POST" : "GET",
                        .url = "https://remote.example/users/bob/statuses/1",
                        .flags = data[0] & 2 ? HTTP_F_ACTIVITYPUB : 0,
                        .max_body = caps[(data[0] >> 2) & 3]};
    const char *method = req.method;
    CURLU *u = curl_url();
    if (curl_url_set(u, CURLUPART_URL, req.url, 0) != CURLUE_OK)
        abort();
    size_t pos = 1;
    char why[NET_ERRLEN], key[300];
    for (int hop = 0; pos < size && hop <= fz_client->max_redirects; hop++) {
        http_hop h = {.c = fz_client, .req = &req, .content_length = -1, .cap = req.max_body};
        int verdict;
        pos += fz_head(&h, data + pos, size - pos, &verdict);
        fz_check_strings(&h);
        if (verdict < 0)
            break;
        bool ok = verdict == 1;
        if (h.status / 100 == 2 && ok) {
            if (h.content_length > h.cap)
                abort();
            if ((req.flags & HTTP_F_ACTIVITYPUB) && !http_is_activitypub_type(h.content_type))
                abort();
        }
        if (!ok && h.err == HTTP_OK)
            abort(); /* a refused head says why */
        if (!ok || !http_is_redirect(h.status) || !h.location[0])
            break;
        const char *before = method;
        if (http_redirect(u, h.location, h.status, &method, why, sizeof why) != HTTP_OK)
            break;
        bool to_get = h.status == 303 || ((h.status == 301 || h.status == 302) && strcmp(before, "POST") == 0);
        if (strcmp(method, to_get ? "GET" : before) != 0)
            abort();
        http_target t;
        http_err e = http_target_check(fz_client, u, &t, key, sizeof key, why, sizeof why);
        if (e == HTTP_OK) {
            if (strcmp(t.scheme, "http") != 0 && strcmp(t.scheme, "https") != 0)
                abort();
            if (ssrf_is_hidden_service(t.host) && !fz_client->allow_hidden)
                abort();
            size_t sl = strlen(t.scheme);
            if (strncmp(key, t.scheme, sl) != 0 || strncmp(key + sl, "://", 3) != 0)
                abort();
            for (const char *p = key; *p; p++)
                if (isupper((unsigned char)*p))
                    abort();
        } else if (!why[0]) {
            abort();
        }
        http_target_free(&t);
        if (e != HTTP_OK)
            break;
    }
    curl_url_cleanup(u);
    return 0;
}
