/* ingress_dispatch.c -- which activities scotty covers, decided before anything is
 * written, and the dispatch of covered ones to their handlers (Create, Update and
 * Delete here; Announce, Like and Undo in the pull engineer's files; account Updates
 * in worker/accounts). Create and Update first schedule the actor's refresh when it is
 * stale (Account#schedule_refresh_if_stale!). Everything else (Follow, Block, Flag,
 * Move, Accept, Reject, Add, Remove, account Deletes, polls, quotes, relayed
 * activities, ...) is "unhandled": forwarded or failed by the worker. */
#include "ingress_internal.h"
#include "acct.h"

#include <string.h>

static bool ingress_actor_type(const char *t)
{
    static const char *const types[] = {"Person", "Service", "Group", "Organization", "Application"};
    for (size_t i = 0; t && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(t, types[i]) == 0)
            return true;
    return false;
}

const char *ingress_activity_unhandled(const ap_activity *a)
{
    if (a->relayed)
        return "relayed activities (the actor is not the signer; an LD signature or proof vouches for it)";
    switch (a->kind) {
    case AP_CREATE:
        if (!a->status)
            return a->object_type ? "Create of this object type" : "Create of an object by reference";
        if (a->status->quote_uri) /* quote, _misskey_quote, quoteUrl or quoteUri */
            return "Create of a quote post";
        return NULL;
    case AP_UPDATE:
        if (!a->status)
            return ingress_actor_type(a->object_type) ? NULL : "Update of this object type";
        if (a->status->quote_uri)
            return "Update of a quote post";
        return NULL;
    case AP_DELETE:
        if ((a->object_id && strcmp(a->object_id, a->actor) == 0) || ingress_actor_type(a->object_type))
            return "account Delete";
        if (a->object_type && strcmp(a->object_type, "QuoteAuthorization") == 0)
            return "Delete of a QuoteAuthorization";
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
    switch (a->kind) {
    case AP_CREATE:
        acct_schedule_refresh_if_stale(ctx, s, actor->id);
        return ingress_create(ctx, s, actor, a, o, err, errlen);
    case AP_UPDATE:
        acct_schedule_refresh_if_stale(ctx, s, actor->id);
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
