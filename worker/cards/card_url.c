/* card_url.c -- URLs as the card code needs them: Addressable-style normalization of
 * the link (the card's key), reference resolution for relative og:image, oEmbed and
 * canonical URLs, and scheme/host checks; all through libcurl's URL API. */
#include "card_parse.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void card_lower(char *s)
{
    for (; s && *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* A CURLU holding url, accepting any scheme (so that mailto: and the like parse and
 * can be refused by the caller). NULL when it is not an absolute URL. */
static CURLU *card_url_parse(const char *url)
{
    CURLU *u = curl_url();
    if (!u)
        return NULL;
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME | CURLU_URLENCODE) != CURLUE_OK) {
        curl_url_cleanup(u);
        return NULL;
    }
    return u;
}

char *card_url_normalize(const char *url)
{
    if (!url || !*url)
        return NULL;
    CURLU *u = card_url_parse(url);
    if (!u)
        return NULL;
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL, *frag = NULL;
    char *user = NULL, *out = NULL;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        goto done;
    curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT);
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    curl_url_get(u, CURLUPART_QUERY, &query, 0);
    curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0);
    curl_url_get(u, CURLUPART_USER, &user, 0);
    card_lower(scheme);
    card_lower(host);
    size_t n = strlen(scheme) + strlen(host) + (port ? strlen(port) : 0) + (path ? strlen(path) : 0) +
               (query ? strlen(query) : 0) + (frag ? strlen(frag) : 0) + (user ? strlen(user) : 0) + 16;
    out = malloc(n);
    if (out)
        snprintf(out, n, "%s://%s%s%s%s%s%s%s%s%s%s", scheme, user ? user : "", user ? "@" : "", host,
                 port ? ":" : "", port ? port : "", path && *path ? path : "/", query ? "?" : "",
                 query ? query : "", frag ? "#" : "", frag ? frag : "");
    if (out && !card_utf8_valid(out, strlen(out))) {
        free(out);
        out = NULL;
    }
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_free(frag);
    curl_free(user);
    curl_url_cleanup(u);
    return out;
}

/* true for a reference with an authority and no path ("https://host", "//host?q"),
 * which Addressable's join keeps without the "/" libcurl puts in. */
static bool card_ref_without_path(const char *ref)
{
    const char *p = ref;
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
        p++;
    p = *p == ':' && p != ref ? p + 1 : ref;
    if (strncmp(p, "//", 2) != 0)
        return false;
    p += 2;
    p += strcspn(p, "/?#");
    return *p != '/';
}

/* Removes the "/" right after the authority when nothing or only ?query/#fragment follows. */
static void card_drop_root_slash(char *url)
{
    char *p = strstr(url, "://");
    if (!p)
        return;
    p += 3;
    p += strcspn(p, "/?#");
    if (*p == '/' && (p[1] == '\0' || p[1] == '?' || p[1] == '#'))
        memmove(p, p + 1, strlen(p + 1) + 1);
}

char *card_url_join(const char *base, const char *ref)
{
    if (!base || !ref)
        return NULL;
    CURLU *u = card_url_parse(base);
    if (!u)
        return NULL;
    char *joined = NULL, *out = NULL;
    if (curl_url_set(u, CURLUPART_URL, ref, CURLU_NON_SUPPORT_SCHEME | CURLU_URLENCODE) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &joined, 0) == CURLUE_OK)
        out = strdup(joined);
    if (out && card_ref_without_path(ref))
        card_drop_root_slash(out);
    if (out && !card_utf8_valid(out, strlen(out))) {
        free(out);
        out = NULL;
    }
    curl_free(joined);
    curl_url_cleanup(u);
    return out;
}

bool card_url_parts(const char *url, char *scheme, size_t slen, char *host, size_t hlen)
{
    if (!url)
        return false;
    CURLU *u = card_url_parse(url);
    if (!u)
        return false;
    char *s = NULL, *h = NULL;
    bool ok = curl_url_get(u, CURLUPART_SCHEME, &s, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK && h && *h;
    if (ok) {
        snprintf(scheme, slen, "%s", s);
        snprintf(host, hlen, "%s", h);
        card_lower(scheme);
        card_lower(host);
    }
    curl_free(s);
    curl_free(h);
    curl_url_cleanup(u);
    return ok;
}
