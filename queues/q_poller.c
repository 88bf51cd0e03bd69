/* q_poller.c -- moves due jobs from the retry and schedule sets to their queues,
 * and cleans dead processes out of the registry.
 *
 * Sidekiq pops with a Lua script and pushes separately, so a crash in between
 * loses the job. We read due members, then move each with one script that only
 * pushes if its ZREM succeeded: exactly one process moves a job, and the job is
 * never out of Redis. The sleep between polls follows Sidekiq (process count x
 * average interval, randomised). */
#include "q_internal.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define Q_POLL_BATCH 100

static const char *q_poller_move_lua =
    "if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then\n"
    "  redis.call('SADD', KEYS[3], ARGV[3])\n"
    "  redis.call('LPUSH', KEYS[2], ARGV[2])\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

/* Moves due members of one set; returns how many moved, -1 on Redis failure. */
static int q_poller_set(q_conn *c, const char *set, q_ts_format ts, double now)
{
    char nows[40];
    q_json_float(now, nows, sizeof nows);
    int moved = 0;
    for (;;) {
        redisReply *r = q_conn_cmd(c, "ZRANGEBYSCORE %s -inf %s LIMIT 0 %d", set, nows, Q_POLL_BATCH);
        if (!r || r->type != REDIS_REPLY_ARRAY) {
            q_reply_free(r);
            return -1;
        }
        size_t n = r->elements;
        for (size_t i = 0; i < n; i++) {
            redisReply *m = r->element[i];
            json_t *doc = json_loadb(m->str, m->len, JSON_ALLOW_NUL, NULL);
            json_t *q = doc ? json_object_get(doc, "queue") : NULL;
            char queue[160], key[170], t[40];
            snprintf(queue, sizeof queue, "%s", json_is_string(q) ? json_string_value(q) : "default");
            snprintf(key, sizeof key, "queue:%s", queue);
            q_json_timestamp(ts, q_now(), t, sizeof t);
            char *payload = doc ? q_json_set(m->str, m->len, "enqueued_at", t) : NULL;
            if (doc)
                json_decref(doc);
            const char *argv[] = {set, key, "queues", m->str, payload ? payload : m->str, queue};
            size_t lens[] = {strlen(set), strlen(key), 6, m->len,
                             payload ? strlen(payload) : m->len, strlen(queue)};
            redisReply *mv = q_conn_eval(c, q_poller_move_lua, 3, 6, argv, lens);
            free(payload);
            if (!mv) {
                q_reply_free(r);
                return -1;
            }
            if (mv->type == REDIS_REPLY_INTEGER && mv->integer == 1)
                moved++;
            q_reply_free(mv);
        }
        q_reply_free(r);
        if (n < Q_POLL_BATCH)
            return moved;
    }
}

int q_poller_enqueue_due(q_conn *c, q_ts_format ts, double now)
{
    int a = q_poller_set(c, "retry", ts, now);
    if (a < 0)
        return -1;
    int b = q_poller_set(c, "schedule", ts, now);
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
        q_log(Q_LOG_INFO, "removed %d dead processes from the registry", removed);
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
        return count < 10 ? avg * (0.5 + u) : avg * u;
    }
    double u = (double)rand_r(seed) / RAND_MAX;
    return avg * (0.5 + u);
}

void *q_poller_thread(void *arg)
{
    q_engine *e = arg;
    q_conn *c = e->poll_conn;
    unsigned seed = (unsigned)(q_now() * 1000) ^ (unsigned)(uintptr_t)e;
    double initial = e->cfg.poll_interval_fixed > 0 ? 0 : 10 + 5.0 * rand_r(&seed) / RAND_MAX;
    q_engine_sleep(e, initial, &e->quiet);
    if (!atomic_load(&e->quiet) && q_conn_ensure(c) == 0)
        q_poller_cleanup_processes(c);
    while (!atomic_load(&e->quiet)) {
        if (q_conn_ensure(c) == 0) {
            int n = q_poller_enqueue_due(c, e->cfg.retry.ts, q_now());
            if (n > 0)
                q_log(Q_LOG_DEBUG, "poller enqueued %d due jobs", n);
        }
        q_engine_sleep(e, q_poller_interval(e, c, &seed), &e->quiet);
    }
    return NULL;
}
