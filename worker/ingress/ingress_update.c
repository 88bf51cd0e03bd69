/* ingress_update.c -- ActivityPub::Activity::Update of a status the actor owns
 * (ActivityPub::ProcessStatusUpdateService's explicit update): under the
 * create:<uri> lock, when `updated` is newer than the stored edited_at, the original
 * version is recorded in status_edits if none is yet (Status#snapshot! at
 * created_at); the status takes the new text, spoiler_text, sensitive and language;
 * hashtags are replaced, new mentions added and dropped ones made silent, custom
 * emoji stored (worker/emoji, before the transaction); a
 * significant change (text or spoiler_text) also sets edited_at, records the new
 * version and refreshes the link card (LinkCrawlWorker); DistributionWorker
 * [id, {"update": true}] follows. An Update of an unknown status is a Create unless it
 * was published more than a day ago or its sender is suspended (then it is ignored),
 * as Update#update_status does. One changing the media attachments, one of a status
 * with a poll (Update of a Question is forwarded before it gets here), or one Mastodon
 * would forward (ingress_forwardable), is left to Ruby (unhandled), decided before
 * writing. */
#include "emoji.h"
#include "ingress_create.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INGRESS_NOW "timezone('UTC', now())"

typedef struct ingress_upd {
    const ingress_account *actor;
    const ap_status *st;
    services *s;
    int64_t status_id;
    char sid[24], aid[24];
    bool significant;          /* text or spoiler_text changed */
} ingress_upd;

/* Status#snapshot! of the current row, created at `at` (SQL), when `only_first`
 * only if the status has no edits yet. */
static int ingress_update_snapshot(db_conn *c, ingress_upd *u, const char *at, bool only_first,
                                   char *err, size_t errlen)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO status_edits (status_id, account_id, text, spoiler_text, sensitive, "
             "ordered_media_attachment_ids, media_descriptions, created_at, updated_at) "
             "SELECT s.id, $2::bigint, s.text, s.spoiler_text, s.sensitive, s.ordered_media_attachment_ids, "
             "(SELECT array_agg(m.description ORDER BY array_position(s.ordered_media_attachment_ids, m.id)) "
             "FROM media_attachments m WHERE m.status_id = s.id), %s, " INGRESS_NOW " FROM statuses s "
             "WHERE s.id = $1::bigint%s",
             at, only_first ? " AND NOT EXISTS (SELECT 1 FROM status_edits WHERE status_id = s.id)" : "");
    const char *params[] = {u->sid, u->aid};
    return db_run_params(c, only_first ? "ingress_edit_first" : "ingress_edit_new", sql, 2, params, err,
                         errlen);
}

static int ingress_update_tx(db_conn *c, void *user, char *err, size_t errlen)
{
    ingress_upd *u = user;
    const ap_status *st = u->st;
    if (ingress_update_snapshot(c, u, "s.created_at", true, err, errlen) != 0)
        return -1;
    char updated[24];
    const char *params[] = {u->sid,
                            st->text ? st->text : "",
                            st->spoiler_text ? st->spoiler_text : "",
                            st->sensitive || u->actor->sensitized ? "t" : "f",
                            st->language,
                            ingress_ms_param(updated, sizeof updated, st->updated, st->updated_ms)};
    PGresult *res = db_exec(c, "ingress_update_status",
                            "WITH old AS (SELECT text, spoiler_text FROM statuses WHERE id = $1::bigint "
                            "FOR UPDATE) UPDATE statuses s SET text = $2, spoiler_text = $3, "
                            "sensitive = $4::boolean, language = $5, edited_at = CASE WHEN old.text <> $2 OR "
                            "old.spoiler_text <> $3 THEN timezone('UTC', to_timestamp($6::bigint / 1000.0)) "
                            "ELSE s.edited_at END, "
                            "updated_at = " INGRESS_NOW " FROM old WHERE s.id = $1::bigint "
                            "RETURNING old.text <> $2 OR old.spoiler_text <> $3",
                            6, params, err, errlen);
    if (!res)
        return -1;
    u->significant = PQntuples(res) > 0 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    const char *p1[] = {u->sid};
    if (db_run_params(c, "ingress_update_untag", "DELETE FROM statuses_tags WHERE status_id = $1::bigint",
                      1, p1, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < st->n_hashtags; i++) {
        const char *name = st->hashtag_names ? st->hashtag_names[i] : st->hashtags[i];
        const char *pt[] = {name, st->hashtags[i]};
        const char *ps[] = {u->sid, name};
        if (db_run_params(c, "ingress_tag_insert_named",
                          "INSERT INTO tags (name, display_name, created_at, updated_at) VALUES ($1, $2, "
                          INGRESS_NOW ", " INGRESS_NOW ") ON CONFLICT DO NOTHING", 2, pt, err, errlen) != 0 ||
            db_run_params(c, "ingress_status_tag",
                          "INSERT INTO statuses_tags (status_id, tag_id) SELECT $1::bigint, id FROM tags "
                          "WHERE lower(name) = lower($2) ON CONFLICT DO NOTHING", 2, ps, err, errlen) != 0)
            return -1;
    }
    /* mentions: known accounts named now are (non-silent) mentions; the rest go silent */
    base_buf ids;
    base_buf_init(&ids);
    base_buf_adds(&ids, "{");
    ingress_account acc;
    size_t n = 0;
    for (size_t i = 0; i < st->n_mentions; i++) {
        int rc = ingress_account_resolve(c, u->s->local_domain, st->mentions[i], &acc, err, errlen);
        if (rc < 0) {
            base_buf_free(&ids);
            return -1;
        }
        if (rc == 0)
            base_buf_addf(&ids, "%s%lld", n++ ? "," : "", (long long)acc.id);
    }
    base_buf_adds(&ids, "}");
    const char *pm[] = {u->sid, ids.data};
    int rc = db_run_params(c, "ingress_update_mentions",
                           "INSERT INTO mentions (status_id, account_id, silent, created_at, updated_at) "
                           "SELECT $1::bigint, a.id, false, " INGRESS_NOW ", " INGRESS_NOW " FROM "
                           "accounts a WHERE a.id = ANY ($2::bigint[]) ON CONFLICT (account_id, status_id) "
                           "DO UPDATE SET silent = false",
                           2, pm, err, errlen);
    if (rc == 0)
        rc = db_run_params(c, "ingress_update_silence",
                           "UPDATE mentions SET silent = true WHERE status_id = $1::bigint AND NOT "
                           "(account_id = ANY ($2::bigint[]))",
                           2, pm, err, errlen);
    base_buf_free(&ids);
    if (rc != 0)
        return -1;
    if (!u->significant)
        return 0;
    return ingress_update_snapshot(c, u, "s.edited_at", false, err, errlen) == 0 ? 0 : -1;
}

/* The stored media's remote URLs in order, compared with the update's, and whether the
 * status has a poll (one row without media when it has none). */
static int ingress_update_stored(db_conn *c, ingress_upd *u, bool *same, bool *polled, char *err,
                                 size_t errlen)
{
    const char *params[] = {u->sid};
    PGresult *res = db_exec(c, "ingress_update_media",
                            "SELECT m.remote_url, s.poll_id IS NOT NULL FROM statuses s "
                            "LEFT JOIN media_attachments m ON m.status_id = s.id "
                            "WHERE s.id = $1::bigint ORDER BY array_position(s.ordered_media_attachment_ids, m.id)",
                            1, params, err, errlen);
    if (!res)
        return -1;
    size_t n = 0;
    *same = true;
    *polled = PQntuples(res) > 0 && PQgetvalue(res, 0, 1)[0] == 't';
    for (int i = 0; i < PQntuples(res); i++) {
        if (PQgetisnull(res, i, 0))
            continue;
        *same = *same && n < u->st->n_media && strcmp(PQgetvalue(res, i, 0), u->st->media[n].remote_url) == 0;
        n++;
    }
    *same = *same && n == u->st->n_media;
    PQclear(res);
    return 0;
}

/* Update#object_too_old?: published more than OBJECT_AGE_THRESHOLD (1 day) ago. */
static int ingress_update_too_old(db_conn *c, const ap_status *st, bool *old, char *err, size_t errlen)
{
    *old = false;
    if (!st->published)
        return 0;
    char published[24];
    const char *params[] = {ingress_ms_param(published, sizeof published, st->published, st->published_ms)};
    PGresult *res = db_exec(c, "ingress_update_too_old",
                            "SELECT to_timestamp($1::bigint / 1000.0) < now() - interval '1 day'", 1, params,
                            err, errlen);
    if (!res)
        return -1;
    *old = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return 0;
}

/* Whether the status (params: its id, the activity's `updated` in ms) holds an older
 * edit than this one, or none. Returns 0 or -1 with err. */
static int ingress_update_is_newer(db_conn *c, const char *const params[2], bool *newer, char *err,
                                   size_t errlen)
{
    PGresult *res = db_exec_idempotent(
        c, "ingress_update_newer",
        "SELECT 1 FROM statuses WHERE id = $1::bigint AND $2::bigint IS NOT NULL AND "
        "(edited_at IS NULL OR edited_at < timezone('UTC', to_timestamp($2::bigint / 1000.0)))",
        2, params, err, errlen);
    if (!res)
        return -1;
    *newer = PQntuples(res) > 0;
    PQclear(res);
    return 0;
}

ingress_outcome ingress_update(q_ctx *ctx, services *s, const ingress_account *actor,
                               const ap_activity *a, const ingress_create_opts *o, char *err,
                               size_t errlen)
{
    const ap_status *st = a->status;
    ingress_upd u = {.actor = actor, .st = st, .s = s};
    db_conn *c = db_pool_acquire(s->db);
    ingress_outcome out = INGRESS_STORED;
    int64_t owner = 0;
    int rc = ingress_status_by_uri(c, st->uri, &u.status_id, &owner, err, errlen);
    if (rc < 0) {
        out = INGRESS_FAILED;
        goto done;
    }
    if (rc == 0 && owner != actor->id) {
        snprintf(err, errlen, "Update of %s, a status of another account", st->uri);
        out = INGRESS_DROPPED;
        goto done;
    }
    if (rc == 1) {
        /* Create and Update may arrive out of order: a recent unknown object is created
         * as its Create would have; old ones and suspended senders' are ignored. */
        bool old = false;
        if (ingress_update_too_old(c, st, &old, err, errlen) != 0) {
            out = INGRESS_FAILED;
            goto done;
        }
        if (old || actor->suspended) {
            snprintf(err, errlen, "Update of %s, a status not known here and %s", st->uri,
                     old ? "published more than a day ago" : "sent by a suspended account");
            out = INGRESS_DROPPED;
            goto done;
        }
        db_pool_release(s->db, c);
        return ingress_create(ctx, s, actor, a, o, err, errlen);
    }
    snprintf(u.sid, sizeof u.sid, "%lld", (long long)u.status_id);
    snprintf(u.aid, sizeof u.aid, "%lld", (long long)actor->id);
    bool same = true, polled = false;
    if (ingress_update_stored(c, &u, &same, &polled, err, errlen) != 0) {
        out = INGRESS_FAILED;
        goto done;
    }
    bool forward = false;
    if (same && !polled && ingress_forwardable(c, a, u.status_id, &forward, err, errlen) != 0) {
        out = INGRESS_FAILED;
        goto done;
    }
    if (same && !polled && !forward && st->emoji && st->emoji->n && !emoji_can_store(s)) {
        snprintf(err, errlen, "an Update with custom emoji, which need %s",
                 !s->media ? "the media child" : "object storage");
        out = INGRESS_UNHANDLED;
        goto done;
    }
    if (!same || polled || forward) {
        /* a stored poll (ProcessStatusUpdateService#update_poll! destroys it when the
         * object no longer is a Question, and that is a significant change) */
        snprintf(err, errlen, "%s", !same   ? "an Update changing media attachments"
                                    : polled ? "an Update of a status with a poll"
                                             : "a signed Update Mastodon forwards to local followers");
        out = INGRESS_UNHANDLED;
        goto done;
    }
    ingress_lock lock;
    if (ingress_lock_or_retry(ctx, "create", st->uri, &lock, err, errlen) != 0) {
        out = INGRESS_FAILED;
        goto done;
    }
    /* Only an explicit edit newer than the stored one changes the status. */
    char updated[24];
    const char *params[] = {u.sid, ingress_ms_param(updated, sizeof updated, st->updated, st->updated_ms)};
    bool newer = false;
    if (ingress_update_is_newer(c, params, &newer, err, errlen) != 0)
        out = INGRESS_FAILED;
    /* update_emojis! (Mastodon's runs inside the transaction; its rows do not depend on
     * the status, so the downloads happen before it opens) */
    if (newer && st->emoji && emoji_process(s, c, actor->domain, st->emoji, true, st->uri, err, errlen) != 0) {
        out = INGRESS_FAILED;
        newer = false;
    }
    rc = newer ? db_tx(c, ingress_update_tx, &u, err, errlen) : 0;
    if (rc == DB_TX_UNKNOWN) {
        /* The COMMIT's reply was lost: a written significant edit is no longer newer
         * (the lock keeps other writers away). Anything else is retried: running an
         * edit that changed no text again writes the same rows. */
        char why[512], cerr[512];
        bool still = true;
        snprintf(why, sizeof why, "%s", err);
        if (ingress_update_is_newer(c, params, &still, cerr, sizeof cerr) != 0)
            snprintf(err, errlen, "%s; checking for the edit of %s failed too: %s", why, st->uri, cerr);
        else if (still)
            snprintf(err, errlen, "%s; no edit of %s newer than this one is in the database, so "
                     "the job is retried", why, st->uri);
        rc = still ? -1 : 0;
    }
    if (rc != 0)
        out = INGRESS_FAILED;
    ingress_lock_release(ctx, &lock);
    if (out == INGRESS_STORED && newer) {
        char args[64];
        if (u.significant) { /* reset_preview_card! */
            const char *pc[] = {u.sid};
            PGresult *cr = db_exec(c, "ingress_update_card",
                                   "DELETE FROM preview_cards_statuses WHERE status_id = $1::bigint", 1, pc, err,
                                   errlen);
            PQclear(cr);
            snprintf(args, sizeof args, "[%s]", u.sid);
            ingress_push(ctx, "LinkCrawlWorker", "pull", "0", args, (double)ingress_rand_between(1, 59));
        }
        snprintf(args, sizeof args, "[%s,{\"update\":true}]", u.sid);
        ingress_push(ctx, "DistributionWorker", "default", "true", args, 0);
    }
done:
    db_pool_release(s->db, c);
    return out;
}
