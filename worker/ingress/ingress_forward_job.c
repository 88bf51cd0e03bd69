/* ingress_forward_job.c -- hands a job scotty leaves to Ruby to --forward-unhandled's
 * queue, unchanged but for enqueued_at: shared by ActivityPub::ProcessingWorker
 * (ingress_worker.c) and the pull workers (pull_register.c). */
#include "ingress_internal.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>

int ingress_forward_job(q_ctx *ctx, const q_job *job, const char *queue, char *err, size_t errlen)
{
    char t[40];
    q_json_timestamp(q_ctx_retry(ctx)->ts, q_now(), t, sizeof t);
    char *p = q_json_set(job->raw, job->raw_len, "enqueued_at", t);
    if (!p) {
        snprintf(err, errlen, "the job is not a JSON object");
        return -1;
    }
    /* pushed and taken off this process's private list in one MULTI, as the engine
     * forwards unknown classes: never both gone and not forwarded */
    q_conn *c = q_ctx_redis(ctx);
    int replies = 0, expected = job->private_key[0] ? 5 : 4;
    bool ok = q_conn_ensure(c) == 0;
    if (ok) {
        replies += q_conn_appendf(c, "MULTI") == 0;
        replies += q_conn_appendf(c, "SADD queues %s", queue) == 0;
        replies += q_conn_appendf(c, "LPUSH queue:%s %s", queue, p) == 0;
        if (job->private_key[0])
            replies += q_conn_appendf(c, "LREM %s -1 %b", job->private_key, job->raw, job->raw_len) == 0;
        replies += q_conn_appendf(c, "EXEC") == 0;
        ok = replies == expected;
    }
    free(p);
    char why[256] = "";
    for (int i = 0; i < replies; i++) {
        redisReply *rep = q_conn_reply(c);
        bool good = rep && rep->type != REDIS_REPLY_ERROR && (i < replies - 1 || rep->type == REDIS_REPLY_ARRAY);
        if (!good && ok)
            snprintf(why, sizeof why, "%s", rep && rep->str ? rep->str : q_conn_error(c));
        ok = ok && good;
        q_reply_free(rep);
        if (!rep)
            break;
    }
    if (!ok) {
        snprintf(err, errlen, "Redis: forwarding to queue:%s: %s", queue, why[0] ? why : q_conn_error(c));
        return -1;
    }
    return 0;
}
