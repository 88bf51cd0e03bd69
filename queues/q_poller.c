/* q_poller.c -- moves due jobs from the retry and schedule sets to their queues,
 * and cleans dead processes out of the registry.
 *
 * Sidekiq pops with a Lua script and pushes separately, so a crash in between
 * loses the job. We read due members, then move each with the outcome script
 * (q_outcome.c), which pushes only while the member is still in the set and removes
 * it in the same step: exactly one process moves a job, and the job is never out
 * of Redis. The sleep between polls follows Sidekiq (process count x
 * average interval, randomised). */
#include "q_internal.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define Q_POLL_BATCH 100

/* The writes that move one due member: to its queue, or, when it names no queue a
 * job can be pushed to (a NUL in the name), to the dead set. Returns false for the
 * latter, with the reason in why. */
static bool q_poller_ops(const char *member, size_t len, const q_retry_cfg *cfg, double now,
                         q_ops *ops, const char **why)
{
    json_t *doc = json_loadb(member, len, JSON_ALLOW_NUL, NULL);
    json_t *q = json_object_get(doc, "queue");
    const char *queue = json_is_string(q) ? json_string_value(q) : "default";
    *why = NULL;
    if (json_is_string(q) && strlen(queue) != json_string_length(q))
        *why = "its \"queue\" contains a NUL byte";
    else if (!*queue)
        *why = "its \"queue\" is empty";
    if (*why) {
        char cutoff[40], rank[24];
        q_ops_zadd(ops, "dead", now, member, len);
        q_dead_bounds(now, cfg->dead_timeout, cfg->dead_max_jobs, cutoff, rank);
        q_ops_add(ops, "ZREMRANGEBYSCORE", "dead", "-inf", 4, cutoff, strlen(cutoff));
        q_ops_add(ops, "ZREMRANGEBYRANK", "dead", "0", 1, rank, strlen(rank));
        json_decref(doc);
        return false;
    }
    char t[40];
    q_json_timestamp(cfg->ts, base_now(), t, sizeof t);
    char *payload = doc ? q_json_set(member, len, "enqueued_at", t) : NULL;
    q_ops_push_job(ops, queue, payload ? payload : member, payload ? strlen(payload) : len);
    free(payload);
    json_decref(doc);
    return true;
}

/* Moves due members of one set; returns how many moved, -1 on Redis failure. A
 * member Redis refuses to move (its queue key has the wrong type) stays in the set,
 * is logged and skipped. */
static int q_poller_set(q_conn *c, const char *set, const q_retry_cfg *cfg, double now)
{
    char nows[40];
    base_json_float(now, nows, sizeof nows);
    int moved = 0, skipped = 0;
    for (;;) {
        redisReply *r = q_conn_cmd(c, "ZRANGEBYSCORE %s -inf %s LIMIT %d %d", set, nows, skipped,
                                   Q_POLL_BATCH);
        if (!r || r->type != REDIS_REPLY_ARRAY) {
            if (r && r->type == REDIS_REPLY_ERROR)
                base_log(BASE_LOG_ERROR, "cannot read due jobs from %s: %s", set, r->str);
            q_reply_free(r);
            return -1;
        }
        size_t n = r->elements;
        for (size_t i = 0; i < n; i++) {
            redisReply *m = r->element[i];
            q_ops ops = {0};
            const char *why;
            bool routed = q_poller_ops(m->str, m->len, cfg, now, &ops, &why);
            q_outcome_append(c, set, true, m->str, m->len, &ops);
            q_ops_free(&ops);
            redisReply *mv = q_conn_reply(c);
            char err[Q_ERRLEN];
            if (!mv) {
                q_reply_free(r);
                return -1;
            }
            if (q_outcome_check(mv, c, err, sizeof err) != 0) {
                base_log(BASE_LOG_ERROR, "a due job stays in %s: %s", set, err);
                skipped++;
            } else if (mv->integer == 1 && !routed) {
                base_log(BASE_LOG_ERROR, "a due job in %s moved to the dead set: %s", set, why);
            } else if (mv->integer == 1) {
                moved++;
            }
            q_reply_free(mv);
        }
        q_reply_free(r);
        if (n < Q_POLL_BATCH)
            return moved;
    }
}

int q_poller_enqueue_due(q_conn *c, const q_retry_cfg *cfg, double now)
{
    int a = q_poller_set(c, "retry", cfg, now);
    if (a < 0)
        return -1;
    int b = q_poller_set(c, "schedule", cfg, now);
    if (b < 0)
        return -1;
    return a + b;
}

void q_poller_cleanup_processes(q_conn *c)
{
    redisReply *lock = q_conn_cmd(c, "SET process_cleanup 1 NX EX 60");
    bool mine = lock && lock->type == REDIS_REPLY_STATUS;
    q_reply_free(lock);
    if (!mine)
        return;
    redisReply *members = q_conn_cmd(c, "SMEMBERS processes");
    if (!members || members->type != REDIS_REPLY_ARRAY) {
        q_reply_free(members);
        return;
    }
    for (size_t i = 0; i < members->elements; i++)
        q_conn_appendf(c, "HGET %s info", members->element[i]->str);
    int removed = 0;
    for (size_t i = 0; i < members->elements; i++) {
        redisReply *r = q_conn_reply(c);
        if (!r)
            break;
        if (r->type == REDIS_REPLY_NIL) {
            redisReply *s = q_conn_cmd(c, "SREM processes %s", members->element[i]->str);
            q_reply_free(s);
            removed++;
        }
        q_reply_free(r);
    }
    if (removed)
        base_log(BASE_LOG_INFO, "removed %d dead processes from the registry", removed);
    q_reply_free(members);
}

/* Sidekiq's randomised sleep: process_count x average, spread around it. */
static double q_poller_interval(q_engine *e, q_conn *c, unsigned *seed)
{
    double avg = e->cfg.poll_interval_fixed;
    if (avg <= 0) {
        long count = 1;
        redisReply *r = q_conn_cmd(c, "SCARD processes");
        if (r && r->type == REDIS_REPLY_INTEGER && r->integer > 0)
            count = r->integer;
        q_reply_free(r);
        avg = (double)count * e->cfg.poll_interval;
        double u = (double)rand_r(seed) / RAND_MAX;
        double next = count < 10 ? avg * (0.5 + u) : avg * u;
        base_log(BASE_LOG_DEBUG, "poller: next poll in %.3f s (%ld process(es) x %.1f s, randomised)", next,
                 count, e->cfg.poll_interval);
        return next;
    }
    double u = (double)rand_r(seed) / RAND_MAX;
    double next = avg * (0.5 + u);
    base_log(BASE_LOG_DEBUG, "poller: next poll in %.3f s (fixed average %.1f s, randomised)", next, avg);
    return next;
}

void *q_poller_thread(void *arg)
{
    q_engine *e = arg;
    q_conn *c = e->poll_conn;
    unsigned seed = (unsigned)(base_now() * 1000) ^ (unsigned)(uintptr_t)e;
    double initial = e->cfg.poll_interval_fixed > 0 ? 0 : 10 + 5.0 * rand_r(&seed) / RAND_MAX;
    base_log(BASE_LOG_DEBUG, "poller: first poll in %.3f s", initial);
    q_engine_sleep(e, initial, &e->quiet);
    if (!atomic_load(&e->quiet) && q_conn_ensure(c) == 0)
        q_poller_cleanup_processes(c);
    while (!atomic_load(&e->quiet)) {
        if (q_conn_ensure(c) == 0) {
            int n = q_poller_enqueue_due(c, &e->cfg.retry, base_now());
            if (n > 0)
                base_log(BASE_LOG_DEBUG, "poller enqueued %d due jobs", n);
        }
        q_engine_sleep(e, q_poller_interval(e, c, &seed), &e->quiet);
    }
    return NULL;
}
