/* card_oembed.c -- FetchOEmbedService and attempt_oembed: the page's oEmbed endpoint
 * (JSON, else XML; made https when the page is), and the endpoint's answer checked
 * (version "1.0", a type) and turned into the card's oEmbed columns: link with its
 * thumbnail, photo with its url, video with Mastodon's sanitised html; rich and a
 * photo without url send Mastodon on to OpenGraph. */
#include "card_parse.h"

#include <jansson.h>
#include <libxml/parser.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *card_oembed_endpoint(const card_page *p, const char *page_url, bool *xml)
{
    bool found;
    *xml = false;
    const char *href = card_page_oembed_href(p, false, &found);
    if (!href) {
        href = card_page_oembed_href(p, true, &found);
        *xml = href != NULL;
    }
    if (card_blank(href))
        return NULL;
    char *url = card_url_join(page_url, href);
    if (!url)
        return NULL;
    if (strncmp(page_url, "https:", 6) == 0 && strncmp(url, "http:", 5) == 0) {
        size_t n = strlen(url) + 2;
        char *https = malloc(n);
        if (https)
            snprintf(https, n, "https:%s", url + 5);
        free(url);
        url = https;
    }
    return url;
}

/* A string field, or NULL. */
static const char *card_field(const json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

/* embed[:x].presence || 0 with ActiveModel's integer cast. */
static int card_dimension(const json_t *v)
{
    if (json_is_integer(v))
        return (int)json_integer_value(v);
    if (json_is_real(v) && isfinite(json_real_value(v)) && fabs(json_real_value(v)) < 2e9)
        return (int)json_real_value(v);
    if (json_is_string(v))
        return (int)strtol(json_string_value(v), NULL, 10);
    return 0;
}

/* (url + embed[:name]).to_s when present, else NULL. */
static char *card_joined(const char *endpoint, const json_t *o, const char *name)
{
    const char *v = card_field(o, name);
    return card_blank(v) ? NULL : card_url_join(endpoint, v);
}

static char *card_text_or_empty(const json_t *o, const char *name)
{
    const char *v = card_field(o, name);
    return strdup(v ? v : "");
}

/* Ox.load(body, mode: :hash_no_attrs)[:oembed]: the text of each child element of the
 * root <oembed> (elements with element children are left out: no field reads them).
 * NULL when the body is not such an XML document or has a DTD. Entities are not
 * expanded and nothing is loaded from the network. */
static json_t *card_oembed_xml(const char *body, size_t len, char *why, size_t whylen)
{
    if (len > INT_MAX) {
        snprintf(why, whylen, "the oEmbed XML is too large");
        return NULL;
    }
    xmlDocPtr doc = xmlReadMemory(body, (int)len, NULL, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root || !root->name || strcmp((const char *)root->name, "oembed") != 0 || doc->intSubset) {
        /* a DTD could define entities whose expansion grows without bound */
        snprintf(why, whylen, "the oEmbed answer is not an <oembed> XML document without DTD");
        if (doc)
            xmlFreeDoc(doc);
        return NULL;
    }
    json_t *o = json_object();
    for (xmlNodePtr c = root->children; c && o; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || !c->name || json_object_get(o, (const char *)c->name))
            continue;
        bool nested = false;
        for (xmlNodePtr g = c->children; g; g = g->next)
            nested = nested || g->type == XML_ELEMENT_NODE || g->type == XML_ENTITY_REF_NODE;
        xmlChar *text = nested ? NULL : xmlNodeGetContent(c);
        if (text && card_utf8_valid((const char *)text, strlen((const char *)text)))
            json_object_set_new(o, (const char *)c->name, json_string((const char *)text));
        xmlFree(text);
    }
    xmlFreeDoc(doc);
    return o;
}

card_oembed_result card_oembed_apply(const char *body, size_t len, bool xml, const char *endpoint_url,
                                     card_attrs *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    json_t *o;
    if (xml) {
        o = card_oembed_xml(body, len, why, whylen);
        if (!o)
            return CARD_OEMBED_NONE;
    } else {
        if (card_json_depth(body, len, CARD_JSON_MAX_DEPTH) > CARD_JSON_MAX_DEPTH) {
            snprintf(why, whylen, "the oEmbed JSON nests deeper than %d", CARD_JSON_MAX_DEPTH);
            return CARD_OEMBED_NONE;
        }
        json_error_t je;
        o = json_loadb(body, len, JSON_DECODE_ANY, &je);
        if (!o) {
            snprintf(why, whylen, "the oEmbed answer is not JSON: %s", je.text);
            return CARD_OEMBED_NONE;
        }
    }
    const json_t *version = json_object_get(o, "version");
    const char *type = card_field(o, "type");
    bool v10 = (json_is_string(version) && strcmp(json_string_value(version), "1.0") == 0) ||
               (json_is_real(version) && json_real_value(version) == 1.0);
    if (!json_is_object(o) || !v10 || card_blank(type)) {
        snprintf(why, whylen, "the oEmbed answer has no version \"1.0\" or no type");
        json_decref(o);
        return CARD_OEMBED_NONE;
    }
    card_oembed_result res = CARD_OEMBED_CARD;
    out->set = CARD_COL_TYPE | CARD_COL_TITLE | CARD_COL_AUTHOR_NAME | CARD_COL_AUTHOR_URL |
               CARD_COL_PROVIDER_NAME | CARD_COL_PROVIDER_URL | CARD_COL_WIDTH | CARD_COL_HEIGHT;
    out->title = card_text_or_empty(o, "title");
    out->author_name = card_text_or_empty(o, "author_name");
    out->author_url = card_joined(endpoint_url, o, "author_url");
    out->provider_name = card_text_or_empty(o, "provider_name");
    out->provider_url = card_joined(endpoint_url, o, "provider_url");
    if (!out->author_url)
        out->author_url = strdup("");
    if (!out->provider_url)
        out->provider_url = strdup("");
    if (strcmp(type, "link") == 0) {
        out->type = CARD_TYPE_LINK;
        out->image_url = card_joined(endpoint_url, o, "thumbnail_url");
    } else if (strcmp(type, "photo") == 0) {
        out->type = CARD_TYPE_PHOTO;
        out->image_url = card_joined(endpoint_url, o, "url");
        if (!out->image_url) {
            snprintf(why, whylen, "the oEmbed photo has no url");
            res = CARD_OEMBED_FALLBACK;
        } else {
            out->set |= CARD_COL_EMBED_URL;
            out->embed_url = strdup(out->image_url);
            out->width = card_dimension(json_object_get(o, "width"));
            out->height = card_dimension(json_object_get(o, "height"));
        }
    } else if (strcmp(type, "video") == 0) {
        out->type = CARD_TYPE_VIDEO;
        out->set |= CARD_COL_HTML;
        out->width = card_dimension(json_object_get(o, "width"));
        out->height = card_dimension(json_object_get(o, "height"));
        const char *html = card_field(o, "html");
        out->html = card_sanitize_oembed(html ? html : "");
        out->image_url = card_joined(endpoint_url, o, "thumbnail_url");
    } else if (strcmp(type, "rich") == 0) {
        snprintf(why, whylen, "a rich oEmbed (Mastodon does not embed those; its providers need scripts)");
        res = CARD_OEMBED_FALLBACK;
    } else {
        snprintf(why, whylen, "the oEmbed type \"%.40s\" is not one PreviewCard knows", type);
        res = CARD_OEMBED_FALLBACK;
    }
    json_decref(o);
    if (res != CARD_OEMBED_CARD)
        card_attrs_clear(out);
    else if (!out->title || !out->author_name || !out->provider_name || !out->author_url ||
             !out->provider_url || (out->type == CARD_TYPE_VIDEO && !out->html)) {
        snprintf(why, whylen, "out of memory");
        card_attrs_clear(out);
        res = CARD_OEMBED_NONE;
    }
    return res;
}
