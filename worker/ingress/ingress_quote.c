/* ingress_quote.c -- quote posts (FEP-044f `quote`, Misskey's `_misskey_quote`,
 * `quoteUrl`, `quoteUri`) as ActivityPub::Activity::Create#process_quote and
 * #fetch_and_verify_quote, ActivityPub::VerifyQuoteService and the Quote model do:
 * the quotes row starts pending (deleted for a Tombstone), the quoted status is
 * looked up or fetched, a self-quote is accepted, and a QuoteAuthorization whose
 * attributedTo is on the approval's host, whose interactingObject is this status and
 * whose interactionTarget and attributedTo are the quoted status and its author
 * accepts it. A gone approval rejects it; anything else leaves it pending. Accepting
 * a non-legacy quote counts it in the quoted status's quotes_count (and a state
 * change away from accepted takes it back, as Quote#update_counter_caches! does). */
#include "ingress_quote.h"
#include "ingress_fetch.h"
#include "ap_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


enum { QUOTE_PENDING, QUOTE_ACCEPTED, QUOTE_REJECTED, QUOTE_REVOKED, QUOTE_DELETED };

/* Whether the database has Mastodon 4.5's quote schema (the quotes table, with
 * statuses.quote_approval_policy, status_stats.quotes_count and status_edits.quote_id
 * from the same release). Without it, as Mastodon before 4.5, quotes are not kept. */
static int quote_schema(db_conn *c, bool *has, char *err, size_t errlen)
{
    return db_table_exists(c, "quotes", has, err, errlen);
}

/* The quoted status as Quote#quoted_status and #quoted_account see it. */
typedef struct quote_target {
    bool found;
    int64_t id, account_id;
    bool account_local, distributable, reblog;
    char uri[1024], account_uri[1024];
} quote_target;

typedef struct quote_run {
    q_ctx *ctx;
    services *s;
    int64_t quote_id, status_id, account_id;
    const char *status_uri, *account_uri; /* the quoting status and its author */
    const char *quoted_uri;  /* fetchable_quoted_uri, or NULL */
    const char *request_id;
    int depth;              /* the quoting status's FetchRemoteStatusService depth */
    int64_t quoted_status_id; /* already on the row (the refetch worker), or 0 */
    const char *approval;   /* the approval URI, NULL when blank, not http or local */
    quote_target t;
    bool unsaved;           /* the quoted status fails Quote's validations: no write sticks */
    bool changed;           /* the state changed (state_previously_changed?) */
    db_conn *c;             /* a connection the caller holds, or NULL: one from the pool */
} quote_run;

int ingress_quote_row_insert(db_conn *c, int64_t status_id, int64_t account_id, bool legacy, bool deleted,
                             int64_t *id, char *err, size_t errlen)
{
    char sid[24], aid[24], state[4];
    snprintf(sid, sizeof sid, "%lld", (long long)status_id);
    snprintf(aid, sizeof aid, "%lld", (long long)account_id);
    snprintf(state, sizeof state, "%d", deleted ? QUOTE_DELETED : QUOTE_PENDING);
    const char *params[] = {sid, aid, legacy ? "t" : "f", state};
    PGresult *res = db_exec(c, "ingress_quote_insert",
                            "INSERT INTO quotes (id, status_id, account_id, legacy, state, created_at, "
                            "updated_at) VALUES (timestamp_id('quotes'), $1::bigint, $2::bigint, $3::boolean, "
                            "$4::int, " DB_NOW ", " DB_NOW ") RETURNING id",
                            4, params, err, errlen);
    if (!res)
        return -1;
    if (id)
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

int ingress_quote_insert(db_conn *c, const ingress_create_plan *p, char *err, size_t errlen)
{
    const ap_status *st = p->st;
    bool has = false;
    if (!st->quote_uri)
        return 0;
    if (quote_schema(c, &has, err, errlen) != 0)
        return -1;
    if (!has)
        return 0;
    return ingress_quote_row_insert(c, p->status_id, p->actor->id, st->quote_legacy, st->quote_deleted, NULL, err,
                                    errlen);
}

int ingress_quote_policy_write(db_conn *c, int64_t status_id, const ingress_account *actor, const ap_status *st,
                               bool write_zero, char *err, size_t errlen)
{
    int policy = 0;
    bool has = false;
    if (quote_schema(c, &has, err, errlen) != 0)
        return -1;
    if (!has)
        return 0;
    if (st->can_quote) {
        char aid[24];
        snprintf(aid, sizeof aid, "%lld", (long long)actor->id);
        const char *params[] = {aid};
        PGresult *res = db_exec(c, "ingress_quote_policy_actor",
                                "SELECT coalesce(followers_url, ''), coalesce(following_url, '') FROM accounts "
                                "WHERE id = $1::bigint",
                                1, params, err, errlen);
        if (!res)
            return -1;
        if (PQntuples(res))
            policy = ap_quote_policy(st->can_quote, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), actor->uri);
        PQclear(res);
    }
    if (!policy && !write_zero)
        return 0;
    char sid[24], flags[24];
    snprintf(sid, sizeof sid, "%lld", (long long)status_id);
    snprintf(flags, sizeof flags, "%d", policy);
    const char *up[] = {sid, flags};
    return db_run_params(c, "ingress_quote_policy_set",
                         "UPDATE statuses SET quote_approval_policy = $2::int WHERE id = $1::bigint", 2, up, err,
                         errlen);
}

/* The status whose uri is `uri` (uri_to_resource), with its author. */
static int quote_lookup(services *s, const char *uri, int64_t id, quote_target *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    db_conn *c = db_pool_acquire(s->db);
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const char *params[] = {uri, id ? ids : NULL};
    PGresult *res = db_exec_idempotent(c, "ingress_quote_target",
                                       "SELECT s.id, s.account_id, a.domain IS NULL, s.visibility IN (0, 1), "
                                       "s.reblog_of_id IS NOT NULL, s.uri, coalesce(a.uri, '') FROM statuses s "
                                       "JOIN accounts a ON a.id = s.account_id WHERE (s.uri = $1 OR "
                                       "s.id = $2::bigint) AND s.deleted_at IS NULL",
                                       2, params, err, errlen);
    db_pool_release(s->db, c);
    if (!res)
        return -1;
    if (PQntuples(res) > 0) {
        t->found = true;
        t->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        t->account_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        t->account_local = PQgetvalue(res, 0, 2)[0] == 't';
        t->distributable = PQgetvalue(res, 0, 3)[0] == 't';
        t->reblog = PQgetvalue(res, 0, 4)[0] == 't';
        snprintf(t->uri, sizeof t->uri, "%s", PQgetvalue(res, 0, 5));
        snprintf(t->account_uri, sizeof t->account_uri, "%s", PQgetvalue(res, 0, 6));
    }
    PQclear(res);
    return 0;
}

/* One UPDATE of the quotes row with the quotes_count change it implies, in one
 * transaction. sql returns (old state, new state, legacy, quoted_status_id). */
typedef struct quote_write {
    const char *name, *sql;
    const char *params[4];
    int n;
    int old_state, new_state;
} quote_write;

int ingress_quote_count_add(db_conn *c, const char *quoted_status_id, int delta, char *err, size_t errlen)
{
    const char *params[] = {quoted_status_id, delta > 0 ? "1" : "-1"};
    return db_run_params(c, "ingress_quote_count",
                         "INSERT INTO status_stats (status_id, quotes_count, created_at, updated_at) VALUES "
                         "($1::bigint, greatest($2::bigint, 0), " DB_NOW ", " DB_NOW ") "
                         "ON CONFLICT (status_id) DO UPDATE SET quotes_count = "
                         "greatest(status_stats.quotes_count + $2::bigint, 0), updated_at = EXCLUDED.updated_at",
                         2, params, err, errlen);
}

static int quote_write_body(db_conn *c, void *user, char *err, size_t errlen)
{
    quote_write *w = user;
    PGresult *res = db_exec(c, w->name, w->sql, w->n, w->params, err, errlen);
    if (!res)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 0;
    }
    w->old_state = atoi(PQgetvalue(res, 0, 0));
    w->new_state = atoi(PQgetvalue(res, 0, 1));
    bool legacy = PQgetvalue(res, 0, 2)[0] == 't';
    char quoted[24];
    snprintf(quoted, sizeof quoted, "%s", PQgetvalue(res, 0, 3));
    PQclear(res);
    if (legacy || w->old_state == w->new_state || !quoted[0])
        return 0;
    return ingress_quote_count_add(c, quoted, w->new_state == QUOTE_ACCEPTED ? 1 : -1, err, errlen);
}

static void quote_write_run(quote_run *r, quote_write *w, const char *what)
{
    char qid[24], err[Q_ERRLEN];
    snprintf(qid, sizeof qid, "%lld", (long long)r->quote_id);
    w->params[0] = qid;
    w->old_state = w->new_state = -1;
    db_conn *c = r->c ? r->c : db_pool_acquire(r->s->db);
    int rc = db_tx(c, quote_write_body, w, err, sizeof err);
    if (!r->c)
        db_pool_release(r->s->db, c);
    r->changed |= rc == 0 && w->old_state != w->new_state;
    if (rc != 0)
        base_log(BASE_LOG_ERROR, "ingress: quote %lld of %s: %s failed: %s", (long long)r->quote_id,
                 r->status_uri, what, err);
}

/* Quote#update(quoted_status:): refused (nothing saved) for a boost, or a status of
 * another author that is not public or unlisted (visibility_mismatch). */
static void quote_set_target(quote_run *r)
{
    const quote_target *t = &r->t;
    if (t->reblog) {
        r->t.found = false; /* fetch_quoted_post_if_needed! keeps no boost */
        return;
    }
    if (t->account_id != r->account_id && !t->distributable) {
        r->unsaved = true;
        base_log(BASE_LOG_WARN, "ingress: quote of %s by %s: %s is not public or unlisted "
                 "(visibility_mismatch); the quote stays pending with no quoted status",
                 r->status_uri, r->account_uri, t->uri);
        return;
    }
    char sid[24], aid[24];
    snprintf(sid, sizeof sid, "%lld", (long long)t->id);
    snprintf(aid, sizeof aid, "%lld", (long long)t->account_id);
    quote_write w = {.name = "ingress_quote_target_set",
                     .sql = "UPDATE quotes q SET quoted_status_id = $2::bigint, quoted_account_id = $3::bigint, "
                            "updated_at = " DB_NOW " FROM quotes o WHERE o.id = q.id AND q.id = $1::bigint "
                            "RETURNING o.state, q.state, q.legacy, ''",
                     .params = {NULL, sid, aid}, .n = 3};
    quote_write_run(r, &w, "setting the quoted status");
}

/* Quote#accept!(approval_uri:) */
static void quote_accept(quote_run *r, const char *approval)
{
    if (r->unsaved)
        return;
    quote_write w = {.name = "ingress_quote_accept",
                     .sql = "UPDATE quotes q SET state = 1, approval_uri = coalesce($2, q.approval_uri), "
                            "updated_at = " DB_NOW " FROM quotes o WHERE o.id = q.id AND q.id = $1::bigint "
                            "RETURNING o.state, q.state, q.legacy, coalesce(q.quoted_status_id::text, '')",
                     .params = {NULL, approval}, .n = 2};
    quote_write_run(r, &w, "accepting");
    base_log(BASE_LOG_INFO, "ingress: quote of %s by %s accepted%s%s", r->t.uri, r->status_uri,
             approval ? " by " : " (a self-quote)", approval ? approval : "");
}

/* Quote#reject!: an accepted quote is revoked, any other but a revoked one rejected. */
static void quote_reject(quote_run *r)
{
    if (r->unsaved)
        return;
    quote_write w = {.name = "ingress_quote_reject",
                     .sql = "UPDATE quotes q SET state = CASE WHEN q.state = 1 THEN 3 ELSE 2 END, "
                            "approval_uri = NULL, updated_at = " DB_NOW " FROM quotes o WHERE o.id = q.id "
                            "AND q.id = $1::bigint AND q.state <> 3 "
                            "RETURNING o.state, q.state, q.legacy, coalesce(q.quoted_status_id::text, '')",
                     .n = 1};
    quote_write_run(r, &w, "rejecting");
}

/* ActivityPub::RefetchAndVerifyQuoteWorker.perform_in(rand(PROCESSING_DELAY), ...) */
static void quote_schedule_refetch(quote_run *r, const char *why)
{
    const char *quoted = r->quoted_uri;
    base_buf b;
    base_buf_init(&b);
    base_buf_addf(&b, "[%lld,", (long long)r->quote_id);
    base_json_string(&b, quoted, strlen(quoted));
    base_buf_adds(&b, ",{\"request_id\":");
    if (r->request_id)
        base_json_string(&b, r->request_id, strlen(r->request_id));
    else
        base_buf_adds(&b, "null");
    base_buf_adds(&b, ",\"approval_uri\":");
    if (r->approval)
        base_json_string(&b, r->approval, strlen(r->approval));
    else
        base_buf_adds(&b, "null");
    base_buf_adds(&b, "}]");
    base_log(BASE_LOG_INFO, "ingress: quote of %s by %s verified later: %s", quoted, r->status_uri, why);
    ingress_push(r->ctx, "ActivityPub::RefetchAndVerifyQuoteWorker", "pull", "5", b.data,
                 (double)ingress_rand_between(30, 600));
    base_buf_free(&b);
}

/* VerifyQuoteService::MAX_SYNCHRONOUS_DEPTH */
#define QUOTE_MAX_SYNCHRONOUS_DEPTH 2

/* fetch_quoted_post_if_needed!: 0 found or given up, -1 transient (*why set), 1 only
 * Ruby can fetch it (an author or an object scotty cannot store). A quoted quote post
 * is stored with its own quote, verified in turn one level deeper; past
 * MAX_SYNCHRONOUS_DEPTH an unknown quoted post is not fetched
 * (RecursionLimitExceededError, a fetching error like a transient one). */
static int quote_fetch_target(quote_run *r, char *why, size_t whylen)
{
    services *s = r->s;
    const char *uri = r->quoted_uri;
    if (r->quoted_status_id) /* @quote.quoted_status.present?: nothing to fetch or set */
        return quote_lookup(s, NULL, r->quoted_status_id, &r->t, why, whylen);
    if (!uri)
        return 0;
    if (quote_lookup(s, uri, 0, &r->t, why, whylen) != 0)
        return -1;
    if (!r->t.found && r->depth > QUOTE_MAX_SYNCHRONOUS_DEPTH) {
        snprintf(why, whylen, "%s is %d quoted posts deep (VerifyQuoteService::MAX_SYNCHRONOUS_DEPTH %d)", uri,
                 r->depth, QUOTE_MAX_SYNCHRONOUS_DEPTH);
        base_log(BASE_LOG_INFO, "ingress: quoted %s of %s not fetched: %s", uri, r->status_uri, why);
        return -1;
    }
    if (!r->t.found) {
        int64_t id = 0;
        bool created = false;
        ingress_outcome out = ingress_fetch_status_at(r->ctx, s, uri, NULL, r->request_id, r->depth + 1, &id,
                                                      &created, why, whylen);
        if (out == INGRESS_FAILED)
            return -1;
        if (out == INGRESS_UNHANDLED)
            return 1;
        if (out == INGRESS_STORED && quote_lookup(s, uri, 0, &r->t, why, whylen) != 0)
            return -1;
        if (out == INGRESS_DROPPED)
            base_log(BASE_LOG_INFO, "ingress: quoted %s of %s not fetched: %s", uri, r->status_uri, why);
    }
    if (r->t.found)
        quote_set_target(r);
    return 0;
}

/* Why the approval document does not authorize this quote, or NULL. */
static const char *quote_approval_mismatch(const quote_run *r, const json_t *doc)
{
    const char *by = ap_id_of(json_is_array(json_object_get(doc, "attributedTo"))
                                  ? json_array_get(json_object_get(doc, "attributedTo"), 0)
                                  : json_object_get(doc, "attributedTo"));
    if (!by || !ap_same_host(r->approval, by))
        return "its attributedTo is not on the approval's host";
    if (!ingress_supported_context(doc) || !ap_equals_or_includes(json_object_get(doc, "type"), "QuoteAuthorization"))
        return "it is not a QuoteAuthorization";
    const char *obj = ap_id_of(json_object_get(doc, "interactingObject"));
    if (!obj || strcmp(obj, r->status_uri) != 0)
        return "its interactingObject is not this status";
    return NULL;
}

static const char *quote_target_mismatch(const quote_run *r, const json_t *doc)
{
    const char *target = ap_id_of(json_object_get(doc, "interactionTarget"));
    if (!target || strcmp(target, r->t.uri) != 0)
        return "its interactionTarget is not the quoted status";
    const char *by = ap_id_of(json_object_get(doc, "attributedTo"));
    if (!by || strcmp(by, r->t.account_uri) != 0)
        return "its attributedTo is not the quoted status's author";
    return NULL;
}

static int64_t quote_row_id(services *s, int64_t status_id)
{
    char sid[24], err[Q_ERRLEN];
    snprintf(sid, sizeof sid, "%lld", (long long)status_id);
    const char *params[] = {sid};
    int64_t id = 0;
    bool has = false;
    db_conn *c = db_pool_acquire(s->db);
    int rc = quote_schema(c, &has, err, sizeof err);
    PGresult *res = NULL;
    if (rc == 0 && has)
        res = db_exec_idempotent(c, "ingress_quote_id", "SELECT id FROM quotes WHERE status_id = $1::bigint", 1,
                                 params, err, sizeof err);
    db_pool_release(s->db, c);
    if (rc != 0 || (has && !res))
        base_log(BASE_LOG_ERROR, "ingress: the quote of %lld: %s", (long long)status_id, err);
    if (res && PQntuples(res))
        id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return id;
}

/* The approval URI Create keeps: blank, not http, or on this server (local_url?) is none. */
static const char *quote_approval_of(services *s, const char *approval)
{
    char local[300];
    snprintf(local, sizeof local, "https://%s/", s->local_domain);
    if (!approval || !approval[0] || !ap_is_http(approval) || (s->local_domain[0] && ap_same_host(approval, local)))
        return NULL;
    return approval;
}

static const char *quote_name(const quote_run *r)
{
    return r->quoted_uri ? r->quoted_uri : r->t.found ? r->t.uri : "(no quoted URI)";
}

/* ActivityPub::VerifyQuoteService#call. Returns 0 when done (accepted, rejected or
 * left pending), -1 when Mastodon would raise (a transient failure; why says it), 1
 * when only Ruby can fetch the quoted status (why says why). */
static int quote_check(quote_run *r, char *why, size_t whylen)
{
    int fetched = quote_fetch_target(r, why, whylen);
    if (fetched == 1)
        return 1;
    if (r->t.found && r->t.account_local) /* QuoteRequest and the local author decide */
        return 0;
    if (r->t.found && r->t.account_id == r->account_id)
        quote_accept(r, NULL);
    if (!r->approval)
        return 0;
    json_t *doc = NULL;
    char ferr[Q_ERRLEN];
    int rc = ingress_fetch_object(r->s, r->approval, NULL, &doc, ferr, sizeof ferr);
    if (rc < 0) {
        snprintf(why, whylen, "%s", ferr);
        return -1;
    }
    if (rc > 0) {
        base_log(BASE_LOG_INFO, "ingress: quote of %s by %s rejected: approval %s: %s", quote_name(r),
                 r->status_uri, r->approval, ferr);
        quote_reject(r);
        return 0;
    }
    const char *bad = quote_approval_mismatch(r, doc);
    /* "raise @fetching_error if @quote.status.nil?" in Mastodon tests the quoting
     * status, which is never nil, so Ruby leaves such a quote pending with no retry;
     * scotty raises as the comment above that line intends: the refetch accepts it. */
    if (!bad && !r->t.found && fetched < 0) {
        json_decref(doc);
        return -1;
    }
    if (!bad && !r->t.found)
        bad = "the quoted status is not known";
    if (!bad)
        bad = quote_target_mismatch(r, doc);
    if (bad)
        base_log(BASE_LOG_WARN, "ingress: quote of %s by %s not accepted: approval %s refused: %s",
                 quote_name(r), r->status_uri, r->approval, bad);
    else if (r->unsaved)
        base_log(BASE_LOG_WARN, "ingress: quote of %s by %s not accepted: the quoted status is not "
                 "public or unlisted (Quote's visibility_mismatch refuses the save)", quote_name(r), r->status_uri);
    else
        quote_accept(r, r->approval);
    json_decref(doc);
    return 0;
}

void ingress_quote_verify(q_ctx *ctx, ingress_create_plan *p)
{
    const ap_status *st = p->st;
    if (!st->quote_uri || !p->created)
        return;
    quote_run r = {.ctx = ctx, .s = p->s, .quote_id = quote_row_id(p->s, p->status_id), .status_id = p->status_id,
                   .account_id = p->actor->id, .status_uri = st->uri, .account_uri = p->actor->uri,
                   .quoted_uri = st->quote_uri, .request_id = p->o->request_id, .depth = p->o->depth,
                   .approval = quote_approval_of(p->s, st->quote_approval_uri)};
    if (!r.quote_id)
        return;
    char why[Q_ERRLEN] = "";
    if (quote_check(&r, why, sizeof why) != 0) /* Ruby's worker, or scotty's, tries again */
        quote_schedule_refetch(&r, why);
}

int ingress_quote_refetch(q_ctx *ctx, services *s, int64_t quote_id, const char *quoted_uri,
                          const char *approval, const char *request_id, int64_t *status_id, bool *changed,
                          char *err, size_t errlen)
{
    *changed = false;
    char qid[24];
    snprintf(qid, sizeof qid, "%lld", (long long)quote_id);
    const char *params[] = {qid};
    db_conn *c = db_pool_acquire(s->db);
    PGresult *res = db_exec_idempotent(c, "ingress_quote_row",
                                       "SELECT q.status_id, q.account_id, coalesce(q.quoted_status_id, 0), "
                                       "coalesce(q.approval_uri, ''), coalesce(st.uri, ''), coalesce(a.uri, ''), "
                                       "a.domain IS NULL FROM quotes q JOIN statuses st ON st.id = q.status_id "
                                       "JOIN accounts a ON a.id = q.account_id WHERE q.id = $1::bigint",
                                       1, params, err, errlen);
    db_pool_release(s->db, c);
    if (!res)
        return -1;
    if (PQntuples(res) == 0) { /* RecordNotFound: nothing to do */
        PQclear(res);
        return 0;
    }
    if (PQgetvalue(res, 0, 6)[0] == 't') {
        snprintf(err, errlen, "quote %lld is by a local account", (long long)quote_id);
        PQclear(res);
        return 1;
    }
    quote_run r = {.ctx = ctx, .s = s, .quote_id = quote_id,
                   .status_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10),
                   .account_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10),
                   .quoted_status_id = strtoll(PQgetvalue(res, 0, 2), NULL, 10),
                   .status_uri = PQgetvalue(res, 0, 4), .account_uri = PQgetvalue(res, 0, 5),
                   .quoted_uri = quoted_uri, .request_id = request_id};
    /* approval_uri.presence || @quote.approval_uri */
    r.approval = approval && approval[0] ? approval : PQgetvalue(res, 0, 3)[0] ? PQgetvalue(res, 0, 3) : NULL;
    int rc = quote_check(&r, err, errlen);
    *status_id = r.status_id;
    *changed = r.changed;
    PQclear(res);
    return rc;
}
/* Quote::BACKGROUND_REFRESH_INTERVAL */
#define QUOTE_REFRESH_INTERVAL "interval '7 days'"

int ingress_quote_refresh(q_ctx *ctx, services *s, int64_t quote_id, char *err, size_t errlen)
{
    char qid[24];
    snprintf(qid, sizeof qid, "%lld", (long long)quote_id);
    const char *params[] = {qid};
    db_conn *c = db_pool_acquire(s->db);
    PGresult *res = db_exec_idempotent(c, "ingress_quote_stale",
                                       "SELECT 1 FROM quotes WHERE id = $1::bigint AND updated_at <= "
                                       DB_NOW " - " QUOTE_REFRESH_INTERVAL,
                                       1, params, err, errlen);
    db_pool_release(s->db, c);
    if (!res)
        return -1;
    bool stale = PQntuples(res) > 0;
    PQclear(res);
    if (!stale) /* gone, or refreshed within the interval */
        return 0;
    int64_t status_id = 0;
    bool changed = false;
    int rc = ingress_quote_refetch(ctx, s, quote_id, NULL, NULL, NULL, &status_id, &changed, err, errlen);
    if (rc != 0)
        return rc;
    /* quote.touch: after the check here, so a retried failure checks again */
    c = db_pool_acquire(s->db);
    int t = db_run_params(c, "ingress_quote_touch", "UPDATE quotes SET updated_at = " DB_NOW
                          " WHERE id = $1::bigint", 1, params, err, errlen);
    db_pool_release(s->db, c);
    return t < 0 ? -1 : 0;
}

int ingress_quote_of_status(db_conn *c, int64_t status_id, ingress_quote_stored *q, char *err, size_t errlen)
{
    memset(q, 0, sizeof *q);
    if (quote_schema(c, &q->schema, err, errlen) != 0)
        return -1;
    if (!q->schema)
        return 0;
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", (long long)status_id);
    const char *params[] = {sid};
    /* quoted_status and quoted_account as the model reads them: a discarded status
     * (Status's default scope keeps only kept ones) is none */
    PGresult *res = db_exec_idempotent(c, "ingress_quote_of_status",
                                       "SELECT q.id, coalesce(qs.uri, ''), qs.id IS NOT NULL AND (coalesce(qs.local, false) "
                                       "OR qs.uri IS NULL), qs.id IS NOT NULL, q.state = 1, coalesce(qa.domain IS NULL, "
                                       "false) FROM quotes q LEFT JOIN statuses qs "
                                       "ON qs.id = q.quoted_status_id AND qs.deleted_at IS NULL LEFT JOIN accounts qa "
                                       "ON qa.id = q.quoted_account_id WHERE q.status_id = $1::bigint",
                                       1, params, err, errlen);
    if (!res)
        return -1;
    if (PQntuples(res)) {
        q->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(q->quoted_uri, sizeof q->quoted_uri, "%s", PQgetvalue(res, 0, 1));
        q->quoted_local = PQgetvalue(res, 0, 2)[0] == 't';
        q->has_quoted = PQgetvalue(res, 0, 3)[0] == 't';
        q->accepted = PQgetvalue(res, 0, 4)[0] == 't';
        q->quoted_account_local = PQgetvalue(res, 0, 5)[0] == 't';
    }
    PQclear(res);
    return 0;
}

bool ingress_quote_update(q_ctx *ctx, services *s, int64_t quote_id, const ap_status *st, bool implicit)
{
    const char *approval = quote_approval_of(s, st->quote_approval_uri);
    /* update_quote! compares the kept approval_uri with the checked one,
     * update_quote_approval! with the parser's */
    const char *compare = implicit ? st->quote_approval_uri : approval;
    quote_run r = {.ctx = ctx, .s = s, .quote_id = quote_id, .status_uri = st->uri, .quoted_uri = st->quote_uri,
                   .approval = approval};
    quote_write w = {.name = "ingress_quote_reset",
                     .sql = "UPDATE quotes q SET approval_uri = NULL, state = 0, legacy = $2::boolean, "
                            "updated_at = " DB_NOW " FROM quotes o WHERE o.id = q.id AND q.id = $1::bigint "
                            "AND q.approval_uri IS NOT NULL AND q.approval_uri IS DISTINCT FROM $3 "
                            "RETURNING o.state, q.state, q.legacy, coalesce(q.quoted_status_id::text, '')",
                     .params = {NULL, st->quote_legacy ? "t" : "f", compare}, .n = 3};
    quote_write_run(&r, &w, "setting it back to pending");
    bool changed = r.changed;
    int64_t status_id = 0;
    bool verified = false;
    char err[Q_ERRLEN] = "";
    if (ingress_quote_refetch(ctx, s, quote_id, st->quote_uri, approval, NULL, &status_id, &verified, err,
                              sizeof err) != 0)
        quote_schedule_refetch(&r, err);
    return changed || verified;
}

int ingress_quote_revocable(db_conn *c, const ap_activity *a, const ingress_account *actor, int64_t *quote_id,
                            int64_t *status_id, bool *forward, char *err, size_t errlen)
{
    *quote_id = *status_id = 0;
    *forward = false;
    bool has = false;
    if (quote_schema(c, &has, err, errlen) != 0)
        return -1;
    if (!has)
        return 0;
    char aid[24];
    snprintf(aid, sizeof aid, "%lld", (long long)actor->id);
    const char *params[] = {a->object_id, aid};
    /* revoke_quote calls Forwarder#forward! without asking forwardable?: it delivers
     * to the followers of local accounts that boosted or quoted the status, and of the
     * local author it replies to; any of those makes the Delete Ruby's */
    PGresult *res = db_exec_idempotent(c, "ingress_quote_revocable",
                                       "SELECT q.id, q.status_id, EXISTS (SELECT 1 FROM statuses b JOIN accounts ba "
                                       "ON ba.id = b.account_id WHERE b.reblog_of_id = q.status_id AND ba.domain IS "
                                       "NULL) OR EXISTS (SELECT 1 FROM quotes o JOIN accounts oa ON oa.id = "
                                       "o.account_id WHERE o.quoted_status_id = q.status_id AND oa.domain IS NULL) "
                                       "OR EXISTS (SELECT 1 FROM statuses s JOIN statuses p ON p.id = s.in_reply_to_id "
                                       "JOIN accounts pa ON pa.id = p.account_id WHERE s.id = q.status_id AND "
                                       "pa.domain IS NULL) FROM quotes q WHERE q.approval_uri = $1 AND "
                                       "q.quoted_account_id = $2::bigint AND q.state IN (0, 1) LIMIT 1",
                                       2, params, err, errlen);
    if (!res)
        return -1;
    if (PQntuples(res)) {
        *quote_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *status_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        *forward = PQgetvalue(res, 0, 2)[0] == 't';
    }
    PQclear(res);
    return 0;
}

void ingress_quote_revoke(q_ctx *ctx, services *s, db_conn *c, int64_t quote_id, int64_t status_id,
                          const char *approval)
{
    quote_run r = {.ctx = ctx, .s = s, .quote_id = quote_id, .status_id = status_id, .status_uri = approval,
                   .c = c};
    quote_reject(&r);
    base_log(BASE_LOG_INFO, "ingress: quote %lld revoked: its approval %s was deleted", (long long)quote_id,
             approval);
    char args[64];
    snprintf(args, sizeof args, "[%lld,{\"update\":true}]", (long long)status_id);
    ingress_push(ctx, "DistributionWorker", "default", "true", args, 0);
}
