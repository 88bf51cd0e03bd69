/* ingress_create.c -- ActivityPub::Activity::Create for a parsed status: Mastodon's
 * gates (tombstone, relevance for deliveries, delete-before-create, existing status,
 * poll votes), the create:<uri> lock shared with Ruby workers, the custom emoji of a
 * status not stored yet (worker/emoji), then one transaction (ingress_create_tx.c) and
 * the follow-ups (ingress_followup.c).
 *
 * Crash safety: the status row and everything in the transaction exist exactly once
 * (unique uri, checked under the lock; a unique violation counts as "already there").
 * Follow-up jobs are pushed only by the run that committed the status, after the
 * commit, inside the lock, as Mastodon does: a crash between the commit and the
 * pushes loses them (Ruby has the same window), while a retried job finds the status
 * and succeeds without pushing a second DistributionWorker. Media rows are committed
 * with the status; their files are fetched afterwards and, on a transient failure,
 * left to RedownloadMediaWorker. */
#include "ingress_create.h"
#include "acct.h"
#include "emoji.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Adds ref to the set unless its id is there already. */
static void ingress_ref_add(ingress_ref **set, size_t *n, int64_t id, bool local)
{
    for (size_t i = 0; i < *n; i++)
        if ((*set)[i].id == id)
            return;
    *set = realloc(*set, sizeof **set * (*n + 1));
    (*set)[*n].id = id;
    (*set)[*n].local = local;
    (*n)++;
}

bool ingress_ref_has(const ingress_ref *set, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (set[i].id == id)
            return true;
    return false;
}

/* What the gates read, in one round trip: a tombstone for the uri, whether a local
 * account follows the author, and the parent named by inReplyTo (threading, poll
 * votes, and whether its author is local or followed here). It also draws the ids the
 * transaction will use, so that the transaction needs no reply before its COMMIT:
 * the status's (*status_id: time of arrival from timestamp_id, or from a past
 * created_at for a fetched status as Mastodon::Snowflake does) and its attachments'
 * (p->media_ids, one column each up to AP_MAX_MEDIA: a set-returning generate_series
 * would make PostgreSQL plan the statement anew for every post). An id drawn for a
 * post that is then dropped stays unused. Returns 0, -1 with err. */
static int ingress_create_gate_read(db_conn *c, ingress_create_plan *p, bool *tomb, bool *followed,
                                    bool *parent_followed, bool *poll_parent, int64_t *status_id,
                                    char *err, size_t errlen)
{
    char aid[24], published[24], nmedia[24];
    snprintf(aid, sizeof aid, "%lld", (long long)p->actor->id);
    snprintf(nmedia, sizeof nmedia, "%zu", p->st->n_media);
    const char *created = ingress_ms_param(published, sizeof published, p->st->published, p->st->published_ms);
    const char *params[] = {p->st->uri, aid, p->st->in_reply_to, p->backdate ? "t" : "f", created, nmedia};
    PGresult *res = db_exec(c, "ingress_create_gate",
                            "SELECT EXISTS (SELECT 1 FROM tombstones WHERE uri = $1), "
                            "EXISTS (SELECT 1 FROM follows WHERE target_account_id = $2::bigint), "
                            "s.id, s.account_id, coalesce(s.in_reply_to_account_id, 0), "
                            "coalesce(s.conversation_id, 0), a.domain IS NULL, s.reply, s.poll_id IS NOT NULL, "
                            "s.id IS NOT NULL AND (a.domain IS NULL OR EXISTS (SELECT 1 FROM follows "
                            "WHERE target_account_id = s.account_id)), "
                            "CASE WHEN $4::boolean AND to_timestamp($5::bigint / 1000.0) < now() THEN "
                            "((($5::bigint / 1000) * 1000 + floor(random() * 1000)::bigint) << 16) "
                            "+ floor(random() * 65536)::bigint ELSE timestamp_id('statuses') END, "
                            "CASE WHEN $6::int > 0 THEN timestamp_id('media_attachments') END, "
                            "CASE WHEN $6::int > 1 THEN timestamp_id('media_attachments') END, "
                            "CASE WHEN $6::int > 2 THEN timestamp_id('media_attachments') END, "
                            "CASE WHEN $6::int > 3 THEN timestamp_id('media_attachments') END "
                            "FROM (SELECT 1) one LEFT JOIN statuses s ON s.uri = $3 AND s.deleted_at IS NULL "
                            "LEFT JOIN accounts a ON a.id = s.account_id LIMIT 1",
                            6, params, err, errlen);
    if (!res)
        return -1;
    *status_id = strtoll(PQgetvalue(res, 0, 10), NULL, 10);
    for (size_t i = 0; i < p->st->n_media; i++)
        p->media_ids[i] = strtoll(PQgetvalue(res, 0, 11 + (int)i), NULL, 10);
    *tomb = PQgetvalue(res, 0, 0)[0] == 't';
    *followed = PQgetvalue(res, 0, 1)[0] == 't';
    *parent_followed = PQgetvalue(res, 0, 9)[0] == 't';
    *poll_parent = false;
    if (!PQgetisnull(res, 0, 2)) {
        p->parent_known = true;
        p->parent_id = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        p->parent_account_id = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
        p->parent_reply_to_account_id = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
        p->parent_conversation_id = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
        p->parent_local = PQgetvalue(res, 0, 6)[0] == 't';
        p->parent_reply = PQgetvalue(res, 0, 7)[0] == 't';
        *poll_parent = p->parent_local && PQgetvalue(res, 0, 8)[0] == 't';
    }
    PQclear(res);
    return 0;
}

/* Mentions (tag hrefs) and audience (to/cc, the personal inbox owner), as
 * process_tags and process_audience resolve them (new mentioned accounts were fetched
 * by ingress_create_resolve_mentions); mention hrefs still unknown are resolved later
 * by MentionResolveWorker. */
static int ingress_create_accounts(db_conn *c, ingress_create_plan *p, char *err, size_t errlen)
{
    const ap_status *st = p->st;
    ingress_account acc;
    p->unresolved = calloc(st->n_mentions + 1, sizeof *p->unresolved);
    for (size_t i = 0; i < st->n_mentions; i++) {
        int rc = ingress_account_resolve(c, p->s->local_domain, st->mentions[i], &acc, err, errlen);
        if (rc < 0)
            return -1;
        if (rc == 0)
            ingress_ref_add(&p->mentions, &p->n_mentions, acc.id, acc.domain[0] == '\0');
        else
            p->unresolved[p->n_unresolved++] = st->mentions[i];
    }
    for (size_t i = 0; i < st->n_audience; i++) {
        int rc = ingress_account_resolve(c, p->s->local_domain, st->audience[i], &acc, err, errlen);
        if (rc < 0)
            return -1;
        if (rc == 0)
            ingress_ref_add(&p->audience, &p->n_audience, acc.id, acc.domain[0] == '\0');
    }
    if (p->o->delivered_to_account_id > 0) {
        int rc = ingress_account_by_id(c, p->o->delivered_to_account_id, &acc, err, errlen);
        if (rc < 0)
            return -1;
        if (rc == 0)
            ingress_ref_add(&p->audience, &p->n_audience, acc.id, acc.domain[0] == '\0');
    }
    /* A silent mention (audience not mentioned) makes a direct status limited, unless
     * the sender marked it a direct message (directMessage: true). */
    for (size_t i = 0; i < p->n_audience; i++)
        if (!ingress_ref_has(p->mentions, p->n_mentions, p->audience[i].id) &&
            p->visibility == AP_VIS_DIRECT && !st->direct_message)
            p->visibility = AP_VIS_LIMITED;
    return 0;
}

/* Mastodon's related_to_local_activity? with the visibility rules of mastodon.md §3.2:
 * NULL when relevant, else the reason it is not. */
static const char *ingress_create_irrelevant(const ingress_create_plan *p, bool followed, bool parent_followed)
{
    bool addressed = p->o->delivered_to_account_id > 0;
    for (size_t i = 0; i < p->n_audience && !addressed; i++)
        addressed = p->audience[i].local;
    if (addressed)
        return NULL;
    if (p->visibility == AP_VIS_DIRECT || p->visibility == AP_VIS_LIMITED)
        return "a direct status addressing no local account";
    if (followed)
        return NULL;
    if (p->visibility == AP_VIS_PRIVATE)
        return "a followers-only status from an account no local account follows, addressing none";
    if (parent_followed)
        return NULL;
    return "no local account follows the author, is addressed, or wrote the replied-to status";
}

/* A personal-inbox delivery of a status we already have (postprocess_audience_and_deliver). */
static int ingress_create_known(q_ctx *ctx, db_conn *c, ingress_create_plan *p, char *err,
                                size_t errlen)
{
    if (p->o->delivered_to_account_id <= 0)
        return 0;
    char sid[24], aid[24], actor[24];
    snprintf(sid, sizeof sid, "%lld", (long long)p->status_id);
    snprintf(aid, sizeof aid, "%lld", (long long)p->o->delivered_to_account_id);
    snprintf(actor, sizeof actor, "%lld", (long long)p->actor->id);
    const char *params[] = {sid, aid, actor};
    PGresult *res = db_exec(c, "ingress_create_known_mention",
                            "WITH m AS (INSERT INTO mentions (status_id, account_id, silent, created_at, "
                            "updated_at) SELECT $1::bigint, $2::bigint, true, now(), now() "
                            "WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $2::bigint) "
                            "ON CONFLICT DO NOTHING RETURNING 1), "
                            "v AS (UPDATE statuses SET visibility = 4 WHERE id = $1::bigint AND visibility = 3 "
                            "AND EXISTS (SELECT 1 FROM m) RETURNING 1) "
                            "SELECT (SELECT count(*) FROM m), EXISTS (SELECT 1 FROM follows "
                            "WHERE account_id = $2::bigint AND target_account_id = $3::bigint)",
                            3, params, err, errlen);
    if (!res)
        return -1;
    bool added = PQgetvalue(res, 0, 0)[0] != '0', follows = PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    if (added && follows) {
        char args[96];
        snprintf(args, sizeof args, "[%s,%s,\"home\"]", sid, aid);
        ingress_push(ctx, "FeedInsertWorker", "default", "true", args, 0);
    }
    return 0;
}

/* "scotty:created:<uri>" holds the jid of the job storing that status until the job's
 * outcome, with the follow-up jobs, is written (q_ctx_outcome_del). A process killed
 * in between leaves it: the recovered job, finding the status stored, knows by its own
 * jid that the follow-ups were never written and writes them. */
#define INGRESS_CREATED_TTL_S (3 * 24 * 3600)

static char *ingress_created_key(const char *uri)
{
    base_buf b;
    base_buf_init(&b);
    base_buf_adds(&b, "scotty:created:");
    base_buf_adds(&b, uri);
    return base_buf_take(&b);
}

/* Sets the marker to this job's jid (under the create lock) and returns the jid it
 * held before in *prev (malloc'd, NULL if none). */
static int ingress_created_mark(q_ctx *ctx, const char *key, char **prev, char *err, size_t errlen)
{
    *prev = NULL;
    if (!q_ctx_jid(ctx)[0])
        return 0; /* a job without a jid cannot recognise itself: no marker */
    q_conn *c = q_ctx_redis(ctx);
    redisReply *r = q_conn_ensure(c) == 0 ? q_conn_cmd(c, "SET %s %s EX %d GET", key, q_ctx_jid(ctx),
                                                        INGRESS_CREATED_TTL_S)
                                          : NULL;
    int rc = r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_NIL) ? 0 : -1;
    *prev = rc == 0 && r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
    if (rc != 0)
        snprintf(err, errlen, "Redis: marking %s as being stored: %s", key,
                 r && r->type == REDIS_REPLY_ERROR ? r->str : q_conn_error(c));
    q_reply_free(r);
    return rc;
}

/* The status was not stored by this run: the marker goes back to what it was. Another
 * job's (one that stored the status and died) stays for that job's rerun. When this job
 * is retried (`retried`), its own marker stays, from an earlier run or when this run's
 * commit may have been written (`maybe`): the retry that finds the status then knows
 * the follow-ups are its to write. */
static void ingress_created_restore(q_ctx *ctx, const char *key, const char *prev, bool retried, bool maybe)
{
    bool own = prev && strcmp(prev, q_ctx_jid(ctx)) == 0;
    if (retried && (own || (maybe && !prev)))
        return;
    if (!prev || own) {
        q_ctx_outcome_del(ctx, key);
        return;
    }
    redisReply *r = q_conn_cmd(q_ctx_redis(ctx), "SET %s %s KEEPTTL", key, prev);
    if (!r || r->type != REDIS_REPLY_STATUS)
        base_log(BASE_LOG_WARN, "ingress: could not restore %s to job %s: %s; that job's follow-ups may "
              "not be written if it was interrupted", key, prev,
              r && r->type == REDIS_REPLY_ERROR ? r->str : q_conn_error(q_ctx_redis(ctx)));
    q_reply_free(r);
}

/* The stored status's attachments, for follow-ups written by a later run. */
static int ingress_created_media(db_conn *c, ingress_create_plan *p, char *err, size_t errlen)
{
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", (long long)p->status_id);
    const char *params[] = {sid};
    PGresult *res = db_exec_idempotent(c, "ingress_created_media",
                                       "SELECT unnest(ordered_media_attachment_ids) FROM statuses "
                                       "WHERE id = $1::bigint", 1, params, err, errlen);
    if (!res)
        return -1;
    size_t n = (size_t)PQntuples(res);
    p->n_media = n == p->st->n_media ? n : 0; /* each id's mediaType comes from st->media */
    for (size_t i = 0; i < p->n_media; i++)
        p->media_ids[i] = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
    PQclear(res);
    return 0;
}

static void ingress_create_plan_free(ingress_create_plan *p)
{
    free(p->mentions);
    free(p->audience);
    free(p->unresolved);
}

/* process_tags' process_emoji, under the create lock before the transaction, for a
 * status not stored yet (Mastodon runs it only in process_status). */
static int ingress_create_emoji(db_conn **c, ingress_create_plan *p, char *err, size_t errlen)
{
    const ap_status *st = p->st;
    if (!st->emoji)
        return 0;
    const char *params[] = {st->uri};
    PGresult *res = db_exec_idempotent(*c, "ingress_create_exists", "SELECT 1 FROM statuses WHERE uri = $1", 1,
                                       params, err, errlen);
    if (!res)
        return -1;
    bool exists = PQntuples(res) > 0;
    PQclear(res);
    return exists ? 0 : emoji_process(p->s, c, p->actor->domain, st->emoji, true, st->uri, err, errlen);
}

/* The gate read and what it answers, run while the create lock's step is on its way
 * (ingress_lock_also.meanwhile): it needs PostgreSQL only. */
typedef struct ingress_gate {
    db_conn *c;
    ingress_create_plan *p;
    bool tomb, followed, parent_followed, poll_parent;
    int64_t reserved;
    int rc;
    char *err;
    size_t errlen;
} ingress_gate;

static void ingress_create_gate(void *arg)
{
    ingress_gate *g = arg;
    g->rc = ingress_create_gate_read(g->c, g->p, &g->tomb, &g->followed, &g->parent_followed,
                                     &g->poll_parent, &g->reserved, g->err, g->errlen);
}

/* What the gates say of a post, with the create lock held: INGRESS_STORED to go on. */
static ingress_outcome ingress_create_gates(ingress_create_plan *p, const ingress_gate *g,
                                            const ingress_lock_also *also, char *err, size_t errlen)
{
    const ap_status *st = p->st;
    if (g->rc != 0)
        return INGRESS_FAILED;
    if (g->tomb) {
        snprintf(err, errlen, "%s was deleted (a tombstone exists)", st->uri);
        return INGRESS_DROPPED;
    }
    if (g->poll_parent && p->o->named_object) {
        snprintf(err, errlen, "a named reply to a local poll (a poll vote)");
        return INGRESS_UNHANDLED;
    }
    if (ingress_create_accounts(g->c, p, err, errlen) != 0)
        return INGRESS_FAILED;
    const char *why = p->o->delivery ? ingress_create_irrelevant(p, g->followed, g->parent_followed) : NULL;
    if (why) {
        /* relayed: Mastodon also asks about the relaying actor (followed here, or an
         * enabled relay), which scotty does not: Ruby decides */
        snprintf(err, errlen, "not relevant here%s: %s", p->o->relayed ? " unless for its relaying actor" : "", why);
        return p->o->relayed ? INGRESS_UNHANDLED : INGRESS_DROPPED;
    }
    if (also->exists) {
        snprintf(err, errlen, "a Delete of %s arrived first", st->uri);
        return INGRESS_DROPPED;
    }
    return INGRESS_STORED;
}

/* The gates and the transaction, with *cp held (the emoji downloads give it back to
 * the pool meanwhile, so it may be another connection after them). The create:<uri>
 * lock is taken here, its step overlapping the gate read, and left held in *lock for
 * the follow-ups; unlike Mastodon's, also for a post the gates then drop. */
static ingress_outcome ingress_create_run(q_ctx *ctx, db_conn **cp, ingress_create_plan *p,
                                          ingress_lock *lock, char *err, size_t errlen)
{
    db_conn *c = *cp;
    const ap_status *st = p->st;
    ingress_gate g = {.c = c, .p = p, .rc = -1, .err = err, .errlen = errlen};
    /* delete_upon_arrival is read, and on the Sidekiq Redis the marker set, in the step
     * that takes the lock */
    char key[1200];
    snprintf(key, sizeof key, "delete_upon_arrival:%lld:%s", (long long)p->actor->id, st->uri);
    char *created = ingress_created_key(st->uri), *prev = NULL;
    bool marked = ingress_app_redis(ctx) == q_ctx_redis(ctx) && q_ctx_jid(ctx)[0];
    ingress_lock_also also = {.exists_key = key, .set_key = marked ? created : NULL,
                              .set_value = q_ctx_jid(ctx), .set_ttl_s = INGRESS_CREATED_TTL_S,
                              .meanwhile = ingress_create_gate, .meanwhile_arg = &g};
    if (ingress_lock_or_retry_also(ctx, "create", st->uri, &also, lock, err, errlen) != 0) {
        free(created);
        return INGRESS_FAILED;
    }
    prev = also.set_prev;
    ingress_outcome out = ingress_create_gates(p, &g, &also, err, errlen);
    if (out == INGRESS_STORED && ingress_create_emoji(cp, p, err, errlen) != 0)
        out = INGRESS_FAILED;
    c = *cp;
    if (out == INGRESS_STORED && !marked) {
        marked = ingress_created_mark(ctx, created, &prev, err, errlen) == 0;
        if (!marked)
            out = INGRESS_FAILED;
    }
    if (out != INGRESS_STORED && marked) /* nothing stored: the marker goes back */
        ingress_created_restore(ctx, created, prev, out == INGRESS_FAILED, false);
    if (out == INGRESS_STORED) {
        /* an existing status shows as the unique uri refusing the insert */
        int64_t author = 0;
        p->status_id = g.reserved;
        int rc = ingress_create_tx(c, p, &author, err, errlen);
        if (rc == 2) {
            /* ProcessingWorker rescues RecordInvalid: the job is done */
            out = INGRESS_DROPPED;
            rc = 0;
        } else if (rc == 1 && author != p->actor->id) {
            snprintf(err, errlen, "%s belongs to another account (authorship change refused)",
                     st->uri);
            out = INGRESS_DROPPED;
        } else if (rc == 1 && prev && strcmp(prev, q_ctx_jid(ctx)) == 0) {
            base_log(BASE_LOG_WARN, "ingress: %s was stored by an earlier run of this job that ended "
                  "before its follow-up jobs were written; writing them now", st->uri);
            rc = ingress_created_media(c, p, err, errlen);
            p->created = rc == 0;
        } else if (rc == 1) {
            rc = ingress_create_known(ctx, c, p, err, errlen);
        }
        bool maybe = rc == 3;
        if (rc < 0 || maybe)
            out = INGRESS_FAILED;
        if (p->created)
            q_ctx_outcome_del(ctx, created);
        else
            ingress_created_restore(ctx, created, prev, out == INGRESS_FAILED, maybe);
    }
    free(prev);
    free(created);
    return out;
}

/* An attachment or thumbnail URL naming a refused address literally (the cloud
 * metadata service, a private network) marks the whole document as an SSRF probe:
 * scotty drops it before writing anything. Host names are checked when fetched. */
static bool ingress_create_blocked_media(services *s, const ap_status *st, char *err, size_t errlen)
{
    for (size_t i = 0; i < st->n_media; i++) {
        const char *urls[] = {st->media[i].remote_url, st->media[i].thumbnail_remote_url};
        for (size_t k = 0; k < 2; k++) {
            char why[256];
            if (urls[k] && http_client_refuses_literal(s->http, urls[k], why, sizeof why)) {
                snprintf(err, errlen, "attachment %s points at a blocked address (%s)", urls[k], why);
                return true;
            }
        }
    }
    return false;
}

/* process_mention's FetchRemoteAccountService for mentioned accounts not known yet,
 * before a pooled connection is held (resolving takes its own). One that cannot be
 * resolved now stays unresolved: MentionResolveWorker retries it later, as Mastodon
 * does after a connection error. */
static void ingress_create_resolve_mentions(q_ctx *ctx, services *s, const ap_status *st,
                                            const ingress_create_opts *o)
{
    for (size_t i = 0; i < st->n_mentions; i++) {
        ingress_account acc;
        char why[Q_ERRLEN];
        if (acct_find_or_fetch(ctx, s, st->mentions[i], o->request_id, &acc, why, sizeof why) != ACCT_RESOLVED)
            base_log(BASE_LOG_INFO, "ingress: mention %s of %s not resolved: %s", st->mentions[i], st->uri, why);
    }
}

ingress_outcome ingress_create_status(q_ctx *ctx, services *s, const ingress_account *actor,
                                      const ap_status *st, const ingress_create_opts *o,
                                      int64_t *status_id, char *err, size_t errlen)
{
    if (!s->db) {
        snprintf(err, errlen, "no database: %s", s->db_missing);
        return INGRESS_FAILED;
    }
    /* a fetched or boosted object, not only a delivered Create (ingress_activity_unhandled) */
    const char *unread = ingress_status_unhandled(st);
    if (!unread)
        unread = st->policy_unread;
    if (unread) {
        snprintf(err, errlen, "%s", unread);
        return INGRESS_UNHANDLED;
    }
    if (ingress_create_blocked_media(s, st, err, errlen))
        return INGRESS_DROPPED;
    if (st->emoji && st->emoji->n && !emoji_can_store(s)) {
        snprintf(err, errlen, "custom emoji need %s", !s->media ? "the media child" : "object storage");
        return INGRESS_UNHANDLED;
    }
    if (st->poll.note)
        base_log(BASE_LOG_INFO, "ingress: poll of %s: %s", st->uri, st->poll.note);
    ingress_create_plan p;
    memset(&p, 0, sizeof p);
    p.s = s;
    p.actor = actor;
    p.st = st;
    p.o = o;
    p.visibility = st->visibility;
    p.sensitive = st->sensitive || actor->sensitized;
    p.backdate = !o->delivery && st->published != NULL;
    ingress_create_resolve_mentions(ctx, s, st, o);
    ingress_lock lock;
    memset(&lock, 0, sizeof lock);
    db_conn *c = db_pool_acquire(s->db);
    ingress_outcome out = ingress_create_run(ctx, &c, &p, &lock, err, errlen);
    /* The connection goes back first: inline attachments take one of their own. */
    db_pool_release(s->db, c);
    if (out == INGRESS_STORED && p.created)
        ingress_create_followups(ctx, &p);
    if (o->unlock_with_outcome)
        ingress_lock_release_with_outcome(ctx, &lock);
    else
        ingress_lock_release(ctx, &lock);
    if (status_id)
        *status_id = p.status_id;
    ingress_create_plan_free(&p);
    return out;
}

ingress_outcome ingress_create(q_ctx *ctx, services *s, const ingress_account *actor,
                               const ap_activity *a, const ingress_create_opts *o, char *err,
                               size_t errlen)
{
    int64_t id = 0;
    ingress_create_opts opts = *o;
    json_t *obj = json_object_get(a->root, "object");
    opts.named_object = json_is_string(json_object_get(obj, "name"));
    opts.root = a->root;
    opts.unlock_with_outcome = true; /* the job ends with this */
    return ingress_create_status(ctx, s, actor, a->status, &opts, &id, err, errlen);
}
