/* ingress_delete.c -- ActivityPub::Activity::Delete of a status (delete_note), under
 * Mastodon's delete_status_in_progress:<uri> lock (a concurrent Delete of the same
 * object makes this one a no-op): on the actor's own host,
 * delete_upon_arrival:<account>:<uri> is set for 6 hours under the create:<uri> lock
 * (so a late Create is dropped) and a tombstone row is written; the status, when the
 * actor owns it, is then removed with RemoveStatusService's effects: in one
 * transaction the author's statuses_count and the parent's replies_count go down,
 * boosts of it go, deleted_at is set and the row is deleted with its media rows
 * (status_stats, mentions, statuses_tags and favourites follow by cascade); then
 * feeds, streams and files (ingress_delete_effects.c). An LD-signed Delete that
 * Mastodon would forward to local boosters' or a local author's followers is left to
 * Ruby (unhandled), decided before anything is written. A Delete of a QuoteAuthorization
 * (or of an object that is no status of the actor) revokes the quote it approved
 * (revoke_quote, ingress_quote.c). */
#include "ingress_delete.h"
#include "ingress_quote.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INGRESS_DELETE_UPON_ARRIVAL_S 21600 /* 6.hours */

typedef struct ingress_del {
    int64_t status_id, account_id;
} ingress_del;

static int ingress_delete_tx(db_conn *c, void *user, char *err, size_t errlen)
{
    ingress_del *d = user;
    char sid[24], aid[24];
    snprintf(sid, sizeof sid, "%lld", (long long)d->status_id);
    snprintf(aid, sizeof aid, "%lld", (long long)d->account_id);
    const char *params[] = {sid, aid};
    static const char *const steps[] = {
        /* Status#decrement_counter_caches (not for direct statuses) */
        "UPDATE account_stats SET statuses_count = greatest(statuses_count - 1, 0), "
        "updated_at = timezone('UTC', now()) WHERE account_id = $2::bigint AND EXISTS "
        "(SELECT 1 FROM statuses WHERE id = $1::bigint AND visibility <> 3)",
        "UPDATE status_stats SET replies_count = greatest(replies_count - 1, 0), "
        "updated_at = timezone('UTC', now()) WHERE status_id = (SELECT in_reply_to_id FROM statuses "
        "WHERE id = $1::bigint AND visibility IN (0, 1))",
        /* boosts of it go first, each with its own counter */
        ("UPDATE account_stats SET statuses_count = greatest(statuses_count - 1, 0) "
         "WHERE account_id IN (SELECT account_id FROM statuses WHERE reblog_of_id = $1::bigint)"),
        "DELETE FROM statuses WHERE reblog_of_id = $1::bigint",
        "UPDATE statuses SET deleted_at = timezone('UTC', now()) WHERE id = $1::bigint",
        /* remove_media: the attachments go with a status that is not reported */
        "DELETE FROM media_attachments WHERE status_id = $1::bigint",
        "DELETE FROM statuses WHERE id = $1::bigint",
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        PGresult *res = db_exec(c, NULL, steps[i], i == 0 ? 2 : 1, params, err, errlen);
        if (!res)
            return -1;
        PQclear(res);
    }
    return 0;
}

/* After the COMMIT's reply was lost (err says so): 0 if the status row is gone (the
 * delete was written; the lock keeps other writers away), -1 with err if not. */
static int ingress_delete_written(db_conn *c, int64_t status_id, const char *uri, char *err,
                                  size_t errlen)
{
    char why[512], cerr[512], sid[24];
    snprintf(why, sizeof why, "%s", err);
    snprintf(sid, sizeof sid, "%lld", (long long)status_id);
    const char *params[] = {sid};
    PGresult *res = db_exec_idempotent(c, "ingress_delete_written",
                                       "SELECT 1 FROM statuses WHERE id = $1::bigint", 1, params,
                                       cerr, sizeof cerr);
    if (!res) {
        snprintf(err, errlen, "%s; checking for %s failed too: %s", why, uri, cerr);
        return -1;
    }
    bool gone = PQntuples(res) == 0;
    PQclear(res);
    if (!gone)
        snprintf(err, errlen, "%s; %s is still in the database, so it was not deleted", why, uri);
    return gone ? 0 : -1;
}

static ingress_outcome ingress_delete_note(q_ctx *ctx, services *s, db_conn *c,
                                           const ingress_account *actor, const ap_activity *a, char *err,
                                           size_t errlen)
{
    const char *uri = a->object_id;
    ingress_outcome out = INGRESS_STORED;
    ingress_delete_effects fx;
    memset(&fx, 0, sizeof fx);
    int64_t status_id = 0, owner = 0;
    int rc = ingress_status_by_uri(c, uri, &status_id, &owner, err, errlen);
    /* `case @object['type']`: a QuoteAuthorization only revokes its quote; a Note or
     * Question only deletes; anything else revokes when no status of the actor is found */
    const char *t = a->object_type;
    bool quote_auth = t && strcmp(t, "QuoteAuthorization") == 0;
    bool mine = rc == 0 && owner == actor->id && !quote_auth, forward = false;
    bool revoke = quote_auth || (!mine && !(t && (strcmp(t, "Note") == 0 || strcmp(t, "Question") == 0)));
    int64_t quote_id = 0, quoting = 0;
    if (rc < 0 || (mine && ingress_forwardable(c, a, status_id, &forward, err, errlen) != 0) ||
        (revoke && ingress_quote_revocable(c, a, actor, &quote_id, &quoting, &forward, err, errlen) != 0)) {
        out = INGRESS_FAILED;
        goto done;
    }
    if (forward) {
        snprintf(err, errlen, "a signed Delete Mastodon forwards to local followers");
        out = INGRESS_UNHANDLED;
        goto done;
    }
    if (ap_same_host(actor->uri, uri)) {
        char key[1200];
        ingress_lock lock;
        if (ingress_lock_or_retry(ctx, "create", uri, &lock, err, errlen) != 0) {
            out = INGRESS_FAILED;
            goto done;
        }
        snprintf(key, sizeof key, "delete_upon_arrival:%lld:%s", (long long)actor->id, uri);
        redisReply *r = q_conn_cmd(ingress_app_redis(ctx), "SETEX %s %d true", key, INGRESS_DELETE_UPON_ARRIVAL_S);
        bool ok = r && r->type == REDIS_REPLY_STATUS;
        if (!ok)
            snprintf(err, errlen, "Redis: SETEX %s: %s", key,
                     r && r->str ? r->str : q_conn_error(ingress_app_redis(ctx)));
        q_reply_free(r);
        ingress_lock_release(ctx, &lock);
        if (!ok) {
            out = INGRESS_FAILED;
            goto done;
        }
        char aid[24];
        snprintf(aid, sizeof aid, "%lld", (long long)actor->id);
        const char *params[] = {uri, aid};
        PGresult *res = db_exec(c, "ingress_tombstone_insert",
                                "INSERT INTO tombstones (uri, account_id, created_at, updated_at) "
                                "SELECT $1::varchar, $2::bigint, timezone('UTC', now()), timezone('UTC', now()) "
                                "WHERE NOT EXISTS (SELECT 1 FROM tombstones WHERE uri = $1::varchar AND "
                                "account_id = $2::bigint)",
                                2, params, err, errlen);
        if (!res) {
            out = INGRESS_FAILED;
            goto done;
        }
        PQclear(res);
    }
    if (quote_id)
        ingress_quote_revoke(ctx, s, c, quote_id, quoting, uri);
    if (!mine)
        goto done;
    fx.status_id = status_id;
    if (ingress_delete_collect(c, s, &fx, err, errlen) != 0) {
        out = INGRESS_FAILED;
        goto done;
    }
    ingress_del d = {status_id, actor->id};
    rc = db_tx(c, ingress_delete_tx, &d, err, errlen);
    if (rc == DB_TX_UNKNOWN)
        rc = ingress_delete_written(c, status_id, uri, err, errlen);
    if (rc != 0) {
        out = INGRESS_FAILED;
        goto done;
    }
    ingress_delete_apply(ctx, s, &fx);
    base_log(BASE_LOG_INFO, "ingress: status %lld (%s) deleted", (long long)status_id, uri);
done:
    ingress_delete_effects_free(&fx);
    return out;
}

ingress_outcome ingress_delete(q_ctx *ctx, services *s, const ingress_account *actor,
                               const ap_activity *a, char *err, size_t errlen)
{
    char name[1100];
    snprintf(name, sizeof name, "delete_status_in_progress:%s", a->object_id);
    ingress_lock lock;
    int lrc = ingress_lock_acquire(ctx, name, INGRESS_LOCK_WAIT_MS, &lock, err, errlen);
    if (lrc < 0)
        return INGRESS_FAILED;
    if (lrc > 0) /* raise_on_failure: false -- another Delete of it is running */
        return INGRESS_STORED;
    db_conn *c = db_pool_acquire(s->db);
    ingress_outcome out = ingress_delete_note(ctx, s, c, actor, a, err, errlen);
    db_pool_release(s->db, c);
    ingress_lock_release_with_outcome(ctx, &lock); /* the job ends with this */
    return out;
}
