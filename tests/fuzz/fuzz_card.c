/* fuzz_card.c -- libFuzzer target for the link card parsers (worker/cards/card_parse.h):
 * a fetched page through charset detection, libxml2's HTML parser and
 * LinkDetailsExtractor's rules (card_page_parse, card_details_extract, JSON-LD,
 * oEmbed discovery), an oEmbed endpoint's JSON or XML (card_oembed_apply, with the
 * MASTODON_OEMBED sanitiser), and a status's HTML (card_pick_link).
 *
 * Input: the first byte picks the parser (modulo 8) and, for pages, the Content-Type
 * charset (none, UTF-8, Shift_JIS, windows-1252, an unknown one), for oEmbed JSON
 * (below 128) or XML; the rest is the document.
 * Properties: no crash, leak or overread; every URL a card would fetch or store
 * (card URL, image, provider, embed, oEmbed endpoint, the status's link) is absolute
 * http(s); a video card's html from a page is exactly one iframe; sanitised oEmbed
 * html holds no element but audio, iframe, source and video; text columns are
 * valid UTF-8 without NUL. */
#include "card_parse.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    card_parse_init();
    return 0;
}

static void fz_http_url(const char *u)
{
    if (!u || !*u)
        return;
    char scheme[16], host[512];
    if (!card_url_parts(u, scheme, sizeof scheme, host, sizeof host) ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
        abort();
}

static void fz_utf8(const char *s)
{
    if (!s)
        return;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int extra = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : (*p & 0xF8) == 0xF0 ? 3 : -1;
        if (extra < 0)
            abort();
        for (int i = 1; i <= extra; i++)
            if ((p[i] & 0xC0) != 0x80)
                abort();
        p += extra + 1;
    }
}

/* Only the four allowed element names open a tag in sanitised html ('<' in text is
 * escaped; inside a tag, quoted attribute values may hold anything but '"'). */
static void fz_sanitised(const char *html)
{
    const char *p = html;
    while ((p = strchr(p, '<'))) {
        const char *n = p[1] == '/' ? p + 2 : p + 1;
        if (strncmp(n, "audio", 5) && strncmp(n, "iframe", 6) && strncmp(n, "source", 6) && strncmp(n, "video", 5))
            abort();
        bool quoted = false;
        for (p = n; *p && (quoted || *p != '>'); p++)
            if (*p == '"')
                quoted = !quoted;
        if (!*p)
            abort();
    }
}

static void fz_attrs(const card_attrs *a)
{
    fz_http_url(a->image_url);
    fz_http_url(a->embed_url);
    fz_http_url(a->provider_url);
    const char *texts[] = {a->title, a->description, a->image_description, a->html, a->provider_name,
                           a->author_name, a->author_url, a->language, a->published_at};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        fz_utf8(texts[i]);
}

static void fz_page(const char *doc, size_t len, const char *charset)
{
    char err[256];
    card_page *p = card_page_parse(doc, len, charset, err, sizeof err);
    if (!p)
        return;
    card_attrs a;
    if (card_details_extract(p, "https://page.example/a/b?c=d", &a) == 0) {
        fz_http_url(a.url);
        fz_attrs(&a);
        if (a.type == CARD_TYPE_VIDEO &&
            (strncmp(a.html, "<iframe src=\"", 13) != 0 || strstr(a.html + 1, "<") != strstr(a.html, "></iframe>") + 1))
            abort();
    }
    card_attrs_clear(&a);
    bool xml;
    char *e = card_oembed_endpoint(p, "https://page.example/a/b", &xml);
    if (e && strncmp(e, "https:", 6) != 0 && strncmp(e, "http:", 5) != 0)
        abort();
    free(e);
    card_page_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const charsets[] = {NULL, "utf-8", "Shift_JIS", "windows-1252", "x-unknown"};
    char *doc = malloc(size);
    memcpy(doc, data + 1, size - 1);
    doc[size - 1] = '\0';
    size_t len = size - 1;
    switch (data[0] % 8) {
    case 0: case 1: case 2: case 3: case 4:
        fz_page(doc, len, charsets[data[0] % 5]);
        break;
    case 5: {
        card_attrs a;
        char why[256];
        if (card_oembed_apply(doc, len, data[0] >= 128, "https://oembed.example/o/e?x=1", &a, why, sizeof why) ==
            CARD_OEMBED_CARD) {
            fz_attrs(&a);
            if (a.type == CARD_TYPE_VIDEO)
                fz_sanitised(a.html);
        }
        card_attrs_clear(&a);
        break;
    }
    case 6: {
        const char *mentions[] = {"https://m.example/@a"};
        char *u = card_pick_link(doc, strlen(doc), mentions, 1, "local.example");
        fz_http_url(u);
        free(u);
        break;
    }
    default: {
        char *s = card_sanitize_oembed(doc);
        if (s)
            fz_sanitised(s);
        free(s);
        break;
    }
    }
    free(doc);
    return 0;
}
