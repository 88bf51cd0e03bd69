/* acct_fetch.c -- ActivityPub::FetchRemoteActorService / FetchRemoteAccountService: a
 * URI on a suspended domain is refused, one on this server names the local account;
 * otherwise a signed GET (the instance actor's key) whose document id must be the URI.
 * Any answer but a 200 gives up (nil), as fetch_resource(raise_on_error: :all) inside
 * the service's rescue does; only a request that got no answer is retried. A 410 for a
 * known account is Ruby's (it suspends the account and queues its deletion). Also the
 * account Update activity and Account#schedule_refresh_if_stale!, whose AccountRefreshWorker
 * is pushed once per account until it runs (its lock: :until_executed, as the key
 * scotty:unique:AccountRefreshWorker:<id> for a day). */
#include "acct_internal.h"
#include "ingress_create.h"
#include "ingress_fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCT_REFRESH_DEADLINE_S (6 * 3600)   /* Account::REFRESH_DEADLINE */

acct_outcome acct_fetch_depth(q_ctx *ctx, services *s, const char *uri, const char *request_id,
                              bool break_on_redirect, int depth, ingress_account *out, char *err,
                              size_t errlen)
{
    if (!s->db) {
        snprintf(err, errlen, "resolving accounts needs the database: %s", s->db_missing);
        return ACCT_RETRY;
    }
    bool blocked;
    if (acct_domain_blocked(s, uri, &blocked, err, errlen) != 0)
        return ACCT_RETRY;
    if (blocked) {
        snprintf(err, errlen, "%s is on a suspended domain (domain block)", uri);
        return ACCT_NONE;
    }
    char local[300];
    snprintf(local, sizeof local, "https://%s/", s->local_domain);
    if (ap_same_host(uri, local)) {
        db_conn *c = db_pool_acquire(s->db);
        int rc = ingress_account_resolve(c, s->local_domain, uri, out, err, errlen);
        db_pool_release(s->db, c);
        if (rc == 1)
            snprintf(err, errlen, "%s names no local account", uri);
        return rc == 0 ? ACCT_RESOLVED : rc < 0 ? ACCT_RETRY : ACCT_NONE;
    }
    json_t *doc;
    long status;
    char why[768];
    int rc = ingress_fetch_json_answered(s, uri, &doc, &status, why, sizeof why);
    if (rc != 0) {
        if (status == 410) {
            ingress_account known;
            db_conn *c = db_pool_acquire(s->db);
            int k = ingress_account_by_uri(c, uri, &known, err, errlen);
            db_pool_release(s->db, c);
            if (k < 0)
                return ACCT_RETRY;
            if (k == 0 && known.domain[0]) {
                snprintf(err, errlen, "actor %s is gone (410): suspending account %lld and queueing its "
                         "deletion is Ruby's", uri, (long long)known.id);
                return ACCT_UNHANDLED;
            }
        }
        snprintf(err, errlen, "Error fetching actor JSON at %s: %s", uri, why);
        return rc < 0 && status == 0 ? ACCT_RETRY : ACCT_NONE;
    }
    const char *id = json_string_value(json_object_get(doc, "id"));
    acct_outcome res = ACCT_NONE;
    if (!id || strcmp(id, uri) != 0) {
        snprintf(err, errlen, "the actor document at %s has the id %.300s: refused", uri, id ? id : "(none)");
    } else if (break_on_redirect && json_string_value(json_object_get(doc, "movedTo"))) {
        snprintf(err, errlen, "Actor %s has moved to %s", uri, json_string_value(json_object_get(doc, "movedTo")));
    } else {
        acct_process_opts o = {.request_id = request_id, .depth = depth};
        res = acct_process(ctx, s, doc, &o, out, err, errlen);
    }
    json_decref(doc);
    return res;
}

acct_outcome acct_fetch(q_ctx *ctx, services *s, const char *uri, const char *request_id,
                        ingress_account *out, char *err, size_t errlen)
{
    return acct_fetch_depth(ctx, s, uri, request_id, false, 0, out, err, errlen);
}

acct_outcome acct_find_or_fetch(q_ctx *ctx, services *s, const char *uri, const char *request_id,
                                ingress_account *out, char *err, size_t errlen)
{
    if (!s->db) {
        snprintf(err, errlen, "resolving accounts needs the database: %s", s->db_missing);
        return ACCT_RETRY;
    }
    db_conn *c = db_pool_acquire(s->db);
    int rc = ingress_account_resolve(c, s->local_domain, uri, out, err, errlen);
    db_pool_release(s->db, c);
    if (rc < 0)
        return ACCT_RETRY;
    if (rc == 0)
        return ACCT_RESOLVED;
    return acct_fetch(ctx, s, uri, request_id, out, err, errlen);
}

acct_outcome acct_update(q_ctx *ctx, services *s, const ingress_account *actor, const json_t *object,
                         const char *request_id, char *err, size_t errlen)
{
    const char *id = ap_id_of(object);
    if (!id || strcmp(id, actor->uri) != 0) {
        snprintf(err, errlen, "Update of actor %s sent by %s: refused", id ? id : "(no id)", actor->uri);
        return ACCT_NONE;
    }
    json_t *fetched = NULL;
    if (!json_is_object(object)) { /* dereference_object! */
        int rc = ingress_fetch_object(s, id, actor->uri, &fetched, err, errlen);
        if (rc != 0)
            return rc < 0 ? ACCT_RETRY : ACCT_NONE;
        object = fetched;
    }
    ingress_account out;
    acct_process_opts o = {.account_id = actor->id, .signed_with_known_key = true, .request_id = request_id};
    acct_outcome res = acct_process(ctx, s, object, &o, &out, err, errlen);
    json_decref(fetched);
    return res;
}

/* AccountRefreshWorker for the account, once per lock period. */
static void acct_schedule_refresh(q_ctx *ctx, int64_t account_id)
{
    char args[48], key[96], err[512];
    snprintf(args, sizeof args, "[%lld]", (long long)account_id);
    /* lock: :until_executed, lock_ttl 1 day: one pending refresh per account, its key
     * set with the job's outcome */
    acct_refresh_key(key, sizeof key, account_id);
    /* As Mastodon's class options (retry 3, dead: false): a Ruby Sidekiq that runs it
     * out of retries drops it instead of keeping it dead. */
    q_push p = {.klass = "AccountRefreshWorker", .queue = "pull", .args_json = args, .retry_json = "3",
                .extra_json = "\"dead\":false",
                .at = base_now() + (double)ingress_rand_between(0, ACCT_REFRESH_DEADLINE_S - 1)};
    if (q_ctx_enqueue_once(ctx, &p, key, ACCT_REFRESH_LOCK_TTL_S, err, sizeof err) != 0) /* only a missing class */
        base_log(BASE_LOG_ERROR, "accounts: could not push AccountRefreshWorker %s: %s", args, err);
}

int acct_needs_refresh(services *s, int64_t id, bool *due, char *err, size_t errlen)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const char *params[] = {ids};
    db_conn *c = db_pool_acquire(s->db);
    PGresult *res = db_exec_idempotent(
        c, "acct_needs_refresh", "SELECT 1 FROM accounts WHERE id = $1::bigint AND " ACCT_NEEDS_REFRESH_SQL(""),
        1, params, err, errlen);
    db_pool_release(s->db, c);
    if (!res)
        return -1;
    *due = PQntuples(res) > 0;
    PQclear(res);
    return 0;
}

void acct_schedule_refresh_if_stale(q_ctx *ctx, services *s, const ingress_account *actor)
{
    bool stale = actor->stale;
    char err[512];
    if (!actor->refresh_known && acct_needs_refresh(s, actor->id, &stale, err, sizeof err) != 0) {
        base_log(BASE_LOG_WARN, "accounts: cannot tell whether account %lld is stale: %s", (long long)actor->id,
                 err);
        return;
    }
    if (stale)
        acct_schedule_refresh(ctx, actor->id);
}

void acct_refresh_key(char *buf, size_t len, int64_t account_id)
{
    snprintf(buf, len, "scotty:unique:AccountRefreshWorker:%lld", (long long)account_id);
}
