/* q_process.c -- running jobs and deciding their outcome.
 *
 * Processor threads take a job, run its handler, decide what happens to it (done,
 * retry, dead, forward) and hand that, with the follow-up jobs the handler queued,
 * to the acker (q_ack.c), which writes it. */
#include "q_internal.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

q_conn *q_ctx_redis(q_ctx *ctx) { return ctx->slot->conn; }
bool q_ctx_stopping(const q_ctx *ctx) { return atomic_load(&ctx->e->deadline_passed); }
void *q_ctx_user(const q_ctx *ctx) { return ctx->e->cfg.user; }
const q_retry_cfg *q_ctx_retry(const q_ctx *ctx) { return &ctx->e->cfg.retry; }
const char *q_ctx_identity(const q_ctx *ctx) { return ctx->e->identity; }

const char *q_ctx_jid(const q_ctx *ctx) { return ctx->jid; }

void q_ctx_outcome_del(q_ctx *ctx, const char *key)
{
    q_ops_add(&ctx->followups, "DEL", key, NULL, 0, NULL, 0);
}

void q_ctx_outcome_unlock(q_ctx *ctx, const char *lock, const char *holders, const char *token)
{
    q_ops_unlock(&ctx->followups, lock, holders, token);
}

/* The writes that push p, into ops. */
static int q_ctx_push_ops(q_ctx *ctx, const q_push *p, q_ops *ops, char *err, size_t errlen)
{
    if (!p->klass || !p->klass[0]) {
        snprintf(err, errlen, "a follow-up job needs a class");
        return -1;
    }
    q_client_ops(p, ctx->e->cfg.retry.ts, ops, NULL);
    return 0;
}

int q_ctx_enqueue(q_ctx *ctx, const q_push *p, char *err, size_t errlen)
{
    return q_ctx_push_ops(ctx, p, &ctx->followups, err, errlen);
}

int q_ctx_enqueue_once(q_ctx *ctx, const q_push *p, const char *key, int ttl_s, char *err, size_t errlen)
{
    q_ops push = {0};
    if (q_ctx_push_ops(ctx, p, &push, err, errlen) != 0)
        return -1;
    q_ops_once(&ctx->followups, key, ttl_s, &push);
    return 0;
}

/* A job a hard shutdown gave back writes no outcome, but the locks it staged for its
 * outcome are released now: it runs again, and would wait for them. */
static void q_process_abandoned_unlocks(q_slot *slot, q_ctx *ctx)
{
    q_ops_keep(&ctx->followups, "UNLOCK");
    char err[Q_ERRLEN];
    if (ctx->followups.n && q_outcome_run(slot->conn, &ctx->followups, err, sizeof err) != 0)
        base_log(BASE_LOG_WARN, "jid=%s: the locks of this job, given back at shutdown, were not released (%s); "
                 "they auto-release, or go when the next process recovers this one", ctx->jid, err);
}

void q_ctx_progress(q_ctx *ctx, int percent)
{
    pthread_mutex_lock(&ctx->slot->mu);
    ctx->slot->progress = percent;
    pthread_mutex_unlock(&ctx->slot->mu);
}

/* Runs the job's handler (or decides it cannot run) and fills r. */
static void q_process_run(q_ctx *ctx, q_job *job, const q_handler *h, q_result *r)
{
    if (!job->klass) {
        /* What Ruby Sidekiq 6.4 raises when its constantize meets a nil class. */
        json_t *k = json_object_get(job->doc, "class");
        q_fail(r, "NoMethodError", "undefined method `include?' for %s (the job has no \"class\" string, so "
               "no handler can be picked)", k && !json_is_null(k) ? "a non-string \"class\"" : "nil:NilClass");
        return;
    }
    if (!h) {
        q_fail(r, "NameError", "uninitialized constant %s: scotty has no handler for it "
               "(run it on a Ruby Sidekiq, or start scotty with --forward-unknown QUEUE)",
               job->klass);
        return;
    }
    if (!json_is_array(job->args)) {
        q_fail(r, "ArgumentError", "job \"args\" must be a JSON array");
        return;
    }
    q_conn *c = ctx->slot->conn;
    if (q_conn_ensure(c) == 0)
        q_unique_release(c, job, Q_UNIQUE_BEFORE);
    h->run(ctx, job, r);
    if (!r->failed)
        q_unique_release(c, job, Q_UNIQUE_AFTER_SUCCESS);
}

static void q_process_job(q_engine *e, q_slot *slot, q_job *job)
{
    q_job_parse(job);
    pthread_mutex_lock(&slot->mu);
    slot->job = job;
    slot->run_at = (long)base_now();
    slot->progress = -1;
    pthread_mutex_unlock(&slot->mu);
    job->started = base_monotonic();

    q_result r; /* fields cleared one by one: a memset would touch 40 KB of every thread's stack */
    r.failed = false;
    r.error_class[0] = r.error_message[0] = r.forward_queue[0] = '\0';
    r.backtrace_len = 0;
    q_ctx ctx = {.e = e, .slot = slot, .jid = job->jid};
    const char *refused = q_job_refusal(job, e->cfg.max_job_bytes);
    const q_handler *h = refused ? NULL : q_registry_find(e->reg, job->klass);
    q_done_kind kind = Q_DONE_ACK;
    char *payload = NULL;
    double score = 0;
    long metrics_ms = -1;     /* >= 0: the handler ran; Sidekiq's metrics count this run */
    if (refused) {
        /* Sidekiq sends unparseable jobs straight to the dead set; so do we with jobs
         * whose class, queue or jid cannot be read as they were meant, or too big. */
        base_log(BASE_LOG_ERROR, "queue=%s jid=%s: job refused (%zu bytes): %s; moved to the dead set",
              job->queue, job->jid, job->raw_len, refused);
        kind = Q_DONE_DEAD;
        score = base_now();
        payload = q_retry_refused_payload(&e->cfg.retry, job, refused, score); /* NULL: raw */
        r.failed = true;
    } else if (!h && job->klass && e->cfg.forward_unknown[0]) {
        kind = Q_DONE_FORWARD;
        atomic_fetch_add(&e->forwarded, 1);
        base_log(BASE_LOG_INFO, "class=%s jid=%s forwarded unchanged to queue %s", job->klass, job->jid,
              e->cfg.forward_unknown);
    } else {
        if (base_log_enabled(BASE_LOG_DEBUG))
            base_log(BASE_LOG_DEBUG, "class=%s jid=%s queue=%s start", q_job_display_class(job),
                  job->jid, job->queue);
        q_process_run(&ctx, job, h, &r);
        double finished = base_monotonic(), elapsed = finished - job->started;
        if (h && e->cfg.retry.sidekiq_major >= 7)
            metrics_ms = q_metrics_elapsed_ms(job->started, finished);
        if (r.failed) {
            q_failure f;
            q_retry_decide(&e->cfg.retry, job, h, &r, base_now(), &slot->seed, &f);
            static const char *fates[] = {"retry scheduled", "moved to the dead set", "discarded"};
            base_log(BASE_LOG_WARN, "class=%s jid=%s queue=%s elapsed=%.3f fail: %s: %s (%s%s%s)",
                  q_job_display_class(job), job->jid, job->queue, elapsed, r.error_class,
                  r.error_message, fates[f.fate], f.note ? ": " : "", f.note ? f.note : "");
            kind = f.fate == Q_FATE_RETRY ? Q_DONE_RETRY : f.fate == Q_FATE_DEAD ? Q_DONE_DEAD : Q_DONE_ACK;
            payload = f.payload;
            score = f.score;
        } else if (r.forward_queue[0]) {
            kind = Q_DONE_FORWARD;
            payload = strdup(r.forward_queue);
            atomic_fetch_add(&e->forwarded, 1);
            base_log(BASE_LOG_INFO, "class=%s jid=%s queue=%s elapsed=%.3f forwarded unchanged to queue %s",
                  q_job_display_class(job), job->jid, job->queue, elapsed, r.forward_queue);
        } else {
            base_log(e->cfg.job_log ? BASE_LOG_INFO : BASE_LOG_DEBUG,
                  "class=%s jid=%s queue=%s elapsed=%.3f done", q_job_display_class(job), job->jid,
                  job->queue, elapsed);
        }
    }
    atomic_fetch_add(&e->processed, 1);
    atomic_fetch_add(&e->pending_processed, 1);
    if (r.failed) {
        atomic_fetch_add(&e->failed, 1);
        atomic_fetch_add(&e->pending_failed, 1);
    }

    /* After a hard shutdown requeued this job, its outcome must not be written.
     * (abandoned is set under both e->mu and slot->mu; either lock reads it.) */
    pthread_mutex_lock(&slot->mu);
    bool abandoned = slot->abandoned;
    q_stats_record(&slot->stats, q_job_display_class(job), job->queue, base_monotonic() - job->started,
                   r.failed);
    if (metrics_ms >= 0) /* a job cut off by the hard shutdown fails, as in Sidekiq */
        q_metrics_record(&slot->metrics, q_job_display_class(job), metrics_ms, r.failed || abandoned);
    slot->job = NULL;
    slot->abandoned = false;
    pthread_mutex_unlock(&slot->mu);
    if (abandoned || (kind == Q_DONE_ACK && e->cfg.fetch == Q_FETCH_BASIC && ctx.followups.n == 0)) {
        /* abandoned: the job is requeued and runs again; basic fetch: nothing to remove */
        if (abandoned)
            q_process_abandoned_unlocks(slot, &ctx);
        free(payload);
        q_ops_free(&ctx.followups);
        q_job_free(job);
        return;
    }
    q_done_push(e, kind, job, payload, score, &ctx.followups);
}

void *q_process_thread(void *arg)
{
    q_slot *slot = arg;
    q_engine *e = slot->e;
    q_job *job;
    while ((job = q_fetch_take(e, slot)) != NULL)
        q_process_job(e, slot, job);
    return NULL;
}
