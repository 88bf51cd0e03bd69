/* ap_util.c -- small pieces the ActivityPub parser is built from: JSON-LD value access
 * as Mastodon's JsonLdHelper does it, URL and host checks, Ruby's blank?/strip, ISO 8601
 * times, language tags, UTF-8 truncation and HTML escaping. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ap_internal.h"

int ap_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static void *ap_xalloc(void *p)
{
    if (!p) {
        fprintf(stderr, "scotty: out of memory in the ActivityPub parser\n");
        abort();
    }
    return p;
}

char *ap_strdup(const char *s)
{
    return s ? ap_xalloc(strdup(s)) : NULL;
}

char *ap_strndup(const char *s, size_t n)
{
    return s ? ap_xalloc(strndup(s, n)) : NULL;
}

/* The host part of an http(s) URL: start and length, port and userinfo excluded. */
static bool ap_host_of(const char *url, const char **host, size_t *len)
{
    const char *p;
    if (!url)
        return false;
    if (strncmp(url, "https://", 8) == 0)
        p = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        p = url + 7;
    else
        return false;
    size_t auth = strcspn(p, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < auth; i++) {
        if (p[i] == '@')
            at = p + i;
    }
    if (at) {
        auth -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    size_t n;
    if (auth && p[0] == '[') {
        const char *close = memchr(p, ']', auth);
        if (!close)
            return false;
        n = (size_t)(close + 1 - p);
    } else {
        const char *colon = memchr(p, ':', auth);
        n = colon ? (size_t)(colon - p) : auth;
    }
    if (n == 0)
        return false;
    *host = p;
    *len = n;
    return true;
}

bool ap_is_http(const char *s)
{
    const char *h;
    size_t n;
    return ap_host_of(s, &h, &n);
}

bool ap_same_host(const char *a, const char *b)
{
    const char *ha, *hb;
    size_t na, nb;
    if (!ap_host_of(a, &ha, &na) || !ap_host_of(b, &hb, &nb))
        return false;
    return na == nb && strncasecmp(ha, hb, na) == 0;
}

const char *ap_id_of(const json_t *v)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_object(v)) {
        const json_t *id = json_object_get(v, "id");
        if (json_is_string(id))
            return json_string_value(id);
    }
    return NULL;
}

/* Length of the Unicode white space character at s (Ruby's [[:space:]]), else 0. */
static size_t ap_space_len(const unsigned char *s)
{
    if (*s == ' ' || (*s >= '\t' && *s <= '\r'))
        return 1;
    if (s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
        return 2;
    if (s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80) /* U+1680 */
        return 3;
    if (s[0] == 0xe2 && s[1] == 0x80 && ((s[2] >= 0x80 && s[2] <= 0x8a) || s[2] == 0xa8 ||
                                         s[2] == 0xa9 || s[2] == 0xaf))
        return 3; /* U+2000..200A, U+2028, U+2029, U+202F */
    if (s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f) /* U+205F */
        return 3;
    if (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80) /* U+3000 */
        return 3;
    return 0;
}

bool ap_blank(const char *s)
{
    if (!s)
        return true;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = ap_space_len(p);
        if (!n)
            return false;
        p += n;
    }
    return true;
}

const char *ap_present(const json_t *v)
{
    if (!json_is_string(v))
        return NULL;
    const char *s = json_string_value(v);
    return ap_blank(s) ? NULL : s;
}

bool ap_equals_or_includes(const json_t *v, const char *needle)
{
    if (json_is_string(v))
        return strcmp(json_string_value(v), needle) == 0;
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            if (json_is_string(e) && strcmp(json_string_value(e), needle) == 0)
                return true;
        }
    }
    return false;
}

size_t ap_count(const json_t *v)
{
    if (!v || json_is_null(v))
        return 0;
    return json_is_array(v) ? json_array_size(v) : 1;
}

const json_t *ap_elem(const json_t *v, size_t i)
{
    return json_is_array(v) ? json_array_get(v, i) : (i == 0 ? v : NULL);
}

const char *ap_map_first(const json_t *map, const char **key)
{
    if (!json_is_object(map) || json_object_size(map) == 0)
        return NULL;
    /* jansson keeps insertion order, so the first key is the first one sent, as in a
     * Ruby Hash. */
    void *it = json_object_iter((json_t *)map);
    if (key)
        *key = json_object_iter_key(it);
    const json_t *v = json_object_iter_value(it);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

char *ap_language(const char *tag)
{
    if (!tag)
        return NULL;
    size_t len = strlen(tag);
    if (len < 2 || len > 35)
        return NULL;
    char *out = ap_strdup(tag);
    size_t i = 0, sub = 0;
    while (i <= len) {
        size_t start = i;
        while (i < len && tag[i] != '-')
            i++;
        size_t n = i - start;
        bool ok = n >= 1 && n <= 8;
        for (size_t k = start; ok && k < i; k++)
            ok = sub == 0 ? isalpha((unsigned char)tag[k]) : isalnum((unsigned char)tag[k]);
        if (sub == 0 && (n < 2 || n > 3))
            ok = false;
        if (!ok) {
            free(out);
            return NULL;
        }
        for (size_t k = start; k < i; k++) {
            unsigned char c = (unsigned char)tag[k];
            if (sub > 0 && n == 2 && isalpha(c))
                out[k] = (char)toupper(c);
            else if (sub > 0 && n == 4 && k == start)
                out[k] = (char)toupper(c);
            else
                out[k] = (char)tolower(c);
        }
        sub++;
        i++; /* past '-' (or the end) */
    }
    return out;
}

static int ap_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

char *ap_unbear(const char *id)
{
    if (!id || strncmp(id, "bear:", 5) != 0)
        return ap_strdup(id);
    const char *q = strchr(id, '?');
    if (!q)
        return ap_strdup(id);
    for (const char *p = q + 1; *p;) {
        size_t n = strcspn(p, "&");
        if (n > 2 && p[0] == 'u' && p[1] == '=') {
            char *out = ap_xalloc(malloc(n));
            size_t o = 0;
            for (size_t i = 2; i < n; i++) {
                int hi, lo;
                if (p[i] == '%' && i + 2 < n &&
                    (hi = ap_hexval((unsigned char)p[i + 1])) >= 0 &&
                    (lo = ap_hexval((unsigned char)p[i + 2])) >= 0) {
                    out[o++] = (char)(hi * 16 + lo);
                    i += 2;
                } else if (p[i] == '+') {
                    out[o++] = ' ';
                } else {
                    out[o++] = p[i];
                }
            }
            out[o] = '\0';
            return out;
        }
        p += n;
        if (*p == '&')
            p++;
    }
    return ap_strdup(id);
}

void ap_sbuf_add(ap_sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->data = ap_xalloc(realloc(b->data, cap));
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void ap_sbuf_adds(ap_sbuf *b, const char *s)
{
    ap_sbuf_add(b, s, strlen(s));
}

void ap_sbuf_add_html(ap_sbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&': ap_sbuf_adds(b, "&amp;"); break;
        case '<': ap_sbuf_adds(b, "&lt;"); break;
        case '>': ap_sbuf_adds(b, "&gt;"); break;
        case '"': ap_sbuf_adds(b, "&quot;"); break;
        case '\'': ap_sbuf_adds(b, "&#39;"); break;
        default: ap_sbuf_add(b, s + i, 1);
        }
    }
}

char *ap_sbuf_take(ap_sbuf *b)
{
    char *s = b->data ? b->data : ap_strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

char *ap_url_normalize(const char *url)
{
    if (!url)
        return NULL;
    const char *h;
    size_t hn;
    if (!ap_host_of(url, &h, &hn))
        return ap_strdup(url);
    ap_sbuf b = {0};
    bool https = url[4] == 's';
    ap_sbuf_adds(&b, https ? "https://" : "http://");
    const char *auth = url + (https ? 8 : 7);
    /* userinfo as sent */
    if (h > auth)
        ap_sbuf_add(&b, auth, (size_t)(h - auth));
    for (size_t i = 0; i < hn; i++) {
        char c = (char)tolower((unsigned char)h[i]);
        ap_sbuf_add(&b, &c, 1);
    }
    const char *p = h + hn;
    if (*p == ':') {
        size_t n = strcspn(p + 1, "/?#");
        bool dflt = (https && n == 3 && strncmp(p + 1, "443", 3) == 0) ||
                    (!https && n == 2 && strncmp(p + 1, "80", 2) == 0);
        if (!dflt && n)
            ap_sbuf_add(&b, p, n + 1);
        p += n + 1;
    }
    if (*p != '/')
        ap_sbuf_adds(&b, "/");
    static const char hex[] = "0123456789ABCDEF";
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' ||
            c == '^' || c == '`' || c == '{' || c == '|' || c == '}') {
            char enc[3] = {'%', hex[c >> 4], hex[c & 15]};
            ap_sbuf_add(&b, enc, 3);
        } else {
            ap_sbuf_add(&b, (const char *)p, 1);
        }
    }
    return ap_sbuf_take(&b);
}

void ap_utf8_truncate(char *s, size_t max_chars)
{
    size_t chars = 0;
    for (unsigned char *p = (unsigned char *)s; *p; p++) {
        if ((*p & 0xc0) != 0x80) {
            if (chars == max_chars) {
                *p = '\0';
                return;
            }
            chars++;
        }
    }
}

char *ap_strip(const char *s)
{
    if (!s)
        return NULL;
    while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || (s[n - 1] >= '\t' && s[n - 1] <= '\r')))
        n--;
    return ap_strndup(s, n);
}

const char *ap_url_to_href(const json_t *v, const char *preferred_type, bool *bad)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_object(v)) {
        /* A single Link: Mastodon wraps it in an array and applies the same search. */
        const char *mt = ap_present(json_object_get(v, "mimeType"));
        if (preferred_type && strcmp(mt ? mt : "text/html", preferred_type) != 0)
            return NULL;
        const json_t *href = json_object_get(v, "href");
        if (href && !json_is_string(href) && !json_is_null(href))
            *bad = true;
        return json_is_string(href) ? json_string_value(href) : NULL;
    }
    if (!json_is_array(v)) {
        if (v && !json_is_null(v))
            *bad = true;
        return NULL;
    }
    const json_t *first = json_array_get(v, 0);
    if (json_is_string(first))
        return json_string_value(first);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (json_is_string(e)) {
            /* "str"['mimeType'] is nil in Ruby: a bare string counts as text/html. */
            if (!preferred_type || strcmp(preferred_type, "text/html") == 0)
                return json_string_value(e);
            continue;
        }
        if (!json_is_object(e)) {
            *bad = true; /* 5['mimeType'] and nil['mimeType'] raise in Ruby */
            return NULL;
        }
        const char *mt = ap_present(json_object_get(e, "mimeType"));
        if (preferred_type && strcmp(mt ? mt : "text/html", preferred_type) != 0)
            continue;
        const json_t *href = json_object_get(e, "href");
        if (href && !json_is_string(href) && !json_is_null(href))
            *bad = true;
        return json_is_string(href) ? json_string_value(href) : NULL;
    }
    return NULL;
}
