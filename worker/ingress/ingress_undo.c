/* ingress_undo.c -- ActivityPub::Activity::Undo of an Announce or a Like: the boost
 * (a status with the Announce's id by the same actor) or the favourite of a local
 * status is taken back with its counters, and the boost unpushed from the booster's
 * local followers' home feeds with a "delete" on their streams
 * (ingress_delete_effects.c); when there is nothing to undo the undone id is marked
 * delete_upon_arrival, as Mastodon does. An Undo naming a bare URI that is not one of
 * the actor's boosts, and Undo of anything else, is left to Ruby (INGRESS_UNHANDLED,
 * forwarded by the dispatcher). */
#include "ingress_delete.h"
#include "ingress_undoable.h"

#include <stdio.h>
#include <string.h>

/* Undo{Announce} or try_undo_announce: 0 undone or marked, 1 not a boost of actor's
 * (bare reference: unhandled), -1 with err. */
static int undo_announce(q_ctx *ctx, services *s, const ingress_account *actor, const char *uri,
                         bool bare, char *err, size_t errlen)
{
    db_conn *c = db_pool_acquire(s->db);
    ingress_status_row st;
    int rc = ingress_status_row_by_uri(c, uri, &st, err, errlen);
    bool mine = rc == 0 && st.account_id == actor->id;
    ingress_delete_effects fx = {.status_id = mine ? st.id : 0};
    if (mine && st.reblog_of_id) {
        rc = ingress_delete_collect(c, s, &fx, err, errlen);
        if (rc == 0)
            rc = ingress_reblog_remove(c, st.id, err, errlen);
    }
    db_pool_release(s->db, c);
    if (rc == 0 && mine && st.reblog_of_id) {
        fx.visibility = AP_VIS_UNLISTED;   /* a boost was never on the public streams */
        ingress_delete_apply(ctx, s, &fx);
    }
    ingress_delete_effects_free(&fx);
    if (rc < 0)
        return -1;
    if (mine && !st.reblog_of_id) {
        snprintf(err, errlen, "Undo names %s, a status rather than a boost", uri);
        return 1;
    }
    if (mine)
        return 0;
    if (bare) {
        snprintf(err, errlen, "Undo of %s, which is none of the actor's boosts", uri);
        return 1;
    }
    return ingress_delete_later(ctx, actor->id, uri, err, errlen);
}

/* Undo{Like}: the favourite of the local status the Like named. */
static ingress_outcome undo_like(q_ctx *ctx, services *s, const ingress_account *actor,
                                 const ap_activity *like, char *err, size_t errlen)
{
    if (!like->object_id) {
        snprintf(err, errlen, "Undo of a Like without an object");
        return INGRESS_DROPPED;
    }
    db_conn *c = db_pool_acquire(s->db);
    ingress_status_row st;
    bool removed = false;
    int rc = ingress_status_row_by_uri(c, like->object_id, &st, err, errlen);
    if (rc == 0 && st.author_local)
        rc = ingress_favourite_remove(c, actor->id, st.id, &removed, err, errlen);
    db_pool_release(s->db, c);
    if (rc < 0)
        return INGRESS_FAILED;
    if (rc == 1 || !st.author_local) {
        snprintf(err, errlen, "Undo of a Like of %s: not a local status", like->object_id);
        return INGRESS_DROPPED;
    }
    if (!removed && like->id && ingress_delete_later(ctx, actor->id, like->id, err, errlen) != 0)
        return INGRESS_FAILED;
    return INGRESS_STORED;
}

ingress_outcome ingress_undo(q_ctx *ctx, services *s, const ingress_account *actor,
                             const ap_activity *a, char *err, size_t errlen)
{
    const ap_activity *in = a->inner;
    if (in && in->kind == AP_LIKE)
        return undo_like(ctx, s, actor, in, err, errlen);
    bool bare = !in && !a->object_type;
    if ((in && in->kind != AP_ANNOUNCE) || (!in && !bare)) {
        snprintf(err, errlen, "Undo of %s", in && in->type ? in->type :
                 a->object_type ? a->object_type : "an unknown object");
        return INGRESS_UNHANDLED;
    }
    const char *uri = in ? in->id : a->object_id;
    if (!uri) {
        snprintf(err, errlen, "Undo of an Announce without an id");
        return INGRESS_DROPPED;
    }
    int rc = undo_announce(ctx, s, actor, uri, bare, err, errlen);
    return rc < 0 ? INGRESS_FAILED : rc > 0 ? INGRESS_UNHANDLED : INGRESS_STORED;
}
