/* ingress_create_tx.c -- the one transaction of ActivityPub::Activity::Create: the
 * statuses row (its id drawn by the gate read in ingress_create.c), its conversation,
 * media_attachments rows (type unknown until their files are fetched), status_stats
 * with the sender's untrusted counts, the parent's replies_count, account_stats,
 * mentions (silent for audience-only accounts), hashtags, a Question's poll
 * (ingress_poll.c) and a quote (ingress_quote.c). Timestamps are UTC without zone, as
 * Rails writes them. Round trips: a text post's BEGIN, inserts and COMMIT go in one
 * libpq pipeline (db_batch); a poll, attachments or a quote add their own statements
 * between the batch with the statuses insert and the one with COMMIT. */
#include "ingress_create.h"
#include "db_batch.h"
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

/* The conversation named by a URI this server minted, or the parent's; 0 when the
 * status names another URI (found or created in the batch, ingress_tx_named_conversation)
 * or will own a new one (ingress_tx_owned_conversation). */
static int ingress_tx_conversation(db_conn *c, ingress_create_plan *p, int64_t *out, char *err,
                                   size_t errlen)
{
    const char *uri = p->st->conversation;
    *out = 0;
    if (uri) {
        int64_t local = ingress_local_conversation(uri, p->s->local_domain);
        if (local <= 0)
            return 0;
        char id[24];
        ingress_id(id, sizeof id, local);
        const char *params[] = {id};
        return ingress_tx_value(c, "ingress_conv_local",
                                "SELECT id FROM conversations WHERE id = $1::bigint", 1, params, out,
                                err, errlen);
    }
    if (p->parent_known)
        *out = p->parent_conversation_id;
    return 0;
}

/* Statements sent together (db_batch): none needs another's result. Each holds its
 * parameters; the strings they point to live in the batch or in the plan. */
#define INGRESS_TX_MAX 12
#define INGRESS_TX_PARAMS 17

typedef struct ingress_tx_batch {
    db_stmt stmts[INGRESS_TX_MAX];
    const char *params[INGRESS_TX_MAX][INGRESS_TX_PARAMS];
    int n;
    int status_stmt;           /* the statuses insert's index, or -1 when not in this batch */
    char sid[24], aid[24], pid[24], likes[24], shares[24];
    char *mention_ids, *mention_silent, *tag_names, *tag_displays;
} ingress_tx_batch;

static void ingress_tx_add(ingress_tx_batch *b, const char *name, const char *sql, int n,
                           const char *const *params)
{
    for (int i = 0; i < n; i++)
        b->params[b->n][i] = params[i];
    b->stmts[b->n] = (db_stmt){name, sql, n, b->params[b->n]};
    b->n++;
}

/* Sends the batch (with COMMIT when `commit`) and empties it; the statuses insert's
 * RETURNING sets p->realtime. A unique violation marks the status a duplicate. */
static int ingress_tx_send(db_conn *c, ingress_tx *tx, ingress_tx_batch *b, bool commit, char *err,
                           size_t errlen)
{
    PGresult *res[INGRESS_TX_MAX];
    int rc = db_batch(c, b->stmts, b->n, commit, res, err, errlen);
    if (rc == 0 && b->status_stmt >= 0)
        tx->p->realtime = PQgetvalue(res[b->status_stmt], 0, 0)[0] == 't';
    if (rc != 0)
        tx->duplicate = strcmp(db_conn_sqlstate(c), "23505") == 0;
    for (int i = 0; rc == 0 && i < b->n; i++)
        PQclear(res[i]);
    b->n = 0;
    b->status_stmt = -1;
    return rc;
}

/* A status that is no reply and names no conversation owns a new one. */
static void ingress_tx_owned_conversation(ingress_tx_batch *b)
{
    const char *params[] = {b->sid, b->aid};
    ingress_tx_add(b, "ingress_conv_owned",
                   "WITH cv AS (INSERT INTO conversations (parent_status_id, parent_account_id, "
                   "created_at, updated_at) VALUES ($1::bigint, $2::bigint, " DB_NOW ", " DB_NOW
                   ") RETURNING id) UPDATE statuses SET conversation_id = (SELECT id FROM cv) "
                   "WHERE id = $1::bigint",
                   2, params);
}

/* A conversation another transaction created under the same URI while the statuses
 * insert waited for it is not in that insert's snapshot, so the insert left
 * conversation_id empty: this statement's later snapshot has it. */
static void ingress_tx_named_conversation(ingress_tx_batch *b, const char *uri)
{
    const char *params[] = {b->sid, uri};
    ingress_tx_add(b, "ingress_conv_named",
                   "UPDATE statuses SET conversation_id = (SELECT id FROM conversations WHERE uri = $2) "
                   "WHERE id = $1::bigint AND conversation_id IS NULL",
                   2, params);
}

static int ingress_tx_media(db_conn *c, ingress_create_plan *p, char *err, size_t errlen)
{
    for (size_t i = 0; i < p->n_media; i++)
        if (ingress_media_insert(c, p->media_ids[i], p->actor->id, p->status_id, &p->st->media[i], err,
                                 errlen) != 0)
            return -1;
    return 0;
}

static void ingress_tx_counts(ingress_tx_batch *b, ingress_create_plan *p)
{
    const ap_status *st = p->st;
    if (st->likes_total >= 0 || st->shares_total >= 0) {
        if (st->likes_total >= 0)
            snprintf(b->likes, sizeof b->likes, "%lld", (long long)st->likes_total);
        if (st->shares_total >= 0)
            snprintf(b->shares, sizeof b->shares, "%lld", (long long)st->shares_total);
        const char *params[] = {b->sid, b->likes[0] ? b->likes : NULL, b->shares[0] ? b->shares : NULL};
        ingress_tx_add(b, "ingress_status_stats",
                       "INSERT INTO status_stats (status_id, untrusted_favourites_count, "
                       "untrusted_reblogs_count, created_at, updated_at) VALUES ($1::bigint, "
                       "$2::bigint, $3::bigint, " DB_NOW ", " DB_NOW ")",
                       3, params);
    }
    if (p->visibility == AP_VIS_DIRECT) /* Status#increment_counter_caches skips direct */
        return;
    const char *params[] = {b->aid};
    ingress_tx_add(b, "ingress_account_stats_inc",
                   "INSERT INTO account_stats (account_id, statuses_count, last_status_at, created_at, "
                   "updated_at) VALUES ($1::bigint, 1, " DB_NOW ", " DB_NOW ", " DB_NOW
                   ") ON CONFLICT (account_id) DO UPDATE SET statuses_count = "
                   "account_stats.statuses_count + 1, last_status_at = EXCLUDED.last_status_at, "
                   "updated_at = EXCLUDED.updated_at",
                   1, params);
    if (p->parent_known && (p->visibility == AP_VIS_PUBLIC || p->visibility == AP_VIS_UNLISTED)) {
        ingress_id(b->pid, sizeof b->pid, p->parent_id);
        const char *pp[] = {b->pid};
        ingress_tx_add(b, "ingress_replies_inc",
                       "INSERT INTO status_stats (status_id, replies_count, created_at, updated_at) "
                       "VALUES ($1::bigint, 1, " DB_NOW ", " DB_NOW ") ON CONFLICT (status_id) "
                       "DO UPDATE SET replies_count = status_stats.replies_count + 1, "
                       "updated_at = EXCLUDED.updated_at",
                       1, pp);
    }
}

/* Mentions, then silent mentions of the audience not mentioned, in one statement. */
static void ingress_tx_mentions(ingress_tx_batch *b, ingress_create_plan *p)
{
    base_buf ids, silent;
    base_buf_init(&ids);
    base_buf_init(&silent);
    size_t n = 0;
    for (size_t i = 0; i < p->n_mentions + p->n_audience; i++) {
        bool audience = i >= p->n_mentions;
        const ingress_ref *r = audience ? &p->audience[i - p->n_mentions] : &p->mentions[i];
        if (audience && ingress_ref_has(p->mentions, p->n_mentions, r->id))
            continue;
        base_buf_addf(&ids, "%s%lld", n ? "," : "{", (long long)r->id);
        base_buf_addf(&silent, "%s%s", n ? "," : "{", audience ? "t" : "f");
        n++;
    }
    if (n == 0) {
        base_buf_free(&ids);
        base_buf_free(&silent);
        return;
    }
    base_buf_adds(&ids, "}");
    base_buf_adds(&silent, "}");
    b->mention_ids = base_buf_take(&ids);
    b->mention_silent = base_buf_take(&silent);
    const char *params[] = {b->sid, b->mention_ids, b->mention_silent};
    ingress_tx_add(b, "ingress_mentions_insert",
                   "INSERT INTO mentions (status_id, account_id, silent, created_at, updated_at) "
                   "SELECT $1::bigint, m.account_id, m.silent, " DB_NOW ", " DB_NOW " FROM "
                   "unnest($2::bigint[], $3::boolean[]) WITH ORDINALITY AS m(account_id, silent, o) "
                   "ORDER BY m.o ON CONFLICT DO NOTHING",
                   3, params);
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

/* One element of a PostgreSQL array literal, quoted. */
static void ingress_array_add(base_buf *b, bool first, const char *s)
{
    base_buf_adds(b, first ? "{\"" : ",\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            base_buf_add(b, "\\", 1);
        base_buf_add(b, s, 1);
    }
    base_buf_adds(b, "\"");
}

/* Tag.find_or_create_by_names: tags.name is the normalized form (hashtag_names), the
 * display_name the tag as written; matched on lower(name). The tags are created in
 * one statement and linked in the next, whose snapshot also holds a tag another
 * transaction committed while the first waited for it. */
static void ingress_tx_tags(ingress_tx_batch *b, ingress_create_plan *p)
{
    base_buf names, displays;
    base_buf_init(&names);
    base_buf_init(&displays);
    size_t n = 0;
    for (size_t i = 0; i < p->st->n_hashtags; i++) {
        const char *name = p->st->hashtag_names ? p->st->hashtag_names[i] : p->st->hashtags[i];
        if (!ingress_tag_valid(name))
            continue;
        ingress_array_add(&names, n == 0, name);
        ingress_array_add(&displays, n == 0, p->st->hashtags[i]);
        n++;
    }
    if (n == 0) {
        base_buf_free(&names);
        base_buf_free(&displays);
        return;
    }
    base_buf_adds(&names, "}");
    base_buf_adds(&displays, "}");
    b->tag_names = base_buf_take(&names);
    b->tag_displays = base_buf_take(&displays);
    const char *create[] = {b->tag_names, b->tag_displays};
    ingress_tx_add(b, "ingress_tags_create",
                   "INSERT INTO tags (name, display_name, created_at, updated_at) SELECT t.name, "
                   "t.display_name, " DB_NOW ", " DB_NOW " FROM unnest($1::text[], $2::text[]) "
                   "WITH ORDINALITY AS t(name, display_name, o) ORDER BY t.o ON CONFLICT DO NOTHING",
                   2, create);
    const char *link[] = {b->sid, b->tag_names};
    ingress_tx_add(b, "ingress_tags_link",
                   "INSERT INTO statuses_tags (status_id, tag_id) SELECT $1::bigint, id FROM tags "
                   "WHERE lower(name) IN (SELECT lower(n) FROM unnest($2::text[]) AS n) "
                   "ON CONFLICT DO NOTHING",
                   2, link);
}

/* The rows written by statements of their own (ingress_poll.c, ingress_quote.c,
 * ingress_media_edit.c), between the batch holding the statuses insert and the one
 * holding COMMIT; a post with none of them is one batch, BEGIN to COMMIT. */
static bool ingress_tx_has_own_statements(const ingress_create_plan *p)
{
    const ap_status *st = p->st;
    return st->poll.present || p->n_media || st->quote_uri || st->can_quote;
}

static int ingress_tx_own_statements(db_conn *c, ingress_tx *tx, char *err, size_t errlen)
{
    ingress_create_plan *p = tx->p;
    const ap_status *st = p->st;
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
    if (ingress_tx_media(c, p, err, errlen) != 0 || ingress_quote_insert(c, p, err, errlen) != 0 ||
        ingress_quote_policy_write(c, p->status_id, p->actor, p->st, false, err, errlen) != 0)
        return -1;
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
    int64_t conv = 0;
    if (ingress_tx_conversation(c, p, &conv, err, errlen) != 0)
        return -1;
    const char *conv_uri = st->conversation && ingress_local_conversation(st->conversation,
                                                                           p->s->local_domain) <= 0
                               ? st->conversation
                               : NULL;
    ingress_tx_batch b;
    memset(&b, 0, sizeof b);
    b.status_stmt = -1;
    ingress_id(b.sid, sizeof b.sid, p->status_id);
    ingress_id(b.aid, sizeof b.aid, p->actor->id);
    char convs[24], reply_id[24], reply_acc[24], vis[4], ordered[128] = "";
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
    /* The id was drawn by the gate read (ingress_create.c); a conversation named by a
     * URI not minted here is found or created; realtime: created within the last 6
     * hours. */
    const char *params[] = {b.sid, st->uri, st->url, b.aid, st->text ? st->text : "",
                            st->spoiler_text ? st->spoiler_text : "", st->language, created, edited,
                            reply_id[0] ? reply_id : NULL, reply_acc[0] ? reply_acc : NULL,
                            st->in_reply_to ? "t" : "f", convs[0] ? convs : NULL,
                            p->sensitive ? "t" : "f", vis, ordered[0] ? ordered : NULL, conv_uri};
    b.status_stmt = b.n;
    ingress_tx_add(&b, "ingress_status_insert",
                   "WITH cv AS (INSERT INTO conversations (uri, created_at, updated_at) SELECT $17::text, "
                   DB_NOW ", " DB_NOW " WHERE $17::text IS NOT NULL ON CONFLICT DO NOTHING RETURNING id) "
                   "INSERT INTO statuses (id, uri, url, account_id, text, spoiler_text, language, "
                   "created_at, updated_at, edited_at, in_reply_to_id, in_reply_to_account_id, "
                   "reply, conversation_id, sensitive, visibility, local, ordered_media_attachment_ids) "
                   "VALUES ($1::bigint, $2, $3, $4::bigint, $5, $6, $7, coalesce(timezone('UTC', "
                   "to_timestamp($8::bigint / 1000.0)), " DB_NOW "), " DB_NOW ", "
                   "timezone('UTC', to_timestamp($9::bigint / 1000.0)), $10::bigint, $11::bigint, "
                   "$12::boolean, coalesce($13::bigint, (SELECT id FROM cv), (SELECT id FROM conversations "
                   "WHERE $17::text IS NOT NULL AND uri = $17::text)), "
                   "$14::boolean, $15::int, false, $16::bigint[]) RETURNING $8::bigint IS NULL OR "
                   "to_timestamp($8::bigint / 1000.0) > now() - interval '6 hours'",
                   17, params);
    if (conv_uri)
        ingress_tx_named_conversation(&b, conv_uri);
    int rc = 0;
    if (ingress_tx_has_own_statements(p) &&
        (ingress_tx_send(c, tx, &b, false, err, errlen) != 0 || ingress_tx_own_statements(c, tx, err, errlen) != 0))
        rc = -1;
    if (rc == 0) {
        if (!st->conversation && !p->parent_known)
            ingress_tx_owned_conversation(&b);
        ingress_tx_mentions(&b, p);
        ingress_tx_tags(&b, p);
        /* The counters come last: every post of the author (and every reply to the
         * parent) updates the same rows, so their row locks are held only until the
         * commit. */
        ingress_tx_counts(&b, p);
        rc = ingress_tx_send(c, tx, &b, true, err, errlen);
    }
    free(b.mention_ids);
    free(b.mention_silent);
    free(b.tag_names);
    free(b.tag_displays);
    return rc;
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
    int64_t drawn = p->status_id;
    p->status_id = 0; /* not stored, unless found below */
    if (tx.invalid_poll) {
        p->n_media = 0;
        return 2;
    }
    bool found;
    int64_t id;
    if (rc == DB_TX_UNKNOWN) {
        /* The COMMIT's reply was lost: the row with the id drawn for this run says
         * whether it was written (the create lock keeps other writers away). */
        char why[512], cerr[512];
        snprintf(why, sizeof why, "%s", err);
        if (ingress_tx_find(c, p, &found, &id, author, cerr, sizeof cerr) != 0) {
            snprintf(err, errlen, "%s; checking for %s failed too: %s", why, p->st->uri, cerr);
            return 3;
        }
        if (found && id == drawn) {
            p->status_id = drawn;
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
