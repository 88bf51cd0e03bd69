/* card_link.c -- FetchLinkCardService#parse_urls for a remote status: its HTML read
 * with libxml2's HTML parser, the <a> elements in document order minus hashtags and
 * mentions (skip_link?), each href normalized, and the first that has a host, is
 * http or https and is not on this server's web domain (bad_url?). */
#include "card_parse.h"

#include <libxml/HTMLparser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *card_link_attr(xmlNodePtr n, const char *name)
{
    for (xmlAttrPtr a = n->properties; a; a = a->next)
        if (a->name && strcasecmp((const char *)a->name, name) == 0)
            return a->children && a->children->content ? (const char *)a->children->content : "";
    return NULL;
}

/* skip_link?: rel containing "tag" (a substring, as String#include? reads it), class
 * matching u-url or h-card, or the href of a mentioned account. */
static bool card_skip(xmlNodePtr a, const char *href, const char *const *mentions, size_t n)
{
    const char *rel = card_link_attr(a, "rel"), *cls = card_link_attr(a, "class");
    if (rel && strstr(rel, "tag"))
        return true;
    if (cls && (strstr(cls, "u-url") || strstr(cls, "h-card")))
        return true;
    for (size_t i = 0; i < n; i++)
        if (mentions[i] && strcmp(mentions[i], href) == 0)
            return true;
    return false;
}

/* TagManager#local_url?: host[:port] of the normalized URL equals the web domain. */
static bool card_local(const char *url, const char *web_domain)
{
    const char *p = strstr(url, "://");
    if (!p || !web_domain || !*web_domain)
        return false;
    p += 3;
    size_t n = strcspn(p, "/?#");
    const char *at = memchr(p, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    size_t wl = strlen(web_domain);
    if (wl && web_domain[wl - 1] == '/')
        wl--;
    return n == wl && strncasecmp(p, web_domain, n) == 0;
}

/* The next element after n in document order, without recursion. */
static xmlNodePtr card_next(xmlNodePtr n, xmlNodePtr root)
{
    if (n->children && n->type == XML_ELEMENT_NODE)
        return n->children;
    while (n && n != root && !n->next)
        n = n->parent;
    return n && n != root ? n->next : NULL;
}

char *card_pick_link(const char *html, size_t len, const char *const *mention_urls, size_t n_mentions,
                     const char *web_domain)
{
    if (!html || len == 0 || len > (size_t)1 << 30)
        return NULL;
    htmlDocPtr doc = htmlReadMemory(html, (int)len, NULL, "UTF-8",
                                    HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                        HTML_PARSE_NONET | HTML_PARSE_IGNORE_ENC | HTML_PARSE_NODEFDTD);
    if (!doc)
        return NULL;
    char *found = NULL;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    for (xmlNodePtr n = root; n && !found; n = card_next(n, root)) {
        if (n->type != XML_ELEMENT_NODE || !n->name || strcasecmp((const char *)n->name, "a") != 0)
            continue;
        const char *href = card_link_attr(n, "href");
        if (!href || card_skip(n, href, mention_urls, n_mentions))
            continue;
        char *url = card_url_normalize(href);
        char scheme[16], host[512];
        if (url && card_url_parts(url, scheme, sizeof scheme, host, sizeof host) &&
            (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) && !card_local(url, web_domain))
            found = url;
        else
            free(url);
    }
    xmlFreeDoc(doc);
    return found;
}
