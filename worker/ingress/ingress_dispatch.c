/* ingress_dispatch.c -- which activities scotty covers, decided before anything is
 * written, and the dispatch of covered ones to their handlers (Create, Update and
 * Delete here; Announce, Like and Undo in the pull engineer's files; account Updates
 * in worker/accounts). Create and Update first schedule the actor's refresh when it is
 * stale (Account#schedule_refresh_if_stale!). Everything else (Follow, Block, Flag,
 * Move, Accept, Reject, Add, Remove, account Deletes, polls scotty cannot read as
 * Ruby does (ap_poll.c), Updates of quote posts, relayed activities, ...) is "unhandled": forwarded
 * or failed by the worker. Activities
 * Mastodon completes without doing anything (a type ActivityPub::Activity.factory
 * has no class for, such as Pleroma's EmojiReact, or an Undo of an object type
 * ActivityPub::Activity::Undo does nothing for) are completed here as "dropped". */
#include "ingress_internal.h"
#include "acct.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static bool ingress_actor_type(const char *t)
{
    static const char *const types[] = {"Person", "Service", "Group", "Organization", "Application"};
    for (size_t i = 0; t && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(t, types[i]) == 0)
            return true;
    return false;
}

static bool ingress_type_in(const char *t, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t, list[i]) == 0)
            return true;
    return false;
}

/* Why Mastodon would complete `a` without a trace, or NULL. Asked only of what scotty
 * would otherwise forward (AP_OTHER, and Undos of types scotty does not undo). Types are
 * read from the document as Mastodon reads them: `case json['type']` matches a string
 * against the class list, so an array never matches. A document with an LD signature
 * (`signature` an object) is JSON-LD compacted by ProcessActivityService first, which
 * can rewrite its types, so it is left to Ruby. */
static const char *ingress_activity_ignored(const ap_activity *a)
{
    /* the classes of ActivityPub::Activity.factory (app/lib/activitypub/activity.rb) */
    static const char *const factory[] = {"Create", "Announce", "Delete", "Follow", "Like", "Block",
                                          "Update", "Undo", "Accept", "Reject", "Flag", "Add",
                                          "Remove", "Move", "QuoteRequest", "FeatureRequest"};
    /* the object types ActivityPub::Activity::Undo#perform undoes (nil: by reference) */
    static const char *const undoes[] = {"Announce", "Accept", "Follow", "Like", "Block"};
    if (!a->root || a->relayed || json_is_object(json_object_get(a->root, "signature")))
        return NULL;
    if (a->kind == AP_OTHER) {
        const json_t *type = json_object_get(a->root, "type");
        if (json_is_array(type))
            return "its type is an array, which ActivityPub::Activity.factory matches with no class";
        if (json_is_string(type) &&
            !ingress_type_in(json_string_value(type), factory, sizeof factory / sizeof factory[0]))
            return "ActivityPub::Activity.factory has no class for this type";
        return NULL;
    }
    if (a->kind == AP_UNDO && a->inner && a->inner->kind != AP_ANNOUNCE && a->inner->kind != AP_LIKE) {
        const json_t *type = json_object_get(json_object_get(a->root, "object"), "type");
        size_t n = sizeof undoes / sizeof undoes[0];
        if (json_is_array(type) || (json_is_string(type) && !ingress_type_in(json_string_value(type), undoes, n)))
            return "ActivityPub::Activity::Undo does nothing for this object type";
    }
    return NULL;
}

const char *ingress_status_unhandled(const ap_status *st)
{
    if (st->quote_present && !st->quote_uri)
        return "a quote post whose quote is no http URI";
    if (st->tags_collection)
        return "a status tagging a FeaturedCollection (tagged_objects)";
    return st->poll.unread;
}

const char *ingress_activity_unhandled(const ap_activity *a)
{
    if (ingress_activity_ignored(a))
        return NULL;
    if (a->relayed)
        return "relayed activities (the actor is not the signer; an LD signature or proof vouches for it)";
    switch (a->kind) {
    case AP_CREATE:
        if (!a->status)
            return a->object_type ? "Create of this object type" : "Create of an object by reference";
        return ingress_status_unhandled(a->status);
    case AP_UPDATE:
        if (!a->status)
            return ingress_actor_type(a->object_type) ? NULL : "Update of this object type";
        return ingress_status_unhandled(a->status);
    case AP_DELETE:
        if ((a->object_id && strcmp(a->object_id, a->actor) == 0) || ingress_actor_type(a->object_type))
            return "account Delete";
        if (!a->object_id)
            return "Delete without an object";
        return NULL;
    case AP_ANNOUNCE:
    case AP_LIKE:
        return NULL;
    case AP_UNDO:
        if (a->inner && a->inner->kind != AP_ANNOUNCE && a->inner->kind != AP_LIKE)
            return "Undo of this activity type";
        return NULL;
    case AP_OTHER:
        return "activities of this type";
    }
    return "activities of this type";
}

/* Update of the actor itself (worker/accounts: ProcessAccountService). */
static ingress_outcome ingress_dispatch_account_update(q_ctx *ctx, services *s, const ingress_account *actor,
                                                       const ap_activity *a, const ingress_create_opts *o,
                                                       char *err, size_t errlen)
{
    switch (acct_update(ctx, s, actor, json_object_get(a->root, "object"), o->request_id, err, errlen)) {
    case ACCT_RESOLVED:
        return INGRESS_STORED;
    case ACCT_NONE:
        return INGRESS_DROPPED;
    case ACCT_RETRY:
        return INGRESS_FAILED;
    case ACCT_UNHANDLED:
        break;
    }
    return INGRESS_UNHANDLED;
}

ingress_outcome ingress_dispatch(q_ctx *ctx, services *s, const ingress_account *actor,
                                 const ap_activity *a, const ingress_create_opts *o, char *err,
                                 size_t errlen)
{
    const char *ignored = ingress_activity_ignored(a);
    if (ignored) {
        snprintf(err, errlen, "Mastodon ignores it: %s", ignored);
        return INGRESS_DROPPED;
    }
    switch (a->kind) {
    case AP_CREATE:
        acct_schedule_refresh_if_stale(ctx, s, actor);
        return ingress_create(ctx, s, actor, a, o, err, errlen);
    case AP_UPDATE:
        acct_schedule_refresh_if_stale(ctx, s, actor);
        if (!a->status)
            return ingress_dispatch_account_update(ctx, s, actor, a, o, err, errlen);
        return ingress_update(ctx, s, actor, a, o, err, errlen);
    case AP_DELETE:
        return ingress_delete(ctx, s, actor, a, err, errlen);
    case AP_ANNOUNCE:
        return ingress_announce(ctx, s, actor, a, err, errlen);
    case AP_LIKE:
        return ingress_like(ctx, s, actor, a, err, errlen);
    case AP_UNDO:
        return ingress_undo(ctx, s, actor, a, err, errlen);
    case AP_OTHER:
        break;
    }
    return INGRESS_UNHANDLED;
}
