/* ingress_create_tx.c -- the one transaction of ActivityPub::Activity::Create: the
 * statuses row (id from timestamp_id, or from created_at for a fetched past status as
 * Mastodon::Snowflake does), its conversation, media_attachments rows (type unknown
 * until their files are fetched), status_stats with the sender's untrusted counts,
 * the parent's replies_count, account_stats, mentions (silent for audience-only
 * accounts), hashtags and a Question's poll (ingress_poll.c). Timestamps are UTC without zone, as Rails writes them. */
#include "ingress_create.h"
#include "ingress_media_edit.h"
#include "ingress_poll.h"
#include "ingress_quote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct ingress_tx {
    ingress_create_plan *p;
    bool duplicate;            /* the statuses insert hit the unique uri */
    bool invalid_poll;         /* a Question whose poll has no options */
} ingress_tx;

static void ingress_id(char *buf, size_t len, int64_t id)
{
    if (id > 0)
        snprintf(buf, len, "%lld", (long long)id);
    else
        buf[0] = '\0';
}

/* One statement whose single value is a bigint. Returns 0 or -1 with err. */
static int ingress_tx_value(db_conn *c, const char *name, const char *sql, int n,
                            const char *const *params, int64_t *out, char *err, size_t errlen)
{
    PGresult *res = db_exec(c, name, sql, n, params, err, errlen);
    if (!res)
        return -1;
    *out = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return 0;
}

/* A conversation URI minted by this server (tag:DOMAIN,YYYY-MM-DD:objectId=N:
 * objectType=Conversation) names conversation N, as OStatus::TagManager reads it. */
static int64_t ingress_local_conversation(const char *uri, const char *local_domain)
{
    size_t dl = strlen(local_domain);
    if (strncmp(uri, "tag:", 4) != 0 || strncmp(uri + 4, local_domain, dl) != 0 || uri[4 + dl] != ',')
        return 0;
    const char *id = strstr(uri, ":objectId=");
    if (!id || !strstr(uri, ":objectType=Conversation"))
        return 0;
    return strtoll(id + 10, NULL, 10);
}

/* The conversation named by its URI, or the parent's; 0 when the status will own a
 * new one (ingress_tx_owned_conversation, once its id is known). */
static int ingress_tx_conversation(db_conn *c, ingress_create_plan *p, int64_t *out, char *err,
                                   size_t errlen)
{
    const char *uri = p->st->conversation;
    *out = 0;
    if (uri) {
        int64_t local = ingress_local_conversation(uri, p->s->local_domain);
        if (local > 0) {
            char id[24];
            ingress_id(id, sizeof id, local);
            const char *params[] = {id};
            return ingress_tx_value(c, "ingress_conv_local",
                                    "SELECT id FROM conversations WHERE id = $1::bigint", 1, params,
                                    out, err, errlen);
        }
        /* find or create in one statement; a row another transaction committed after
         * this statement's snapshot is read by the second query */
        const char *params[] = {uri};
        if (ingress_tx_value(c, "ingress_conv_upsert",
                             "WITH ins AS (INSERT INTO conversations (uri, created_at, updated_at) VALUES ($1, "
                             DB_NOW ", " DB_NOW ") ON CONFLICT DO NOTHING RETURNING id) "
                             "SELECT id FROM ins UNION ALL SELECT id FROM conversations WHERE uri = $1 LIMIT 1",
                             1, params, out, err, errlen) != 0 || *out > 0)
            return *out > 0 ? 0 : -1;
        return ingress_tx_value(c, "ingress_conv_by_uri", "SELECT id FROM conversations WHERE uri = $1",
                                1, params, out, err, errlen);
    }
    if (p->parent_known)
        *out = p->parent_conversation_id;
    return 0;
}

/* A status that is no reply and names no conversation owns a new one. */
static int ingress_tx_owned_conversation(db_conn *c, ingress_create_plan *p, char *err, size_t errlen)
{
    char sid[24], aid[24];
    ingress_id(sid, sizeof sid, p->status_id);
    ingress_id(aid, sizeof aid, p->actor->id);
    const char *params[] = {sid, aid};
    return db_run_params(c, "ingress_conv_owned",
                         "WITH cv AS (INSERT INTO conversations (parent_status_id, parent_account_id, "
                         "created_at, updated_at) VALUES ($1::bigint, $2::bigint, " DB_NOW ", " DB_NOW
                         ") RETURNING id) UPDATE statuses SET conversation_id = (SELECT id FROM cv) "
                         "WHERE id = $1::bigint",
                         2, params, err, errlen);
}

static int ingress_tx_media(db_conn *c, ingress_create_plan *p, char *err, size_t errlen)
{
    for (size_t i = 0; i < p->n_media; i++)
        if (ingress_media_insert(c, p->media_ids[i], p->actor->id, p->status_id, &p->st->media[i], err,
                                 errlen) != 0)
            return -1;
    return 0;
}

static int ingress_tx_counts(db_conn *c, ingress_create_plan *p, char *err, size_t errlen)
{
    const ap_status *st = p->st;
    char sid[24], aid[24], likes[24] = "", shares[24] = "";
    ingress_id(sid, sizeof sid, p->status_id);
    ingress_id(aid, sizeof aid, p->actor->id);
    if (st->likes_total >= 0 || st->shares_total >= 0) {
        if (st->likes_total >= 0)
            snprintf(likes, sizeof likes, "%lld", (long long)st->likes_total);
        if (st->shares_total >= 0)
            snprintf(shares, sizeof shares, "%lld", (long long)st->shares_total);
        const char *params[] = {sid, likes[0] ? likes : NULL, shares[0] ? shares : NULL};
        if (db_run_params(c, "ingress_status_stats",
                          "INSERT INTO status_stats (status_id, untrusted_favourites_count, "
                          "untrusted_reblogs_count, created_at, updated_at) VALUES ($1::bigint, "
                          "$2::bigint, $3::bigint, " DB_NOW ", " DB_NOW ")",
                          3, params, err, errlen) != 0)
            return -1;
    }
    if (p->visibility == AP_VIS_DIRECT) /* Status#increment_counter_caches skips direct */
        return 0;
    const char *params[] = {aid};
    if (db_run_params(c, "ingress_account_stats_inc",
                      "INSERT INTO account_stats (account_id, statuses_count, last_status_at, created_at, "
                      "updated_at) VALUES ($1::bigint, 1, " DB_NOW ", " DB_NOW ", " DB_NOW
                      ") ON CONFLICT (account_id) DO UPDATE SET statuses_count = "
                      "account_stats.statuses_count + 1, last_status_at = EXCLUDED.last_status_at, "
                      "updated_at = EXCLUDED.updated_at",
                      1, params, err, errlen) != 0)
        return -1;
    if (p->parent_known && (p->visibility == AP_VIS_PUBLIC || p->visibility == AP_VIS_UNLISTED)) {
        char pid[24];
        ingress_id(pid, sizeof pid, p->parent_id);
        const char *pp[] = {pid};
        if (db_run_params(c, "ingress_replies_inc",
                          "INSERT INTO status_stats (status_id, replies_count, created_at, updated_at) "
                          "VALUES ($1::bigint, 1, " DB_NOW ", " DB_NOW ") ON CONFLICT (status_id) "
                          "DO UPDATE SET replies_count = status_stats.replies_count + 1, "
                          "updated_at = EXCLUDED.updated_at",
                          1, pp, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int ingress_tx_mention(db_conn *c, const char *sid, int64_t account, bool silent, char *err,
                              size_t errlen)
{
    char aid[24];
    ingress_id(aid, sizeof aid, account);
    const char *params[] = {sid, aid, silent ? "t" : "f"};
    return db_run_params(c, "ingress_mention_insert",
                         "INSERT INTO mentions (status_id, account_id, silent, created_at, updated_at) "
                         "VALUES ($1::bigint, $2::bigint, $3::boolean, " DB_NOW ", " DB_NOW ") "
                         "ON CONFLICT DO NOTHING",
                         3, params, err, errlen);
}

/* Tag::HASHTAG_NAME_RE, roughly: word characters (any non-ASCII byte passes), at
 * most 100 bytes, not only digits. */
static bool ingress_tag_valid(const char *name)
{
    size_t n = strlen(name);
    bool alpha = false;
    if (n == 0 || n > 100)
        return false;
    for (const unsigned char *s = (const unsigned char *)name; *s; s++) {
        if (*s >= 0x80 || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_')
            alpha = true;
        else if (!(*s >= '0' && *s <= '9'))
            return false;
    }
    return alpha;
}

/* Tag.find_or_create_by_names: tags.name is the normalized form (hashtag_names), the
 * display_name the tag as written; matched on lower(name). */
static int ingress_tx_tags(db_conn *c, ingress_create_plan *p, char *err, size_t errlen)
{
    char sid[24];
    ingress_id(sid, sizeof sid, p->status_id);
    for (size_t i = 0; i < p->st->n_hashtags; i++) {
        const char *name = p->st->hashtag_names ? p->st->hashtag_names[i] : p->st->hashtags[i];
        if (!ingress_tag_valid(name))
            continue;
        /* get or create the tag and link it in one statement (the second form only when
         * another transaction created the tag after this statement's snapshot) */
        const char *pp[] = {sid, name, p->st->hashtags[i]};
        int64_t linked = 0;
        if (ingress_tx_value(c, "ingress_tag_link",
                             "WITH ins AS (INSERT INTO tags (name, display_name, created_at, updated_at) "
                             "VALUES ($2, $3, " DB_NOW ", " DB_NOW ") ON CONFLICT DO NOTHING "
                             "RETURNING id), t AS (SELECT id FROM ins UNION ALL SELECT id FROM tags "
                             "WHERE lower(name) = lower($2) LIMIT 1), l AS (INSERT INTO statuses_tags "
                             "(status_id, tag_id) SELECT $1::bigint, id FROM t ON CONFLICT DO NOTHING "
                             "RETURNING tag_id) SELECT count(*) FROM t",
                             3, pp, &linked, err, errlen) != 0)
            return -1;
        if (linked == 0 &&
            db_run_params(c, "ingress_status_tag",
                          "INSERT INTO statuses_tags (status_id, tag_id) SELECT $1::bigint, id FROM tags "
                          "WHERE lower(name) = lower($2) ON CONFLICT DO NOTHING",
                          2, pp, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int ingress_tx_body(db_conn *c, void *user, char *err, size_t errlen)
{
    ingress_tx *tx = user;
    ingress_create_plan *p = tx->p;
    const ap_status *st = p->st;
    char published[24], updated[24];
    const char *created = ingress_ms_param(published, sizeof published, st->published, st->published_ms);
    const char *edited = ingress_ms_param(updated, sizeof updated, st->updated, st->updated_ms);
    p->n_media = st->n_media;
    if (p->n_media) {
        char n[24];
        snprintf(n, sizeof n, "%zu", p->n_media);
        const char *params[] = {n};
        PGresult *res = db_exec(c, "ingress_media_ids",
                                "SELECT timestamp_id('media_attachments') FROM generate_series(1, $1::int)",
                                1, params, err, errlen);
        if (!res)
            return -1;
        for (size_t i = 0; i < p->n_media; i++)
            p->media_ids[i] = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
        PQclear(res);
    }
    int64_t conv = 0;
    if (ingress_tx_conversation(c, p, &conv, err, errlen) != 0)
        return -1;
    char sid[24], aid[24], convs[24], reply_id[24], reply_acc[24], vis[4], ordered[128] = "";
    ingress_id(aid, sizeof aid, p->actor->id);
    ingress_id(convs, sizeof convs, conv);
    ingress_id(reply_id, sizeof reply_id, p->parent_known ? p->parent_id : 0);
    /* carried_over_reply_to_account_id: a self-reply keeps the thread's addressee */
    int64_t reply_to = 0;
    if (p->parent_known)
        reply_to = p->parent_account_id == p->actor->id && p->parent_reply ? p->parent_reply_to_account_id
                                                                           : p->parent_account_id;
    ingress_id(reply_acc, sizeof reply_acc, reply_to);
    snprintf(vis, sizeof vis, "%d", p->visibility);
    if (p->n_media) {
        size_t off = (size_t)snprintf(ordered, sizeof ordered, "{");
        for (size_t i = 0; i < p->n_media; i++)
            off += (size_t)snprintf(ordered + off, sizeof ordered - off, "%s%lld", i ? "," : "",
                                    (long long)p->media_ids[i]);
        snprintf(ordered + off, sizeof ordered - off, "}");
    }
    /* The id: time of arrival (timestamp_id), or from a past created_at for a fetched
     * status as Mastodon::Snowflake does; realtime: created within the last 6 hours. */
    const char *params[] = {p->backdate ? "t" : "f", st->uri, st->url, aid, st->text ? st->text : "",
                            st->spoiler_text ? st->spoiler_text : "", st->language, created, edited,
                            reply_id[0] ? reply_id : NULL, reply_acc[0] ? reply_acc : NULL,
                            st->in_reply_to ? "t" : "f", convs[0] ? convs : NULL,
                            p->sensitive ? "t" : "f", vis, ordered[0] ? ordered : NULL};
    PGresult *res = db_exec(c, "ingress_status_insert",
                            "INSERT INTO statuses (id, uri, url, account_id, text, spoiler_text, language, "
                            "created_at, updated_at, edited_at, in_reply_to_id, in_reply_to_account_id, "
                            "reply, conversation_id, sensitive, visibility, local, ordered_media_attachment_ids) "
                            "VALUES (CASE WHEN $1::boolean AND to_timestamp($8::bigint / 1000.0) < now() THEN "
                            "((($8::bigint / 1000) * 1000 + floor(random() * 1000)::bigint) << 16) "
                            "+ floor(random() * 65536)::bigint ELSE timestamp_id('statuses') END, $2, $3, "
                            "$4::bigint, $5, $6, $7, coalesce(timezone('UTC', to_timestamp($8::bigint / 1000.0)), "
                            DB_NOW "), " DB_NOW ", timezone('UTC', to_timestamp($9::bigint / 1000.0)), "
                            "$10::bigint, $11::bigint, $12::boolean, $13::bigint, $14::boolean, $15::int, false, "
                            "$16::bigint[]) RETURNING id, $8::bigint IS NULL OR "
                            "to_timestamp($8::bigint / 1000.0) > now() - interval '6 hours'",
                            16, params, err, errlen);
    if (!res) {
        tx->duplicate = strcmp(db_conn_sqlstate(c), "23505") == 0;
        return -1;
    }
    p->status_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    p->realtime = PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    ingress_id(sid, sizeof sid, p->status_id);
    if (st->poll.present && st->poll.n_options == 0) {
        /* Poll validates options presence, and the status autosaves it: Status.create!
         * raises RecordInvalid. Found only now, as Ruby finds it only for a new status. */
        tx->invalid_poll = true;
        snprintf(err, errlen, "Validation failed: Poll options can't be blank (a Question whose "
                 "anyOf/oneOf items have no name or content)");
        return -1;
    }
    if (st->poll.present && ingress_poll_create(c, p->actor->id, p->status_id, &st->poll, false, err, errlen) != 0)
        return -1;
    if (!st->conversation && !p->parent_known && ingress_tx_owned_conversation(c, p, err, errlen) != 0)
        return -1;
    if (ingress_tx_media(c, p, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < p->n_mentions; i++)
        if (ingress_tx_mention(c, sid, p->mentions[i].id, false, err, errlen) != 0)
            return -1;
    for (size_t i = 0; i < p->n_audience; i++)
        if (!ingress_ref_has(p->mentions, p->n_mentions, p->audience[i].id) &&
            ingress_tx_mention(c, sid, p->audience[i].id, true, err, errlen) != 0)
            return -1;
    if (ingress_tx_tags(c, p, err, errlen) != 0 || ingress_quote_insert(c, p, err, errlen) != 0 ||
        ingress_quote_policy_write(c, p->status_id, p->actor, p->st, false, err, errlen) != 0)
        return -1;
    /* The counters come last: every post of the author (and every reply to the parent)
     * updates the same rows, so their row locks are held only until the commit. */
    return ingress_tx_counts(c, p, err, errlen);
}

/* The status row holding p->st->uri: *found false if none. Returns 0 or -1 with err. */
static int ingress_tx_find(db_conn *c, ingress_create_plan *p, bool *found, int64_t *id,
                           int64_t *author, char *err, size_t errlen)
{
    const char *params[] = {p->st->uri};
    PGresult *res = db_exec_idempotent(c, "ingress_status_any",
                                       "SELECT id, account_id FROM statuses WHERE uri = $1", 1,
                                       params, err, errlen);
    if (!res)
        return -1;
    *found = PQntuples(res) > 0;
    *id = *found ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    *author = *found ? strtoll(PQgetvalue(res, 0, 1), NULL, 10) : 0;
    PQclear(res);
    return 0;
}

int ingress_create_tx(db_conn *c, ingress_create_plan *p, int64_t *author, char *err, size_t errlen)
{
    ingress_tx tx = {p, false, false};
    int rc = db_tx(c, ingress_tx_body, &tx, err, errlen);
    if (rc == 0) {
        p->created = true;
        return 0;
    }
    if (tx.invalid_poll) {
        p->n_media = 0;
        p->status_id = 0;
        return 2;
    }
    bool found;
    int64_t id;
    if (rc == DB_TX_UNKNOWN) {
        /* The COMMIT's reply was lost: the row with the id this run inserted says
         * whether it was written (the create lock keeps other writers away). */
        char why[512], cerr[512];
        snprintf(why, sizeof why, "%s", err);
        if (ingress_tx_find(c, p, &found, &id, author, cerr, sizeof cerr) != 0) {
            snprintf(err, errlen, "%s; checking for %s failed too: %s", why, p->st->uri, cerr);
            return -1;
        }
        if (found && id == p->status_id) {
            base_log(BASE_LOG_INFO, "ingress: the commit of %s was written although its reply was lost",
                  p->st->uri);
            p->created = true;
            return 0;
        }
        if (!found) {
            snprintf(err, errlen, "%s; %s is not in the database, so it was not written and the "
                     "job is retried", why, p->st->uri);
            return -1;
        }
    } else if (!tx.duplicate) {
        return -1;
    }
    /* The uri is taken, by a live status or a discarded one kept for a report. */
    p->n_media = 0;
    if (rc != DB_TX_UNKNOWN && ingress_tx_find(c, p, &found, &id, author, err, errlen) != 0)
        return -1;
    p->status_id = found ? id : 0;
    return 1;
}
