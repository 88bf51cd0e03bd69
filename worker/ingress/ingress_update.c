/* ingress_update.c -- ActivityPub::Activity::Update of a status the actor owns
 * (ActivityPub::ProcessStatusUpdateService). Under the create:<uri> lock:
 * - an explicit update (`updated` newer than the stored edited_at): the status takes
 *   the new text, spoiler_text, sensitive and language; hashtags are replaced, new
 *   mentions added and dropped ones made silent, custom emoji stored (worker/emoji,
 *   before the transaction); the poll follows update_poll!
 *   (ingress_poll.c: a new poll, new counts, changed options resetting the votes, or
 *   the poll destroyed when the object is no longer a Question); the media follow
 *   update_media_attachments! (ingress_media_edit.c: added, reordered, re-described,
 *   dropped from ordered_media_attachment_ids; new files fetched after the commit).
 *   A significant change (text, spoiler_text, the media, or the poll's options or
 *   `multiple`) sets edited_at, records the original version in status_edits if none
 *   is yet (Status#snapshot! at created_at, with the poll options and media it had)
 *   and the new one, refreshes the link card (LinkCrawlWorker) and pushes DistributionWorker [id, {"update": true}];
 * - an implicit one (no `updated`, or the stored edited_at): only the poll's counts
 *   and expiry, when its options and `multiple` did not change;
 * - both: statuses.quote_approval_policy from interactionPolicy.canQuote
 *   (update_interaction_policies!; 0 without one), and a quote that keeps its quoted
 *   post verified again after the commit (update_quote!, or update_quote_approval!
 *   when implicit: a changed approval URI sets it back to pending first; ingress_quote.c);
 * - explicit only: a quote added, removed or pointed at another post (update_quote!:
 *   the old one destroyed, a new pending one created in the transaction and verified
 *   after the commit; ingress_quote_edit.c); edits of a quote post carry its quote_id;
 * - an older one: nothing.
 * An Update of an unknown status is a Create unless it was published more than a day
 * ago or its sender is suspended (then it is ignored), as Update#update_status does.
 * Left to Ruby (unhandled), decided before writing: one Mastodon would forward
 * (ingress_forwardable), one of a status that has tagged collections, one with an
 * interactionPolicy StatusParser raises on, and one
 * that points an accepted quote of a local post elsewhere (RevokeQuoteService's
 * deliveries; ingress_update_quote_unhandled).
 * After the commit of an update of a poll local accounts voted in, with an expiry not
 * yet past, PollExpirationNotifyWorker is scheduled as queue_poll_notifications! does
 * (ingress_poll_notify, with the job's sidekiq-unique-jobs lock). */
#include "emoji.h"
#include "ingress_create.h"
#include "ingress_media_edit.h"
#include "ingress_poll.h"
#include "ingress_quote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* What an explicit update_quote! does with the stored quote. */
typedef enum {
    INGRESS_UPD_QUOTE_NONE,   /* no quote before or after, or no quote schema */
    INGRESS_UPD_QUOTE_KEEP,   /* the quoted post stays (or none is known yet) */
    INGRESS_UPD_QUOTE_ADD,    /* Quote.create */
    INGRESS_UPD_QUOTE_REMOVE, /* @status.quote.destroy! */
    INGRESS_UPD_QUOTE_CHANGE  /* another quoted post: destroy, then Quote.create */
} ingress_upd_quote;

typedef struct ingress_upd {
    const ingress_account *actor;
    const ap_status *st;
    services *s;
    int64_t status_id;
    char sid[24], aid[24];
    bool significant;          /* text, spoiler_text or the poll changed */
    ingress_poll_state poll;   /* the stored poll */
    bool poll_changed;         /* @poll_changed: options or multiple changed, or destroyed */
    ingress_media_edit media;  /* update_media_attachments!, planned in the transaction */
    bool implicit_poll;        /* an implicit update saves the unchanged poll */
    ingress_quote_stored quote; /* the status's quote (id 0: none) */
    ingress_upd_quote quote_plan;
    int64_t quote_new_id;      /* the quote Quote.create made, 0 when none */
} ingress_upd;

/* The modes of ProcessStatusUpdateService#call. */
typedef enum { INGRESS_UPD_EXPLICIT, INGRESS_UPD_IMPLICIT, INGRESS_UPD_OLDER } ingress_upd_mode;

/* Status#snapshot! of the current row, created at `at` (SQL), when `only_first`
 * only if the status has no edits yet, naming quote quote_id (0: none).
 * media_descriptions are those of ordered_media_attachments: the rows in
 * ordered_media_attachment_ids order (by id when it is NULL), at most
 * Status::MEDIA_ATTACHMENTS_LIMIT. */
static int ingress_update_snapshot(db_conn *c, ingress_upd *u, const char *at, bool only_first, int64_t quote_id,
                                   char *err, size_t errlen)
{
    /* quote_id only for a quote post: older schemas have no such column, and a status
     * with a quote implies a schema that has (both came with Mastodon 4.5) */
    bool quote = quote_id != 0;
    char sql[2048], qid[24];
    snprintf(qid, sizeof qid, "%lld", (long long)quote_id);
    snprintf(sql, sizeof sql,
             "INSERT INTO status_edits (status_id, account_id, text, spoiler_text, sensitive, "
             "ordered_media_attachment_ids, media_descriptions, poll_options, created_at, updated_at%s) "
             "SELECT s.id, $2::bigint, s.text, s.spoiler_text, s.sensitive, COALESCE(s.ordered_media_attachment_ids, "
             "ARRAY(SELECT m.id FROM media_attachments m WHERE m.status_id = s.id ORDER BY m.id)), "
             "ARRAY(SELECT m.description FROM media_attachments m LEFT JOIN unnest(s.ordered_media_attachment_ids) "
             "WITH ORDINALITY o(id, n) ON o.id = m.id WHERE m.status_id = s.id AND "
             "(s.ordered_media_attachment_ids IS NULL OR o.n IS NOT NULL) ORDER BY o.n, m.id LIMIT 4), "
             "(SELECT p.options FROM polls p WHERE p.id = s.poll_id), %s, " DB_NOW "%s FROM statuses s "
             "WHERE s.id = $1::bigint%s",
             quote ? ", quote_id" : "", at, quote ? ", $3::bigint" : "",
             only_first ? " AND NOT EXISTS (SELECT 1 FROM status_edits WHERE status_id = s.id)" : "");
    const char *params[] = {u->sid, u->aid, qid};
    const char *name = only_first ? (quote ? "ingress_edit_first_q" : "ingress_edit_first")
                                  : (quote ? "ingress_edit_new_q" : "ingress_edit_new");
    return db_run_params(c, name, sql, quote ? 3 : 2, params, err, errlen);
}

/* update_poll! with significant changes allowed (an explicit update). */
static int ingress_update_poll_explicit(db_conn *c, ingress_upd *u, char *err, size_t errlen)
{
    const ap_poll *p = &u->st->poll;
    if (p->present && u->poll.id)
        return ingress_poll_update(c, u->poll.id, p, !u->poll.same, err, errlen);
    if (p->present)
        return ingress_poll_create(c, u->actor->id, u->status_id, p, true, err, errlen);
    if (u->poll.id)
        return ingress_poll_destroy(c, u->poll.id, u->status_id, err, errlen);
    return 0;
}

static int ingress_update_tx(db_conn *c, void *user, char *err, size_t errlen)
{
    ingress_upd *u = user;
    const ap_status *st = u->st;
    const char *pold[] = {u->sid, st->text ? st->text : "", st->spoiler_text ? st->spoiler_text : ""};
    PGresult *res = db_exec(c, "ingress_update_old",
                            "SELECT text <> $2 OR spoiler_text <> $3 FROM statuses WHERE id = $1::bigint "
                            "FOR UPDATE", 3, pold, err, errlen);
    if (!res)
        return -1;
    u->significant = (PQntuples(res) > 0 && PQgetvalue(res, 0, 0)[0] == 't') || u->poll_changed;
    PQclear(res);
    if (ingress_media_edit_plan(c, u->status_id, st, &u->media, err, errlen) != 0)
        return -1;
    u->significant = u->significant || u->media.changed;
    /* record_previous_edit!, saved by create_edits! only for a significant change */
    if (u->significant && ingress_update_snapshot(c, u, "s.created_at", true, u->quote.id, err, errlen) != 0)
        return -1;
    if (ingress_media_edit_apply(c, u->status_id, u->actor->id, st, &u->media, err, errlen) != 0)
        return -1;
    if (ingress_update_poll_explicit(c, u, err, errlen) != 0 ||
        ingress_quote_policy_write(c, u->status_id, u->actor, st, true, err, errlen) != 0)
        return -1;
    char updated[24];
    const char *params[] = {u->sid,
                            st->text ? st->text : "",
                            st->spoiler_text ? st->spoiler_text : "",
                            st->sensitive || u->actor->sensitized ? "t" : "f",
                            st->language,
                            ingress_ms_param(updated, sizeof updated, st->updated, st->updated_ms),
                            u->significant ? "t" : "f"};
    if (db_run_params(c, "ingress_update_status",
                      "UPDATE statuses SET text = $2, spoiler_text = $3, sensitive = $4::boolean, "
                      "language = $5, edited_at = CASE WHEN $7::boolean THEN timezone('UTC', "
                      "to_timestamp($6::bigint / 1000.0)) ELSE edited_at END, updated_at = " DB_NOW
                      " WHERE id = $1::bigint",
                      7, params, err, errlen) != 0)
        return -1;
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
                          DB_NOW ", " DB_NOW ") ON CONFLICT DO NOTHING", 2, pt, err, errlen) != 0 ||
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
                           "SELECT $1::bigint, a.id, false, " DB_NOW ", " DB_NOW " FROM "
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
    /* update_quote!; its @quote_changed is read (update_immediate_attributes!) before
     * it is set, so a quote change alone is no significant change */
    if (u->quote_plan >= INGRESS_UPD_QUOTE_ADD &&
        ingress_quote_edit(c, u->status_id, u->actor->id, st, &u->quote, &u->quote_new_id, err, errlen) != 0)
        return -1;
    if (!u->significant)
        return 0;
    /* the new version names @status.quote: the new quote, or after a removal the
     * destroyed one the association still holds */
    int64_t quote_id = u->quote_plan == INGRESS_UPD_QUOTE_ADD || u->quote_plan == INGRESS_UPD_QUOTE_CHANGE
                           ? u->quote_new_id : u->quote.id;
    return ingress_update_snapshot(c, u, "s.edited_at", false, quote_id, err, errlen) == 0 ? 0 : -1;
}

/* Whether the stored status has tagged collections (Mastodon 4.6's tagged_objects, which
 * update_tagged_objects! would change and scotty does not write). Returns 0 or -1. */
static int ingress_update_tagged(db_conn *c, const ingress_upd *u, bool *tagged, char *err, size_t errlen)
{
    *tagged = false;
    bool table;
    if (db_table_exists(c, "tagged_objects", &table, err, errlen) != 0)
        return -1;
    if (!table)
        return 0;
    const char *params[] = {u->sid};
    PGresult *res = db_exec_idempotent(c, "ingress_tagged",
                             "SELECT EXISTS (SELECT 1 FROM tagged_objects WHERE status_id = $1::bigint)", 1, params,
                             err, errlen);
    if (!res)
        return -1;
    *tagged = PQgetvalue(res, 0, 0)[0] == 't';
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

/* ProcessStatusUpdateService#call's choice (params: the status id, `updated` in ms):
 * explicit when `updated` is newer than the stored edited_at (or there is none), older
 * when the stored edited_at is newer or `updated` is missing from an edited status,
 * implicit otherwise (neither has one, or they are equal). */
static int ingress_update_mode_of(db_conn *c, const char *const params[2], ingress_upd_mode *mode, char *err,
                                  size_t errlen)
{
    PGresult *res = db_exec_idempotent(
        c, "ingress_update_mode",
        "SELECT CASE WHEN $2::bigint IS NOT NULL AND (edited_at IS NULL OR edited_at < timezone('UTC', "
        "to_timestamp($2::bigint / 1000.0))) THEN 0 WHEN (edited_at IS NULL AND $2::bigint IS NULL) OR "
        "date_trunc('milliseconds', edited_at) = timezone('UTC', to_timestamp($2::bigint / 1000.0)) THEN 1 "
        "ELSE 2 END FROM statuses WHERE id = $1::bigint",
        2, params, err, errlen);
    if (!res)
        return -1;
    int m = PQntuples(res) > 0 ? atoi(PQgetvalue(res, 0, 0)) : 2;
    PQclear(res);
    *mode = m == 0 ? INGRESS_UPD_EXPLICIT : m == 1 ? INGRESS_UPD_IMPLICIT : INGRESS_UPD_OLDER;
    return 0;
}

/* Whether queue_poll_notifications! would schedule PollExpirationNotifyWorker after
 * this update: the poll left has an expiry, local votes (a reset deletes them), and
 * its previous expiry is not past. */
static bool ingress_update_schedules(const ingress_upd *u, ingress_upd_mode mode)
{
    const ap_poll *p = &u->st->poll;
    if (!u->poll.id || !u->poll.voted || u->poll.expired || mode == INGRESS_UPD_OLDER)
        return false;
    if (mode == INGRESS_UPD_EXPLICIT)
        return p->present && u->poll.same && p->expiry != AP_POLL_OPEN;
    return p->present && u->poll.same ? p->expiry != AP_POLL_OPEN : u->poll.expires;
}

/* The poll's expires_at after the update, in Unix microseconds: the parsed one when
 * the poll was updated (same options), else the stored one (ingress_update_schedules
 * holds: the poll has an expiry). */
static int64_t ingress_update_expires_us(const ingress_upd *u)
{
    const ap_poll *p = &u->st->poll;
    if (!(p->present && u->poll.same))
        return u->poll.expires_us;
    return p->expiry == AP_POLL_AT ? p->expires_us : (int64_t)(base_now() * 1e6);
}

/* update_poll!(allow_significant_changes: false): new counts and expiry when the
 * options and `multiple` are the same; nothing else. */
static int ingress_update_implicit_tx(db_conn *c, void *user, char *err, size_t errlen)
{
    ingress_upd *u = user;
    /* update_interaction_policies! (not after a Create, which wrote the same policy) */
    if (u->actor && ingress_quote_policy_write(c, u->status_id, u->actor, u->st, true, err, errlen) != 0)
        return -1;
    return u->implicit_poll ? ingress_poll_update(c, u->poll.id, &u->st->poll, false, err, errlen) : 0;
}

/* update_quote!'s choice for an explicit Update (st->quote_uri is set exactly when
 * StatusParser#quote? is: the dispatcher forwards quotes with no http URI). */
static ingress_upd_quote ingress_update_quote_plan(const ingress_upd *u, ingress_upd_mode mode)
{
    const ap_status *st = u->st;
    if (mode != INGRESS_UPD_EXPLICIT || !u->quote.schema) /* before 4.5 no quote is kept */
        return INGRESS_UPD_QUOTE_NONE;
    if (!u->quote.id)
        return st->quote_uri ? INGRESS_UPD_QUOTE_ADD : INGRESS_UPD_QUOTE_NONE;
    if (!st->quote_uri)
        return INGRESS_UPD_QUOTE_REMOVE;
    if (u->quote.has_quoted && strcmp(u->quote.quoted_uri, st->quote_uri) != 0)
        return INGRESS_UPD_QUOTE_CHANGE;
    return INGRESS_UPD_QUOTE_KEEP;
}

/* What update_quote! would do that scotty leaves to Ruby, or NULL. */
static const char *ingress_update_quote_unhandled(const ingress_upd *u)
{
    const ingress_quote_stored *q = &u->quote;
    if (u->quote_plan != INGRESS_UPD_QUOTE_REMOVE && u->quote_plan != INGRESS_UPD_QUOTE_CHANGE)
        return NULL;
    /* RevokeQuoteService delivers a Delete of the QuoteAuthorization (Ruby's
     * DeleteQuoteAuthorizationSerializer) to both statuses' audiences, with an LD
     * signature (always_sign: RsaSignature2017 over the JSON-LD canonical form, which
     * scotty does not compute) */
    if (u->quote_plan == INGRESS_UPD_QUOTE_CHANGE && q->quoted_account_local && q->accepted)
        return "an Update that quotes another post instead of an accepted quote of a local one "
               "(update_quote! calls RevokeQuoteService, which delivers a Delete)";
    /* uri_for of a local status without a stored uri is its local URL, which the
     * comparison with the Update's quoted post would need */
    if (u->quote_plan == INGRESS_UPD_QUOTE_CHANGE && !q->quoted_uri[0])
        return "an Update of a quote post whose quoted status has no stored uri";
    return NULL;
}

/* Why Mastodon's Poll validation would refuse what update_poll! saves (options
 * blank), or NULL. */
static const char *ingress_update_invalid(const ingress_upd *u, ingress_upd_mode mode)
{
    const ap_poll *p = &u->st->poll;
    if (!p->present || p->n_options > 0 || mode == INGRESS_UPD_OLDER)
        return NULL;
    /* implicit: a changed poll is not saved; a new one with no options and multiple
     * false is "unchanged" from Poll.new and saved */
    if (mode == INGRESS_UPD_IMPLICIT && (u->poll.id || p->multiple))
        return NULL;
    return "Validation failed: Poll options can't be blank (ProcessingWorker gives up)";
}

/* The poll part of the Update that follows a Create of an unknown status in
 * Update#update_status: an implicit update, which refreshes the new poll
 * (last_fetched_at, lock_version 1). Failures are logged: the status stands. */
static void ingress_update_after_create(q_ctx *ctx, services *s, const ap_status *st, int64_t status_id)
{
    if (!st->poll.present || st->poll.n_options == 0 || !status_id)
        return;
    ingress_upd u = {.st = st, .s = s, .status_id = status_id, .implicit_poll = true};
    char err[512];
    ingress_lock lock;
    db_conn *c = db_pool_acquire(s->db);
    if (ingress_lock_or_retry(ctx, "create", st->uri, &lock, err, sizeof err) != 0) {
        db_pool_release(s->db, c);
        base_log(BASE_LOG_WARN, "ingress: poll of %s not refreshed after its Create: %s", st->uri, err);
        return;
    }
    int rc = ingress_poll_stored(c, status_id, &st->poll, &u.poll, err, sizeof err);
    if (rc == 0 && u.poll.id && u.poll.same)
        rc = db_tx(c, ingress_update_implicit_tx, &u, err, sizeof err);
    ingress_lock_release(ctx, &lock);
    db_pool_release(s->db, c);
    if (rc != 0)
        base_log(BASE_LOG_WARN, "ingress: poll of %s not refreshed after its Create: %s", st->uri, err);
    else if (u.poll.id && u.poll.same)
        ingress_poll_cache_forget(ctx, status_id);
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
        int64_t id = 0;
        ingress_create_opts opts = *o;
        opts.named_object = json_is_string(json_object_get(json_object_get(a->root, "object"), "name"));
        opts.root = a->root;
        out = ingress_create_status(ctx, s, actor, st, &opts, &id, err, errlen);
        if (out == INGRESS_STORED)
            ingress_update_after_create(ctx, s, st, id);
        return out;
    }
    snprintf(u.sid, sizeof u.sid, "%lld", (long long)u.status_id);
    snprintf(u.aid, sizeof u.aid, "%lld", (long long)actor->id);
    bool forward = false, tagged = false;
    if (ingress_forwardable(c, a, u.status_id, &forward, err, errlen) != 0 ||
        ingress_update_tagged(c, &u, &tagged, err, errlen) != 0) {
        out = INGRESS_FAILED;
        goto done;
    }
    if (tagged) {
        snprintf(err, errlen, "an Update of a status with tagged collections (tagged_objects)");
        out = INGRESS_UNHANDLED;
        goto done;
    }
    if (!forward && st->emoji && st->emoji->n && !emoji_can_store(s)) {
        snprintf(err, errlen, "an Update with custom emoji, which need %s",
                 !s->media ? "the media child" : "object storage");
        out = INGRESS_UNHANDLED;
        goto done;
    }
    if (forward) {
        snprintf(err, errlen, "a signed Update Mastodon forwards to local followers");
        out = INGRESS_UNHANDLED;
        goto done;
    }
    ingress_lock lock;
    if (ingress_lock_or_retry(ctx, "create", st->uri, &lock, err, errlen) != 0) {
        out = INGRESS_FAILED;
        goto done;
    }
    char updated[24];
    const char *params[] = {u.sid, ingress_ms_param(updated, sizeof updated, st->updated, st->updated_ms)};
    ingress_upd_mode mode = INGRESS_UPD_OLDER;
    const char *invalid = NULL;
    const char *quote_why = NULL;
    if (ingress_update_mode_of(c, params, &mode, err, errlen) != 0 ||
        ingress_poll_stored(c, u.status_id, &st->poll, &u.poll, err, errlen) != 0 ||
        ingress_quote_of_status(c, u.status_id, &u.quote, err, errlen) != 0) {
        out = INGRESS_FAILED;
    } else if ((u.quote_plan = ingress_update_quote_plan(&u, mode)) != INGRESS_UPD_QUOTE_NONE &&
               (quote_why = ingress_update_quote_unhandled(&u)) != NULL) {
        snprintf(err, errlen, "%s", quote_why);
        out = INGRESS_UNHANDLED;
    } else if (st->policy_unread && mode != INGRESS_UPD_OLDER) {
        snprintf(err, errlen, "%s", st->policy_unread);
        out = INGRESS_UNHANDLED;
    } else if ((invalid = ingress_update_invalid(&u, mode)) != NULL) {
        snprintf(err, errlen, "%s", invalid);
        out = INGRESS_DROPPED;
    }
    /* update_emojis!, explicit updates only (Mastodon's runs inside the transaction;
     * its rows do not depend on the status, so the downloads happen before it opens) */
    if (out == INGRESS_STORED && mode == INGRESS_UPD_EXPLICIT && st->emoji &&
        emoji_process(s, &c, actor->domain, st->emoji, true, st->uri, err, errlen) != 0)
        out = INGRESS_FAILED;
    if (out != INGRESS_STORED) {
        ingress_lock_release(ctx, &lock);
        goto done;
    }
    if (st->poll.note && mode != INGRESS_UPD_OLDER)
        base_log(BASE_LOG_INFO, "ingress: poll of %s: %s", st->uri, st->poll.note);
    u.poll_changed = st->poll.present ? !u.poll.id || !u.poll.same : u.poll.id != 0;
    bool poll_saved = false; /* an existing poll was updated: Poll#reset_parent_cache */
    rc = 0;
    if (mode == INGRESS_UPD_EXPLICIT) {
        rc = db_tx(c, ingress_update_tx, &u, err, errlen);
        poll_saved = st->poll.present && u.poll.id;
    } else if (mode == INGRESS_UPD_IMPLICIT) {
        u.implicit_poll = st->poll.present && u.poll.id && u.poll.same;
        rc = db_tx(c, ingress_update_implicit_tx, &u, err, errlen);
        poll_saved = u.implicit_poll;
    }
    if (rc == DB_TX_UNKNOWN && mode == INGRESS_UPD_EXPLICIT) {
        /* The COMMIT's reply was lost: a written significant edit is no longer newer
         * (the lock keeps other writers away). Anything else is retried: running an
         * edit that changed no text, media or poll options again writes the same rows. */
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
    if (out == INGRESS_STORED && poll_saved)
        ingress_poll_cache_forget(ctx, u.status_id);
    if (out == INGRESS_STORED && ingress_update_schedules(&u, mode) &&
        ingress_poll_notify(ctx, u.poll.id, u.poll.expires_us, ingress_update_expires_us(&u), err, errlen) != 0)
        out = INGRESS_FAILED;
    if (out == INGRESS_STORED && mode == INGRESS_UPD_EXPLICIT && u.significant) {
        char args[64];
        /* reset_preview_card! and broadcast_updates!, for significant changes only */
        const char *pc[] = {u.sid};
        PGresult *cr = db_exec(c, "ingress_update_card",
                               "DELETE FROM preview_cards_statuses WHERE status_id = $1::bigint", 1, pc, err,
                               errlen);
        PQclear(cr);
        snprintf(args, sizeof args, "[%s]", u.sid);
        ingress_push(ctx, "LinkCrawlWorker", "pull", "0", args, (double)ingress_rand_between(1, 59));
        snprintf(args, sizeof args, "[%s,{\"update\":true}]", u.sid);
        ingress_push(ctx, "DistributionWorker", "default", "true", args, 0);
    }
    /* download_media_files!, under the lock; inline fetches take a connection of their own */
    db_pool_release(s->db, c);
    c = NULL;
    if (out == INGRESS_STORED && mode == INGRESS_UPD_EXPLICIT)
        ingress_media_edit_fetch(ctx, s, st, &u.media);
    /* fetch_and_verify_quote! of the kept or new quote (a new one has no approval to
     * set back); update_quote_approval! (implicit) skips one whose stored quoted post
     * is another or local, and broadcasts a changed state */
    int64_t verify = u.quote_plan == INGRESS_UPD_QUOTE_KEEP ? u.quote.id : u.quote_new_id;
    if (out == INGRESS_STORED && mode == INGRESS_UPD_EXPLICIT && verify)
        ingress_quote_update(ctx, s, verify, st, false);
    if (out == INGRESS_STORED && st->quote_uri && u.quote.id && mode == INGRESS_UPD_IMPLICIT &&
        (!u.quote.has_quoted || (strcmp(u.quote.quoted_uri, st->quote_uri) == 0 && !u.quote.quoted_local)) &&
        ingress_quote_update(ctx, s, u.quote.id, st, true)) {
        char args[64];
        snprintf(args, sizeof args, "[%s,{\"update\":true}]", u.sid);
        ingress_push(ctx, "DistributionWorker", "default", "true", args, 0);
    }
    ingress_lock_release(ctx, &lock);
done:
    if (c)
        db_pool_release(s->db, c);
    return out;
}
