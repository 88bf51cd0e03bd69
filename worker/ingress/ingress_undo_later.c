/* ingress_undo_later.c -- Mastodon's delete_upon_arrival:<account_id>:<uri> keys
 * (ActivityPub::Activity#delete_later! and #delete_arrived_first?): an Undo that finds
 * nothing to undo marks the activity for 6 hours, and an Announce or Like arriving
 * late under a marked id is ignored. In Mastodon's application Redis. */
#include "ingress_undoable.h"

#include <hiredis/hiredis.h>
#include <stdio.h>

#define LATER_TTL_S (6 * 3600)

int ingress_deleted_upon_arrival(q_ctx *ctx, int64_t account_id, const char *uri, bool *yes,
                                 char *err, size_t errlen)
{
    *yes = false;
    if (!uri)
        return 0;
    q_conn *c = ingress_app_redis(ctx);
    redisReply *r = q_conn_cmd(c, "EXISTS delete_upon_arrival:%lld:%s", (long long)account_id, uri);
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        snprintf(err, errlen, "Redis: reading delete_upon_arrival for %s: %s", uri,
                 r && r->type == REDIS_REPLY_ERROR ? r->str : q_conn_error(c));
        q_reply_free(r);
        return -1;
    }
    *yes = r->integer > 0;
    q_reply_free(r);
    return 0;
}

int ingress_delete_later(q_ctx *ctx, int64_t account_id, const char *uri, char *err, size_t errlen)
{
    q_conn *c = ingress_app_redis(ctx);
    redisReply *r = q_conn_cmd(c, "SET delete_upon_arrival:%lld:%s %s EX %d", (long long)account_id,
                               uri, uri, LATER_TTL_S);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "Redis: setting delete_upon_arrival for %s: %s", uri,
                 r ? r->str : q_conn_error(c));
        q_reply_free(r);
        return -1;
    }
    q_reply_free(r);
    return 0;
}
