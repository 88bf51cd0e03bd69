/* card_sanitize.c -- Sanitize.fragment(html, Sanitize::Config::MASTODON_OEMBED) for an
 * oEmbed video's html: parsed with libxml2's HTML parser and written back keeping
 * only audio (controls), iframe (allowfullscreen frameborder height scrolling src
 * width), source (src type) and video (controls height loop width); src must be
 * http or https (no relative URLs), every iframe gets Mastodon's sandbox, other
 * elements are unwrapped (block elements leave a space) and the contents of script,
 * style and the like are dropped, as Sanitize's defaults do. */
#include "card_parse.h"

#include "base.h"

#include <ctype.h>
#include <libxml/HTMLparser.h>
#include <string.h>
#include <strings.h>

#define CARD_SANITIZE_MAX_DEPTH 256  /* deeper content is dropped */
#define CARD_SANDBOX "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox allow-forms"

static const char *const card_allowed[][7] = {
    {"audio", "controls", NULL},
    {"iframe", "allowfullscreen", "frameborder", "height", "scrolling", "src", "width"},
    {"source", "src", "type", NULL},
    {"video", "controls", "height", "loop", "width", NULL},
};

static const char *const card_remove_contents[] = {"math", "noembed", "noframes", "noscript", "plaintext",
                                                   "script", "style", "svg", "xmp", "template", NULL};
static const char *const card_whitespace[] = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "footer", "h1", "h2",
    "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "li", "nav", "ol", "p", "pre", "section", "ul", NULL};

static bool card_in(const char *const *list, const char *name)
{
    for (; *list; list++)
        if (strcasecmp(*list, name) == 0)
            return true;
    return false;
}

static int card_allowed_index(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(card_allowed[i][0], name) == 0)
            return i;
    return -1;
}

static bool card_attr_allowed(int el, const char *attr)
{
    for (int i = 1; i < 7 && card_allowed[el][i]; i++)
        if (strcmp(card_allowed[el][i], attr) == 0)
            return true;
    return false;
}

/* Sanitize's protocol rule for src: a scheme before the first ':' (no '/' or '#' in
 * it) that is http or https; a value without one is relative, and refused. */
static bool card_src_ok(const char *v)
{
    while (isspace((unsigned char)*v))
        v++;
    size_t n = strcspn(v, ":/#");
    if (v[n] != ':')
        return false;
    return (n == 4 && strncasecmp(v, "http", 4) == 0) || (n == 5 && strncasecmp(v, "https", 5) == 0);
}

/* HTML5 serialisation escapes: & and no-break space always, " in attributes, < > in text. */
static void card_escape(base_buf *b, const char *s, bool attr)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '&')
            base_buf_adds(b, "&amp;");
        else if (p[0] == 0xC2 && p[1] == 0xA0) {
            base_buf_adds(b, "&nbsp;");
            p++;
        } else if (attr && *p == '"')
            base_buf_adds(b, "&quot;");
        else if (!attr && *p == '<')
            base_buf_adds(b, "&lt;");
        else if (!attr && *p == '>')
            base_buf_adds(b, "&gt;");
        else
            base_buf_add(b, (const char *)p, 1);
    }
}

static void card_clean(base_buf *b, xmlNodePtr n, int depth);

static void card_clean_children(base_buf *b, xmlNodePtr n, int depth)
{
    if (depth >= CARD_SANITIZE_MAX_DEPTH)
        return;
    for (xmlNodePtr c = n->children; c; c = c->next)
        card_clean(b, c, depth + 1);
}

static void card_clean(base_buf *b, xmlNodePtr n, int depth)
{
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
        card_escape(b, n->content ? (const char *)n->content : "", false);
        return;
    }
    if (n->type != XML_ELEMENT_NODE || !n->name)
        return;
    const char *name = (const char *)n->name;
    int el = card_allowed_index(name);
    if (el < 0) {
        if (card_in(card_remove_contents, name))
            return;
        bool ws = card_in(card_whitespace, name);
        if (ws)
            base_buf_adds(b, " ");
        card_clean_children(b, n, depth);
        if (ws && strcasecmp(name, "br") != 0)
            base_buf_adds(b, " ");
        return;
    }
    base_buf_addf(b, "<%s", name);
    for (xmlAttrPtr a = n->properties; a; a = a->next) {
        const char *an = (const char *)a->name;
        if (!an || !card_attr_allowed(el, an))
            continue;
        const char *v = a->children && a->children->content ? (const char *)a->children->content : "";
        if (strcmp(an, "src") == 0 && !card_src_ok(v))
            continue;
        base_buf_addf(b, " %s=\"", an);
        card_escape(b, v, true);
        base_buf_adds(b, "\"");
    }
    if (strcmp(name, "iframe") == 0)
        base_buf_adds(b, " sandbox=\"" CARD_SANDBOX "\"");
    base_buf_adds(b, ">");
    if (strcmp(name, "source") == 0)
        return; /* a void element */
    card_clean_children(b, n, depth);
    base_buf_addf(b, "</%s>", name);
}

char *card_sanitize_oembed(const char *html)
{
    base_buf in, out;
    base_buf_init(&in);
    base_buf_init(&out);
    base_buf_adds(&in, "<html><body>");
    base_buf_adds(&in, html);
    base_buf_adds(&in, "</body></html>");
    htmlDocPtr doc = htmlReadMemory(in.data, (int)in.len, NULL, "UTF-8",
                                    HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                        HTML_PARSE_NONET | HTML_PARSE_IGNORE_ENC | HTML_PARSE_NODEFDTD);
    base_buf_free(&in);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    for (xmlNodePtr c = root ? root->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && c->name && strcmp((const char *)c->name, "body") == 0)
            card_clean_children(&out, c, 0);
    if (doc)
        xmlFreeDoc(doc);
    return base_buf_take(&out);
}
