/* acct_webfinger.c -- Mastodon's Webfinger#perform: an unsigned GET of
 * https://<domain>/.well-known/webfinger?resource=acct:<user>@<domain> (http:// for
 * .onion) with Accept "application/jrd+json, application/json" and the 1 MB cap; a 200
 * with a readable JRD answers, a 410 means gone, anything else (including no answer)
 * is a Webfinger::Error. The host-meta fallback Mastodon tries after a 404 is not
 * followed: the 404 is the error.
 *
 * SCOTTY_WEBFINGER_URL replaces the URL's form, "{domain}" and "{resource}" standing for
 * the two parts (for test fediverses served over plain HTTP on a port). */
#include "acct_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCT_WF_DEFAULT "https://{domain}/.well-known/webfinger?resource={resource}"

static void acct_wf_url(const char *domain, const char *resource, base_buf *url)
{
    const char *form = getenv("SCOTTY_WEBFINGER_URL");
    size_t dl = strlen(domain);
    bool onion = dl > 6 && strcmp(domain + dl - 6, ".onion") == 0;
    if (!form || !*form)
        form = ACCT_WF_DEFAULT;
    if (onion && strncmp(form, "https://", 8) == 0) {
        base_buf_adds(url, "http://");
        form += 8;
    }
    for (const char *p = form; *p;) {
        if (strncmp(p, "{domain}", 8) == 0) {
            base_buf_adds(url, domain);
            p += 8;
        } else if (strncmp(p, "{resource}", 10) == 0) {
            base_buf_adds(url, resource);
            p += 10;
        } else {
            base_buf_addf(url, "%c", *p++);
        }
    }
}

int acct_webfinger(services *s, const char *user, const char *domain, acct_jrd *out, bool *gone,
                   char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    *gone = false;
    char resource[600];
    if (snprintf(resource, sizeof resource, "acct:%s@%s", user, domain) >= (int)sizeof resource) {
        snprintf(err, errlen, "the handle %.100s@%.100s is too long for a WebFinger query", user, domain);
        return 1;
    }
    base_buf url;
    base_buf_init(&url);
    acct_wf_url(domain, resource, &url);
    http_request req = {.url = url.data, .max_body = HTTP_CAP_JSON,
                        .accept = "application/jrd+json, application/json"};
    http_response r;
    http_err e = http_perform(s->http, &req, &r);
    int rc = 1;
    if (e == HTTP_OK && r.status == 200 && r.body_len == 0) {
        snprintf(err, errlen, "Request for %s returned empty response", resource);
    } else if (e == HTTP_OK && r.status == 200) {
        char why[256];
        rc = acct_jrd_parse(r.body, r.body_len, out, why, sizeof why);
        if (rc != 0)
            snprintf(err, errlen, "WebFinger answer for %s: %s", resource, why);
    } else if (r.status == 410) {
        *gone = true;
        snprintf(err, errlen, "%s is gone from the server (WebFinger answered 410)", resource);
    } else if (r.status > 0) {
        snprintf(err, errlen, "WebFinger request for %s returned HTTP %ld", resource, r.status);
    } else {
        snprintf(err, errlen, "Error performing webfinger query for %s: %s", resource, r.error);
    }
    http_response_free(&r);
    base_buf_free(&url);
    return rc;
}
