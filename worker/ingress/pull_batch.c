/* pull_batch.c -- Mastodon's WorkerBatch (app/models/worker_batch.rb) in Redis:
 * worker_batch:<id> (hash: pending, processed, async_refresh_key, threshold) and
 * worker_batch:<id>:jobs (set of jids), both expiring after an hour, so the Rails
 * side's async refresh of a thread's replies sees FetchReplyWorker jobs run by scotty. */
#include "pull_internal.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_TTL_S 3600
#define BATCH_REFRESH_FINISHED_TTL_S 3600   /* AsyncRefresh::FINISHED_REFRESH_EXPIRATION */

/* Reads n replies; false if any failed (the connection is then reset). */
static bool batch_replies(q_conn *c, int n, redisReply **keep, int keep_at)
{
    bool ok = true;
    for (int i = 0; i < n; i++) {
        redisReply *r = q_conn_reply(c);
        if (!r)
            return false;
        if (r->type == REDIS_REPLY_ERROR)
            ok = false;
        if (i == keep_at && keep)
            *keep = r;
        else
            q_reply_free(r);
    }
    return ok;
}

/* Queues one command of a pipeline, counting what was queued and what was not. */
static void batch_append(q_conn *c, int *sent, int *lost, int argc, const char *const *argv)
{
    size_t lens[4];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    if (q_conn_append(c, argc, (const char **)argv, lens) == 0)
        (*sent)++;
    else
        (*lost)++;
}

/* FetchReplyWorker's args: [uri, {"request_id": rid or null, "batch_id": id}] */
static char *batch_reply_args(const char *uri, const char *request_id, const char *batch)
{
    q_buf args;
    q_buf_init(&args);
    q_buf_adds(&args, "[");
    q_json_string(&args, uri, strlen(uri));
    q_buf_adds(&args, ",{\"request_id\":");
    if (request_id)
        q_json_string(&args, request_id, strlen(request_id));
    else
        q_buf_adds(&args, "null");
    q_buf_adds(&args, ",\"batch_id\":");
    q_json_string(&args, batch, strlen(batch));
    q_buf_adds(&args, "}]");
    return q_buf_take(&args);
}

int pull_batch_push_replies(q_ctx *ctx, const char *batch_id, const char *request_id,
                            const char *const *uris, size_t n, char *err, size_t errlen)
{
    if (n == 0)
        return 0;
    char id[32];
    if (batch_id)
        snprintf(id, sizeof id, "%.31s", batch_id);
    else
        for (int i = 0; i < 24; i++)      /* SecureRandom.hex(12) */
            id[i] = "0123456789abcdef"[arc4random_uniform(16)], id[i + 1] = '\0';
    q_conn *c = q_ctx_redis(ctx);
    if (q_conn_ensure(c) != 0) {
        snprintf(err, errlen, "Redis: %s", q_conn_error(c));
        return -1;
    }
    char hash[64], jobs[80], ttl[16], count[24];
    snprintf(hash, sizeof hash, "worker_batch:%s", id);
    snprintf(jobs, sizeof jobs, "worker_batch:%s:jobs", id);
    snprintf(ttl, sizeof ttl, "%d", BATCH_TTL_S);
    snprintf(count, sizeof count, "%zu", n);
    int sent = 0, lost = 0;
    batch_append(c, &sent, &lost, 1, (const char *[]){"MULTI"});
    for (size_t i = 0; i < n; i++) {
        char *args = batch_reply_args(uris[i], request_id, id);
        char jid[25];
        q_push p = {.klass = "FetchReplyWorker", .queue = "pull", .args_json = args,
                    .retry_json = "3"};
        char *payload = q_client_build(&p, q_ctx_retry(ctx)->ts, jid);
        free(args);
        batch_append(c, &sent, &lost, 3, (const char *[]){"SADD", jobs, jid});
        batch_append(c, &sent, &lost, 3, (const char *[]){"SADD", "queues", "pull"});
        batch_append(c, &sent, &lost, 3, (const char *[]){"LPUSH", "queue:pull", payload});
        free(payload);
    }
    batch_append(c, &sent, &lost, 3, (const char *[]){"EXPIRE", jobs, ttl});
    batch_append(c, &sent, &lost, 4, (const char *[]){"HINCRBY", hash, "pending", count});
    batch_append(c, &sent, &lost, 3, (const char *[]){"EXPIRE", hash, ttl});
    batch_append(c, &sent, &lost, 1, (const char *[]){"EXEC"});
    if (!batch_replies(c, sent, NULL, -1) || lost) {
        snprintf(err, errlen, "Redis: pushing %zu FetchReplyWorker jobs failed: %s", n,
                 lost ? "out of memory" : q_conn_error(c));
        return -1;
    }
    return 0;
}

void pull_batch_remove_job(q_ctx *ctx, const char *batch_id, const char *jid, bool increment)
{
    q_conn *c = q_ctx_redis(ctx);
    redisReply *exec = NULL;
    if (q_conn_ensure(c) == 0) {
        q_conn_appendf(c, "MULTI");
        q_conn_appendf(c, "SREM worker_batch:%s:jobs %s", batch_id, jid);
        q_conn_appendf(c, "HINCRBY worker_batch:%s pending -1", batch_id);
        q_conn_appendf(c, "HINCRBY worker_batch:%s processed 1", batch_id);
        q_conn_appendf(c, "HGET worker_batch:%s async_refresh_key", batch_id);
        q_conn_appendf(c, "HGET worker_batch:%s threshold", batch_id);
        q_conn_appendf(c, "EXEC");
        if (!batch_replies(c, 7, &exec, 6)) {
            q_reply_free(exec);
            exec = NULL;
        }
    }
    if (!exec || exec->type != REDIS_REPLY_ARRAY || exec->elements != 5) {
        q_log(Q_LOG_WARN, "pull: jid %s not removed from worker_batch:%s: %s", jid, batch_id,
              q_conn_error(c));
        q_reply_free(exec);
        return;
    }
    long long pending = exec->element[1]->integer, processed = exec->element[2]->integer;
    const redisReply *ark = exec->element[3], *thr = exec->element[4];
    const char *refresh = ark->type == REDIS_REPLY_STRING && ark->len ? ark->str : NULL;
    double threshold = thr->type == REDIS_REPLY_STRING ? strtod(thr->str, NULL) : 1.0;
    if (refresh && increment)
        q_reply_free(q_conn_cmd(c, "HINCRBY %s result_count 1", refresh));
    if (pending == 0 || (double)processed >= threshold * (double)(processed + pending)) {
        if (refresh) {
            q_reply_free(q_conn_cmd(c, "HSET %s status finished", refresh));
            q_reply_free(q_conn_cmd(c, "EXPIRE %s %d", refresh, BATCH_REFRESH_FINISHED_TTL_S));
        }
        q_reply_free(q_conn_cmd(c, "DEL worker_batch:%s worker_batch:%s:jobs", batch_id, batch_id));
    }
    q_reply_free(exec);
}
