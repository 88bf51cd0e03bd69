/* q_beat.c -- the heartbeat Sidekiq's Web UI and API read: the process registry,
 * its info/busy/beat/quiet/rss/rtt_us hash, the work hash of running jobs, the
 * processed/failed counters, the job metrics (q_metrics.c), and remote signals
 * (quiet!, stop!, dump_threads). */
#include "q_internal.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define Q_STATS_TTL "157680000" /* five years, as Sidekiq */

char *q_beat_info_json(q_engine *e)
{
    const q_order *o = &e->cfg.order;
    base_buf b;
    base_buf_init(&b);
    char t[40];
    base_json_float(e->started, t, sizeof t);
    base_buf_adds(&b, "{\"hostname\":");
    base_json_string(&b, e->hostname, strlen(e->hostname));
    base_buf_addf(&b, ",\"started_at\":%s,\"pid\":%d,\"tag\":", t, (int)getpid());
    base_json_string(&b, e->cfg.tag, strlen(e->cfg.tag));
    base_buf_addf(&b, ",\"concurrency\":%d,\"queues\":[", e->cfg.concurrency);
    for (int i = 0; i < o->nqueues; i++) {
        if (i)
            base_buf_add(&b, ",", 1);
        base_json_string(&b, o->queues[i].name, strlen(o->queues[i].name));
    }
    base_buf b_weights;
    base_buf_init(&b_weights);
    base_buf_add(&b_weights, "{", 1);
    bool all_one = true;
    for (int i = 0; i < o->nqueues; i++) {
        if (i)
            base_buf_add(&b_weights, ",", 1);
        base_json_string(&b_weights, o->queues[i].name, strlen(o->queues[i].name));
        base_buf_addf(&b_weights, ":%d", o->queues[i].weight);
        all_one = all_one && o->queues[i].weight == 1;
    }
    base_buf_add(&b_weights, "}", 1);
    const char *mode = o->strict ? "strict" : all_one ? "random" : "weighted";
    base_buf_addf(&b, "],\"weights\":[%s],\"capsules\":{\"default\":{\"concurrency\":%d,"
               "\"mode\":\"%s\",\"weights\":%s}},\"labels\":[",
               b_weights.data, e->cfg.concurrency, mode, b_weights.data);
    base_buf_free(&b_weights);
    base_buf_adds(&b, "\"scotty\"");
    for (int i = 0; i < e->cfg.nlabels; i++) {
        base_buf_add(&b, ",", 1);
        base_json_string(&b, e->cfg.labels[i], strlen(e->cfg.labels[i]));
    }
    base_buf_adds(&b, "],\"identity\":");
    base_json_string(&b, e->identity, strlen(e->identity));
    /* The Web UI shows it; "scotty" first is how q_version.c tells our processes apart. */
    base_buf_addf(&b, ",\"version\":\"scotty-" SCOTTY_VERSION " (Sidekiq %d)\",\"embedded\":false}",
                  e->cfg.retry.sidekiq_major);
    return base_buf_take(&b);
}

long q_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* Reads n replies and reports whether all arrived (errors are logged). */
static int q_beat_replies(q_conn *c, int n, redisReply **keep_last)
{
    for (int i = 0; i < n; i++) {
        redisReply *r = q_conn_reply(c);
        if (!r)
            return -1;
        if (r->type == REDIS_REPLY_ERROR)
            base_log(BASE_LOG_ERROR, "heartbeat: Redis error: %s", r->str);
        for (size_t k = 0; r->type == REDIS_REPLY_ARRAY && k < r->elements; k++)
            if (r->element[k]->type == REDIS_REPLY_ERROR) /* a write inside EXEC refused */
                base_log(BASE_LOG_ERROR, "heartbeat: Redis refused a write: %s", r->element[k]->str);
        if (keep_last && i == n - 1)
            *keep_last = r;
        else
            q_reply_free(r);
    }
    return 0;
}

static int q_beat_stats(q_engine *e, q_conn *c)
{
    uint64_t p = atomic_exchange(&e->pending_processed, 0);
    uint64_t f = atomic_exchange(&e->pending_failed, 0);
    if (p == 0 && f == 0)
        return 0;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char day[16];
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    q_conn_appendf(c, "MULTI");
    q_conn_appendf(c, "INCRBY stat:processed %llu", (unsigned long long)p);
    q_conn_appendf(c, "INCRBY stat:processed:%s %llu", day, (unsigned long long)p);
    q_conn_appendf(c, "EXPIRE stat:processed:%s " Q_STATS_TTL, day);
    q_conn_appendf(c, "INCRBY stat:failed %llu", (unsigned long long)f);
    q_conn_appendf(c, "INCRBY stat:failed:%s %llu", day, (unsigned long long)f);
    q_conn_appendf(c, "EXPIRE stat:failed:%s " Q_STATS_TTL, day);
    q_conn_appendf(c, "EXEC");
    if (q_beat_replies(c, 8, NULL) != 0) {
        /* Not written: count them again next beat. */
        atomic_fetch_add(&e->pending_processed, p);
        atomic_fetch_add(&e->pending_failed, f);
        return -1;
    }
    return 0;
}

/* Replaces IDENTITY:work (6.4.2+) and IDENTITY:workers (6.4.0-6.4.1 readers). */
static int q_beat_work(q_engine *e, q_conn *c, int *busy)
{
    static const char *suffixes[] = {"work", "workers"};
    int n = e->cfg.concurrency;
    const char **argv = malloc(sizeof(char *) * (size_t)(2 + 2 * n));
    size_t *lens = malloc(sizeof(size_t) * (size_t)(2 + 2 * n));
    char **vals = calloc((size_t)n, sizeof(char *));
    int pairs = 0;
    for (int i = 0; i < n; i++) {
        q_slot *s = &e->slots[i];
        pthread_mutex_lock(&s->mu);
        if (s->job) {
            base_buf b;
            base_buf_init(&b);
            base_buf_adds(&b, "{\"queue\":");
            base_json_string(&b, s->job->queue, strlen(s->job->queue));
            base_buf_adds(&b, ",\"payload\":");
            base_json_string(&b, s->job->raw, s->job->raw_len);
            base_buf_addf(&b, ",\"run_at\":%ld}", s->run_at);
            vals[pairs] = base_buf_take(&b);
            argv[2 + 2 * pairs] = s->tid;
            lens[2 + 2 * pairs] = strlen(s->tid);
            argv[3 + 2 * pairs] = vals[pairs];
            lens[3 + 2 * pairs] = strlen(vals[pairs]);
            pairs++;
        }
        pthread_mutex_unlock(&s->mu);
    }
    *busy = pairs;
    int replies = 0;
    char key[400];
    for (int k = 0; k < 2; k++) {
        snprintf(key, sizeof key, "%s:%s", e->identity, suffixes[k]);
        q_conn_appendf(c, "UNLINK %s", key);
        replies++;
        if (pairs) {
            argv[0] = "HSET";
            lens[0] = 4;
            argv[1] = key;
            lens[1] = strlen(key);
            q_conn_append(c, 2 + 2 * pairs, argv, lens);
            q_conn_appendf(c, "EXPIRE %s 60", key);
            replies += 2;
        }
    }
    for (int i = 0; i < pairs; i++)
        free(vals[i]);
    free(vals);
    free(argv);
    free(lens);
    return q_beat_replies(c, replies, NULL);
}

static void q_beat_signal(q_engine *e, const char *sig)
{
    base_log(BASE_LOG_INFO, "received %s from the Web UI/API", sig);
    if (strcmp(sig, "TSTP") == 0)
        q_engine_quiet(e);
    else if (strcmp(sig, "TERM") == 0 || strcmp(sig, "INT") == 0)
        atomic_store(&e->stop_requested, true);
    else if (strcmp(sig, "TTIN") == 0 || strcmp(sig, "INFO") == 0)
        q_engine_dump(e);
    else
        base_log(BASE_LOG_WARN, "no handler for remote signal %s", sig);
}

int q_beat_once(q_engine *e, q_conn *c)
{
    if (q_conn_ensure(c) != 0)
        return -1;
    if (q_beat_stats(e, c) != 0)
        return -1;
    if (q_metrics_flush(e, c) != 0)
        return -1;
    int busy = 0;
    if (q_beat_work(e, c, &busy) != 0)
        return -1;

    double t0 = base_monotonic();
    redisReply *r = q_conn_cmd(c, "PING");
    if (!r)
        return -1;
    q_reply_free(r);
    long rtt = (long)((base_monotonic() - t0) * 1e6);
    atomic_store(&e->rtt_us, rtt);

    char beat[40], sigkey[400], queues[Q_MAX_QUEUES * 130] = "";
    base_json_float(base_now(), beat, sizeof beat);
    snprintf(sigkey, sizeof sigkey, "%s-signals", e->identity);
    for (int i = 0; i < e->cfg.order.nqueues; i++) {
        if (i)
            strcat(queues, " ");
        strcat(queues, e->cfg.order.queues[i].name);
    }
    q_conn_appendf(c, "MULTI");
    q_conn_appendf(c, "SADD processes %s", e->identity);
    q_conn_appendf(c, "EXISTS %s", e->identity);
    q_conn_appendf(c, "HSET %s info %s busy %d beat %s rtt_us %ld quiet %s rss %ld concurrency %d",
                   e->identity, e->info_json, busy, beat, rtt,
                   atomic_load(&e->quiet) ? "true" : "false", q_rss_kb(), e->cfg.concurrency);
    q_conn_appendf(c, "EXPIRE %s 60", e->identity);
    q_conn_appendf(c, "RPOP %s", sigkey);
    int n = 7;
    if (e->cfg.fetch == Q_FETCH_RELIABLE) {
        /* Re-registered every beat: another process may have dropped us after an
         * outage long enough for our heartbeat to expire. */
        q_conn_appendf(c, "HSET " Q_KEY_FETCHERS " %s %s", e->identity, queues);
        n++;
    }
    q_conn_appendf(c, "EXEC");
    redisReply *exec = NULL;
    if (q_beat_replies(c, n, &exec) != 0)
        return -1;
    if (exec && exec->type == REDIS_REPLY_ARRAY && exec->elements >= 5) {
        redisReply *exists = exec->element[1], *sig = exec->element[4];
        if (exists->type == REDIS_REPLY_INTEGER && exists->integer == 0)
            base_log(BASE_LOG_DEBUG, "heartbeat registered %s", e->identity);
        if (sig->type == REDIS_REPLY_STRING)
            q_beat_signal(e, sig->str);
    }
    q_reply_free(exec);
    return 0;
}

void *q_beat_thread(void *arg)
{
    q_engine *e = arg;
    double last_recover = base_monotonic();
    while (!atomic_load(&e->stopping)) {
        q_engine_sleep(e, e->cfg.beat_interval, &e->stopping);
        if (atomic_load(&e->stopping))
            break;
        if (q_beat_once(e, e->beat_conn) != 0)
            continue;
        if (e->cfg.fetch == Q_FETCH_RELIABLE && !atomic_load(&e->quiet) &&
            base_monotonic() - last_recover >= 60) {
            q_recover_orphans(e, e->beat_conn);
            last_recover = base_monotonic();
        }
    }
    return NULL;
}

void q_beat_clear(q_engine *e, q_conn *c)
{
    if (q_beat_stats(e, c) != 0) {
        base_log(BASE_LOG_ERROR, "could not write the final stats counters to Redis");
        return;
    }
    q_conn_appendf(c, "SREM processes %s", e->identity);
    q_conn_appendf(c, "UNLINK %s:work %s:workers", e->identity, e->identity);
    q_beat_replies(c, 2, NULL);
}
