/* q_fetch.c -- getting jobs to processors.
 *
 * Reliable mode (default): one fetcher thread per queue atomically moves jobs from
 * queue:NAME into this process's private list queue:scotty|IDENTITY|NAME (a Lua
 * batch of LMOVEs when jobs are waiting, else one BLMOVE that blocks 2 s) and
 * hands them over in memory. A fetched job is therefore always in Redis until
 * the acker removes it. Processors pick from the hand-off in Sidekiq's strict or
 * weighted queue order; a queue whose buffer is momentarily empty but whose last
 * fetch came back full is waited for rather than skipped, so priority holds.
 *
 * How much to fetch: a job in the hand-off has left queue:NAME, so Sidekiq Web's
 * size and latency no longer show it. A fetch therefore brings what will start soon:
 * the queue's share of the idle processors plus a small reserve (e->reserve). The
 * fetcher sleeps until over half the reserve is wanted, and only the processor
 * that makes it so wakes it: one wake-up per batch, not one per job.
 *
 * Waking processors: one at a time. A processor woken for a job that finds more wakes
 * the next, so a batch of long jobs starts on as many threads as it needs within a
 * few wake-ups of each other, while short jobs are taken by the threads already
 * running instead of waking every idle one for nothing to do.
 *
 * Basic mode: each processor runs BRPOP over the ordered queue keys itself, as
 * Sidekiq's BasicFetch does; a job is then only in memory while it runs. */
#include "q_internal.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

/* Moves up to ARGV[1] of the oldest jobs from the public queue to the private
 * list with three commands, keeping their order (oldest at the tail, as LMOVE
 * would), and returns them oldest first. The push comes before the trim: if it
 * fails (a private list of the wrong type), the script stops with nothing moved. */
static const char *q_fetch_batch_lua =
    "local items = redis.call('LRANGE', KEYS[1], -tonumber(ARGV[1]), -1)\n"
    "local n = #items\n"
    "if n == 0 then return items end\n"
    "local oldest_first = {}\n"
    "for i = n, 1, -1 do oldest_first[#oldest_first + 1] = items[i] end\n"
    "redis.call('LPUSH', KEYS[2], unpack(oldest_first))\n"
    "redis.call('LTRIM', KEYS[1], 0, -n - 1)\n"
    "return oldest_first\n";

/* How many jobs queue qi's fetcher should bring now (mu held). */
static int q_fetch_want(const q_engine *e, int qi)
{
    const q_handoff *h = &e->handoff[qi];
    int nq = e->cfg.order.nqueues;
    int want = (e->idle_processors + nq - 1) / nq + e->reserve - h->count;
    if (want > h->cap - h->count)
        want = h->cap - h->count;
    return want;
}

/* The smallest fetch worth a round trip: over half the reserve, so a reserve of 2
 * is fetched two at a time, not refilled one job per job taken. */
static int q_fetch_low_water(const q_engine *e) { return (e->reserve + 2) / 2; }

/* Wakes queue qi's fetcher if it waits and a fetch is now worth it (mu held). */
static void q_fetch_nudge(q_engine *e, int qi)
{
    q_handoff *h = &e->handoff[qi];
    if (h->fetcher_waiting && q_fetch_want(e, qi) >= q_fetch_low_water(e)) {
        h->fetcher_waiting = false;
        pthread_cond_signal(&h->room);
    }
}

void q_fetch_wake_all(q_engine *e)
{
    for (int i = 0; i < e->cfg.order.nqueues; i++)
        pthread_cond_broadcast(&e->handoff[i].room);
}

void q_fetch_held(q_engine *e, int *prefetched, int *waiting)
{
    pthread_mutex_lock(&e->mu);
    int n = 0;
    for (int i = 0; i < e->cfg.order.nqueues; i++)
        n += e->handoff[i].count;
    *prefetched = n;
    *waiting = n > e->idle_processors ? n - e->idle_processors : 0;
    pthread_mutex_unlock(&e->mu);
}

/* Wakes one idle processor unless one is already on its way (mu held). */
static void q_fetch_wake_processor(q_engine *e)
{
    if (e->waking == 0 && e->idle_processors > 0) {
        e->waking++;
        pthread_cond_signal(&e->job_ready);
    }
}

/* Records whether queue qi may hold more jobs; wakes processors waiting on it. */
static void q_fetch_set_more(q_engine *e, int qi, bool more)
{
    pthread_mutex_lock(&e->mu);
    if (e->handoff[qi].more != more) {
        e->handoff[qi].more = more;
        if (e->idle_processors)
            pthread_cond_broadcast(&e->job_ready);
    }
    pthread_mutex_unlock(&e->mu);
}

/* Adds fetched raw jobs to queue qi's hand-off, or requeues them when quiet. */
static void q_fetch_deliver(q_engine *e, int qi, const char *private_key, redisReply **items,
                            size_t n)
{
    const char *queue = e->cfg.order.queues[qi].name;
    q_job *jobs[n > 0 ? n : 1];
    size_t m = 0;
    for (size_t k = 0; k < n; k++) {
        if (items[k]->type != REDIS_REPLY_STRING)
            continue;
        jobs[m] = q_done_job_new(items[k]->str, items[k]->len, queue);
        jobs[m]->private_key = private_key;
        jobs[m]->fetch_hash = q_inflight_hash(items[k]->str, items[k]->len);
        jobs[m]->fetch_queue = qi;
        q_inflight_add(&e->inflight[qi], jobs[m]->fetch_hash);
        m++;
    }
    size_t given = 0;
    pthread_mutex_lock(&e->mu);
    q_handoff *h = &e->handoff[qi];
    while (given < m && !atomic_load(&e->quiet) && h->count < h->cap) {
        h->ring[(h->head + h->count) % h->cap] = jobs[given++];
        h->count++;
    }
    if (given)
        q_fetch_wake_processor(e);
    pthread_mutex_unlock(&e->mu);
    for (size_t k = given; k < m; k++) /* quiet meanwhile: they go straight back */
        q_done_push(e, Q_DONE_REQUEUE, jobs[k], NULL, 0, NULL);
}

/* After a lost reply: delivers the jobs the private list holds that were fetched but
 * never delivered. Returns 0, or -1 when Redis cannot be read (try again later). */
static int q_fetch_reconcile(q_engine *e, int qi, q_conn *c, const char *private_key)
{
    bool *unknown;
    redisReply *r = q_inflight_unknown(&e->inflight[qi], c, private_key, &unknown);
    if (!r)
        return -1;
    redisReply **pick = malloc(sizeof *pick * (r->elements ? r->elements : 1));
    size_t n = 0;
    for (size_t i = r->elements; i-- > 0;) /* the list is newest first: deliver oldest first */
        if (unknown[i])
            pick[n++] = r->element[i];
    free(unknown);
    if (n) {
        base_log(BASE_LOG_WARN, "a fetch reply from %s was lost: %zu job(s) fetched then were not "
              "delivered; delivering them now", private_key, n);
        q_fetch_deliver(e, qi, private_key, pick, n);
    }
    free(pick);
    q_reply_free(r);
    return 0;
}

void *q_fetch_thread(void *arg)
{
    q_fetch_arg *a = arg;
    q_engine *e = a->e;
    int qi = a->queue;
    free(a);
    const char *queue = e->cfg.order.queues[qi].name;
    char src[Q_KEY_MAX];
    snprintf(src, sizeof src, "queue:%s", queue);
    const char *dst = e->private_keys[qi];
    q_conn *c = q_conn_new(&e->cfg.redis);
    q_conn_set_timeout(c, (Q_BLOCK_SECONDS + 3) * 1000);
    double backoff = 0.5;
    bool lost = false;        /* a fetch reply was lost: the list may hold jobs not delivered */

    while (!atomic_load(&e->quiet)) {
        if (lost && q_conn_ensure(c) == 0)
            lost = q_fetch_reconcile(e, qi, c, dst) != 0;
        pthread_mutex_lock(&e->mu);
        q_handoff *h = &e->handoff[qi];
        int room;
        while ((room = q_fetch_want(e, qi)) < q_fetch_low_water(e) && !atomic_load(&e->quiet)) {
            h->fetcher_waiting = true;
            pthread_cond_wait(&h->room, &e->mu);
        }
        h->fetcher_waiting = false;
        pthread_mutex_unlock(&e->mu);
        if (room > Q_FETCH_BATCH_MAX)
            room = Q_FETCH_BATCH_MAX;
        if (atomic_load(&e->quiet))
            break;

        char nstr[16];
        snprintf(nstr, sizeof nstr, "%d", room);
        const char *argv[] = {src, dst, nstr};
        redisReply *r = q_conn_eval(c, q_fetch_batch_lua, 2, 3, argv, NULL);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 0) {
            q_reply_free(r);
            q_fetch_set_more(e, qi, false);
            r = q_conn_cmd(c, "BLMOVE %s %s RIGHT LEFT %d", src, dst, Q_BLOCK_SECONDS);
            if (r && r->type == REDIS_REPLY_STRING) {
                q_fetch_deliver(e, qi, dst, &r, 1);
                q_fetch_set_more(e, qi, true);
                q_reply_free(r);
                backoff = 0.5;
                continue;
            }
        }
        if (!r || r->type == REDIS_REPLY_ERROR) {
            lost = lost || !r;
            q_fetch_set_more(e, qi, false);
            if (r)
                base_log(BASE_LOG_ERROR, "fetching from %s into %s failed: %s; nothing was moved",
                         src, dst, r->str);
            q_reply_free(r);
            q_engine_sleep(e, backoff, &e->quiet);
            backoff = backoff < 8 ? backoff * 2 : 8;
            continue;
        }
        backoff = 0.5;
        if (r->type == REDIS_REPLY_ARRAY) {
            q_fetch_deliver(e, qi, dst, r->element, r->elements);
            q_fetch_set_more(e, qi, r->elements == (size_t)room);
        }
        q_reply_free(r);
    }
    q_conn_free(c);
    return NULL;
}

int q_fetch_requeue_basic(q_conn *c, const q_job *job)
{
    redisReply *r = q_conn_cmd(c, "RPUSH queue:%s %b", job->queue, job->raw, job->raw_len);
    int rc = r && r->type != REDIS_REPLY_ERROR ? 0 : -1;
    if (rc != 0)
        base_log(BASE_LOG_ERROR, "could not requeue job %s to %s: %s; it is lost", job->jid, job->queue,
              r ? r->str : q_conn_error(c));
    q_reply_free(r);
    return rc;
}

/* Basic fetch: BRPOP over the ordered queue keys. */
static q_job *q_fetch_basic(q_engine *e, q_slot *slot)
{
    int order[Q_MAX_QUEUES];
    int n = q_order_pick(&e->cfg.order, &slot->seed, order);
    const char *argv[Q_MAX_QUEUES + 2];
    char keys[Q_MAX_QUEUES][Q_KEY_MAX];
    argv[0] = "BRPOP";
    for (int i = 0; i < n; i++) {
        snprintf(keys[i], sizeof keys[i], "queue:%s", e->cfg.order.queues[order[i]].name);
        argv[i + 1] = keys[i];
    }
    argv[n + 1] = "2";
    q_conn_set_timeout(slot->conn, (Q_BLOCK_SECONDS + 3) * 1000);
    redisReply *r = NULL;
    if (q_conn_ensure(slot->conn) == 0 && q_conn_append(slot->conn, n + 2, argv, NULL) == 0)
        r = q_conn_reply(slot->conn);
    if (!r) {
        q_engine_sleep(e, 1.0, &e->quiet);
        return NULL;
    }
    q_job *job = NULL;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        const char *key = r->element[0]->str;
        job = q_done_job_new(r->element[1]->str, r->element[1]->len, key + 6);
        q_job_parse(job);
        if (atomic_load(&e->quiet)) { /* quiet while blocked: give it back, it runs next */
            q_fetch_requeue_basic(slot->conn, job);
            q_job_free(job);
            job = NULL;
        }
    }
    q_reply_free(r);
    return job;
}

q_job *q_fetch_take(q_engine *e, q_slot *slot)
{
    if (e->cfg.fetch == Q_FETCH_BASIC) {
        while (!atomic_load(&e->quiet)) {
            q_job *job = q_fetch_basic(e, slot);
            if (job)
                return job;
        }
        return NULL;
    }
    int order[Q_MAX_QUEUES];
    pthread_mutex_lock(&e->mu);
    while (!atomic_load(&e->quiet)) {
        int n = q_order_pick(&e->cfg.order, &slot->seed, order);
        for (int i = 0; i < n; i++) {
            q_handoff *h = &e->handoff[order[i]];
            if (!h->count && h->more)
                break; /* its next job is on the way: do not let a later queue pass it */
            if (h->count) {
                q_job *job = h->ring[h->head];
                h->head = (h->head + 1) % h->cap;
                h->count--;
                for (int k = 0; k < e->cfg.order.nqueues; k++)
                    if (e->handoff[k].count) { /* jobs left in any hand-off: pass the wake-up on */
                        q_fetch_wake_processor(e);
                        break;
                    }
                q_fetch_nudge(e, order[i]);
                pthread_mutex_unlock(&e->mu);
                return job;
            }
        }
        e->idle_processors++;
        for (int i = 0; i < e->cfg.order.nqueues; i++)
            q_fetch_nudge(e, i);
        pthread_cond_wait(&e->job_ready, &e->mu);
        e->idle_processors--;
        if (e->waking > 0) /* broadcasts (quiet, a queue's "more") wake some unasked */
            e->waking--;
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

void q_fetch_drain_handoff(q_engine *e)
{
    for (int i = 0; i < e->cfg.order.nqueues; i++) {
        pthread_mutex_lock(&e->mu);
        q_handoff *h = &e->handoff[i];
        int n = h->count;
        q_job *jobs[n > 0 ? n : 1];
        for (int k = 0; k < n; k++)
            jobs[k] = h->ring[(h->head + k) % h->cap];
        h->head = h->count = 0;
        pthread_mutex_unlock(&e->mu);
        for (int k = 0; k < n; k++)
            q_done_push(e, Q_DONE_REQUEUE, jobs[k], NULL, 0, NULL);
    }
}
