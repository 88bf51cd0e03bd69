/* http_util.c -- small pure helpers of the HTTP client: error names, the
 * ActivityPub content-type rule, Mastodon's unsalvageable-response rule, HTTP dates. */
#include "net.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *http_err_name(http_err e)
{
    switch (e) {
    case HTTP_OK: return "ok";
    case HTTP_E_INVALID: return "invalid request";
    case HTTP_E_REFUSED: return "refused address";
    case HTTP_E_CONNECT: return "connection failed";
    case HTTP_E_TLS: return "TLS failure";
    case HTTP_E_TIMEOUT: return "timeout";
    case HTTP_E_TOO_LARGE: return "too large";
    case HTTP_E_TRUNCATED: return "truncated body";
    case HTTP_E_REDIRECTS: return "redirect failure";
    case HTTP_E_CONTENT_TYPE: return "wrong content type";
    case HTTP_E_STATUS: return "HTTP status";
    case HTTP_E_INTERNAL: return "internal error";
    }
    return "unknown error";
}

void http_response_free(http_response *r)
{
    free(r->body);
    free(r->content_type);
    free(r->final_url);
    free(r->content_disposition);
    r->body = r->content_type = r->final_url = r->content_disposition = NULL;
}

bool http_response_unsalvageable(const http_response *r)
{
    switch (r->err) {
    case HTTP_E_INVALID:
    case HTTP_E_REFUSED:
        return true;
    case HTTP_E_STATUS:
        return r->status >= 400 && r->status < 500 && r->status != 408 && r->status != 429;
    default:
        return false;
    }
}

/* Copies the media type (before ';'), trimmed and lowercased. */
static void http_media_type(const char *ct, char *out, size_t len)
{
    while (isspace((unsigned char)*ct))
        ct++;
    size_t n = strcspn(ct, ";");
    while (n && isspace((unsigned char)ct[n - 1]))
        n--;
    if (n >= len)
        n = len - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)ct[i]);
    out[n] = '\0';
}

/* true if a profile="..." parameter lists the ActivityStreams profile. */
static bool http_has_as_profile(const char *params)
{
    static const char as[] = "https://www.w3.org/ns/activitystreams";
    for (const char *p = params; (p = strchr(p, ';')) != NULL;) {
        p++;
        while (isspace((unsigned char)*p))
            p++;
        if (strncasecmp(p, "profile=", 8) != 0)
            continue;
        p += 8;
        bool quoted = *p == '"';
        if (quoted)
            p++;
        size_t n = quoted ? strcspn(p, "\"") : strcspn(p, "; \t");
        /* the value is a space-separated list of profile URIs */
        for (size_t i = 0; i < n;) {
            while (i < n && p[i] == ' ')
                i++;
            size_t w = i;
            while (w < n && p[w] != ' ')
                w++;
            if (w - i == sizeof as - 1 && strncmp(p + i, as, w - i) == 0)
                return true;
            i = w;
        }
    }
    return false;
}

bool http_is_activitypub_type(const char *content_type)
{
    if (!content_type)
        return false;
    char mt[128];
    http_media_type(content_type, mt, sizeof mt);
    if (strcmp(mt, "application/activity+json") == 0)
        return true;
    return strcmp(mt, "application/ld+json") == 0 && http_has_as_profile(content_type);
}

void http_date(time_t t, char *buf, size_t len)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
