/* card_html.c -- a fetched page as LinkDetailsExtractor and FetchOEmbedService read
 * it: the charset (Content-Type header, else the page's <meta>, else detection), one
 * parse with libxml2's HTML parser, and one iterative walk over the tree collecting
 * the first of each <meta> name the extractor asks for, <link rel=canonical>, the
 * oEmbed <link>, <title>, the root's lang and the JSON-LD scripts. A hostile page
 * (deep nesting, 100,000 meta tags) costs one linear walk and no recursion. */
#include "card_parse.h"

#include <ctype.h>
#include <libxml/HTMLparser.h>
#include <libxml/encoding.h>
#include <libxml/xmlerror.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uchardet/uchardet.h>

/* Every name opengraph_tag() is called with in link_details_extractor.rb. */
static const char *const card_meta_names[] = {
    "og:title", "og:description", "og:image", "og:image:alt", "og:url", "og:site_name", "og:site",
    "og:author", "og:author:username", "og:type", "og:locale", "article:published_time",
    "twitter:player", "twitter:player:width", "twitter:player:height", "twitter:player:stream",
    "fediverse:creator",
};
#define CARD_META_N (sizeof card_meta_names / sizeof card_meta_names[0])

struct card_page {
    htmlDocPtr doc;
    char encoding[64];
    char *meta[CARD_META_N];
    bool meta_found[CARD_META_N];
    char *description;
    bool description_found;
    char *canonical;
    bool canonical_found;
    char *title, *lang;
    char **jsonld;
    size_t njsonld, capjsonld;
    char *oembed_href, *xml_href;
    bool oembed_found, xml_found;
};

static void card_xml_quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static void card_xml_quiet_structured(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    (void)e;
}

void card_parse_init(void)
{
    xmlInitParser();
    xmlThrDefSetGenericErrorFunc(NULL, card_xml_quiet);
    xmlThrDefSetStructuredErrorFunc(NULL, card_xml_quiet_structured);
    xmlSetGenericErrorFunc(NULL, card_xml_quiet);
    xmlSetStructuredErrorFunc(NULL, card_xml_quiet_structured);
}

/* ---- the charset ---- */

/* src into out (len bytes), cut to fit. */
static void card_copy(char *out, size_t len, const char *src)
{
    size_t n = strlen(src);
    if (n >= len)
        n = len - 1;
    memcpy(out, src, n);
    out[n] = '\0';
}

/* true if libxml2 (directly or through iconv) can read the encoding. */
static bool card_encoding_known(const char *name)
{
    if (!name || !*name)
        return false;
    xmlCharEncodingHandlerPtr h = xmlFindCharEncodingHandler(name);
    if (!h)
        return false;
    xmlCharEncCloseFunc(h);
    return true;
}

/* A copy of s with every byte that does not start a valid UTF-8 sequence replaced
 * by U+FFFD, as an HTML5 parser reads a page that claims UTF-8 but is not. */
static char *card_scrub_utf8(const char *s, size_t n, size_t *outlen)
{
    char *out = malloc(n * 3 + 1), *o = out;
    if (!out)
        return NULL;
    size_t i = 0;
    while (i < n) {
        size_t step = 1;
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            *o++ = (char)c;
        } else {
            size_t extra = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 0;
            if (extra && i + extra < n && card_utf8_valid((const char *)s + i, extra + 1)) {
                memcpy(o, s + i, extra + 1);
                o += extra + 1;
                step = extra + 1;
            } else {
                memcpy(o, "\xEF\xBF\xBD", 3);
                o += 3;
            }
        }
        i += step;
    }
    *o = '\0';
    *outlen = (size_t)(o - out);
    return out;
}

/* The value of attribute `name` in the tag text [p, end) (after "<meta"), into out. */
static bool card_tag_attr(const char *p, const char *end, const char *name, char *out, size_t len)
{
    size_t nlen = strlen(name);
    while (p < end) {
        while (p < end && (isspace((unsigned char)*p) || *p == '/'))
            p++;
        const char *an = p;
        while (p < end && !isspace((unsigned char)*p) && *p != '=' && *p != '>')
            p++;
        size_t alen = (size_t)(p - an);
        while (p < end && isspace((unsigned char)*p))
            p++;
        const char *v = p, *vend = p;
        if (p < end && *p == '=') {
            p++;
            while (p < end && isspace((unsigned char)*p))
                p++;
            if (p < end && (*p == '"' || *p == '\'')) {
                char q = *p++;
                v = p;
                while (p < end && *p != q)
                    p++;
                vend = p;
                if (p < end)
                    p++;
            } else {
                v = p;
                while (p < end && !isspace((unsigned char)*p) && *p != '>')
                    p++;
                vend = p;
            }
        }
        if (alen == 0 && p == an) {
            p++;
            continue;
        }
        if (alen == nlen && strncasecmp(an, name, nlen) == 0) {
            size_t vl = (size_t)(vend - v) < len - 1 ? (size_t)(vend - v) : len - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return true;
        }
    }
    return false;
}

/* The charset named in a Content-Type-like value ("text/html; charset=x"). */
static bool card_charset_param(const char *v, char *out, size_t len)
{
    const char *c = strcasestr(v, "charset");
    if (!c)
        return false;
    c += 7;
    while (isspace((unsigned char)*c))
        c++;
    if (*c++ != '=')
        return false;
    while (isspace((unsigned char)*c) || *c == '"' || *c == '\'')
        c++;
    size_t n = strcspn(c, "\"'; \t");
    if (n == 0 || n >= len)
        return false;
    memcpy(out, c, n);
    out[n] = '\0';
    return true;
}

/* The charset a <meta charset> or <meta http-equiv=content-type> in the first
 * 4 KiB declares. */
static bool card_meta_charset(const char *body, size_t len, char *out, size_t outlen)
{
    size_t n = len < 4096 ? len : 4096;
    const char *p = body, *end = body + n;
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt || end - lt < 6)
            return false;
        p = lt + 1;
        if (strncasecmp(p, "meta", 4) != 0 || !(isspace((unsigned char)p[4]) || p[4] == '/'))
            continue;
        const char *gt = memchr(p, '>', (size_t)(end - p));
        const char *tend = gt ? gt : end;
        char v[256], equiv[64];
        if (card_tag_attr(p + 4, tend, "charset", v, sizeof v) && v[0]) {
            card_copy(out, outlen, v);
            return true;
        }
        if (card_tag_attr(p + 4, tend, "http-equiv", equiv, sizeof equiv) &&
            strcasecmp(equiv, "content-type") == 0 && card_tag_attr(p + 4, tend, "content", v, sizeof v) &&
            card_charset_param(v, out, outlen))
            return true;
        p = tend;
    }
    return false;
}

static void card_pick_encoding(const char *body, size_t len, const char *header, char *out, size_t outlen)
{
    char meta[128];
    if (card_encoding_known(header)) {
        card_copy(out, outlen, header);
    } else if (card_meta_charset(body, len, meta, sizeof meta) && card_encoding_known(meta)) {
        card_copy(out, outlen, meta);
    } else if (card_utf8_valid((const char *)body, len)) {
        snprintf(out, outlen, "UTF-8");
    } else {
        uchardet_t ud = uchardet_new();
        const char *guess = NULL;
        if (ud) {
            uchardet_handle_data(ud, body, len);
            uchardet_data_end(ud);
            guess = uchardet_get_charset(ud);
        }
        card_copy(out, outlen, guess && *guess && strcasecmp(guess, "ASCII") != 0 &&
                                            card_encoding_known(guess) ? guess : "windows-1252");
        if (ud)
            uchardet_delete(ud);
    }
}

/* ---- the walk ---- */

/* An attribute's text (the HTML parser stores it as one text node), or NULL. */
static const char *card_attr(xmlNodePtr n, const char *name)
{
    for (xmlAttrPtr a = n->properties; a; a = a->next) {
        if (a->name && strcasecmp((const char *)a->name, name) == 0) {
            xmlNodePtr t = a->children;
            return t && t->type == XML_TEXT_NODE && t->content ? (const char *)t->content : "";
        }
    }
    return NULL;
}

static char *card_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void card_take_meta(card_page *p, xmlNodePtr n)
{
    const char *prop = card_attr(n, "property"), *name = card_attr(n, "name");
    const char *content = card_attr(n, "content");
    for (size_t i = 0; i < CARD_META_N; i++) {
        if (p->meta_found[i])
            continue;
        if ((prop && strcasecmp(prop, card_meta_names[i]) == 0) ||
            (name && strcasecmp(name, card_meta_names[i]) == 0)) {
            p->meta_found[i] = true;
            p->meta[i] = card_dup(content);
        }
    }
    if (!p->description_found && name && strcasecmp(name, "description") == 0) {
        p->description_found = true;
        p->description = card_dup(content);
    }
}

/* NokogiriHandler.link_rel_include: rel as whitespace-separated tokens, downcased. */
static bool card_rel_has(const char *rel, const char *token)
{
    size_t tl = strlen(token);
    const char *p = rel;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\f' || *p == '\r')
            p++;
        size_t n = strcspn(p, " \t\n\f\r");
        if (n == tl && strncasecmp(p, token, n) == 0)
            return true;
        p += n;
    }
    return false;
}

static void card_take_link(card_page *p, xmlNodePtr n)
{
    if (!p->canonical_found && card_rel_has(card_attr(n, "rel"), "canonical")) {
        p->canonical_found = true;
        p->canonical = card_dup(card_attr(n, "href"));
    }
    const char *type = card_attr(n, "type");
    if (!type)
        return;
    if (!p->oembed_found &&
        (strcmp(type, "application/json+oembed") == 0 || strcmp(type, "text/json+oembed") == 0)) {
        p->oembed_found = true;
        p->oembed_href = card_dup(card_attr(n, "href"));
    } else if (!p->xml_found && strcmp(type, "text/xml+oembed") == 0) {
        p->xml_found = true;
        p->xml_href = card_dup(card_attr(n, "href"));
    }
}

static int card_take_script(card_page *p, xmlNodePtr n)
{
    const char *type = card_attr(n, "type");
    if (!type || strcmp(type, "application/ld+json") != 0)
        return 0;
    if (p->njsonld == p->capjsonld) {
        size_t cap = p->capjsonld ? p->capjsonld * 2 : 4;
        char **grown = realloc(p->jsonld, cap * sizeof *grown);
        if (!grown)
            return -1;
        p->jsonld = grown;
        p->capjsonld = cap;
    }
    xmlChar *text = xmlNodeGetContent(n);
    p->jsonld[p->njsonld++] = text ? strdup((const char *)text) : strdup("");
    xmlFree(text);
    return p->jsonld[p->njsonld - 1] ? 0 : -1;
}

static bool card_is(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->name && strcasecmp((const char *)n->name, name) == 0;
}

static int card_walk(card_page *p, xmlNodePtr root)
{
    xmlNodePtr n = root;
    while (n) {
        if (n->type == XML_ELEMENT_NODE) {
            if (card_is(n, "meta"))
                card_take_meta(p, n);
            else if (card_is(n, "link"))
                card_take_link(p, n);
            else if (card_is(n, "script") && card_take_script(p, n) != 0)
                return -1;
        }
        if (n->children && n->type == XML_ELEMENT_NODE) {
            n = n->children;
            continue;
        }
        while (n && n != root && !n->next)
            n = n->parent;
        if (!n || n == root)
            break;
        n = n->next;
    }
    return 0;
}

/* head.at_xpath('title'): the first <title> child of /html/head. */
static void card_take_title(card_page *p, xmlNodePtr root)
{
    if (!card_is(root, "html"))
        return;
    for (xmlNodePtr h = root->children; h; h = h->next) {
        if (!card_is(h, "head"))
            continue;
        for (xmlNodePtr t = h->children; t; t = t->next) {
            if (card_is(t, "title")) {
                xmlChar *text = xmlNodeGetContent(t);
                p->title = strdup(text ? (const char *)text : "");
                xmlFree(text);
                return;
            }
        }
        return;
    }
}

card_page *card_page_parse(const char *body, size_t len, const char *header_charset, char *err,
                           size_t errlen)
{
    card_page *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (len > INT_MAX)
        len = INT_MAX;
    card_pick_encoding(body, len, header_charset, p->encoding, sizeof p->encoding);
    int opts = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
               HTML_PARSE_IGNORE_ENC | HTML_PARSE_NODEFDTD;
    char *scrubbed = NULL;
    if ((strcasecmp(p->encoding, "utf-8") == 0 || strcasecmp(p->encoding, "utf8") == 0) &&
        !card_utf8_valid((const char *)body, len)) {
        scrubbed = card_scrub_utf8(body, len, &len);
        if (!scrubbed) {
            snprintf(err, errlen, "out of memory");
            card_page_free(p);
            return NULL;
        }
        body = scrubbed;
        if (len > INT_MAX)
            len = INT_MAX;
    }
    p->doc = htmlReadMemory(len ? body : " ", len ? (int)len : 1, NULL, p->encoding, opts);
    free(scrubbed);
    if (!p->doc) {
        snprintf(err, errlen, "libxml2 made no document of the page (%s)", p->encoding);
        card_page_free(p);
        return NULL;
    }
    xmlNodePtr root = xmlDocGetRootElement(p->doc);
    if (root) {
        const char *lang = card_attr(root, "lang");
        p->lang = card_dup(lang);
        card_take_title(p, root);
        if (card_walk(p, root) != 0) {
            snprintf(err, errlen, "out of memory reading the page");
            card_page_free(p);
            return NULL;
        }
    }
    return p;
}

void card_page_free(card_page *p)
{
    if (!p)
        return;
    if (p->doc)
        xmlFreeDoc(p->doc);
    for (size_t i = 0; i < CARD_META_N; i++)
        free(p->meta[i]);
    for (size_t i = 0; i < p->njsonld; i++)
        free(p->jsonld[i]);
    free(p->jsonld);
    free(p->description);
    free(p->canonical);
    free(p->title);
    free(p->lang);
    free(p->oembed_href);
    free(p->xml_href);
    free(p);
}

const char *card_page_encoding(const card_page *p)
{
    return p->encoding;
}

const char *card_page_meta(const card_page *p, const char *name, bool *found)
{
    for (size_t i = 0; i < CARD_META_N; i++) {
        if (strcasecmp(card_meta_names[i], name) == 0) {
            if (found)
                *found = p->meta_found[i];
            return p->meta[i];
        }
    }
    if (found)
        *found = false;
    return NULL;
}

const char *card_page_meta_description(const card_page *p)
{
    return p->description;
}

const char *card_page_canonical(const card_page *p)
{
    return p->canonical;
}

const char *card_page_title(const card_page *p)
{
    return p->title;
}

const char *card_page_lang(const card_page *p)
{
    return p->lang;
}

size_t card_page_jsonld_count(const card_page *p)
{
    return p->njsonld;
}

const char *card_page_jsonld(const card_page *p, size_t i)
{
    return i < p->njsonld ? p->jsonld[i] : NULL;
}

const char *card_page_oembed_href(const card_page *p, bool xml, bool *found)
{
    *found = xml ? p->xml_found : p->oembed_found;
    return xml ? p->xml_href : p->oembed_href;
}
