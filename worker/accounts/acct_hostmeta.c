/* acct_hostmeta.c -- the WebFinger URL a host-meta document (RFC 6415, XRD) names, as
 * Mastodon's Webfinger#url_from_template reads it after a 404: the first Link element
 * of the root's default namespace whose rel is "lrdd", its template with every "{uri}"
 * replaced by the resource (not escaped, as Ruby's gsub does). libxml2 parses it in
 * recovery mode (Nokogiri's default), never from the network; a document with a DTD
 * is refused, since its entities could grow without bound when read. */
#include "acct_parse.h"
#include "base.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first <Link rel="lrdd"> in document order below node, in namespace ns. */
static xmlNodePtr acct_hostmeta_find(xmlNodePtr node, const xmlChar *ns)
{
    for (xmlNodePtr n = node; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (n->ns && n->ns->href && xmlStrEqual(n->ns->href, ns) && xmlStrEqual(n->name, BAD_CAST "Link")) {
            xmlChar *rel = xmlGetNoNsProp(n, BAD_CAST "rel");
            bool lrdd = rel && xmlStrEqual(rel, BAD_CAST "lrdd");
            xmlFree(rel);
            if (lrdd)
                return n;
        }
        xmlNodePtr inner = acct_hostmeta_find(n->children, ns);
        if (inner)
            return inner;
    }
    return NULL;
}

/* The root element's default namespace (Nokogiri's "xmlns" prefix), or NULL. */
static const xmlChar *acct_hostmeta_default_ns(xmlNodePtr root)
{
    for (xmlNsPtr ns = root->nsDef; ns; ns = ns->next)
        if (!ns->prefix && ns->href)
            return ns->href;
    return NULL;
}

/* The template with every "{uri}" replaced by resource, unless that is longer than
 * ACCT_HOSTMETA_URL_MAX. Returns 0 with *url, or 1 with err. */
static int acct_hostmeta_expand(const char *t, const char *resource, char **url, char *err, size_t errlen)
{
    base_buf b;
    base_buf_init(&b);
    for (const char *hit; (hit = strstr(t, "{uri}")) != NULL && b.len <= ACCT_HOSTMETA_URL_MAX; t = hit + 5) {
        base_buf_add(&b, t, (size_t)(hit - t));
        base_buf_adds(&b, resource);
    }
    base_buf_adds(&b, t);
    if (b.len > ACCT_HOSTMETA_URL_MAX) {
        snprintf(err, errlen, "host-meta for %s names a WebFinger URL longer than %d bytes", resource,
                 ACCT_HOSTMETA_URL_MAX);
        base_buf_free(&b);
        return 1;
    }
    *url = base_buf_take(&b);
    return 0;
}

int acct_hostmeta_url(const char *body, size_t len, const char *resource, char **url, char *err, size_t errlen)
{
    *url = NULL;
    if (len == 0 || len > INT_MAX) {
        snprintf(err, errlen, "host-meta of %zu bytes", len);
        return 1;
    }
    xmlDocPtr doc = xmlReadMemory(body, (int)len, NULL, NULL,
                                  XML_PARSE_RECOVER | XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    const xmlChar *ns = root ? acct_hostmeta_default_ns(root) : NULL;
    xmlNodePtr link = ns && !doc->intSubset ? acct_hostmeta_find(root, ns) : NULL;
    xmlChar *tmpl = link ? xmlGetNoNsProp(link, BAD_CAST "template") : NULL;
    int rc = 1;
    if (!root || doc->intSubset)
        snprintf(err, errlen, "host-meta for %s is not an XML document without DTD", resource);
    else if (!ns)
        snprintf(err, errlen, "Invalid XML encountered in host-meta for %s (no default namespace)", resource);
    else if (!link)
        snprintf(err, errlen, "Request for %s returned host-meta without link to Webfinger", resource);
    else if (!tmpl)
        snprintf(err, errlen, "host-meta for %s has an lrdd link without a template", resource);
    else
        rc = acct_hostmeta_expand((const char *)tmpl, resource, url, err, errlen);
    xmlFree(tmpl);
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}
