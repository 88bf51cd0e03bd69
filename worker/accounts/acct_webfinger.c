/* acct_webfinger.c -- Mastodon's Webfinger#perform: an unsigned GET of
 * https://<domain>/.well-known/webfinger?resource=acct:<user>@<domain> (http:// for
 * .onion) with Accept "application/jrd+json, application/json" and the 1 MB cap; a 200
 * with a readable JRD answers, a 410 means gone, a 404 tries host-meta
 * (https://<domain>/.well-known/host-meta, Accept "application/xrd+xml,
 * application/xml, text/xml"): its lrdd template names the WebFinger URL asked once
 * more, without a second fallback (acct_hostmeta.c). Anything else (including no
 * answer) is a Webfinger::Error.
 *
 * SCOTTY_WEBFINGER_URL and SCOTTY_HOST_META_URL replace the two URLs' forms,
 * "{domain}" and "{resource}" standing for their parts (for test fediverses served
 * over plain HTTP on a port). */
#include "acct_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCT_WF_DEFAULT "https://{domain}/.well-known/webfinger?resource={resource}"
#define ACCT_HOST_META_DEFAULT "https://{domain}/.well-known/host-meta"

/* The URL of the form in variable `env` (else `fallback`), http:// for .onion. */
static void acct_wf_url(const char *env, const char *fallback, const char *domain, const char *resource,
                        base_buf *url)
{
    const char *form = getenv(env);
    size_t dl = strlen(domain);
    bool onion = dl > 6 && strcmp(domain + dl - 6, ".onion") == 0;
    if (!form || !*form)
        form = fallback;
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

/* Webfinger#body_from_host_meta: the WebFinger URL the domain's host-meta names.
 * Returns 0 with *url, or 1 with err. */
static int acct_wf_host_meta(services *s, const char *domain, const char *resource, char **url, char *err,
                             size_t errlen)
{
    base_buf hm;
    base_buf_init(&hm);
    acct_wf_url("SCOTTY_HOST_META_URL", ACCT_HOST_META_DEFAULT, domain, resource, &hm);
    http_request req = {.url = hm.data, .max_body = HTTP_CAP_JSON,
                        .accept = "application/xrd+xml, application/xml, text/xml"};
    http_response r;
    http_err e = http_perform(s->http, &req, &r);
    int rc = 1;
    if (e == HTTP_OK && r.status == 200)
        rc = acct_hostmeta_url(r.body, r.body_len, resource, url, err, errlen);
    else if (r.status > 0)
        snprintf(err, errlen, "Request for %s returned HTTP %ld (host-meta, after WebFinger's 404)", resource,
                 r.status);
    else
        snprintf(err, errlen, "Error performing the host-meta query for %s: %s", resource, r.error);
    http_response_free(&r);
    base_buf_free(&hm);
    return rc;
}

/* Webfinger#body_from_webfinger(url, use_fallback:) with the answer read as a JRD. */
static int acct_wf_get(services *s, const char *url, const char *domain, const char *resource, bool fallback,
                       acct_jrd *out, bool *gone, char *err, size_t errlen)
{
    http_request req = {.url = url, .max_body = HTTP_CAP_JSON, .accept = "application/jrd+json, application/json"};
    http_response r;
    http_err e = http_perform(s->http, &req, &r);
    int rc = 1;
    char *next = NULL;
    if (e == HTTP_OK && r.status == 200 && r.body_len == 0) {
        snprintf(err, errlen, "Request for %s returned empty response", resource);
    } else if (e == HTTP_OK && r.status == 200) {
        char why[256];
        rc = acct_jrd_parse(r.body, r.body_len, out, why, sizeof why);
        if (rc != 0)
            snprintf(err, errlen, "WebFinger answer for %s: %s", resource, why);
    } else if (r.status == 404 && fallback) {
        if (acct_wf_host_meta(s, domain, resource, &next, err, errlen) == 0)
            rc = acct_wf_get(s, next, domain, resource, false, out, gone, err, errlen);
    } else if (r.status == 410) {
        *gone = true;
        snprintf(err, errlen, "%s is gone from the server (WebFinger answered 410)", resource);
    } else if (r.status > 0) {
        snprintf(err, errlen, "WebFinger request for %s returned HTTP %ld", resource, r.status);
    } else {
        snprintf(err, errlen, "Error performing webfinger query for %s: %s", resource, r.error);
    }
    free(next);
    http_response_free(&r);
    return rc;
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
    acct_wf_url("SCOTTY_WEBFINGER_URL", ACCT_WF_DEFAULT, domain, resource, &url);
    int rc = acct_wf_get(s, url.data, domain, resource, true, out, gone, err, errlen);
    base_buf_free(&url);
    return rc;
}
