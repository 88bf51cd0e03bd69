/* q_ack.c -- the acker: writes job outcomes to Redis in pipelined batches.
 *
 * Processors (and fetchers, for jobs they give back) hand over an outcome; the acker
 * writes it. A plain ack is an LREM from the private list, many per script call. Any
 * other outcome (retry, dead, forward, requeue, and follow-up jobs) is one call of
 * the outcome script (q_outcome.c), which writes and removes in one atomic step and
 * writes nothing when a key has the wrong type. Outcomes wait in memory (bounded by
 * Q_DONE_MAX) while Redis is down; a batch whose replies were lost is sent again,
 * which is safe because the script runs only while the job is in its private list.
 * When the process stops, the acker gives up Q_STOP_GRACE seconds past the -t
 * deadline: the jobs are still in the private list and the next process requeues
 * them. */
#include "q_internal.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

q_job *q_done_job_new(const char *raw, size_t len, const char *queue)
{
    return q_job_alloc(sizeof(q_done), raw, len, queue);
}

void q_done_push(q_engine *e, q_done_kind kind, q_job *job, char *payload, double score,
                 q_ops *followups)
{
    q_done *d = (q_done *)job; /* made by q_done_job_new: the job is the record's first member */
    d->kind = kind;
    q_job_parse(job); /* a job given back unstarted was never parsed: the log names it */
    snprintf(d->jid, sizeof d->jid, "%s", job->jid);
    snprintf(d->klass, sizeof d->klass, "%s", q_job_display_class(job));
    switch (kind) {
    case Q_DONE_ACK:
        break;
    case Q_DONE_RETRY:
        q_ops_zadd(&d->ops, "retry", score, payload, strlen(payload));
        break;
    case Q_DONE_DEAD: {
        char cutoff[40], rank[24];
        if (payload)
            q_ops_zadd(&d->ops, "dead", score, payload, strlen(payload));
        else
            q_ops_zadd(&d->ops, "dead", score, job->raw, job->raw_len);
        q_dead_bounds(score, e->cfg.retry.dead_timeout, e->cfg.retry.dead_max_jobs, cutoff, rank);
        q_ops_add(&d->ops, "ZREMRANGEBYSCORE", "dead", "-inf", 4, cutoff, strlen(cutoff));
        q_ops_add(&d->ops, "ZREMRANGEBYRANK", "dead", "0", 1, rank, strlen(rank));
        break;
    }
    case Q_DONE_FORWARD: {
        char t[40];
        q_json_timestamp(e->cfg.retry.ts, base_now(), t, sizeof t);
        char *p = q_json_set(job->raw, job->raw_len, "enqueued_at", t);
        q_ops_push_job(&d->ops, payload ? payload : e->cfg.forward_unknown, p ? p : job->raw,
                       p ? strlen(p) : job->raw_len);
        free(p);
        break;
    }
    case Q_DONE_REQUEUE: {
        char key[Q_KEY_MAX];
        snprintf(key, sizeof key, "queue:%s", job->queue); /* fits: fetched queues are bounded */
        q_ops_add(&d->ops, "RPUSH", key, job->raw, job->raw_len, NULL, 0);
        break;
    }
    }
    free(payload);
    if (followups)
        q_ops_move(&d->ops, followups);
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
    if (e->acker_waiting || (e->acker_lingering && e->done_count >= Q_ACK_LINGER_FULL))
        pthread_cond_signal(&e->done_cond);
    pthread_mutex_unlock(&e->done_mu);
}

static void q_done_free(q_done *d)
{
    q_ops_free(&d->ops);
    q_job_free(&d->job);
}

static bool q_done_plain(const q_done *d)
{
    return d->kind == Q_DONE_ACK && d->ops.n == 0;
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
    const char **argv = malloc(sizeof(char *) * (Q_FETCH_BATCH_MAX + 1));
    size_t *lens = malloc(sizeof(size_t) * (Q_FETCH_BATCH_MAX + 1));
    for (q_done *first = batch; first; first = first->next) {
        if (!q_done_plain(first) || !first->job.private_key[0] || first->sent)
            continue;
        /* Gather every not yet sent plain ack for first's private list. */
        int n = 0;
        for (q_done *d = first; d && n < Q_FETCH_BATCH_MAX; d = d->next)
            if (q_done_plain(d) && !d->sent && strcmp(d->job.private_key, first->job.private_key) == 0) {
                argv[1 + n] = d->job.raw;
                lens[1 + n] = d->job.raw_len;
                d->sent = true;
                n++;
            }
        argv[0] = first->job.private_key;
        lens[0] = strlen(first->job.private_key);
        q_conn_append_eval(c, q_acker_ack_lua, 1, 1 + n, argv, lens);
        replies++;
    }
    free(argv);
    free(lens);
    return replies;
}

/* The job's outcome is written: its fetcher no longer counts it as in flight. */
static void q_acker_forget(q_engine *e, const q_done *d)
{
    if (d->job.fetch_hash)
        q_inflight_remove(&e->inflight[d->job.fetch_queue], d->job.fetch_hash);
}

static const char *q_done_kind_name(q_done_kind k)
{
    static const char *names[] = {"done", "retry", "dead", "forward", "requeue"};
    return names[k];
}

/* Writes a batch; returns 0, or -1 if the connection failed (batch kept). An outcome
 * Redis refuses is logged and dropped: its job stays in the private list. */
static int q_acker_write(q_engine *e, q_conn *c, q_done *batch)
{
    if (q_conn_ensure(c) != 0)
        return -1;
    for (q_done *d = batch; d; d = d->next)
        d->sent = false; /* a batch retried after a lost connection is sent whole again */
    int acks = q_acker_append_acks(c, batch);
    for (q_done *d = batch; d; d = d->next)
        if (!q_done_plain(d))
            q_outcome_append(c, d->job.private_key[0] ? d->job.private_key : NULL, false,
                             d->job.raw, d->job.raw_len, &d->ops);
    for (int i = 0; i < acks; i++) {
        redisReply *r = q_conn_reply(c);
        if (!r)
            return -1;
        if (r->type == REDIS_REPLY_ERROR)
            base_log(BASE_LOG_ERROR, "Redis refused to remove finished jobs from their private list: %s; "
                  "they stay there and run again after this process stops", r->str);
        q_reply_free(r);
    }
    for (q_done *d = batch; d; d = d->next) {
        if (q_done_plain(d))
            continue;
        redisReply *r = q_conn_reply(c);
        if (!r)
            return -1;
        char err[Q_ERRLEN];
        if (q_outcome_check(r, c, err, sizeof err) != 0)
            base_log(BASE_LOG_ERROR, "could not write the outcome (%s) of class=%s jid=%s: %s; the job "
                  "stays in %s and goes back to queue %s when this process stops", q_done_kind_name(d->kind),
                  d->klass, d->jid, err, d->job.private_key[0] ? d->job.private_key : "no private list",
                  d->job.queue);
        else
            q_acker_forget(e, d); /* written (or had been): a refused one stays known, parked */
        q_reply_free(r);
    }
    for (q_done *d = batch; d; d = d->next)
        if (q_done_plain(d))
            q_acker_forget(e, d);
    return 0;
}

/* True once the engine stops and the deadline for writing outcomes has passed. */
static bool q_acker_give_up(q_engine *e)
{
    pthread_mutex_lock(&e->done_mu);
    bool give_up = e->acker_exit && base_monotonic() >= e->ack_deadline;
    pthread_mutex_unlock(&e->done_mu);
    return give_up;
}

static void q_acker_abandon(q_engine *e, q_conn *c, const q_done *batch)
{
    int n = 0;
    for (const q_done *d = batch; d; d = d->next)
        n++;
    base_log(BASE_LOG_ERROR, "stopping without Redis (%s): %d job outcome(s) not written; the jobs stay "
          "in %s's private lists and the next scotty process requeues them", q_conn_error(c), n,
          e->identity);
    for (const q_done *d = batch; d; d = d->next)
        base_log(BASE_LOG_ERROR, "  not written: %s of class=%s jid=%s (queue %s)", q_done_kind_name(d->kind),
              d->klass, d->jid, d->job.queue);
}

/* With few outcomes waiting, lets more join the batch for up to Q_ACK_LINGER_MS
 * (done_mu held): at a few thousand jobs a second, one wake-up and one Redis round
 * trip then write several outcomes instead of one each, and the processors handing
 * them over signal no one. A job's outcome is written that much later at most. */
static void q_acker_linger(q_engine *e)
{
    if (!e->done_head || e->acker_exit || e->done_count >= Q_ACK_LINGER_FULL)
        return;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += Q_ACK_LINGER_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    e->acker_lingering = true;
    while (e->done_count < Q_ACK_LINGER_FULL && !e->acker_exit &&
           pthread_cond_timedwait(&e->done_cond, &e->done_mu, &until) == 0)
        ;
    e->acker_lingering = false;
}

void *q_acker_thread(void *arg)
{
    q_engine *e = arg;
    q_conn *c = e->ack_conn;
    for (;;) {
        pthread_mutex_lock(&e->done_mu);
        while (!e->done_head && !e->acker_exit) {
            e->acker_waiting = true;
            pthread_cond_wait(&e->done_cond, &e->done_mu);
            e->acker_waiting = false;
        }
        q_acker_linger(e);
        q_done *batch = e->done_head;
        e->done_head = e->done_tail = NULL;
        e->done_count = 0;
        pthread_cond_broadcast(&e->done_room);
        bool exiting = e->acker_exit;
        pthread_mutex_unlock(&e->done_mu);
        if (!batch && exiting)
            break;
        /* Redis is down: keep the outcomes and try again, until the stop deadline. */
        double backoff = 0.5;
        while (q_acker_write(e, c, batch) != 0) {
            if (q_acker_give_up(e)) {
                q_acker_abandon(e, c, batch);
                break;
            }
            struct timespec ts = {(time_t)backoff, (long)((backoff - (double)(long)backoff) * 1e9)};
            nanosleep(&ts, NULL);
            backoff = backoff < 5 ? backoff * 2 : 5;
        }
        while (batch) {
            q_done *next = batch->next;
            q_done_free(batch);
            batch = next;
        }
    }
    return NULL;
}
