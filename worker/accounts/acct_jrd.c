/* acct_jrd.c -- a WebFinger answer read as Mastodon's Webfinger::Response does: a
 * JSON object with a non-blank subject and a `self` link whose type is
 * application/activity+json or the ActivityStreams ld+json profile; the subject split
 * into username and domain as ResolveAccountService#split_acct requires. */
#include "acct_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const acct_jrd_types[] = {
    "application/activity+json",
    "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
};

static const char *acct_jrd_self(const json_t *links)
{
    size_t i;
    const json_t *l;
    json_array_foreach(links, i, l) {
        const char *rel = json_string_value(json_object_get(l, "rel"));
        const char *type = json_string_value(json_object_get(l, "type"));
        if (!rel || strcmp(rel, "self") != 0 || !type)
            continue;
        for (size_t t = 0; t < sizeof acct_jrd_types / sizeof acct_jrd_types[0]; t++)
            if (strcmp(type, acct_jrd_types[t]) == 0)
                return json_string_value(json_object_get(l, "href"));
    }
    return NULL;
}

int acct_jrd_parse(const char *body, size_t len, acct_jrd *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, 0, &jerr);
    int rc = 1;
    const char *subject = json_string_value(json_object_get(doc, "subject"));
    const json_t *links = json_object_get(doc, "links");
    const char *href = json_is_array(links) ? acct_jrd_self(links) : NULL;
    if (!json_is_object(doc)) {
        snprintf(err, errlen, "not a JSON object%s%s", doc ? "" : ": ", doc ? "" : jerr.text);
    } else if (!subject || !*subject) {
        snprintf(err, errlen, "missing subject");
    } else if (!href) {
        snprintf(err, errlen, "missing an ActivityPub self link with an href");
    } else if (!acct_split_handle(subject, false, &out->username, &out->domain)) {
        snprintf(err, errlen, "subject %.200s is missing user or host value", subject);
    } else {
        out->self_href = strdup(href);
        rc = out->self_href ? 0 : 1;
    }
    json_decref(doc);
    if (rc != 0)
        acct_jrd_free(out);
    return rc;
}

void acct_jrd_free(acct_jrd *j)
{
    free(j->username);
    free(j->domain);
    free(j->self_href);
    memset(j, 0, sizeof *j);
}
