/* pull_register.c -- the pull queue's workers as Mastodon declares them (queue pull,
 * retry 3, ExponentialBackoff; mastodon.md §1.3-1.4), and what they share: the
 * services check and forwarding a job to the Ruby side. */
#include "ingress.h"
#include "pull_internal.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long pull_backoff(int count, const q_result *r, const q_job *job)
{
    (void)r;
    (void)job;
    long p = 10L * count * count * count * count;
    return 15 + p + (p > 0 ? (long)arc4random_uniform((uint32_t)p) : 0);
}

services *pull_services(q_ctx *ctx, q_result *r)
{
    services *s = q_ctx_user(ctx);
    if (!s || !s->db) {
        q_fail(r, "Scotty::NotConfigured", "pull jobs need the database: %s",
               s ? s->db_missing : "services not opened");
        return NULL;
    }
    return s;
}

void pull_forward(q_ctx *ctx, const q_job *job, const char *why, q_result *r)
{
    services *s = q_ctx_user(ctx);
    if (!s->forward_unhandled[0]) {
        q_fail(r, "NotImplementedError", "%s; scotty cannot finish this job: run it on a Ruby "
               "Sidekiq, or start scotty with --forward-unhandled QUEUE", why);
        return;
    }
    char t[40];
    q_json_timestamp(q_ctx_retry(ctx)->ts, q_now(), t, sizeof t);
    char *p = q_json_set(job->raw, job->raw_len, "enqueued_at", t);
    if (!p) {
        q_fail(r, "ArgumentError", "the job is not a JSON object");
        return;
    }
    /* pushed and taken off this process's private list in one MULTI, as the engine
     * forwards unknown classes: never both gone and not forwarded */
    q_conn *c = q_ctx_redis(ctx);
    int replies = 0;
    bool ok = q_conn_ensure(c) == 0;
    if (ok) {
        replies += q_conn_appendf(c, "MULTI") == 0;
        replies += q_conn_appendf(c, "SADD queues %s", s->forward_unhandled) == 0;
        replies += q_conn_appendf(c, "LPUSH queue:%s %s", s->forward_unhandled, p) == 0;
        if (job->private_key[0])
            replies += q_conn_appendf(c, "LREM %s -1 %b", job->private_key, job->raw,
                                      job->raw_len) == 0;
        replies += q_conn_appendf(c, "EXEC") == 0;
        ok = replies == (job->private_key[0] ? 5 : 4);
    }
    for (int i = 0; i < replies; i++) {
        redisReply *rep = q_conn_reply(c);
        ok = ok && rep && rep->type != REDIS_REPLY_ERROR &&
             (i < replies - 1 || rep->type == REDIS_REPLY_ARRAY);
        q_reply_free(rep);
        if (!rep)
            break;
    }
    free(p);
    if (!ok) {
        q_fail(r, "Redis::CannotConnectError", "forwarding to queue %s failed: %s",
               s->forward_unhandled, q_conn_error(c));
        return;
    }
    q_log(Q_LOG_INFO, "class=%s jid=%s forwarded unchanged to queue %s: %s", job->klass, job->jid,
          s->forward_unhandled, why);
}

void pull_register(q_registry *reg)
{
    static const q_handler handlers[] = {
        {"FetchReplyWorker", pull_fetch_reply, 3, pull_backoff, false},
        {"ThreadResolveWorker", pull_thread_resolve, 3, pull_backoff, false},
        {"ActivityPub::FetchRepliesWorker", pull_fetch_replies, 3, pull_backoff, false},
    };
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        q_registry_add(reg, &handlers[i]);
}
