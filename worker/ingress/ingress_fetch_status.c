/* ingress_fetch_status.c -- ActivityPub::FetchRemoteStatusService: one remote status
 * fetched by URI and stored the way a Create of it would be, for Announce (the boosted
 * status), FetchReplyWorker and ThreadResolveWorker (mastodon.md §2); one its author
 * already has here is processed as an Update of it (edits, poll counts), as Mastodon
 * turns the Create into an Update then. An author this instance does not know yet is
 * resolved natively first (worker/accounts).
 * A URI on this server is never fetched: a local status that is not found is gone; nor
 * is one on a domain this server does not federate with (domain_not_allowed?). */
#include "ingress_fetch.h"
#include "acct.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FETCH_DISCOVERIES_PER_REQUEST 1000  /* DISCOVERIES_PER_REQUEST */
#define FETCH_DISCOVERY_TTL_S 300           /* 5.minutes */

/* Create::SUPPORTED_TYPES + CONVERTED_TYPES */
static const char *const fetch_status_types[] = {"Note", "Question", "Image", "Audio", "Video",
                                                 "Article", "Page", "Event"};

static bool fetch_is_status_type(const char *t)
{
    for (size_t i = 0; i < sizeof fetch_status_types / sizeof fetch_status_types[0]; i++)
        if (strcmp(t, fetch_status_types[i]) == 0)
            return true;
    return false;
}

/* equals_or_includes_any?(json['type'], status types) */
static bool fetch_has_status_type(const json_t *type)
{
    if (json_is_string(type))
        return fetch_is_status_type(json_string_value(type));
    size_t i;
    const json_t *v;
    json_array_foreach(type, i, v)
        if (json_is_string(v) && fetch_is_status_type(json_string_value(v)))
            return true;
    return false;
}

/* supported_context?: @context is, or includes, the ActivityStreams context. */
bool ingress_supported_context(const json_t *doc)
{
    static const char as[] = "https://www.w3.org/ns/activitystreams";
    const json_t *ctx = json_object_get(doc, "@context");
    if (json_is_string(ctx))
        return strcmp(json_string_value(ctx), as) == 0;
    size_t i;
    const json_t *v;
    json_array_foreach(ctx, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), as) == 0)
            return true;
    return false;
}

/* value_or_id(first_of_value(attributedTo)) */
static const char *fetch_attributed_to(const json_t *doc)
{
    const json_t *v = json_object_get(doc, "attributedTo");
    if (json_is_array(v))
        v = json_array_get(v, 0);
    return ap_id_of(v);
}

/* The document: prefetched (its id must be uri, as body_to_json(compare_id:)) or fetched. */
static int fetch_document(services *s, const char *uri, const json_t *prefetched, json_t **doc,
                          char *err, size_t errlen)
{
    if (!prefetched)
        return ingress_fetch_object(s, uri, NULL, doc, err, errlen);
    const char *id = json_string_value(json_object_get(prefetched, "id"));
    if (!id || strcmp(id, uri) != 0) {
        snprintf(err, errlen, "the prefetched body of %s is not a JSON object with that id", uri);
        *doc = NULL;
        return 1;
    }
    *doc = json_incref((json_t *)prefetched);
    return 0;
}

/* The fetched object as the Update Mastodon makes of it when its author already has
 * it ({"type": "Update", "actor": ..., "object": doc}, unsigned: never forwarded),
 * decided on by the same front door as a delivered Update (ingress_activity_unhandled). */
static ingress_outcome fetch_update(q_ctx *ctx, services *s, const ingress_account *actor, json_t *doc,
                                    ap_status *st, const ingress_create_opts *o, char *err, size_t errlen)
{
    json_t *root = json_pack("{s:s, s:s, s:O}", "type", "Update", "actor", actor->uri, "object", doc);
    if (!root) {
        snprintf(err, errlen, "out of memory building the Update of %s", st->uri);
        return INGRESS_FAILED;
    }
    ap_activity a = {.kind = AP_UPDATE, .type = "Update", .actor = (char *)actor->uri, .status = st, .root = root};
    const char *what = ingress_activity_unhandled(&a);
    ingress_outcome out = INGRESS_UNHANDLED;
    if (what)
        snprintf(err, errlen, "the fetched %s (an Update: its author has it) is %s, which scotty leaves to Ruby",
                 st->uri, what);
    else
        out = ingress_update(ctx, s, actor, &a, o, err, errlen);
    json_decref(root);
    return out;
}

/* Counts one discovery for request_id; 1 when over the per-request budget. */
static int fetch_count_discovery(q_ctx *ctx, const char *request_id, char *err, size_t errlen)
{
    q_conn *c = ingress_app_redis(ctx);
    if (q_conn_ensure(c) != 0) {
        snprintf(err, errlen, "Redis: %s", q_conn_error(c));
        return -1;
    }
    q_conn_appendf(c, "INCR status_discovery_per_request:%s", request_id);
    q_conn_appendf(c, "EXPIRE status_discovery_per_request:%s %d", request_id, FETCH_DISCOVERY_TTL_S);
    redisReply *incr = q_conn_reply(c), *exp = incr ? q_conn_reply(c) : NULL;
    int rc;
    if (!incr || !exp || incr->type != REDIS_REPLY_INTEGER) {
        snprintf(err, errlen, "Redis: counting discoveries for %s failed: %s", request_id,
                 incr && incr->type == REDIS_REPLY_ERROR ? incr->str : q_conn_error(c));
        rc = -1;
    } else if (incr->integer > FETCH_DISCOVERIES_PER_REQUEST) {
        snprintf(err, errlen, "request %s already discovered %d statuses", request_id,
                 FETCH_DISCOVERIES_PER_REQUEST);
        rc = 1;
    } else {
        rc = 0;
    }
    q_reply_free(incr);
    q_reply_free(exp);
    return rc;
}

/* The author's account and whether the status is already stored (*existing, its
 * author in *owner), on one pooled connection given back before anything else
 * happens. An author not known yet is resolved first (FetchRemoteAccountService,
 * worker/accounts), holding no connection. */
static ingress_outcome fetch_lookup(q_ctx *ctx, services *s, const char *actor_uri, const char *uri,
                                    const char *request_id, ingress_account *actor, int64_t *existing,
                                    int64_t *owner, char *err, size_t errlen)
{
    switch (acct_find_or_fetch(ctx, s, actor_uri, request_id, actor, err, errlen)) {
    case ACCT_RESOLVED:
        break;
    case ACCT_NONE:
        return INGRESS_DROPPED;
    case ACCT_RETRY:
        return INGRESS_FAILED;
    case ACCT_UNHANDLED:
        return INGRESS_UNHANDLED;
    }
    db_conn *db = db_pool_acquire(s->db);
    ingress_outcome out = INGRESS_STORED;
    if (actor->suspended) {
        snprintf(err, errlen, "the author %s of %s is suspended", actor_uri, uri);
        out = INGRESS_DROPPED;
    } else {
        int rc = ingress_status_by_uri(db, uri, existing, owner, err, errlen);
        if (rc < 0)
            out = INGRESS_FAILED;
        else if (rc == 1)
            *existing = 0;
    }
    db_pool_release(s->db, db);
    return out;
}

ingress_outcome ingress_fetch_status(q_ctx *ctx, services *s, const char *uri,
                                     const json_t *prefetched, const char *request_id,
                                     int64_t *status_id, bool *created, char *err, size_t errlen)
{
    return ingress_fetch_status_at(ctx, s, uri, prefetched, request_id, 0, status_id, created, err, errlen);
}

ingress_outcome ingress_fetch_status_at(q_ctx *ctx, services *s, const char *uri, const json_t *prefetched,
                                        const char *request_id, int depth, int64_t *status_id, bool *created,
                                        char *err, size_t errlen)
{
    *status_id = 0;
    *created = false;
    if (!s->db) {
        snprintf(err, errlen, "fetching statuses needs the database: %s", s->db_missing);
        return INGRESS_FAILED;
    }
    char local[300];
    snprintf(local, sizeof local, "https://%s/", s->local_domain);
    if (ap_same_host(uri, local)) {
        snprintf(err, errlen, "%s is on this server: nothing to fetch", uri);
        return INGRESS_DROPPED;
    }
    bool blocked = false;
    if (acct_domain_blocked(s, uri, &blocked, err, errlen) != 0)
        return INGRESS_FAILED;
    if (blocked) {
        snprintf(err, errlen, "%s is on a domain this server does not federate with (%s)", uri,
                 s->limited_federation ? "not in domain_allows, limited federation mode" : "suspended by a domain block");
        return INGRESS_DROPPED;
    }
    json_t *doc;
    int rc = fetch_document(s, uri, prefetched, &doc, err, errlen);
    if (rc != 0)
        return rc > 0 ? INGRESS_DROPPED : INGRESS_FAILED;

    ingress_outcome out = INGRESS_DROPPED;
    const char *actor_uri = fetch_attributed_to(doc);
    const char *type = json_string_value(json_object_get(doc, "type"));
    ingress_account actor;
    int64_t existing = 0, owner = 0;
    if (!ingress_supported_context(doc)) {
        snprintf(err, errlen, "%s has no ActivityStreams @context", uri);
    } else if (type && (!strcmp(type, "Create") || !strcmp(type, "Announce"))) {
        snprintf(err, errlen, "%s is a %s activity: Ruby's FetchRemoteStatusService handles those",
                 uri, type);
        out = INGRESS_UNHANDLED;
    } else if (!fetch_has_status_type(json_object_get(doc, "type"))) {
        snprintf(err, errlen, "%s is a %s, not a status", uri, type ? type : "typeless document");
    } else if (!actor_uri || !ap_same_host(uri, actor_uri)) {
        snprintf(err, errlen, "%s is attributed to %s, not to an actor on its own host", uri,
                 actor_uri ? actor_uri : "nobody");
    } else {
        out = fetch_lookup(ctx, s, actor_uri, uri, request_id, &actor, &existing, &owner, err, errlen);
    }
    if (out != INGRESS_STORED) {
        json_decref(doc);
        return out;
    }
    if (existing && owner != actor.id) {
        /* a Create of a status another account has: find_existing_status, nothing done */
        *status_id = existing;
        json_decref(doc);
        return INGRESS_STORED;
    }

    char default_rid[1200];
    if (!request_id) {
        snprintf(default_rid, sizeof default_rid, "%lld-status-%s", (long long)time(NULL), uri);
        request_id = default_rid;
    }
    rc = fetch_count_discovery(ctx, request_id, err, errlen);
    if (rc != 0) {
        json_decref(doc);
        return rc > 0 ? INGRESS_DROPPED : INGRESS_FAILED;
    }

    ap_status st;
    rc = ap_status_parse(doc, actor.uri, actor.followers_url[0] ? actor.followers_url : NULL, &st,
                         err, errlen);
    if (rc != 0) {
        json_decref(doc);
        return rc > 0 ? INGRESS_UNHANDLED : INGRESS_DROPPED;
    }
    ingress_create_opts o = {.delivery = false, .request_id = request_id, .depth = depth};
    if (existing) {
        out = fetch_update(ctx, s, &actor, doc, &st, &o, err, errlen);
        *status_id = existing;
    } else {
        out = ingress_create_status(ctx, s, &actor, &st, &o, status_id, err, errlen);
        *created = out == INGRESS_STORED;
    }
    json_decref(doc);
    ap_status_free(&st);
    return out;
}
