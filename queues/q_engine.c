/* q_engine.c -- one Sidekiq process: configuration, start-up checks, and the
 * lifecycle (start, quiet, graceful stop with deadline and requeue, dump). */
#include "q_internal.h"

#include <hiredis/hiredis.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void q_engine_cfg_defaults(q_engine_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    char err[Q_ERRLEN];
    q_redis_parse_url("redis://127.0.0.1:6379/0", &cfg->redis, err, sizeof err);
    cfg->concurrency = 10;
    cfg->timeout = 25;
    cfg->fetch = Q_FETCH_RELIABLE;
    cfg->recover_threshold = 3;
    cfg->max_job_bytes = Q_MAX_JOB_BYTES;
    cfg->beat_interval = 5;
    cfg->poll_interval = 5;
    cfg->poller = true;
    cfg->job_log = true;
    cfg->retry.max_retries = 25;
    cfg->retry.dead_max_jobs = 10000;
    cfg->retry.dead_timeout = 180L * 24 * 3600;
    cfg->retry.sidekiq_major = 0; /* chosen at start (q_version.c) unless set */
    cfg->retry.ts = Q_TS_FLOAT;
}

int q_private_key(const char *identity, const char *queue, char out[Q_KEY_MAX])
{
    int n = snprintf(out, Q_KEY_MAX, "queue:scotty|%s|%s", identity, queue);
    return n >= 0 && n < Q_KEY_MAX ? 0 : -1;
}

q_engine *q_engine_new(const q_engine_cfg *cfg, const q_registry *reg, char *err, size_t errlen)
{
    if (cfg->concurrency < 1 || cfg->concurrency > 1000) {
        snprintf(err, errlen, "concurrency must be between 1 and 1000 (got %d)", cfg->concurrency);
        return NULL;
    }
    if (cfg->order.nqueues == 0) {
        snprintf(err, errlen, "no queues to work on: give at least one -q QUEUE");
        return NULL;
    }
    char host[Q_IDENTITY_MAX];
    const char *name = getenv("DYNO");
    if (!name || !*name)
        name = gethostname(host, sizeof host) == 0 ? host : "localhost";
    /* identity = name ":" pid ":" 12 hex digits; it names keys, so it is never cut */
    size_t name_max = Q_IDENTITY_MAX - 1 - (1 + 10 + 1 + 12);
    if (strlen(name) > name_max) {
        snprintf(err, errlen, "%s is %zu bytes long; a process identity allows at most %zu: set a "
                 "shorter DYNO or hostname", name == host ? "the hostname" : "DYNO", strlen(name),
                 name_max);
        return NULL;
    }
    q_engine *e = calloc(1, sizeof *e);
    e->cfg = *cfg;
    /* Jobs fetched but not started are invisible to Sidekiq Web's queue size and
     * latency (what operators autoscale on): by default a queue holds at most an
     * eighth of -c beyond the processors that are idle, and 2 (1 at -c 1), so a
     * fetch can bring two jobs (q_fetch_low_water). */
    int least = cfg->concurrency > 1 ? 2 : 1;
    e->reserve = e->cfg.prefetch > 0 ? e->cfg.prefetch : cfg->concurrency / 8 > least ? cfg->concurrency / 8 : least;
    e->reg = reg;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->job_ready, NULL);
    pthread_cond_init(&e->tick, NULL);
    pthread_mutex_init(&e->done_mu, NULL);
    pthread_condattr_t mono;
    pthread_condattr_init(&mono);
    pthread_condattr_setclock(&mono, CLOCK_MONOTONIC); /* the acker's linger is timed */
    pthread_cond_init(&e->done_cond, &mono);
    pthread_condattr_destroy(&mono);
    pthread_cond_init(&e->done_room, NULL);

    snprintf(e->hostname, sizeof e->hostname, "%s", name);
    unsigned char nonce[6];
    RAND_bytes(nonce, sizeof nonce);
    /* fits: the name was bounded above */
    if ((size_t)snprintf(e->identity, sizeof e->identity, "%s:%d:%02x%02x%02x%02x%02x%02x", e->hostname,
                         (int)getpid(), nonce[0], nonce[1], nonce[2], nonce[3], nonce[4],
                         nonce[5]) >= sizeof e->identity)
        abort();

    for (int i = 0; i < cfg->order.nqueues; i++) {
        q_private_key(e->identity, cfg->order.queues[i].name, e->private_keys[i]); /* fits: both bounded */
        q_inflight_init(&e->inflight[i]);
        e->handoff[i].cap = cfg->concurrency + e->reserve;
        e->handoff[i].more = true; /* until its first fetch says: strict order from the first job */
        e->handoff[i].ring = calloc((size_t)e->handoff[i].cap, sizeof(q_job *));
        pthread_cond_init(&e->handoff[i].room, NULL);
    }
    e->slots = calloc((size_t)cfg->concurrency, sizeof(q_slot));
    for (int i = 0; i < cfg->concurrency; i++) {
        q_slot *s = &e->slots[i];
        s->e = e;
        s->index = i;
        unsigned r;
        RAND_bytes((unsigned char *)&r, sizeof r);
        s->seed = r;
        /* A short base-36 thread id, as Sidekiq shows in logs and the Busy page. */
        unsigned long v = ((unsigned long)r << 8) ^ (unsigned long)i;
        char tmp[16];
        int n = 0;
        do {
            tmp[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
            v /= 36;
        } while (v && n < 10);
        for (int k = 0; k < n; k++)
            s->tid[k] = tmp[n - 1 - k];
        pthread_mutex_init(&s->mu, NULL);
        s->conn = q_conn_new(&cfg->redis);
    }
    e->beat_conn = q_conn_new(&cfg->redis);
    e->poll_conn = q_conn_new(&cfg->redis);
    e->ack_conn = q_conn_new(&cfg->redis);
    e->main_conn = q_conn_new(&cfg->redis);
    return e;
}

const char *q_engine_identity(const q_engine *e) { return e->identity; }
bool q_engine_stop_requested(const q_engine *e) { return atomic_load(&e->stop_requested); }
void q_engine_request_stop(q_engine *e) { atomic_store(&e->stop_requested, true); }
bool q_engine_is_quiet(const q_engine *e) { return atomic_load(&e->quiet); }

void q_engine_sleep(q_engine *e, double seconds, atomic_bool *until)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + seconds;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    pthread_mutex_lock(&e->mu);
    if (!atomic_load(until))
        pthread_cond_timedwait(&e->tick, &e->mu, &ts);
    pthread_mutex_unlock(&e->mu);
}

int q_engine_busy(q_engine *e)
{
    int busy = 0;
    for (int i = 0; i < e->cfg.concurrency; i++) {
        pthread_mutex_lock(&e->slots[i].mu);
        busy += e->slots[i].job != NULL;
        pthread_mutex_unlock(&e->slots[i].mu);
    }
    return busy;
}

/* Reads the server version and eviction policy; refuses what cannot work. */
static int q_engine_check_redis(q_engine *e, char *err, size_t errlen)
{
    char where[600];
    q_redis_describe(&e->cfg.redis, where, sizeof where);
    if (q_conn_ensure(e->main_conn) != 0) {
        snprintf(err, errlen, "%s", q_conn_error(e->main_conn));
        return -1;
    }
    redisReply *r = q_conn_cmd(e->main_conn, "INFO");
    if (!r || r->type != REDIS_REPLY_STRING) {
        snprintf(err, errlen, "Redis at %s did not answer INFO: %s", where,
                 r && r->type == REDIS_REPLY_ERROR ? r->str : q_conn_error(e->main_conn));
        q_reply_free(r);
        return -1;
    }
    int major = 0, minor = 0;
    const char *v = strstr(r->str, "redis_version:");
    if (v)
        sscanf(v + 14, "%d.%d", &major, &minor);
    const char *pol = strstr(r->str, "maxmemory_policy:");
    if (pol && strncmp(pol + 17, "noeviction", 10) != 0)
        base_log(BASE_LOG_WARN, "Redis at %s evicts keys (maxmemory_policy is not noeviction): jobs "
              "can be lost; set maxmemory-policy noeviction", where);
    q_reply_free(r);
    if (major < 6 || (major == 6 && minor < 2)) {
        snprintf(err, errlen, "Redis at %s is %d.%d; scotty needs 6.2 or newer (BLMOVE, LPOS and "
                 "SET ... GET): upgrade Redis", where, major, minor);
        return -1;
    }
    return 0;
}

int q_engine_start(q_engine *e, char *err, size_t errlen)
{
    if (q_engine_check_redis(e, err, errlen) != 0)
        return -1;
    if (q_version_choose(e, e->main_conn, err, errlen) != 0)
        return -1;
    e->started = base_now();
    e->started_mono = base_monotonic();
    e->info_json = q_beat_info_json(e);
    /* The first beat makes this process alive before it holds any job, so no one
     * mistakes its private lists for orphans. */
    if (q_beat_once(e, e->main_conn) != 0) {
        snprintf(err, errlen, "first heartbeat failed: %s", q_conn_error(e->main_conn));
        return -1;
    }
    if (e->cfg.fetch == Q_FETCH_RELIABLE)
        q_recover_orphans(e, e->main_conn);

    e->acker_started = pthread_create(&e->acker_thread, NULL, q_acker_thread, e) == 0;
    e->beat_started = pthread_create(&e->beat_thread, NULL, q_beat_thread, e) == 0;
    if (e->cfg.poller)
        e->poller_started = pthread_create(&e->poller_thread, NULL, q_poller_thread, e) == 0;
    if (e->cfg.fetch == Q_FETCH_RELIABLE) {
        for (int i = 0; i < e->cfg.order.nqueues; i++) {
            q_fetch_arg *a = malloc(sizeof *a);
            a->e = e;
            a->queue = i;
            if (pthread_create(&e->fetch_threads[i], NULL, q_fetch_thread, a) != 0) {
                free(a);
                snprintf(err, errlen, "cannot start fetcher thread");
                return -1;
            }
            e->nfetchers++;
        }
    }
    for (int i = 0; i < e->cfg.concurrency; i++) {
        if (pthread_create(&e->slots[i].thread, NULL, q_process_thread, &e->slots[i]) != 0) {
            snprintf(err, errlen, "cannot start processor thread %d", i);
            return -1;
        }
        e->slots[i].thread_started = true;
    }
    char where[600];
    q_redis_describe(&e->cfg.redis, where, sizeof where);
    base_log(BASE_LOG_INFO, "scotty %s started as %s: %d threads, %s fetch, %s queues, Redis %s",
          SCOTTY_VERSION, e->identity, e->cfg.concurrency,
          e->cfg.fetch == Q_FETCH_RELIABLE ? "reliable" : "basic",
          e->cfg.order.strict ? "strict" : "weighted", where);
    return 0;
}

void q_engine_quiet(q_engine *e)
{
    if (atomic_exchange(&e->quiet, true))
        return;
    base_log(BASE_LOG_INFO, "quiet: no new jobs will be fetched; running jobs finish");
    pthread_mutex_lock(&e->mu);
    pthread_cond_broadcast(&e->job_ready);
    q_fetch_wake_all(e);
    pthread_cond_broadcast(&e->tick);
    pthread_mutex_unlock(&e->mu);
    q_fetch_drain_handoff(e);
}

/* Joins a thread if it ends within `seconds`; returns false if it did not. */
static bool q_join_within(pthread_t t, double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double d = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + seconds;
    ts.tv_sec = (time_t)d;
    ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
    return pthread_timedjoin_np(t, NULL, &ts) == 0;
}

int q_engine_stop(q_engine *e)
{
    double deadline = base_monotonic() + e->cfg.timeout;
    q_engine_quiet(e);

    int busy = q_engine_busy(e);
    if (busy > 0)
        base_log(BASE_LOG_INFO, "pausing up to %.0f s to allow %d running jobs to finish",
              e->cfg.timeout, busy);
    while ((busy = q_engine_busy(e)) > 0 && base_monotonic() < deadline - 0.5) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (busy > 0) {
        /* Hard shutdown: results of still-running jobs are dropped; the jobs are
         * requeued below, before anything else ends. */
        pthread_mutex_lock(&e->mu);
        e->hard = true;
        for (int i = 0; i < e->cfg.concurrency; i++) {
            pthread_mutex_lock(&e->slots[i].mu);
            if (e->slots[i].job) {
                e->slots[i].abandoned = true;
                if (e->cfg.fetch == Q_FETCH_BASIC)
                    q_fetch_requeue_basic(e->main_conn, e->slots[i].job);
            }
            pthread_mutex_unlock(&e->slots[i].mu);
        }
        pthread_mutex_unlock(&e->mu);
        atomic_store(&e->deadline_passed, true);
        base_log(BASE_LOG_WARN, "deadline of %.0f s reached: requeueing %d unfinished jobs", e->cfg.timeout,
              busy);
    }
    for (int i = 0; i < e->nfetchers; i++)
        pthread_join(e->fetch_threads[i], NULL);
    int stuck = 0;
    for (int i = 0; i < e->cfg.concurrency; i++)
        if (e->slots[i].thread_started) {
            if (q_join_within(e->slots[i].thread, busy > 0 ? 3.0 : 30.0))
                e->slots[i].thread_started = false;
            else
                stuck++;
        }
    if (stuck > 0)
        base_log(BASE_LOG_WARN, "%d job(s) ignored the shutdown; they were requeued and will run again",
              stuck);
    pthread_mutex_lock(&e->done_mu);
    e->acker_exit = true;
    e->ack_deadline = deadline + Q_STOP_GRACE;
    pthread_cond_broadcast(&e->done_cond);
    pthread_cond_broadcast(&e->done_room);
    pthread_mutex_unlock(&e->done_mu);
    if (e->acker_started)
        pthread_join(e->acker_thread, NULL);
    e->acker_started = false;
    if (e->poller_started)
        pthread_join(e->poller_thread, NULL);
    e->poller_started = false;
    atomic_store(&e->stopping, true);
    pthread_mutex_lock(&e->mu);
    pthread_cond_broadcast(&e->tick);
    pthread_mutex_unlock(&e->mu);
    if (e->beat_started)
        pthread_join(e->beat_thread, NULL);
    e->beat_started = false;
    /* Jobs cut off by the deadline run again elsewhere: what their handlers hold (locks)
     * must not make those reruns wait, so it goes as a dead process's would. */
    if (busy > 0 && e->cfg.on_orphan)
        e->cfg.on_orphan(e->identity, e->cfg.user);
    if (e->cfg.fetch == Q_FETCH_RELIABLE)
        q_recover_requeue_own(e, e->main_conn);
    q_beat_clear(e, e->main_conn);
    if (q_metrics_flush(e, e->main_conn) != 0)
        base_log(BASE_LOG_ERROR, "could not write the final job metrics to Redis");
    base_log(BASE_LOG_INFO, "stopped: %llu jobs processed, %llu failed",
          (unsigned long long)atomic_load(&e->processed), (unsigned long long)atomic_load(&e->failed));
    return stuck;
}

void q_engine_dump(q_engine *e)
{
    double now = base_now();
    base_log(BASE_LOG_INFO, "thread dump: %d processors, %s", e->cfg.concurrency,
          atomic_load(&e->quiet) ? "quiet" : "running");
    for (int i = 0; i < e->cfg.concurrency; i++) {
        q_slot *s = &e->slots[i];
        pthread_mutex_lock(&s->mu);
        if (s->job)
            base_log(BASE_LOG_INFO, "  tid=%s running class=%s jid=%s queue=%s for %.1f s progress=%d%%",
                  s->tid, q_job_display_class(s->job), s->job->jid, s->job->queue,
                  now - (double)s->run_at, s->progress);
        else
            base_log(BASE_LOG_INFO, "  tid=%s idle", s->tid);
        pthread_mutex_unlock(&s->mu);
    }
}

void q_engine_get_stats(q_engine *e, q_engine_stats *out)
{
    out->processed = atomic_load(&e->processed);
    out->failed = atomic_load(&e->failed);
    out->forwarded = atomic_load(&e->forwarded);
    out->recovered = atomic_load(&e->recovered);
    out->busy = q_engine_busy(e);
    out->concurrency = e->cfg.concurrency;
    q_fetch_held(e, &out->prefetched, &out->waiting);
    out->started = e->started;
    out->rtt_us = atomic_load(&e->rtt_us);
}

void q_engine_free(q_engine *e)
{
    if (!e)
        return;
    for (int i = 0; i < e->cfg.concurrency; i++) {
        if (e->slots[i].thread_started)
            continue; /* still stuck in a handler: leave its memory to process exit */
        q_conn_free(e->slots[i].conn);
        q_stats_free(&e->slots[i].stats);
        q_metrics_free(&e->slots[i].metrics);
        pthread_mutex_destroy(&e->slots[i].mu);
    }
    for (int i = 0; i < e->cfg.order.nqueues; i++) {
        q_handoff *h = &e->handoff[i];
        for (int k = 0; k < h->count; k++)
            q_job_free(h->ring[(h->head + k) % h->cap]);
        free(h->ring);
        pthread_cond_destroy(&h->room);
        q_inflight_free(&e->inflight[i]);
    }
    free(e->slots);
    q_conn_free(e->beat_conn);
    q_conn_free(e->poll_conn);
    q_conn_free(e->ack_conn);
    q_conn_free(e->main_conn);
    free(e->info_json);
    free(e);
}
