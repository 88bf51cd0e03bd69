/* acct_actor.c -- an actor document read the way ActivityPub::FetchRemoteActorService
 * checks it and ActivityPub::ProcessAccountService maps it onto accounts columns
 * (set_immediate_protocol_attributes!, set_immediate_attributes!, the image, key and
 * interaction-policy readers). Network-free: keys and images that live in other
 * documents are marked for the caller to fetch. */
#include "acct_parse.h"
#include "base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCT_AS_CONTEXT "https://www.w3.org/ns/activitystreams"

static const char *const acct_types[] = {"Application", "Group", "Organization", "Person", "Service"};

static int acct_refuse(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int acct_refuse(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return 1;
}

static char *acct_dup(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

/* Ruby's blank? for the JSON values ProcessAccountService tests with .present?. */
bool acct_present(const json_t *v)
{
    if (!v || json_is_null(v) || json_is_false(v))
        return false;
    if (json_is_string(v)) {
        for (const char *p = json_string_value(v); *p; p++)
            if (*p != ' ' && (*p < '\t' || *p > '\r'))
                return true;
        return false;
    }
    if (json_is_array(v))
        return json_array_size(v) > 0;
    if (json_is_object(v))
        return json_object_size(v) > 0;
    return true;
}

static bool acct_includes(const json_t *v, const char *needle)
{
    if (json_is_string(v))
        return strcmp(json_string_value(v), needle) == 0;
    size_t i;
    const json_t *e;
    if (json_is_array(v))
        json_array_foreach(v, i, e) if (json_is_string(e) && strcmp(json_string_value(e), needle) == 0)
            return true;
    return false;
}

static const json_t *acct_first(const json_t *v)
{
    return json_is_array(v) ? json_array_get(v, 0) : v;
}

/* ActiveModel's boolean cast of `value || false` into a NOT NULL column. */
static bool acct_truthy(const json_t *v)
{
    if (!v || json_is_null(v) || json_is_false(v))
        return false;
    if (json_is_string(v)) {
        static const char *const no[] = {"", "0", "f", "F", "false", "FALSE", "off", "OFF"};
        for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
            if (strcmp(json_string_value(v), no[i]) == 0)
                return false;
        return true;
    }
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    if (json_is_real(v))
        return json_real_value(v) != 0.0;
    return true;
}

/* A copy of s cut to at most max UTF-8 characters; *chars gets the length as sent. */
static char *acct_cut(const char *s, size_t max, size_t *chars)
{
    size_t n = 0, at = 0, len = strlen(s);
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            if (n == max)
                at = i;
            n++;
        }
    }
    if (chars)
        *chars = n;
    return n > max ? strndup(s, at) : acct_dup(s);
}

static bool acct_http(const char *s)
{
    char *h = acct_uri_host(s);
    free(h);
    return h != NULL;
}

static bool acct_same_host(const char *a, const char *b)
{
    char *ha = acct_uri_host(a), *hb = acct_uri_host(b);
    bool same = ha && hb && strcmp(ha, hb) == 0;
    free(ha);
    free(hb);
    return same;
}

/* valid_collection_uri: the first element, or an object's id, when http(s) with a host. */
static char *acct_collection(const json_t *v)
{
    v = acct_first(v);
    if (json_is_object(v))
        v = json_object_get(v, "id");
    const char *s = json_string_value(v);
    return acct_dup(s && acct_http(s) ? s : "");
}

/* url_to_href(json['url'], 'text/html') */
static const char *acct_url_href(const json_t *v)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (!json_is_array(v))
        v = json_is_object(v) ? v : NULL;
    if (!v)
        return NULL;
    if (json_is_object(v))
        return json_string_value(json_object_get(v, "href"));
    const json_t *e, *pick = NULL;
    size_t i;
    json_array_foreach(v, i, e) {
        if (json_is_string(e))
            return json_string_value(e);
        const json_t *mt = json_object_get(e, "mimeType");
        if (json_is_object(e) && (!mt || (json_is_string(mt) && !strcmp(json_string_value(mt), "text/html")))) {
            pick = e;
            break;
        }
    }
    if (!pick)
        pick = json_array_get(v, 0);
    return json_is_object(pick) ? json_string_value(json_object_get(pick, "href")) : NULL;
}

/* first_lang_string(json, name) */
static const char *acct_lang_string(const json_t *obj, const char *name)
{
    const json_t *v = json_object_get(obj, name);
    if (v && !json_is_null(v) && !json_is_false(v)) {
        v = acct_first(v);
        if (json_is_string(v))
            return json_string_value(v);
        return json_is_object(v) ? json_string_value(json_object_get(v, "@value")) : NULL;
    }
    char key[32];
    snprintf(key, sizeof key, "%sMap", name);
    const json_t *map = json_object_get(obj, key);
    if (json_is_object(map)) {
        void *it = json_object_iter((json_t *)map);
        return it ? json_string_value(json_object_iter_value(it)) : NULL;
    }
    return NULL;
}

static char *acct_strip_cut(const char *s, size_t max)
{
    while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || (s[n - 1] >= '\t' && s[n - 1] <= '\r') || s[n - 1] == '\0'))
        n--;
    char *t = strndup(s, n);
    if (!t)
        abort();
    char *out = acct_cut(t, max, NULL);
    free(t);
    return out;
}

/* image_url_and_description(key) */
static void acct_image_parse(const json_t *doc, const char *key, acct_image *img)
{
    const json_t *v = acct_first(json_object_get(doc, key));
    if (!v || json_is_null(v))
        return;
    if (json_is_string(v)) {
        img->by_reference = true; /* an Image document by URI: Mastodon fetches it */
        return;
    }
    const json_t *url = v;
    if (json_is_object(v) && acct_includes(json_object_get(v, "type"), "Image") &&
        json_is_string(json_object_get(v, "type"))) {
        url = acct_first(json_object_get(v, "url"));
        if (json_is_object(url))
            url = json_object_get(url, "href");
        const char *d = acct_lang_string(v, "summary");
        if (!d || !acct_present(json_object_get(v, "summary")) || !*d)
            d = acct_lang_string(v, "name");
        if (d && *d) {
            img->description = acct_strip_cut(d, ACCT_DESCRIPTION_MAX);
            if (!*img->description) {
                free(img->description);
                img->description = NULL;
            }
        }
    }
    if (json_is_object(url))
        url = json_object_get(url, "href");
    if (json_is_string(url))
        img->url = acct_dup(json_string_value(url));
}

/* The part of a key id before its first '#'. */
static bool acct_key_in_doc(const char *key_id, const char *uri)
{
    size_t n = strcspn(key_id, "#");
    return strlen(uri) == n && strncmp(key_id, uri, n) == 0;
}

static int acct_pem_ok(const char *pem, const char *uri, char *err, size_t errlen)
{
    if (!pem)
        return acct_refuse(err, errlen, "key %s has no publicKeyPem", uri);
    if (strlen(pem) > ACCT_PEM_MAX || !strstr(pem, "-----BEGIN ") || !strstr(pem, "-----END "))
        return acct_refuse(err, errlen, "key %s is not a PEM public key", uri);
    return 0;
}

static bool acct_key_known(const acct_actor *a, const char *uri)
{
    for (size_t k = 0; k < a->n_keys; k++)
        if (strcmp(a->keys[k].uri, uri) == 0)
            return true;
    return false;
}

/* fep_521a_public_keys: the first ACCT_MAX_PUBLIC_KEYS entries of assertionMethod,
 * Multikey objects controlled by the actor (inline when their id is in the actor
 * document, else fetched by id) and key URIs. An inline Multikey whose key does not
 * decode is skipped, as Mastodon skips it. */
static int acct_multikeys_parse(const json_t *doc, acct_actor *a, char *err, size_t errlen)
{
    const json_t *am = json_object_get(doc, "assertionMethod");
    size_t n = json_is_array(am) ? json_array_size(am) : (am && !json_is_null(am) ? 1 : 0);
    for (size_t i = 0; i < n && i < ACCT_MAX_PUBLIC_KEYS; i++) {
        const json_t *v = json_is_array(am) ? json_array_get(am, i) : am;
        const char *key_id;
        char *pem = NULL;
        int type = 0;
        if (json_is_null(v))
            continue;
        if (json_is_object(v)) {
            const char *t = json_string_value(json_object_get(v, "type"));
            const char *controller = json_string_value(json_object_get(v, "controller"));
            if (!t || strcmp(t, "Multikey") != 0 || !controller || strcmp(controller, a->uri) != 0)
                continue;
            char why[256];
            if (acct_multikey_pem(json_string_value(json_object_get(v, "publicKeyMultibase")), &type, &pem, why,
                                  sizeof why) != 0)
                continue;
            key_id = json_string_value(json_object_get(v, "id"));
            if (!key_id) { /* Ruby's value['id'].split raises: nothing is stored */
                free(pem);
                return acct_refuse(err, errlen, "actor %s has a Multikey without an id", a->uri);
            }
            if (!acct_key_in_doc(key_id, a->uri)) {
                free(pem);
                pem = NULL;
            }
        } else if (json_is_string(v)) {
            key_id = json_string_value(v);
        } else {
            return acct_refuse(err, errlen, "actor %s has an assertionMethod that is neither an object nor a URI",
                               a->uri);
        }
        if (!acct_http(key_id) || acct_key_known(a, key_id)) {
            free(pem);
            if (!acct_http(key_id))
                return acct_refuse(err, errlen, "actor %s has a key id that is not an http(s) URI", a->uri);
            continue;
        }
        acct_key *k = &a->keys[a->n_keys++];
        k->uri = acct_dup(key_id);
        k->inline_doc = pem != NULL;
        k->multikey = true;
        k->type = type;
        k->pem = pem;
    }
    return 0;
}

/* legacy_public_keys: publicKey objects owned by the actor (inline or by id) and key
 * URIs, at most ACCT_MAX_PUBLIC_KEYS, unique by uri (after the Multikeys). */
static int acct_keys_parse(const json_t *doc, acct_actor *a, char *err, size_t errlen)
{
    if (acct_multikeys_parse(doc, a, err, errlen) != 0)
        return 1;
    const json_t *pk = json_object_get(doc, "publicKey");
    size_t n = json_is_array(pk) ? json_array_size(pk) : (pk && !json_is_null(pk) ? 1 : 0);
    for (size_t i = 0; i < n && i < ACCT_MAX_PUBLIC_KEYS; i++) {
        const json_t *v = json_is_array(pk) ? json_array_get(pk, i) : pk;
        const char *key_id, *pem = NULL;
        bool inline_doc = false;
        if (json_is_null(v))
            continue;
        if (json_is_object(v)) {
            const char *owner = json_string_value(json_object_get(v, "owner"));
            if (!owner || strcmp(owner, a->uri) != 0)
                continue;
            key_id = json_string_value(json_object_get(v, "id"));
            if (!key_id)
                return acct_refuse(err, errlen, "actor %s has a public key without an id", a->uri);
            pem = json_string_value(json_object_get(v, "publicKeyPem"));
            inline_doc = acct_key_in_doc(key_id, a->uri);
            if (inline_doc && acct_pem_ok(pem, key_id, err, errlen) != 0)
                return 1;
        } else if (json_is_string(v)) {
            key_id = json_string_value(v);
        } else {
            return acct_refuse(err, errlen, "actor %s has a publicKey that is neither an object nor a URI",
                               a->uri);
        }
        if (!acct_http(key_id))
            return acct_refuse(err, errlen, "actor %s has a key id that is not an http(s) URI", a->uri);
        if (acct_key_known(a, key_id))
            continue;
        acct_key *k = &a->keys[a->n_keys++];
        k->uri = acct_dup(key_id);
        k->inline_doc = inline_doc;
        k->pem = inline_doc ? acct_dup(pem) : NULL;
    }
    return 0;
}

int acct_key_from_doc(const json_t *doc, const char *owner, acct_key *k, char *err, size_t errlen)
{
    if (k->multikey) {
        const char *t = json_string_value(json_object_get(doc, "type"));
        const char *controller = json_string_value(json_object_get(doc, "controller"));
        if (!t || strcmp(t, "Multikey") != 0 || !controller || strcmp(controller, owner) != 0)
            return acct_refuse(err, errlen, "key %s is not a Multikey controlled by %s", k->uri, owner);
        char *pem;
        if (acct_multikey_pem(json_string_value(json_object_get(doc, "publicKeyMultibase")), &k->type, &pem, err,
                              errlen) != 0)
            return 1;
        free(k->pem);
        k->pem = pem;
        return 0;
    }
    const json_t *v = doc;
    if (json_is_object(v) && json_object_get(v, "publicKey"))
        v = acct_first(json_object_get(v, "publicKey"));
    if (!json_is_object(v))
        return acct_refuse(err, errlen, "key document %s is not an object", k->uri);
    const char *o = json_string_value(json_object_get(v, "owner"));
    if (!o || strcmp(o, owner) != 0)
        return acct_refuse(err, errlen, "key %s is not owned by %s", k->uri, owner);
    const char *pem = json_string_value(json_object_get(v, "publicKeyPem"));
    if (acct_pem_ok(pem, k->uri, err, errlen) != 0)
        return 1;
    free(k->pem);
    k->pem = acct_dup(pem);
    return 0;
}

/* InteractionPolicyParser#subpolicy for canFeature */
static int acct_subpolicy(const json_t *v, const acct_actor *a)
{
    int flags = 0;
    bool other = false, self = false;
    size_t n = json_is_array(v) ? json_array_size(v) : (v && !json_is_null(v) ? 1 : 0);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
        const char *s = json_string_value(e);
        if (s && (!strcmp(s, "as:Public") || !strcmp(s, "Public") ||
                  !strcmp(s, "https://www.w3.org/ns/activitystreams#Public")))
            flags |= 1 << 1;
        else if (s && a->followers[0] && !strcmp(s, a->followers))
            flags |= 1 << 2;
        else if (s && a->following[0] && !strcmp(s, a->following))
            flags |= 1 << 3;
        else if (s && !strcmp(s, a->uri))
            self = true;
        else
            other = true;
    }
    if (other)
        flags |= 1 << 0;
    if (flags == 0 && self)
        flags |= 1 << 4;
    return flags;
}

static int acct_feature_policy(const json_t *doc, const acct_actor *a)
{
    const json_t *p = json_object_get(json_object_get(doc, "interactionPolicy"), "canFeature");
    if (!acct_present(p) || !json_is_object(p))
        return 0;
    int flags = acct_subpolicy(json_object_get(p, "automaticApproval"), a);
    flags <<= 16;
    return flags | acct_subpolicy(json_object_get(p, "manualApproval"), a);
}

static int acct_fields_parse(const json_t *doc, acct_actor *a)
{
    const json_t *att = json_object_get(doc, "attachment");
    if (!json_is_array(att)) {
        a->fields_json = acct_dup("{}");
        return 0;
    }
    json_t *out = json_array();
    size_t i;
    const json_t *e;
    json_array_foreach(att, i, e) {
        if (!json_is_object(e) || !acct_includes(json_object_get(e, "type"), "PropertyValue") ||
            !json_is_string(json_object_get(e, "type")))
            continue;
        a->n_fields_sent++;
        if (json_array_size(out) >= ACCT_MAX_FIELDS)
            continue;
        json_t *f = json_object();
        const char *keys[] = {"name", "value"};
        for (size_t k = 0; k < 2; k++) {
            json_t *v = json_object_get(e, keys[k]);
            if (v)
                json_object_set(f, keys[k], v);
        }
        const char *val = json_string_value(json_object_get(e, "value"));
        if (val && strstr(val, "href=\"https://"))
            a->fields_need_verification = true;
        json_array_append_new(out, f);
    }
    a->fields_json = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    return a->fields_json ? 0 : -1;
}

static char **acct_strings(const json_t *v, size_t max, bool ids, size_t *n)
{
    size_t cnt = json_is_array(v) ? json_array_size(v) : (v && !json_is_null(v) ? 1 : 0);
    char **out = calloc(cnt < max ? cnt + 1 : max + 1, sizeof *out);
    if (!out)
        abort();
    *n = 0;
    for (size_t i = 0; i < cnt && i < max; i++) {
        const json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
        if (ids && json_is_object(e))
            e = json_object_get(e, "id");
        if (json_is_string(e))
            out[(*n)++] = acct_dup(json_string_value(e));
    }
    return out;
}

static int acct_flag(const json_t *doc, const char *key)
{
    const json_t *v = json_object_get(doc, key);
    if (!v || json_is_null(v))
        return -1;
    return acct_truthy(v) ? 1 : 0;
}

static int acct_identity(const json_t *doc, acct_actor *a, char *err, size_t errlen)
{
    const char *wf = json_string_value(json_object_get(doc, "webfinger"));
    if (wf && acct_present(json_object_get(doc, "webfinger"))) {
        char *u, *d;
        if (acct_split_handle(wf, false, &u, &d)) {
            a->username = u;
            a->domain = acct_normalize_domain(d);
            free(d);
        }
    }
    if (!a->username || !a->domain) {
        free(a->username);
        free(a->domain);
        a->username = a->domain = NULL;
        const char *pu = json_string_value(json_object_get(doc, "preferredUsername"));
        if (!acct_present(json_object_get(doc, "preferredUsername")) || !pu)
            return acct_refuse(err, errlen, "actor %s has no preferredUsername and no usable webfinger",
                               a->uri);
        a->username = acct_dup(pu);
        char *host = acct_uri_host(a->uri);
        a->domain = acct_normalize_domain(host);
        free(host);
    }
    if (!a->domain)
        return acct_refuse(err, errlen, "actor %s has a domain scotty cannot normalise "
                           "(non-ASCII names need IDNA)", a->uri);
    if (strlen(a->username) > ACCT_USERNAME_MAX || !acct_username_valid(a->username))
        return acct_refuse(err, errlen, "actor %s has an invalid username (Account::USERNAME_ONLY_RE)",
                           a->uri);
    return 0;
}

int acct_actor_parse(const json_t *doc, bool fetched, acct_actor *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->show_featured = a->show_media = a->show_media_replies = -1;
    const char *id = json_string_value(json_object_get(doc, "id"));
    if (!json_is_object(doc) || !id)
        return acct_refuse(err, errlen, "the actor document has no id");
    a->uri = acct_dup(id);
    if (fetched && !acct_includes(json_object_get(doc, "@context"), ACCT_AS_CONTEXT))
        return acct_refuse(err, errlen, "Unsupported JSON-LD context for document %s", id);
    const json_t *type = json_object_get(doc, "type");
    for (size_t i = 0; i < sizeof acct_types / sizeof acct_types[0] && !a->actor_type; i++)
        if (acct_includes(type, acct_types[i]))
            a->actor_type = acct_dup(acct_types[i]);
    if (!a->actor_type && fetched)
        return acct_refuse(err, errlen, "Unexpected object type for actor %s", id);
    if (json_is_string(type) && a->actor_type) {
        free(a->actor_type);
        a->actor_type = acct_dup(json_string_value(type));
    }
    if (!acct_present(json_object_get(doc, "preferredUsername")) &&
        !acct_present(json_object_get(doc, "webfinger")))
        return acct_refuse(err, errlen, "Actor %s has neither 'preferredUsername' nor `webfinger`", id);
    if (strncmp(id, "http://", 7) != 0 && strncmp(id, "https://", 8) != 0)
        return acct_refuse(err, errlen, "Actor %s has unsupported URI scheme", id);
    if (!acct_present(json_object_get(doc, "inbox")))
        return acct_refuse(err, errlen, "Actor %s has no inbox", id);
    if (acct_identity(doc, a, err, errlen) != 0)
        return 1;

    a->inbox = acct_collection(json_object_get(doc, "inbox"));
    a->outbox = acct_collection(json_object_get(doc, "outbox"));
    const json_t *ep = json_object_get(doc, "endpoints");
    a->shared_inbox = acct_collection(json_is_object(ep) ? json_object_get(ep, "sharedInbox")
                                                         : json_object_get(doc, "sharedInbox"));
    a->followers = acct_collection(json_object_get(doc, "followers"));
    a->following = acct_collection(json_object_get(doc, "following"));
    a->featured = acct_collection(json_object_get(doc, "featured"));
    a->collections = acct_collection(json_object_get(doc, "featuredCollections"));
    a->has_featured = acct_present(json_object_get(doc, "featured"));
    a->has_featured_tags = acct_present(json_object_get(doc, "featuredTags"));
    a->has_featured_collections = acct_present(json_object_get(doc, "featuredCollections"));
    if (a->has_featured_tags)
        a->featured_tags_raw = json_dumps(json_object_get(doc, "featuredTags"), JSON_COMPACT | JSON_ENCODE_ANY);
    if (a->has_featured)
        a->featured_raw = json_dumps(json_object_get(doc, "featured"), JSON_COMPACT | JSON_ENCODE_ANY);

    const char *url = acct_url_href(json_object_get(doc, "url"));
    if (url && acct_present(json_object_get(doc, "url")) && acct_http(url) && acct_same_host(url, id))
        a->url = acct_dup(url);
    else
        a->url = acct_dup(id);

    const char *name = json_string_value(json_object_get(doc, "name"));
    a->display_name = acct_cut(name ? name : "", ACCT_DISPLAY_NAME_MAX, NULL);
    const char *note = json_string_value(json_object_get(doc, "summary"));
    a->note = acct_cut(note ? note : "", ACCT_NOTE_MAX, &a->note_chars);
    a->locked = acct_truthy(json_object_get(doc, "manuallyApprovesFollowers"));
    a->discoverable = acct_truthy(json_object_get(doc, "discoverable"));
    a->indexable = acct_truthy(json_object_get(doc, "indexable"));
    a->memorial = acct_truthy(json_object_get(doc, "memorial"));
    a->suspended = acct_truthy(json_object_get(doc, "suspended"));
    a->show_featured = acct_flag(doc, "showFeatured");
    a->show_media = acct_flag(doc, "showMedia");
    a->show_media_replies = acct_flag(doc, "showRepliesInMedia");
    if (acct_fields_parse(doc, a) != 0)
        return acct_refuse(err, errlen, "actor %s: out of memory for its fields", id);
    const json_t *aka = json_object_get(doc, "alsoKnownAs");
    a->also_known_as = acct_strings(aka, ACCT_AKA_MAX, true, &a->n_also_known_as);
    a->attribution_domains = acct_strings(json_object_get(doc, "attributionDomains"), ACCT_ATTRIBUTION_MAX,
                                          false, &a->n_attribution_domains);
    if (acct_present(json_object_get(doc, "published")))
        a->has_published = base_time_parse(json_string_value(json_object_get(doc, "published")),
                                           &a->published_ms, NULL);
    a->feature_approval_policy = acct_feature_policy(doc, a);
    acct_image_parse(doc, "icon", &a->avatar);
    acct_image_parse(doc, "image", &a->header);
    const char *moved = json_string_value(json_object_get(doc, "movedTo"));
    if (moved && acct_present(json_object_get(doc, "movedTo")))
        a->moved_to = acct_dup(moved);
    return acct_keys_parse(doc, a, err, errlen);
}

static void acct_strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void acct_actor_free(acct_actor *a)
{
    char **strs[] = {&a->uri, &a->actor_type, &a->username, &a->domain, &a->inbox, &a->outbox,
                     &a->shared_inbox, &a->followers, &a->following, &a->featured, &a->collections,
                     &a->featured_tags_raw, &a->featured_raw, &a->url, &a->display_name, &a->note,
                     &a->fields_json, &a->avatar.url, &a->avatar.description, &a->header.url,
                     &a->header.description, &a->moved_to};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    acct_strv_free(a->also_known_as, a->n_also_known_as);
    acct_strv_free(a->attribution_domains, a->n_attribution_domains);
    for (size_t i = 0; i < a->n_keys; i++) {
        free(a->keys[i].uri);
        free(a->keys[i].pem);
    }
    memset(a, 0, sizeof *a);
}
