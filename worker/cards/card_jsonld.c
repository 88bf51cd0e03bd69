/* card_jsonld.c -- LinkDetailsExtractor::StructuredData: the page's JSON-LD scripts
 * in order, each with its commented CDATA wrapper lines removed and HTML entities
 * decoded, parsed as JSON (Ruby's nesting limit); the first that holds an object of a
 * supported @type (NewsArticle or WebPage) is the structured data. */
#include "base.h"
#include "card_parse.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* CDATA_JUNK_PATTERN: a line that is only one of "/ * <![CDATA[ * /", "// <![CDATA[",
 * "/ * ]]> * /" or "// ]]>" (with any spaces) is dropped. */
static bool card_cdata_junk(const char *line, size_t n)
{
    char buf[64];
    size_t k = 0;
    for (size_t i = 0; i < n && k < sizeof buf - 1; i++)
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\f' && line[i] != '\v')
            buf[k++] = line[i];
    if (k == sizeof buf - 1)
        return false;
    buf[k] = '\0';
    return strcmp(buf, "/*<![CDATA[*/") == 0 || strcmp(buf, "//<![CDATA[") == 0 ||
           strcmp(buf, "/*]]>*/") == 0 || strcmp(buf, "//]]>") == 0;
}

static char *card_strip_cdata(const char *s)
{
    size_t len = strlen(s);
    char *out = malloc(len + 1), *o = out;
    if (!out)
        return NULL;
    const char *p = s;
    while (*p) {
        size_t n = strcspn(p, "\n");
        if (!card_cdata_junk(p, n)) {
            memcpy(o, p, n);
            o += n;
        }
        p += n;
        if (*p == '\n')
            *o++ = *p++;
    }
    *o = '\0';
    return out;
}

static char *card_jstr(const json_t *v)
{
    return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

/* text_or_language_tagged_string: {"@value", "@language"} stands for its @value. */
static char *card_tagged(const json_t *v)
{
    if (json_is_object(v) && json_object_get(v, "@value") && json_object_get(v, "@language"))
        return card_jstr(json_object_get(v, "@value"));
    return card_jstr(v);
}

/* first_of_hash: of an array (flattened), its first object; else the value. */
static const json_t *card_first_object(const json_t *v)
{
    if (!json_is_array(v))
        return v;
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e) {
        if (json_is_object(e))
            return e;
        if (json_is_array(e)) {
            const json_t *inner = card_first_object(e);
            if (json_is_object(inner))
                return inner;
        }
    }
    return NULL;
}

static bool card_supported_type(const json_t *obj)
{
    const char *t = json_string_value(json_object_get(obj, "@type"));
    return t && (strcmp(t, "NewsArticle") == 0 || strcmp(t, "WebPage") == 0);
}

static void card_jsonld_fill(const json_t *obj, card_jsonld *out)
{
    out->valid = true;
    out->type = card_jstr(json_object_get(obj, "@type"));
    out->headline = card_tagged(json_object_get(obj, "headline"));
    out->description = card_tagged(json_object_get(obj, "description"));
    const json_t *lang = json_object_get(obj, "inLanguage");
    if (json_is_array(lang))
        lang = json_array_get(lang, 0);
    if (json_is_object(lang)) {
        const json_t *alt = json_object_get(lang, "alternateName");
        lang = alt && !json_is_null(alt) ? alt : json_object_get(lang, "name");
    }
    out->language = card_jstr(lang);
    out->date_published = card_jstr(json_object_get(obj, "datePublished"));
    const json_t *author = card_first_object(json_object_get(obj, "author"));
    if (json_is_object(author)) {
        const json_t *name = json_object_get(author, "name");
        if (json_is_array(name)) {
            base_buf joined; /* one pass: a remote array of 100,000 names stays linear */
            base_buf_init(&joined);
            size_t i;
            const json_t *e;
            json_array_foreach(name, i, e) {
                if (i)
                    base_buf_add(&joined, ", ", 2);
                if (json_is_string(e))
                    base_buf_adds(&joined, json_string_value(e));
            }
            out->author_name = joined.data ? joined.data : strdup("");
        } else {
            out->author_name = card_jstr(name);
        }
        out->author_url = card_jstr(json_object_get(author, "url"));
    }
    const json_t *publisher = card_first_object(json_object_get(obj, "publisher"));
    if (json_is_object(publisher))
        out->publisher_name = card_jstr(json_object_get(publisher, "name"));
}

/* The supported object of one script's JSON, or NULL. */
static const json_t *card_jsonld_pick(const json_t *root)
{
    if (json_is_object(root))
        return card_supported_type(root) ? root : NULL;
    size_t i;
    const json_t *e;
    json_array_foreach(root, i, e) {
        if (json_is_object(e) && card_supported_type(e))
            return e;
    }
    return NULL;
}

void card_jsonld_find(const card_page *p, card_jsonld *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < card_page_jsonld_count(p) && !out->valid; i++) {
        char *stripped = card_strip_cdata(card_page_jsonld(p, i));
        if (!stripped)
            return;
        if (card_blank(stripped)) {
            free(stripped);
            continue;
        }
        char *text = card_entities_decode(stripped);
        free(stripped);
        if (!text)
            return;
        size_t len = strlen(text);
        json_t *root = NULL;
        if (card_json_depth(text, len, CARD_JSON_MAX_DEPTH) <= CARD_JSON_MAX_DEPTH)
            root = json_loadb(text, len, JSON_DECODE_ANY, NULL);
        free(text);
        const json_t *obj = root ? card_jsonld_pick(root) : NULL;
        if (obj)
            card_jsonld_fill(obj, out);
        json_decref(root);
    }
}

void card_jsonld_clear(card_jsonld *j)
{
    free(j->type);
    free(j->headline);
    free(j->description);
    free(j->language);
    free(j->date_published);
    free(j->author_name);
    free(j->author_url);
    free(j->publisher_name);
    memset(j, 0, sizeof *j);
}
