/* ingress_create_tx.c -- the one transaction of ActivityPub::Activity::Create: the
 * statuses row (its id drawn by the gate read in ingress_create.c), its conversation,
 * media_attachments rows (type unknown until their files are fetched), status_stats
 * with the sender's untrusted counts, the parent's replies_count, account_stats,
 * mentions (silent for audience-only accounts), hashtags, a Question's poll
 * (ingress_poll.c) and a quote (ingress_quote.c). Timestamps are UTC without zone, as
 * Rails writes them. A text post is at most two statements in one libpq pipeline
 * (db_batch), committed as its implicit transaction: a prelude that finds or creates
 * the conversation named by URI and the new hashtags, then the statuses insert with
 * everything else in data-modifying CTEs; a poll, attachments or a quote add their
 * own statements after those, inside BEGIN and COMMIT. */
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
 * status names another URI or will own a new one (both in INGRESS_STATUS_INSERT). */
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

/* Statements sent together (db_batch): none needs another's result. A text post is
 * at most two: the prelude (ingress_tx_prelude) and the statuses insert with
 * everything written after the row as data-modifying CTEs (ingress_tx_status). */
#define INGRESS_TX_MAX 2
#define INGRESS_TX_STATUS_PARAMS 18 /* $1-$18 of INGRESS_STATUS_CONVERSATION and _ROW */
#define INGRESS_TX_PARAMS (INGRESS_TX_STATUS_PARAMS + 8) /* and at most 7 of its parts */

typedef struct ingress_tx_batch {
    db_stmt stmts[INGRESS_TX_MAX];
    int n;
    int status_stmt;           /* the statuses insert's index in stmts */
    char sid[24], aid[24], pid[24], likes[24], shares[24];
    char *mention_ids, *mention_silent, *tag_names, *tag_displays;
    const char *prelude_params[3];
    /* the statuses insert: its text (its conversation's CTE, its parts', the row), its
     * parameters (its own, then its parts'), and its name from the set of parts (one
     * shape prepared per set) */
    base_buf status_sql;
    const char *status_params[INGRESS_TX_PARAMS];
    int status_n;
    unsigned parts;            /* a bit per part */
    char status_name[40];
} ingress_tx_batch;

/* params must live as long as b. */
static void ingress_tx_add(ingress_tx_batch *b, const char *name, const char *sql, int n,
                           const char *const *params)
{
    b->stmts[b->n++] = (db_stmt){name, sql, n, params};
}

/* Sends the batch (with COMMIT when `commit`); the statuses insert's RETURNING sets
 * p->realtime. A unique violation marks the status a duplicate. */
static int ingress_tx_send(db_conn *c, ingress_tx *tx, ingress_tx_batch *b, bool commit, char *err,
                           size_t errlen)
{
    PGresult *res[INGRESS_TX_MAX];
    int rc = db_batch(c, b->stmts, b->n, commit, res, err, errlen);
    if (rc != 0) {
        tx->duplicate = strcmp(db_conn_sqlstate(c), "23505") == 0;
        return rc;
    }
    tx->p->realtime = PQgetvalue(res[b->status_stmt], 0, 0)[0] == 't';
    for (int i = 0; i < b->n; i++)
        PQclear(res[i]);
    return 0;
}

/* One more parameter of the statuses insert, after its own: its number. */
static int ingress_part_param(ingress_tx_batch *b, const char *value)
{
    b->status_params[b->status_n] = value;
    return ++b->status_n;
}

/* One CTE of the statuses insert; `bit` names it in the statement's name. */
static void ingress_tx_part(ingress_tx_batch *b, unsigned bit, const char *sql)
{
    base_buf_adds(&b->status_sql, ", ");
    base_buf_adds(&b->status_sql, sql);
    b->parts |= bit;
}

/* Conversation.find_or_create_by!(uri:) and the creation half of
 * Tag.find_or_create_by_names (matched on lower(name)), as a statement of its own
 * ahead of the statuses insert: when another transaction is creating the same URI
 * or tag, this one waits for it to end, and the statuses insert, a later statement
 * with a later snapshot, then finds the row (a CTE of that insert would not). */
static void ingress_tx_prelude(ingress_tx_batch *b, const char *conv_uri)
{
    b->prelude_params[0] = conv_uri;
    b->prelude_params[1] = b->tag_names;
    b->prelude_params[2] = b->tag_displays;
    ingress_tx_add(b, "ingress_status_prelude",
                   "WITH tg AS (INSERT INTO tags (name, display_name, created_at, updated_at) SELECT t.name, "
                   "t.display_name, " DB_NOW ", " DB_NOW " FROM unnest($2::text[], $3::text[]) WITH ORDINALITY "
                   "AS t(name, display_name, o) ORDER BY t.o ON CONFLICT DO NOTHING) INSERT INTO conversations "
                   "(uri, created_at, updated_at) SELECT $1::text, " DB_NOW ", " DB_NOW " WHERE $1::text IS "
                   "NOT NULL ON CONFLICT DO NOTHING",
                   3, b->prelude_params);
}

/* Closes the two array literals built side by side; with no element they are freed
 * and false is returned. */
static bool ingress_arrays_take(base_buf *x, base_buf *y, size_t n, char **xs, char **ys)
{
    if (n == 0) {
        base_buf_free(x);
        base_buf_free(y);
        return false;
    }
    base_buf_adds(x, "}");
    base_buf_adds(y, "}");
    *xs = base_buf_take(x);
    *ys = base_buf_take(y);
    return true;
}

/* Mentions, then silent mentions of the audience not mentioned, in one insert. */
static void ingress_part_mentions(ingress_tx_batch *b, ingress_create_plan *p)
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
    if (!ingress_arrays_take(&ids, &silent, n, &b->mention_ids, &b->mention_silent))
        return;
    char sql[400];
    int a = ingress_part_param(b, b->mention_ids);
    int sl = ingress_part_param(b, b->mention_silent);
    snprintf(sql, sizeof sql, "mn AS (INSERT INTO mentions (status_id, account_id, silent, created_at, "
             "updated_at) SELECT $1::bigint, m.account_id, m.silent, " DB_NOW ", " DB_NOW " FROM "
             "unnest($%d::bigint[], $%d::boolean[]) WITH ORDINALITY AS m(account_id, silent, o) "
             "ORDER BY m.o ON CONFLICT DO NOTHING)", a, sl);
    ingress_tx_part(b, 1, sql);
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

/* The status's valid hashtags as two array literals: tags.name is the normalized form
 * (hashtag_names), display_name the tag as written. False when there is none. */
static bool ingress_tx_tag_arrays(ingress_tx_batch *b, ingress_create_plan *p)
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
    return ingress_arrays_take(&names, &displays, n, &b->tag_names, &b->tag_displays);
}

/* Tag.find_or_create_by_names, matched on lower(name): the tags created by the
 * prelude, or by another transaction it waited for, linked. */
static void ingress_part_tags(ingress_tx_batch *b)
{
    if (!b->tag_names)
        return;
    char sql[300];
    int t = ingress_part_param(b, b->tag_names);
    snprintf(sql, sizeof sql, "tl AS (INSERT INTO statuses_tags (status_id, tag_id) SELECT $1::bigint, id "
             "FROM tags WHERE lower(name) IN (SELECT lower(n) FROM unnest($%d::text[]) AS n) "
             "ON CONFLICT DO NOTHING)", t);
    ingress_tx_part(b, 2, sql);
}

/* status_stats with the sender's untrusted counts, account_stats, and the parent's
 * replies_count. */
static void ingress_part_counts(ingress_tx_batch *b, ingress_create_plan *p)
{
    const ap_status *st = p->st;
    char sql[500];
    if (st->likes_total >= 0 || st->shares_total >= 0) {
        if (st->likes_total >= 0)
            snprintf(b->likes, sizeof b->likes, "%lld", (long long)st->likes_total);
        if (st->shares_total >= 0)
            snprintf(b->shares, sizeof b->shares, "%lld", (long long)st->shares_total);
        int l = ingress_part_param(b, b->likes[0] ? b->likes : NULL);
        int r = ingress_part_param(b, b->shares[0] ? b->shares : NULL);
        snprintf(sql, sizeof sql, "ss AS (INSERT INTO status_stats (status_id, untrusted_favourites_count, "
                 "untrusted_reblogs_count, created_at, updated_at) VALUES ($1::bigint, $%d::bigint, "
                 "$%d::bigint, " DB_NOW ", " DB_NOW "))", l, r);
        ingress_tx_part(b, 4, sql);
    }
    if (p->visibility == AP_VIS_DIRECT) /* Status#increment_counter_caches skips direct */
        return;
    int a = ingress_part_param(b, b->aid);
    snprintf(sql, sizeof sql, "ac AS (INSERT INTO account_stats (account_id, statuses_count, last_status_at, "
             "created_at, updated_at) VALUES ($%d::bigint, 1, " DB_NOW ", " DB_NOW ", " DB_NOW
             ") ON CONFLICT (account_id) DO UPDATE SET statuses_count = account_stats.statuses_count + 1, "
             "last_status_at = EXCLUDED.last_status_at, updated_at = EXCLUDED.updated_at)", a);
    ingress_tx_part(b, 8, sql);
    if (p->parent_known && (p->visibility == AP_VIS_PUBLIC || p->visibility == AP_VIS_UNLISTED)) {
        ingress_id(b->pid, sizeof b->pid, p->parent_id);
        int pp = ingress_part_param(b, b->pid);
        snprintf(sql, sizeof sql, "rp AS (INSERT INTO status_stats (status_id, replies_count, created_at, "
                 "updated_at) VALUES ($%d::bigint, 1, " DB_NOW ", " DB_NOW ") ON CONFLICT (status_id) "
                 "DO UPDATE SET replies_count = status_stats.replies_count + 1, "
                 "updated_at = EXCLUDED.updated_at)", pp);
        ingress_tx_part(b, 16, sql);
    }
}

/* The statuses insert, its id drawn by the gate read (ingress_create.c): the
 * conversation it owns ($18, Status#set_conversation), the CTEs of ingress_tx_status,
 * and the row. Its conversation: the parent's or one minted here ($13), else the one
 * named by a URI not minted here ($17, found or created by the prelude), else the
 * owned one. Returns realtime: created within the last 6 hours. */
#define INGRESS_STATUS_CONVERSATION                                                                         \
    "WITH cv AS (INSERT INTO conversations (parent_status_id, parent_account_id, created_at, updated_at) "  \
    "SELECT $1::bigint, $4::bigint, " DB_NOW ", " DB_NOW " WHERE $18::boolean RETURNING id)"
#define INGRESS_STATUS_ROW                                                                                  \
    " INSERT INTO statuses (id, uri, url, account_id, text, spoiler_text, language, created_at, "          \
    "updated_at, edited_at, in_reply_to_id, in_reply_to_account_id, reply, conversation_id, sensitive, "   \
    "visibility, local, ordered_media_attachment_ids) VALUES ($1::bigint, $2, $3, $4::bigint, $5, $6, $7, " \
    "coalesce(timezone('UTC', to_timestamp($8::bigint / 1000.0)), " DB_NOW "), " DB_NOW ", "              \
    "timezone('UTC', to_timestamp($9::bigint / 1000.0)), $10::bigint, $11::bigint, $12::boolean, "        \
    "coalesce($13::bigint, (SELECT id FROM cv), (SELECT id FROM conversations WHERE $17::text IS NOT "    \
    "NULL AND uri = $17::text)), $14::boolean, $15::int, false, $16::bigint[]) "                           \
    "RETURNING $8::bigint IS NULL OR to_timestamp($8::bigint / 1000.0) > now() - interval '6 hours'"

/* The statuses insert with everything written after its row as CTEs after its
 * conversation's: mentions, hashtag links and the counters; its name says which parts
 * it has, so each shape is prepared once per connection. Row-level triggers (the
 * foreign keys' checks) run at the end of the statement, when the row is there. The
 * counters' row locks (the author's account_stats, the parent's status_stats) are
 * held to the commit, over a post's own statements too, as in Ruby's transaction. */
static void ingress_tx_status(ingress_tx_batch *b, ingress_create_plan *p, const char *const *params)
{
    for (int i = 0; i < INGRESS_TX_STATUS_PARAMS; i++)
        ingress_part_param(b, params[i]);
    base_buf_adds(&b->status_sql, INGRESS_STATUS_CONVERSATION);
    ingress_part_mentions(b, p);
    ingress_part_tags(b);
    ingress_part_counts(b, p);
    base_buf_adds(&b->status_sql, INGRESS_STATUS_ROW);
    snprintf(b->status_name, sizeof b->status_name, "ingress_status_insert_%02x", b->parts);
    b->status_stmt = b->n;
    ingress_tx_add(b, b->status_name, b->status_sql.data, b->status_n, b->status_params);
}

static int ingress_tx_media(db_conn *c, ingress_create_plan *p, char *err, size_t errlen)
{
    for (size_t i = 0; i < p->n_media; i++)
        if (ingress_media_insert(c, p->media_ids[i], p->actor->id, p->status_id, &p->st->media[i], err,
                                 errlen) != 0)
            return -1;
    return 0;
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
    bool owned = !st->conversation && !p->parent_known;
    bool tags = ingress_tx_tag_arrays(&b, p);
    const char *params[] = {b.sid, st->uri, st->url, b.aid, st->text ? st->text : "",
                            st->spoiler_text ? st->spoiler_text : "", st->language, created, edited,
                            reply_id[0] ? reply_id : NULL, reply_acc[0] ? reply_acc : NULL,
                            st->in_reply_to ? "t" : "f", convs[0] ? convs : NULL,
                            p->sensitive ? "t" : "f", vis, ordered[0] ? ordered : NULL, conv_uri,
                            owned ? "t" : "f"};
    if (conv_uri || tags)
        ingress_tx_prelude(&b, conv_uri);
    ingress_tx_status(&b, p, params);
    /* with statements of their own, those go after the batch, and COMMIT (db_tx's) after them */
    bool own = ingress_tx_has_own_statements(p);
    int rc = ingress_tx_send(c, tx, &b, !own, err, errlen);
    if (rc == 0 && own)
        rc = ingress_tx_own_statements(c, tx, err, errlen);
    base_buf_free(&b.status_sql);
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
