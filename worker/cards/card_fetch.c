/* card_fetch.c -- the two requests of a card fetch through the shared HTTP client
 * (SSRF guard on every address, Mastodon's timeouts and 3 redirects, gzip inflated
 * under the cap): the page as FetchLinkCardService#html asks for it, and the oEmbed
 * endpoint as FetchOEmbedService#fetch! does; each outcome sorted into a body,
 * Mastodon's nil, or a rescued error. */
#include "card_internal.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void card_response_free(card_response *r)
{
    free(r->body);
    free(r->final_url);
    memset(r, 0, sizeof *r);
}

/* res.mime_type == 'text/html', and the charset parameter into out. */
static bool card_is_html(const char *content_type, char *charset, size_t len)
{
    charset[0] = '\0';
    if (!content_type)
        return false;
    const char *p = content_type;
    while (isspace((unsigned char)*p))
        p++;
    size_t n = strcspn(p, ";");
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    bool html = n == 9 && strncasecmp(p, "text/html", 9) == 0;
    const char *c = strcasestr(content_type, "charset=");
    if (c) {
        c += 8;
        while (*c == '"' || *c == '\'' || isspace((unsigned char)*c))
            c++;
        size_t cl = strcspn(c, "\"'; \t");
        if (cl < len) {
            memcpy(charset, c, cl);
            charset[cl] = '\0';
        }
    }
    return html;
}

/* Mastodon's link-crawl User-Agent: the client's own (scotty's, as http_client.c
 * builds it) with " Bot" appended. */
static void card_user_agent(const services *s, char *out, size_t len)
{
    snprintf(out, len, "scotty/%s (libcurl/%s; +https://%s/) Bot", SCOTTY_VERSION,
             curl_version_info(CURLVERSION_NOW)->version, s->local_domain);
}

static card_got card_sort(http_err e, http_response *r, char *why, size_t whylen)
{
    if (e == HTTP_OK)
        return CARD_GOT;
    if (e == HTTP_E_STATUS) {
        snprintf(why, whylen, "%s", r->error);
        return CARD_NOTHING;
    }
    snprintf(why, whylen, "%s", r->error);
    return CARD_ERROR;
}

card_got card_fetch_page(services *s, const char *url, card_response *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    char ua[300], lang[80];
    const char *locale = getenv("DEFAULT_LOCALE");
    card_user_agent(s, ua, sizeof ua);
    snprintf(lang, sizeof lang, "%s, *;q=0.5", locale && *locale ? locale : "en");
    sig_header extra[] = {{"Accept-Language", lang}, {"User-Agent", ua}};
    http_request req = {.url = url, .max_body = CARD_PAGE_CAP, .accept = "text/html",
                        .extra_headers = extra, .n_extra_headers = 2};
    http_response r;
    card_got got = card_sort(http_perform(s->http, &req, &r), &r, why, whylen);
    if (got == CARD_GOT) {
        if (r.status != 200) {
            snprintf(why, whylen, "GET %s answered HTTP %ld, not 200", url, r.status);
            got = CARD_NOTHING;
        } else if (!card_is_html(r.content_type, out->charset, sizeof out->charset)) {
            snprintf(why, whylen, "GET %s answered with Content-Type \"%.80s\", not text/html", url,
                     r.content_type ? r.content_type : "");
            got = CARD_NOTHING;
        } else {
            out->body = r.body;
            out->len = r.body_len;
            out->final_url = r.final_url;
            r.body = r.final_url = NULL;
        }
    }
    http_response_free(&r);
    return got;
}

card_got card_fetch_oembed(services *s, const char *url, card_response *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    http_request req = {.url = url, .max_body = CARD_PAGE_CAP};
    http_response r;
    card_got got = card_sort(http_perform(s->http, &req, &r), &r, why, whylen);
    if (got == CARD_GOT && r.status != 200) {
        snprintf(why, whylen, "GET %s answered HTTP %ld, not 200", url, r.status);
        got = CARD_NOTHING;
    } else if (got == CARD_GOT) {
        out->body = r.body;
        out->len = r.body_len;
        out->final_url = r.final_url;
        r.body = r.final_url = NULL;
    }
    http_response_free(&r);
    return got;
}
