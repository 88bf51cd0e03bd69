/* card_parse.h -- the parts of link cards that read outside data and need nothing but
 * libxml2, jansson and libcurl's URL parser: which link of a status, the page's HTML
 * (charset, one walk collecting what LinkDetailsExtractor reads), the card attributes
 * from OpenGraph / Twitter cards / JSON-LD, oEmbed discovery and its JSON, Mastodon's
 * oEmbed sanitiser, URLs, HTML entities, locales and times. Used by the worker
 * (card_worker.c), the unit tests and the fuzz targets. Nothing here keeps state
 * between calls; everything may run on many threads at once once card_parse_init
 * has run (libxml2's one-time set-up). */
#ifndef SCOTTY_CARD_PARSE_H
#define SCOTTY_CARD_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#define CARD_PAGE_CAP (1024L * 1024L)      /* truncated_body / body_with_limit: 1 MB */
#define CARD_IMAGE_CAP (8L * 1024L * 1024L) /* PreviewCard::LIMIT: 8 MB */
#define CARD_URL_MAX 2692                  /* PreviewCard::URL_CHARACTER_LIMIT */
#define CARD_JSON_MAX_DEPTH 100            /* Ruby JSON.parse's max_nesting */

/* libxml2's global set-up (xmlInitParser), once per process before any thread parses. */
void card_parse_init(void);

/* PreviewCard's type enum and link_type enum. */
enum { CARD_TYPE_LINK = 0, CARD_TYPE_PHOTO = 1, CARD_TYPE_VIDEO = 2, CARD_TYPE_RICH = 3 };
enum { CARD_LINK_UNKNOWN = 0, CARD_LINK_ARTICLE = 1 };

/* The columns a card fetch assigns (a bit each in card_attrs.set); the others of an
 * existing card keep their values, as ActiveRecord's assign + save does. */
enum {
    CARD_COL_TITLE = 1u << 0, CARD_COL_DESCRIPTION = 1u << 1, CARD_COL_IMAGE_DESCRIPTION = 1u << 2,
    CARD_COL_TYPE = 1u << 3, CARD_COL_LINK_TYPE = 1u << 4, CARD_COL_WIDTH = 1u << 5,
    CARD_COL_HEIGHT = 1u << 6, CARD_COL_HTML = 1u << 7, CARD_COL_PROVIDER_NAME = 1u << 8,
    CARD_COL_PROVIDER_URL = 1u << 9, CARD_COL_AUTHOR_NAME = 1u << 10, CARD_COL_AUTHOR_URL = 1u << 11,
    CARD_COL_EMBED_URL = 1u << 12, CARD_COL_LANGUAGE = 1u << 13, CARD_COL_PUBLISHED_AT = 1u << 14,
};

/* What one fetch says about a card. Strings are malloc'd (card_attrs_clear frees
 * them); NULL is SQL NULL for language and published_at and "" for the others. */
typedef struct card_attrs {
    char *url;               /* the card's key: final or canonical URL */
    unsigned set;            /* CARD_COL_* assigned */
    int type, link_type, width, height;
    char *title, *description, *image_description, *html, *provider_name, *provider_url;
    char *author_name, *author_url, *embed_url;
    char *language;          /* a supported locale, or NULL */
    char *published_at;      /* "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC, or NULL */
    char *image_url;         /* image_remote_url: absolute http(s), or NULL for none */
    char *author_account;    /* fediverse:creator as written, or NULL */
} card_attrs;
void card_attrs_clear(card_attrs *a);

/* ---- the page (card_html.c) ---- */
typedef struct card_page card_page;
/* Parses body (at most CARD_PAGE_CAP bytes expected) with libxml2's HTML parser in
 * the charset from the Content-Type header, else the page's <meta>, else detected
 * (valid UTF-8, else uchardet's guess, else windows-1252). Never fails on bad HTML;
 * NULL only when out of memory or libxml2 gives no document (err says so). */
card_page *card_page_parse(const char *body, size_t len, const char *header_charset, char *err,
                           size_t errlen);
void card_page_free(card_page *p);
/* The encoding the page was read in. */
const char *card_page_encoding(const card_page *p);
/* The first <meta> whose property or name equals `name` (ASCII case-insensitive):
 * *found, and its content (NULL when that element has none). Only the names
 * LinkDetailsExtractor reads are collected (card_html.c's list). */
const char *card_page_meta(const card_page *p, const char *name, bool *found);
/* The first <meta name="description">'s content. */
const char *card_page_meta_description(const card_page *p);
/* The first <link rel="canonical">'s href (rel as a token list, case-insensitive). */
const char *card_page_canonical(const card_page *p);
/* <title> in /html/head, as text; NULL if none. */
const char *card_page_title(const card_page *p);
/* The root element's lang attribute. */
const char *card_page_lang(const card_page *p);
/* The contents of <script type="application/ld+json">, in order. */
size_t card_page_jsonld_count(const card_page *p);
const char *card_page_jsonld(const card_page *p, size_t i);
/* The href of the first <link type="application/json+oembed"> or "text/json+oembed"
 * (xml false), or of the first <link type="text/xml+oembed"> (xml true); *found is
 * true when there is such an element (its href may be NULL). */
const char *card_page_oembed_href(const card_page *p, bool xml, bool *found);

/* ---- LinkDetailsExtractor (card_details.c, card_jsonld.c) ---- */
/* Fills out from page p fetched at url: every column of to_preview_card_attributes,
 * out->url the canonical URL (same host only) or url. Returns 0, -1 when out of memory. */
int card_details_extract(const card_page *p, const char *url, card_attrs *out);

/* StructuredData: the first JSON-LD object of a supported @type (NewsArticle, WebPage)
 * among the page's scripts, with the fields the extractor reads (NULL when absent). */
typedef struct card_jsonld {
    bool valid;
    char *type, *headline, *description, *language, *date_published;
    char *author_name, *author_url, *publisher_name;
} card_jsonld;
void card_jsonld_find(const card_page *p, card_jsonld *out);
void card_jsonld_clear(card_jsonld *j);

/* ---- oEmbed (card_oembed.c, card_sanitize.c) ---- */
/* discover_endpoint!: the page's oEmbed endpoint (JSON, else XML: *xml) resolved
 * against page_url, its scheme made https when the page is; NULL when there is none
 * (malloc'd). */
char *card_oembed_endpoint(const card_page *p, const char *page_url, bool *xml);
typedef enum {
    CARD_OEMBED_NONE = 0,  /* not a usable oEmbed (bad JSON, version, type): OpenGraph next */
    CARD_OEMBED_CARD,      /* out holds the card's oEmbed columns */
    CARD_OEMBED_FALLBACK   /* rich, or photo without url: Mastodon tries OpenGraph */
} card_oembed_result;
/* FetchOEmbedService#parse_for_format and #validate plus attempt_oembed's assignments
 * from the body the endpoint answered (JSON, or XML when xml: the <oembed> element's
 * children as Ox's hash_no_attrs reads them), URLs resolved against endpoint_url.
 * why says what was wrong for NONE / FALLBACK. */
card_oembed_result card_oembed_apply(const char *body, size_t len, bool xml, const char *endpoint_url,
                                     card_attrs *out, char *why, size_t whylen);
/* Sanitize.fragment(html, Sanitize::Config::MASTODON_OEMBED): only audio, iframe,
 * source and video with their allowed attributes (src http/https), iframe given
 * Mastodon's sandbox, everything else unwrapped or (script, style, ...) dropped.
 * Returns malloc'd HTML ("" for nothing), NULL when out of memory. */
char *card_sanitize_oembed(const char *html);

/* ---- the status's link (card_link.c) ---- */
/* FetchLinkCardService#parse_urls for a remote status: the first <a href> of the
 * status HTML that is not a hashtag or mention (rel containing "tag", class matching
 * u-url or h-card, or an href equal to a mentioned account's URL), normalized, with a
 * host, http or https, and not on web_domain. malloc'd, NULL when none. */
char *card_pick_link(const char *html, size_t len, const char *const *mention_urls, size_t n_mentions,
                     const char *web_domain);

/* ---- small pieces (card_url.c, card_text.c) ---- */
/* Addressable's normalize, as far as it matters for the card key: scheme and host in
 * lower case, default port dropped, empty path "/", unsafe characters
 * percent-encoded (an IDN host stays in Unicode: Addressable would write punycode).
 * NULL when not an absolute URL or not valid UTF-8. */
char *card_url_normalize(const char *url);
/* base + ref (RFC 3986 reference resolution). NULL when either is unusable. */
char *card_url_join(const char *base, const char *ref);
/* Copies url's scheme and host (lower case) out; false when url has none. */
bool card_url_parts(const char *url, char *scheme, size_t slen, char *host, size_t hlen);
/* The HTMLEntities gem's decode: named (HTML 4) and numeric references ending in ';'. */
char *card_entities_decode(const char *s);
/* LanguagesHelper#valid_locale_or_nil: s if Mastodon supports it, else the part
 * before '-' or '_' if that is supported, else NULL. Returns a static string. */
const char *card_locale(const char *s);
/* Rails' datetime cast of an ISO 8601 string (date, or date and time with optional
 * fraction and offset) into UTC "YYYY-MM-DD HH:MM:SS[.ffffff]"; false when Rails'
 * fast path would not read it (scotty then stores NULL). */
bool card_time_utc(const char *s, char *out, size_t len);
/* true when the n bytes are valid UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
bool card_utf8_valid(const char *s, size_t n);
/* String#blank?: NULL, empty or only whitespace. */
bool card_blank(const char *s);
/* Ruby's strip: a copy without leading and trailing whitespace and NULs. */
char *card_strip(const char *s);
/* The JSON nesting depth of text (outside strings), stopping once past limit. */
int card_json_depth(const char *text, size_t len, int limit);

#endif
