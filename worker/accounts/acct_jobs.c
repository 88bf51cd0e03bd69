/* acct_jobs.c -- the pull workers for remote accounts, with Mastodon's options:
 *   AccountRefreshWorker [account_id, options]: queue pull, retry 3, dead false; only
 *     an account that needs_background_refresh? (remote, last fully fetched over a week
 *     ago or never, or under an invalidated username) is resolved again;
 *   ResolveAccountWorker [handle]: queue pull, default retry (25);
 *   MentionResolveWorker [status_id, uri, options]: queue pull, retry 7,
 *     ExponentialBackoff; the mention is upserted (silent false) once the account is
 *     known;
 *   RedownloadAvatarWorker, RedownloadHeaderWorker [account_id] (acct_images.c).
 * Each gives up where Mastodon's service returns nil, retries where it raises (no
 * answer from a server, the database, a busy lock), and forwards the unchanged job to
 * --forward-unhandled's queue for what only Ruby finishes (nothing written). */
#include "acct_jobs.h"
#include "pull_internal.h"

#include <libxml/parser.h>
#include <stdio.h>
#include <string.h>

static void acct_job_outcome(q_ctx *ctx, const q_job *job, acct_outcome out, const char *err, q_result *r)
{
    switch (out) {
    case ACCT_RESOLVED:
        break;
    case ACCT_NONE:
        base_log(BASE_LOG_INFO, "class=%s jid=%s: nothing to do: %s", job->klass, job->jid, err);
        break;
    case ACCT_RETRY:
        q_fail(r, strncmp(err, INGRESS_LOCK_BUSY, strlen(INGRESS_LOCK_BUSY)) == 0 ? "Mastodon::RaceConditionError"
                                                                                : "HTTP::ConnectionError",
               "%s", err);
        break;
    case ACCT_UNHANDLED:
        pull_forward(ctx, job, err, r);
        break;
    }
}

static const char *acct_option(const json_t *opts, const char *key)
{
    return json_string_value(json_object_get(opts, key));
}

static void acct_refresh_run(q_ctx *ctx, const q_job *job, q_result *r)
{
    services *s = pull_services(ctx, r);
    if (!s)
        return;
    json_t *id = json_array_get(job->args, 0);
    if (!json_is_integer(id)) {
        q_fail(r, "ArgumentError", "AccountRefreshWorker expects [account_id (Integer), options (Hash)]");
        return;
    }
    char err[Q_ERRLEN];
    char key[96];
    acct_refresh_key(key, sizeof key, json_integer_value(id));
    q_reply_free(q_conn_cmd(q_ctx_redis(ctx), "DEL %s", key));
    bool due = false;
    if (acct_needs_refresh(s, json_integer_value(id), &due, err, sizeof err) != 0) {
        q_fail(r, "ActiveRecord::ConnectionNotEstablished", "%s", err);
        return;
    }
    if (!due)
        return;
    ingress_account out;
    acct_outcome o = acct_resolve(ctx, s, NULL, json_integer_value(id),
                                  acct_option(json_array_get(job->args, 1), "request_id"), &out, err, sizeof err);
    acct_job_outcome(ctx, job, o, err, r);
}

static void acct_resolve_run(q_ctx *ctx, const q_job *job, q_result *r)
{
    services *s = pull_services(ctx, r);
    if (!s)
        return;
    const char *handle = json_string_value(json_array_get(job->args, 0));
    if (!handle) {
        q_fail(r, "ArgumentError", "ResolveAccountWorker expects [uri (String)]");
        return;
    }
    char err[Q_ERRLEN];
    ingress_account out;
    acct_job_outcome(ctx, job, acct_resolve(ctx, s, handle, 0, NULL, &out, err, sizeof err), err, r);
}

static void acct_mention_run(q_ctx *ctx, const q_job *job, q_result *r)
{
    services *s = pull_services(ctx, r);
    if (!s)
        return;
    json_t *sid = json_array_get(job->args, 0);
    const char *uri = json_string_value(json_array_get(job->args, 1));
    if (!json_is_integer(sid) || !uri) {
        q_fail(r, "ArgumentError", "MentionResolveWorker expects [status_id (Integer), uri (String), options]");
        return;
    }
    char ids[24], err[Q_ERRLEN];
    snprintf(ids, sizeof ids, "%lld", (long long)json_integer_value(sid));
    const char *params[] = {ids};
    db_conn *c = db_pool_acquire(s->db);
    PGresult *res = db_exec_idempotent(c, "acct_mention_status", "SELECT 1 FROM statuses WHERE id = $1::bigint",
                                       1, params, err, sizeof err);
    db_pool_release(s->db, c);
    if (!res) {
        q_fail(r, "ActiveRecord::ConnectionNotEstablished", "%s", err);
        return;
    }
    bool found = PQntuples(res) > 0;
    PQclear(res);
    if (!found)
        return;
    /* options[:request_id]: a symbol key never matches Sidekiq's string keys, so the
     * account is fetched under the default request id */
    ingress_account acc;
    acct_outcome o = acct_find_or_fetch(ctx, s, uri, NULL, &acc, err, sizeof err);
    if (o != ACCT_RESOLVED) {
        acct_job_outcome(ctx, job, o, err, r);
        return;
    }
    char aid[24];
    snprintf(aid, sizeof aid, "%lld", (long long)acc.id);
    const char *mp[] = {ids, aid};
    c = db_pool_acquire(s->db);
    int rc = db_run_params(c, "acct_mention_upsert",
                           "INSERT INTO mentions (status_id, account_id, silent, created_at, updated_at) VALUES "
                           "($1::bigint, $2::bigint, false, timezone('UTC', now()), timezone('UTC', now())) "
                           "ON CONFLICT (account_id, status_id) DO UPDATE SET silent = false, "
                           "updated_at = EXCLUDED.updated_at",
                           2, mp, err, sizeof err);
    db_pool_release(s->db, c);
    if (rc != 0)
        q_fail(r, "ActiveRecord::ConnectionNotEstablished", "%s", err);
}

void acct_register(q_registry *reg)
{
    static const q_handler handlers[] = {
        {"AccountRefreshWorker", acct_refresh_run, 3, NULL, true},
        {"ResolveAccountWorker", acct_resolve_run, -1, NULL, false},
        {"MentionResolveWorker", acct_mention_run, 7, ingress_exponential_backoff, false},
        {"RedownloadAvatarWorker", acct_avatar_run, 7, ingress_exponential_backoff, false},
        {"RedownloadHeaderWorker", acct_header_run, 7, ingress_exponential_backoff, false},
    };
    xmlInitParser(); /* before any thread reads a host-meta document (acct_hostmeta.c) */
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        q_registry_add(reg, &handlers[i]);
}
