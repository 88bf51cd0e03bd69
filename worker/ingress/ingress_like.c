/* ingress_like.c -- ActivityPub::Activity::Like: a favourite of a local status (likes
 * of remote statuses are ignored, as Mastodon does), one row per account and status,
 * favourites_count kept with it, and the LocalNotificationWorker Mastodon pushes. */
#include "ingress_create.h"
#include "ingress_undoable.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* Inserts the favourite and bumps the counter in one statement; *fav_id is 0 when
 * the account had already favourited the status. */
static int like_insert(db_conn *c, int64_t account_id, int64_t status_id, int64_t *fav_id,
                       char *err, size_t errlen)
{
    char a[24], s[24];
    snprintf(a, sizeof a, "%" PRId64, account_id);
    snprintf(s, sizeof s, "%" PRId64, status_id);
    const char *params[] = {a, s};
    PGresult *res = db_exec(
        c, "ingress_like_insert",
        "WITH fav AS (INSERT INTO favourites (account_id, status_id, created_at, updated_at) "
        "  VALUES ($1, $2, " DB_NOW ", " DB_NOW ") "
        "  ON CONFLICT (account_id, status_id) DO NOTHING RETURNING id), "
        "st AS (INSERT INTO status_stats (status_id, favourites_count, created_at, updated_at) "
        "  SELECT $2, 1, " DB_NOW ", " DB_NOW " FROM fav "
        "  ON CONFLICT (status_id) DO UPDATE SET "
        "  favourites_count = status_stats.favourites_count + 1, updated_at = EXCLUDED.updated_at) "
        "SELECT id FROM fav",
        2, params, err, errlen);
    if (!res)
        return -1;
    *fav_id = PQntuples(res) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return 0;
}

ingress_outcome ingress_like(q_ctx *ctx, services *s, const ingress_account *actor,
                             const ap_activity *a, char *err, size_t errlen)
{
    if (!a->object_id) {
        snprintf(err, errlen, "Like without an object");
        return INGRESS_DROPPED;
    }
    db_conn *c = db_pool_acquire(s->db);
    ingress_status_row st;
    int64_t fav = 0;
    ingress_outcome out = INGRESS_FAILED;
    bool late = false;
    int rc = ingress_status_row_by_uri(c, a->object_id, &st, err, errlen);
    if (rc == 1 || (rc == 0 && !st.author_local)) {
        snprintf(err, errlen, "Like of %s: not a local status", a->object_id);
        out = INGRESS_DROPPED;
    } else if (rc == 0 &&
               ingress_deleted_upon_arrival(ctx, actor->id, a->id, &late, err, errlen) == 0) {
        if (late) {
            snprintf(err, errlen, "Like %s was undone before it arrived", a->id);
            out = INGRESS_DROPPED;
        } else if (like_insert(c, actor->id, st.id, &fav, err, errlen) == 0) {
            out = INGRESS_STORED;
        }
    }
    db_pool_release(s->db, c);
    if (fav) {
        char args[160];
        snprintf(args, sizeof args, "[%" PRId64 ",%" PRId64 ",\"Favourite\",\"favourite\"]",
                 st.account_id, fav);
        ingress_push(ctx, "LocalNotificationWorker", "default", "true", args, 0);
    }
    return out;
}
