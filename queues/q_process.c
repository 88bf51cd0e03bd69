/* q_process.c -- running jobs and recording their outcome.
 *
 * Processor threads take a job, run its handler and hand the outcome to the
 * acker. The acker thread writes outcomes in pipelined batches: a plain ack is
 * one LREM from the private list; a retry, death, forward or requeue is the write
 * plus that LREM inside one MULTI, so a job is never both gone and unrecorded. */
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

void q_ctx_progress(q_ctx *ctx, int percent)
{
    pthread_mutex_lock(&ctx->slot->mu);
    ctx->slot->progress = percent;
    pthread_mutex_unlock(&ctx->slot->mu);
}

void q_done_push(q_engine *e, q_done_kind kind, q_job *job, char *payload, double score)
{
    q_done *d = calloc(1, sizeof *d);
    d->kind = kind;
    d->job = job;
    d->payload = payload;
    d->score = score;
    if (job->doc) { /* the acker needs only the raw bytes */
        json_decref(job->doc);
        job->doc = NULL;
        job->klass = NULL;
        job->jid = "";
        job->args = NULL;
    }
    pthread_mutex_lock(&e->done_mu);
    while (e->done_count >= Q_DONE_MAX && !e->acker_exit)
        pthread_cond_wait(&e->done_room, &e->done_mu);
    if (e->done_tail)
        e->done_tail->next = d;
    else
        e->done_head = d;
    e->done_tail = d;
    e->done_count++;
    if (e->acker_waiting)
        pthread_cond_signal(&e->done_cond);
    pthread_mutex_unlock(&e->done_mu);
}

/* Runs the job's handler (or decides it cannot run) and fills r. */
static void q_process_run(q_engine *e, q_slot *slot, q_job *job, const q_handler *h, q_result *r)
{
    if (!job->klass) {
        q_fail(r, "NameError", "job has no \"class\" string; cannot pick a handler");
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
    q_ctx ctx = {e, slot};
    if (q_conn_ensure(slot->conn) == 0)
        q_unique_release(slot->conn, job, Q_UNIQUE_BEFORE);
    h->run(&ctx, job, r);
    if (!r->failed)
        q_unique_release(slot->conn, job, Q_UNIQUE_AFTER_SUCCESS);
}

static void q_process_job(q_engine *e, q_slot *slot, q_job *job)
{
    pthread_mutex_lock(&slot->mu);
    slot->job = job;
    slot->run_at = (long)q_now();
    slot->progress = -1;
    pthread_mutex_unlock(&slot->mu);
    job->started = q_monotonic();

    q_result r;
    memset(&r, 0, sizeof r);
    const q_handler *h = q_registry_find(e->reg, job->klass);
    q_done_kind kind = Q_DONE_ACK;
    char *payload = NULL;
    double score = 0;
    long metrics_ms = -1;     /* >= 0: the handler ran; Sidekiq's metrics count this run */
    if (!job->doc) {
        /* Not a JSON object: Sidekiq sends unparseable jobs straight to the dead set. */
        q_log(Q_LOG_ERROR, "queue=%s: job is not valid JSON (%zu bytes); moved to the dead set",
              job->queue, job->raw_len);
        kind = Q_DONE_DEAD; /* payload NULL: the raw bytes themselves */
        score = q_now();
        r.failed = true;
    } else if (!h && job->klass && e->cfg.forward_unknown[0]) {
        kind = Q_DONE_FORWARD;
        atomic_fetch_add(&e->forwarded, 1);
        q_log(Q_LOG_INFO, "class=%s jid=%s forwarded unchanged to queue %s", job->klass, job->jid,
              e->cfg.forward_unknown);
    } else {
        if (q_log_enabled(Q_LOG_DEBUG))
            q_log(Q_LOG_DEBUG, "class=%s jid=%s queue=%s start", q_job_display_class(job),
                  job->jid, job->queue);
        q_process_run(e, slot, job, h, &r);
        double finished = q_monotonic(), elapsed = finished - job->started;
        if (h && e->cfg.retry.sidekiq_major >= 7)
            metrics_ms = q_metrics_elapsed_ms(job->started, finished);
        if (r.failed) {
            q_failure f;
            q_retry_decide(&e->cfg.retry, job, h, &r, q_now(), &slot->seed, &f);
            static const char *fates[] = {"retry scheduled", "moved to the dead set", "discarded"};
            q_log(Q_LOG_WARN, "class=%s jid=%s queue=%s elapsed=%.3f fail: %s: %s (%s)",
                  q_job_display_class(job), job->jid, job->queue, elapsed, r.error_class,
                  r.error_message, fates[f.fate]);
            kind = f.fate == Q_FATE_RETRY ? Q_DONE_RETRY : f.fate == Q_FATE_DEAD ? Q_DONE_DEAD : Q_DONE_ACK;
            payload = f.payload;
            score = f.score;
        } else if (r.forward_queue[0]) {
            kind = Q_DONE_FORWARD;
            payload = strdup(r.forward_queue);
            atomic_fetch_add(&e->forwarded, 1);
            q_log(Q_LOG_INFO, "class=%s jid=%s queue=%s elapsed=%.3f forwarded unchanged to queue %s",
                  q_job_display_class(job), job->jid, job->queue, elapsed, r.forward_queue);
        } else {
            q_log(e->cfg.job_log ? Q_LOG_INFO : Q_LOG_DEBUG,
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
    q_stats_record(&slot->stats, q_job_display_class(job), job->queue, q_monotonic() - job->started,
                   r.failed);
    if (metrics_ms >= 0) /* a job cut off by the hard shutdown fails, as in Sidekiq */
        q_metrics_record(&slot->metrics, q_job_display_class(job), metrics_ms, r.failed || abandoned);
    slot->job = NULL;
    slot->abandoned = false;
    pthread_mutex_unlock(&slot->mu);
    if (abandoned) {
        free(payload);
        q_job_free(job);
        return;
    }
    if (kind == Q_DONE_ACK && e->cfg.fetch == Q_FETCH_BASIC) {
        q_job_free(job); /* nothing to remove: basic fetch already popped it */
        free(payload);
        return;
    }
    q_done_push(e, kind, job, payload, score);
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

/* Queues the Redis commands for one outcome; returns how many replies follow. */
static int q_acker_append(q_engine *e, q_conn *c, const q_done *d)
{
    const q_job *j = d->job;
    bool lrem = j->private_key[0] != '\0';
    if (d->kind == Q_DONE_ACK) {
        if (!lrem)
            return 0;
        q_conn_appendf(c, "LREM %s -1 %b", j->private_key, j->raw, j->raw_len);
        return 1;
    }
    int n = 2;
    q_conn_appendf(c, "MULTI");
    switch (d->kind) {
    case Q_DONE_RETRY: {
        char score[40];
        q_json_float(d->score, score, sizeof score);
        q_conn_appendf(c, "ZADD retry %s %s", score, d->payload);
        n++;
        break;
    }
    case Q_DONE_DEAD: {
        char score[40];
        const char *dead = d->payload ? d->payload : j->raw;
        size_t dead_len = d->payload ? strlen(d->payload) : j->raw_len;
        q_json_float(d->score, score, sizeof score);
        q_conn_appendf(c, "ZADD dead %s %b", score, dead, dead_len);
        n += 1 + q_dead_trim_append(c, d->score, e->cfg.retry.dead_timeout, e->cfg.retry.dead_max_jobs);
        break;
    }
    case Q_DONE_FORWARD: {
        char t[40];
        q_json_timestamp(e->cfg.retry.ts, q_now(), t, sizeof t);
        char *p = q_json_set(j->raw, j->raw_len, "enqueued_at", t);
        const char *to = d->payload ? d->payload : e->cfg.forward_unknown;
        q_conn_appendf(c, "SADD queues %s", to);
        q_conn_appendf(c, "LPUSH queue:%s %s", to, p ? p : j->raw);
        free(p);
        n += 2;
        break;
    }
    case Q_DONE_REQUEUE:
        q_conn_appendf(c, "RPUSH queue:%s %b", j->queue, j->raw, j->raw_len);
        n++;
        break;
    case Q_DONE_ACK:
        break;
    }
    if (lrem) {
        q_conn_appendf(c, "LREM %s -1 %b", j->private_key, j->raw, j->raw_len);
        n++;
    }
    q_conn_appendf(c, "EXEC");
    return n;
}

/* Removes many finished jobs from one private list in one call. */
static const char *q_acker_ack_lua =
    "for i = 1, #ARGV do redis.call('LREM', KEYS[1], -1, ARGV[i]) end\n"
    "return #ARGV\n";

/* Queues one script call per private list for the batch's plain acks (at most
 * Q_FETCH_BATCH_MAX jobs each); returns how many replies follow. */
static int q_acker_append_acks(q_conn *c, q_done *batch)
{
    int replies = 0;
    const char **argv = malloc(sizeof(char *) * (Q_FETCH_BATCH_MAX + 4));
    size_t *lens = malloc(sizeof(size_t) * (Q_FETCH_BATCH_MAX + 4));
    for (q_done *first = batch; first; first = first->next) {
        if (first->kind != Q_DONE_ACK || !first->job->private_key[0] || first->sent)
            continue;
        /* Gather every not yet sent plain ack for first's private list. */
        int n = 0;
        for (q_done *d = first; d && n < Q_FETCH_BATCH_MAX; d = d->next)
            if (d->kind == Q_DONE_ACK && !d->sent &&
                strcmp(d->job->private_key, first->job->private_key) == 0) {
                argv[4 + n] = d->job->raw;
                lens[4 + n] = d->job->raw_len;
                d->sent = true;
                n++;
            }
        char nkeys[] = "1";
        argv[0] = "EVAL";
        lens[0] = 4;
        argv[1] = q_acker_ack_lua;
        lens[1] = strlen(q_acker_ack_lua);
        argv[2] = nkeys;
        lens[2] = 1;
        argv[3] = first->job->private_key;
        lens[3] = strlen(first->job->private_key);
        q_conn_append(c, 4 + n, argv, lens);
        replies++;
    }
    free(argv);
    free(lens);
    return replies;
}

/* Writes a batch; returns 0, or -1 if the connection failed (batch kept). */
static int q_acker_write(q_engine *e, q_conn *c, q_done *batch)
{
    if (q_conn_ensure(c) != 0)
        return -1;
    for (q_done *d = batch; d; d = d->next)
        d->sent = false; /* a batch retried after a lost connection is sent whole again */
    int replies = q_acker_append_acks(c, batch);
    for (q_done *d = batch; d; d = d->next)
        if (d->kind != Q_DONE_ACK)
            replies += q_acker_append(e, c, d);
    for (int i = 0; i < replies; i++) {
        redisReply *r = q_conn_reply(c);
        if (!r)
            return -1;
        if (r->type == REDIS_REPLY_ERROR)
            q_log(Q_LOG_ERROR, "Redis refused a job outcome: %s", r->str);
        q_reply_free(r);
    }
    return 0;
}

void *q_acker_thread(void *arg)
{
    q_engine *e = arg;
    q_conn *c = e->ack_conn;
    double backoff = 0.5;
    for (;;) {
        pthread_mutex_lock(&e->done_mu);
        while (!e->done_head && !e->acker_exit) {
            e->acker_waiting = true;
            pthread_cond_wait(&e->done_cond, &e->done_mu);
            e->acker_waiting = false;
        }
        q_done *batch = e->done_head;
        e->done_head = e->done_tail = NULL;
        e->done_count = 0;
        pthread_cond_broadcast(&e->done_room);
        bool exiting = e->acker_exit;
        pthread_mutex_unlock(&e->done_mu);
        if (!batch && exiting)
            break;
        int attempts = 0;
        while (q_acker_write(e, c, batch) != 0) {
            /* Redis is down: keep the outcomes and try again. When stopping, give up
             * after a few tries: the jobs are still in the private list, so another
             * process recovers and reruns them; nothing is lost. */
            if (exiting && ++attempts >= 5) {
                q_log(Q_LOG_ERROR, "stopping without Redis: job outcomes not written; the "
                      "jobs stay in %s's private lists and will run again", e->identity);
                break;
            }
            struct timespec ts = {(time_t)backoff, (long)((backoff - (double)(long)backoff) * 1e9)};
            nanosleep(&ts, NULL);
            backoff = backoff < 5 ? backoff * 2 : 5;
        }
        backoff = 0.5;
        while (batch) {
            q_done *next = batch->next;
            q_job_free(batch->job);
            free(batch->payload);
            free(batch);
            batch = next;
        }
    }
    return NULL;
}
