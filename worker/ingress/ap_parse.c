/* ap_parse.c -- an inbox body checked and dispatched as Mastodon's
 * ActivityPub::ProcessActivityService and ActivityPub::Activity.factory do
 * (mastodon.md §3.1), before anything touches the database:
 *
 *   size cap (1 MB) -> nesting pre-scan (AP_MAX_DEPTH, before jansson recurses) ->
 *   JSON parse (jansson refuses \u0000 and raw control bytes in strings) -> object ->
 *   @context includes the ActivityStreams context -> actor is the HTTP signer ->
 *   type -> per-type object checks (Create/Update: embedded object on the actor's host,
 *   attributed to the actor, parsed by ap_status_parse_in).
 *
 * Duplicate keys are accepted, the last one winning, as Ruby's JSON.parse does (so
 * scotty reads the same document Mastodon would); jansson's JSON_REJECT_DUPLICATES is
 * not used. Integers beyond 64 bits make jansson refuse the document, where Ruby would
 * read a Bignum; no server sends those. Relayed activities (actor != signer, vouched
 * for by an LD-signature or an FEP-8b32 proof: replies a thread's author forwards to
 * its followers, Deletes relayed by ActivityPub::Forwarder) are not verified here: they
 * parse as `relayed`, and ingress_relayed.c finds the actor a proof vouches for (then
 * the body is parsed again as that actor's) or leaves them to Ruby. Without either, an
 * actor that is not the signer is refused, as Mastodon drops it. */
#include <stdlib.h>
#include <string.h>

#include "ap_internal.h"
#include "base.h"

typedef struct ap_kind_name {
    const char *name;
    ap_kind kind;
} ap_kind_name;

static const ap_kind_name ap_kinds[] = {
    {"Create", AP_CREATE}, {"Update", AP_UPDATE}, {"Delete", AP_DELETE},
    {"Announce", AP_ANNOUNCE}, {"Like", AP_LIKE}, {"Undo", AP_UNDO},
    /* Types Mastodon handles that scotty leaves to Ruby (AP_OTHER): */
    {"Follow", AP_OTHER}, {"Block", AP_OTHER}, {"Accept", AP_OTHER}, {"Reject", AP_OTHER},
    {"Flag", AP_OTHER}, {"Add", AP_OTHER}, {"Remove", AP_OTHER}, {"Move", AP_OTHER},
    {"QuoteRequest", AP_OTHER}, {"FeatureRequest", AP_OTHER},
    /* Mastodon has no class for EmojiReact (ingress_dispatch.c completes it); listed so
     * that a type array with it and Like is not read as a Like */
    {"EmojiReact", AP_OTHER},
    {NULL, AP_OTHER},
};

static const ap_kind_name *ap_kind_of(const char *type)
{
    for (const ap_kind_name *k = ap_kinds; k->name; k++) {
        if (strcmp(k->name, type) == 0)
            return k;
    }
    return NULL;
}

/* Refuses nesting deeper than AP_MAX_DEPTH in one pass over the bytes, so a
 * 100,000-deep array never reaches a recursive parser. Strings (with escapes) are
 * skipped; anything else malformed is left for jansson to report. */
static int ap_depth_scan(const char *body, size_t len, char *err, size_t errlen)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = body[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > AP_MAX_DEPTH)
                return ap_fail(err, errlen, "JSON nested deeper than %d levels", AP_MAX_DEPTH);
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return 0;
}

void ap_activity_free(ap_activity *a)
{
    if (!a)
        return;
    free(a->type);
    free(a->id);
    free(a->actor);
    free(a->object_id);
    free(a->object_type);
    if (a->status) {
        ap_status_free(a->status);
        free(a->status);
    }
    if (a->inner) {
        ap_activity_free(a->inner);
        free(a->inner);
    }
    if (a->root)
        json_decref(a->root);
    memset(a, 0, sizeof *a);
}

/* The type of an activity or object: a string, or the first known (else first string)
 * element of an array. */
static const char *ap_type_name(const json_t *type, const ap_kind_name **known)
{
    *known = NULL;
    if (json_is_string(type)) {
        *known = ap_kind_of(json_string_value(type));
        return json_string_value(type);
    }
    if (!json_is_array(type))
        return NULL;
    const char *first = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(type, i, e) {
        if (!json_is_string(e))
            continue;
        if (!first)
            first = json_string_value(e);
        if ((*known = ap_kind_of(json_string_value(e))))
            return json_string_value(e);
    }
    return first;
}

static const char *ap_first_type(const json_t *type)
{
    if (json_is_string(type))
        return json_string_value(type);
    if (json_is_array(type)) {
        size_t i;
        json_t *e;
        json_array_foreach(type, i, e) {
            if (json_is_string(e))
                return json_string_value(e);
        }
    }
    return NULL;
}

/* Whether Mastodon would try to re-derive the actor of a document the signer relayed:
 * an LD signature (`signature` an object of type RsaSignature2017, the only type
 * ActivityPub::LinkedDataSignature verifies), or an FEP-8b32 `proof` (an object, or a
 * set of them). */
static bool ap_vouched(const json_t *doc)
{
    const json_t *sig = json_object_get(doc, "signature");
    const json_t *sig_type = json_object_get(sig, "type");
    if (json_is_object(sig) && json_is_string(sig_type) &&
        strcmp(json_string_value(sig_type), "RsaSignature2017") == 0)
        return true;
    const json_t *proof = json_object_get(doc, "proof");
    if (json_is_object(proof))
        return true;
    size_t i;
    const json_t *e;
    json_array_foreach(proof, i, e) {
        if (json_is_object(e))
            return true;
    }
    return false;
}

/* Dispatches one activity (the document itself, or the activity an Undo embeds). */
static int ap_activity_read(const json_t *doc, const char *actor_uri, const char *followers_url,
                            bool nested, ap_activity *out, char *err, size_t errlen)
{
    const ap_kind_name *known;
    const char *type = ap_type_name(json_object_get(doc, "type"), &known);
    if (!type)
        return ap_fail(err, errlen, "%sactivity has no type", nested ? "undone " : "");
    out->kind = known ? known->kind : AP_OTHER;
    out->type = ap_strdup(type);
    const json_t *id = json_object_get(doc, "id");
    if (json_is_string(id))
        out->id = ap_strdup(json_string_value(id));

    const char *actor = ap_id_of(json_object_get(doc, "actor"));
    if (nested && !actor)
        actor = actor_uri; /* Mastodon scopes undos by the outer actor; none given is fine */
    if (!actor)
        return ap_fail(err, errlen, "%sactivity has no actor", nested ? "undone " : "");
    if (strcmp(actor, actor_uri) != 0) {
        if (nested)
            return ap_fail(err, errlen, "undone activity's actor %.200s is not the Undo's actor %.200s",
                           actor, actor_uri);
        if (!ap_vouched(doc))
            return ap_fail(err, errlen,
                           "actor %.200s is not the signer %.200s, and no LD signatures (RsaSignature2017) "
                           "or FEP-8b32 proof vouch for it", actor, actor_uri);
        out->actor = ap_strdup(actor);
        out->relayed = true;
        return 0;
    }
    out->actor = ap_strdup(actor);

    const json_t *obj = json_object_get(doc, "object");
    if (json_is_object(obj))
        out->object_type = ap_strdup(ap_first_type(json_object_get(obj, "type")));
    const char *oid = ap_id_of(obj);
    if (oid)
        out->object_id = ap_unbear(oid);

    if (out->kind == AP_OTHER)
        return 0; /* forwarded or failed by the handler, whatever its object */
    if (!oid) {
        if (obj && json_is_array(obj))
            return ap_fail(err, errlen, "%s object is an array", type);
        return ap_fail(err, errlen, "%s has no object (or an object without an id)", type);
    }

    switch (out->kind) {
    case AP_CREATE:
    case AP_UPDATE:
    case AP_DELETE:
        if (!json_is_object(obj))
            return 0; /* a bare URI: the handler dereferences it (same host only) */
        if (!ap_is_http(out->object_id))
            return ap_fail(err, errlen, "%s object id %.200s is not http(s)", type, out->object_id);
        if (!ap_same_host(actor_uri, out->object_id))
            return ap_fail(err, errlen, "%s object %.200s is not on the host of actor %.200s", type,
                           out->object_id, actor_uri);
        if (out->kind == AP_DELETE)
            return 0;
        /* attributedTo (a URI, an object, or an array: the first) must be the actor, for
         * every object type; ap_status_parse_in checks it again for the types it parses */
        const json_t *by = json_object_get(obj, "attributedTo");
        const char *who = ap_id_of(json_is_array(by) ? json_array_get(by, 0) : by);
        if (who && strcmp(who, actor_uri) != 0)
            return ap_fail(err, errlen, "%s object attributedTo %.200s is not the actor %.200s", type,
                           who, actor_uri);
        out->status = calloc(1, sizeof *out->status);
        if (!out->status)
            abort();
        int rc = ap_status_parse_in(obj, doc, actor_uri, followers_url, out->status, err, errlen);
        if (rc == 0)
            return 0;
        free(out->status);
        out->status = NULL;
        if (rc == 1) {
            if (err && errlen)
                err[0] = '\0';
            return 0; /* a type scotty does not store: object_type says which */
        }
        return -1;
    case AP_UNDO:
        if (!json_is_object(obj))
            return 0; /* a bare URI of the undone activity */
        if (nested)
            return ap_fail(err, errlen, "Undo of an Undo");
        out->inner = calloc(1, sizeof *out->inner);
        if (!out->inner)
            abort();
        return ap_activity_read(obj, actor_uri, followers_url, true, out->inner, err, errlen);
    default:
        /* Announce (the boosted status, any host), Like (the liked status) */
        return 0;
    }
}

int ap_parse(const char *body, size_t len, const char *actor_uri, const char *followers_url,
             ap_activity *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    if (!body || !actor_uri)
        return ap_fail(err, errlen, "no body or no signer");
    if (len > AP_MAX_JSON_SIZE)
        return ap_fail(err, errlen, "body of %zu bytes is over the %d-byte limit", len, AP_MAX_JSON_SIZE);
    if (ap_depth_scan(body, len, err, errlen) < 0)
        return -1;
    json_error_t jerr;
    json_t *root = base_json_loadb(body, len, 0, &jerr);
    if (!root)
        return ap_fail(err, errlen, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
                       jerr.text);
    out->root = root;
    if (!json_is_object(root)) {
        ap_activity_free(out);
        return ap_fail(err, errlen, "the body is not a JSON object");
    }
    if (!ap_equals_or_includes(json_object_get(root, "@context"), AP_CONTEXT)) {
        ap_activity_free(out);
        return ap_fail(err, errlen, "@context does not include %s", AP_CONTEXT);
    }
    if (ap_activity_read(root, actor_uri, followers_url, false, out, err, errlen) < 0) {
        ap_activity_free(out);
        return -1;
    }
    return 0;
}
