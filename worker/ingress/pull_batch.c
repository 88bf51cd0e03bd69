/* pull_batch.c -- Mastodon's WorkerBatch (app/models/worker_batch.rb) in its
 * application Redis (ingress_app_redis): worker_batch:<id> (hash: pending, processed,
 * async_refresh_key, threshold) and worker_batch:<id>:jobs (set of jids), both expiring
 * after an hour, so the Rails side's async refresh of a thread's replies sees
 * FetchReplyWorker jobs run by scotty. The jobs themselves go to Sidekiq's Redis with
 * the running job's outcome (q_ctx_enqueue), once the batch records their jids. */
#include "pull_internal.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_TTL_S 3600
#define BATCH_REFRESH_FINISHED_TTL_S 3600   /* AsyncRefresh::FINISHED_REFRESH_EXPIRATION */

/* A pipeline being written: commands queued, and whether one could not be. */
typedef struct batch_pipe {
    q_conn *c;
    int sent;
    bool lost;
} batch_pipe;

static void batch_cmd(batch_pipe *p, int argc, const char *const *argv)
{
    size_t lens[4];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    if (q_conn_append(p->c, argc, (const char **)argv, lens) == 0)
        p->sent++;
    else
        p->lost = true;
}

/* Sends the pipeline and reads its replies; the reply at keep_at (if >= 0) is
 * returned in *keep. 0, or -1 with err. */
static int batch_run(batch_pipe *p, int keep_at, redisReply **keep, char *err, size_t errlen)
{
    bool ok = !p->lost;
    for (int i = 0; i < p->sent; i++) {
        redisReply *r = q_conn_reply(p->c);
        if (!r) {
            snprintf(err, errlen, "Redis: %s", q_conn_error(p->c));
            return -1;
        }
        ok = ok && r->type != REDIS_REPLY_ERROR;
        for (size_t k = 0; r->type == REDIS_REPLY_ARRAY && k < r->elements; k++)
            ok = ok && r->element[k]->type != REDIS_REPLY_ERROR; /* inside EXEC */
        if (i == keep_at)
            *keep = r;
        else
            q_reply_free(r);
    }
    if (!ok)
        snprintf(err, errlen, "Redis refused a command%s", p->lost ? " (out of memory)" : "");
    return ok ? 0 : -1;
}

/* FetchReplyWorker's args: [uri, {"request_id": rid or null, "batch_id": id}] */
static char *batch_reply_args(const char *uri, const char *request_id, const char *batch)
{
    base_buf args;
    base_buf_init(&args);
    base_buf_adds(&args, "[");
    base_json_string(&args, uri, strlen(uri));
    base_buf_adds(&args, ",{\"request_id\":");
    if (request_id)
        base_json_string(&args, request_id, strlen(request_id));
    else
        base_buf_adds(&args, "null");
    base_buf_adds(&args, ",\"batch_id\":");
    base_json_string(&args, batch, strlen(batch));
    base_buf_adds(&args, "}]");
    return base_buf_take(&args);
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
    char hash[64], jobs[80], ttl[16], count[24];
    snprintf(hash, sizeof hash, "worker_batch:%s", id);
    snprintf(jobs, sizeof jobs, "worker_batch:%s:jobs", id);
    snprintf(ttl, sizeof ttl, "%d", BATCH_TTL_S);
    snprintf(count, sizeof count, "%zu", n);
    char (*jids)[25] = calloc(n, sizeof *jids);
    for (size_t i = 0; i < n; i++)
        q_jid_new(jids[i]);

    /* WorkerBatchMiddleware records each jid before its job is pushed */
    batch_pipe app = {.c = ingress_app_redis(ctx)};
    int rc = -1;
    if (q_conn_ensure(app.c) != 0) {
        snprintf(err, errlen, "Redis: %s", q_conn_error(app.c));
        goto out;
    }
    batch_cmd(&app, 1, (const char *[]){"MULTI"});
    for (size_t i = 0; i < n; i++)
        batch_cmd(&app, 3, (const char *[]){"SADD", jobs, jids[i]});
    batch_cmd(&app, 3, (const char *[]){"EXPIRE", jobs, ttl});
    batch_cmd(&app, 4, (const char *[]){"HINCRBY", hash, "pending", count});
    batch_cmd(&app, 3, (const char *[]){"EXPIRE", hash, ttl});
    batch_cmd(&app, 1, (const char *[]){"EXEC"});
    if (batch_run(&app, -1, NULL, err, errlen) != 0)
        goto out;
    /* the jobs go out with this job's outcome (q_ctx_enqueue) */
    rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *args = batch_reply_args(uris[i], request_id, id);
        q_push p = {.klass = "FetchReplyWorker", .queue = "pull", .args_json = args,
                    .retry_json = "3", .jid = jids[i]};
        rc = q_ctx_enqueue(ctx, &p, err, errlen);
        free(args);
    }
out:
    free(jids);
    return rc;
}

/* AsyncRefresh#increment_result_count and #finish!, then WorkerBatch#cleanup. */
static void batch_settle(q_conn *c, const char *batch_id, const char *refresh, bool increment,
                         bool finished)
{
    if (refresh && increment)
        q_reply_free(q_conn_cmd(c, "HINCRBY %s result_count 1", refresh));
    if (!finished)
        return;
    if (refresh) {
        q_reply_free(q_conn_cmd(c, "HSET %s status finished", refresh));
        q_reply_free(q_conn_cmd(c, "EXPIRE %s %d", refresh, BATCH_REFRESH_FINISHED_TTL_S));
    }
    q_reply_free(q_conn_cmd(c, "DEL worker_batch:%s worker_batch:%s:jobs", batch_id, batch_id));
}

void pull_batch_remove_job(q_ctx *ctx, const char *batch_id, const char *jid, bool increment)
{
    char hash[96], jobs[112], err[Q_ERRLEN] = "";
    snprintf(hash, sizeof hash, "worker_batch:%.80s", batch_id);
    snprintf(jobs, sizeof jobs, "worker_batch:%.80s:jobs", batch_id);
    batch_pipe p = {.c = ingress_app_redis(ctx)};
    redisReply *exec = NULL;
    if (q_conn_ensure(p.c) != 0) {
        snprintf(err, sizeof err, "Redis: %s", q_conn_error(p.c));
    } else {
        batch_cmd(&p, 1, (const char *[]){"MULTI"});
        batch_cmd(&p, 3, (const char *[]){"SREM", jobs, jid});
        batch_cmd(&p, 4, (const char *[]){"HINCRBY", hash, "pending", "-1"});
        batch_cmd(&p, 4, (const char *[]){"HINCRBY", hash, "processed", "1"});
        batch_cmd(&p, 3, (const char *[]){"HGET", hash, "async_refresh_key"});
        batch_cmd(&p, 3, (const char *[]){"HGET", hash, "threshold"});
        batch_cmd(&p, 1, (const char *[]){"EXEC"});
        if (batch_run(&p, 6, &exec, err, sizeof err) != 0 && !err[0])
            snprintf(err, sizeof err, "Redis refused the batch update");
    }
    if (!exec || exec->type != REDIS_REPLY_ARRAY || exec->elements != 5 ||
        exec->element[1]->type != REDIS_REPLY_INTEGER ||
        exec->element[2]->type != REDIS_REPLY_INTEGER) {
        base_log(BASE_LOG_WARN, "pull: jid %s not removed from %s: %s", jid, hash,
              err[0] ? err : "unexpected reply");
        q_reply_free(exec);
        return;
    }
    long long pending = exec->element[1]->integer, processed = exec->element[2]->integer;
    const redisReply *ark = exec->element[3], *thr = exec->element[4];
    const char *refresh = ark->type == REDIS_REPLY_STRING && ark->len ? ark->str : NULL;
    double threshold = thr->type == REDIS_REPLY_STRING ? strtod(thr->str, NULL) : 1.0;
    batch_settle(p.c, batch_id, refresh, increment,
                 pending == 0 || (double)processed >= threshold * (double)(processed + pending));
    q_reply_free(exec);
}
