/* q_metrics.c -- the keys of the Sidekiq Web UI's "Metrics" tab (7.x and 8.x),
 * written for the classes scotty runs, as Sidekiq's metrics middleware does.
 *
 * Per class (`wrapped` if present, else `class`): runs (`|p`), failed runs
 * (`|f`), total milliseconds of successful runs (`|ms`) and a 26-bucket
 * histogram of successful runs' durations. Failed runs count but are not timed.
 *
 * Who owns what: each processor thread records into its own slot's table under
 * its slot lock (q_slot.mu, taken anyway once per job), so no lock is shared on
 * the hot path and no Redis call is made per job. The heartbeat thread (and the
 * main thread at exit, once the heartbeat has ended) takes every slot's table
 * under that lock, merges them and writes one pipeline. */
#include "q_internal.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define Q_METRICS_SHORT_TTL 28800L   /* 8 hours: per-minute counters and histograms */
#define Q_METRICS_MID_TTL 259200L    /* 3 days: 8.x 10-minute counters */

/* Upper bounds (exclusive) of the histogram buckets in ms; the last is open. */
static const long q_metrics_bounds[Q_METRICS_BUCKETS - 1] = {
    20, 30, 45, 65, 100, 150, 225, 335, 500, 750, 1100, 1700, 2500,
    3800, 5750, 8500, 13000, 20000, 30000, 45000, 65000, 100000, 150000, 225000, 335000,
};

int q_metrics_bucket(long ms)
{
    for (int i = 0; i < Q_METRICS_BUCKETS - 1; i++)
        if (ms < q_metrics_bounds[i])
            return i;
    return Q_METRICS_BUCKETS - 1;
}

long q_metrics_elapsed_ms(double start, double end)
{
    /* Whole milliseconds of each monotonic reading, then the difference. */
    return (long)(end * 1000.0) - (long)(start * 1000.0);
}

int q_metrics_counter_keys(int sidekiq_major, time_t now, char keys[2][32], long ttls[2])
{
    struct tm tm;
    gmtime_r(&now, &tm);
    if (sidekiq_major == 7) {
        snprintf(keys[0], 32, "j|%04d%02d%02d|%d:%d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min);
        ttls[0] = Q_METRICS_SHORT_TTL;
        return 1;
    }
    if (sidekiq_major >= 8) {
        /* The 10-minute key is the minute key without its last digit. */
        snprintf(keys[0], 32, "j|%02d%02d%02d|%d:%d", tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min / 10);
        ttls[0] = Q_METRICS_MID_TTL;
        snprintf(keys[1], 32, "j|%02d%02d%02d|%d:%02d", tm.tm_year % 100, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min);
        ttls[1] = Q_METRICS_SHORT_TTL;
        return 2;
    }
    return 0;
}

char *q_metrics_hist_key(int sidekiq_major, time_t now, const char *klass)
{
    struct tm tm;
    gmtime_r(&now, &tm);
    base_buf b;
    base_buf_init(&b);
    if (sidekiq_major >= 8)
        base_buf_addf(&b, "h|%s-%d-%d:%d", klass, tm.tm_mday, tm.tm_hour, tm.tm_min);
    else
        base_buf_addf(&b, "%s-%02d-%02d:%d", klass, tm.tm_mday, tm.tm_hour, tm.tm_min);
    return base_buf_take(&b);
}

static uint64_t q_metrics_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static q_metrics_entry *q_metrics_find(q_metrics_table *t, const char *klass)
{
    if ((t->used + 1) * 2 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        q_metrics_table bigger = {calloc(cap, sizeof(q_metrics_entry)), cap, 0};
        for (size_t i = 0; i < t->cap; i++)
            if (t->items[i].klass) {
                q_metrics_entry *dst = q_metrics_find(&bigger, t->items[i].klass);
                char *k = dst->klass;
                *dst = t->items[i];
                free(k);
            }
        free(t->items);
        *t = bigger;
    }
    for (size_t i = q_metrics_hash(klass) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        q_metrics_entry *e = &t->items[i];
        if (!e->klass) {
            e->klass = strdup(klass);
            t->used++;
            return e;
        }
        if (strcmp(e->klass, klass) == 0)
            return e;
    }
}

void q_metrics_record(q_metrics_table *t, const char *klass, long ms, bool failed)
{
    q_metrics_entry *e = q_metrics_find(t, klass);
    e->processed++;
    if (failed) {
        e->failed++;
        return;
    }
    e->timed = true;
    e->ms += (uint64_t)(ms > 0 ? ms : 0);
    e->hist[q_metrics_bucket(ms)]++;
}

void q_metrics_free(q_metrics_table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->items[i].klass);
    free(t->items);
    memset(t, 0, sizeof *t);
}

/* Adds the histogram of one class: BITFIELD of its non-zero buckets, EXPIRE.
 * Returns how many replies follow. */
static int q_metrics_append_hist(q_conn *c, int major, time_t now, const q_metrics_entry *m)
{
    const char *argv[5 + 4 * Q_METRICS_BUCKETS];
    size_t lens[5 + 4 * Q_METRICS_BUCKETS];
    char offsets[Q_METRICS_BUCKETS][8], counts[Q_METRICS_BUCKETS][16];
    char *key = q_metrics_hist_key(major, now, m->klass);
    int argc = 0;
    argv[argc++] = "BITFIELD";
    argv[argc++] = key;
    argv[argc++] = "OVERFLOW";
    argv[argc++] = "SAT";
    for (int i = 0; i < Q_METRICS_BUCKETS; i++) {
        if (!m->hist[i])
            continue;
        snprintf(offsets[i], sizeof offsets[i], "#%d", i);
        snprintf(counts[i], sizeof counts[i], "%u", m->hist[i] > 65535 ? 65535u : m->hist[i]);
        argv[argc++] = "INCRBY";
        argv[argc++] = "u16";
        argv[argc++] = offsets[i];
        argv[argc++] = counts[i];
    }
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    q_conn_append(c, argc, argv, lens);
    q_conn_appendf(c, "EXPIRE %s %ld", key, Q_METRICS_SHORT_TTL);
    free(key);
    return 2;
}

/* Adds one class's counters to a `j|...` hash. Returns how many replies follow. */
static int q_metrics_append_counts(q_conn *c, const char *key, const q_metrics_entry *m)
{
    q_conn_appendf(c, "HINCRBY %s %s|p %llu", key, m->klass, (unsigned long long)m->processed);
    int n = 1;
    if (m->failed) {
        q_conn_appendf(c, "HINCRBY %s %s|f %llu", key, m->klass, (unsigned long long)m->failed);
        n++;
    }
    if (m->timed) {
        q_conn_appendf(c, "HINCRBY %s %s|ms %llu", key, m->klass, (unsigned long long)m->ms);
        n++;
    }
    return n;
}

/* Moves every slot's table into `all` (the slots start afresh). */
static void q_metrics_collect(q_engine *e, q_metrics_table *all)
{
    for (int s = 0; s < e->cfg.concurrency; s++) {
        q_slot *slot = &e->slots[s];
        pthread_mutex_lock(&slot->mu);
        q_metrics_table t = slot->metrics;
        memset(&slot->metrics, 0, sizeof slot->metrics);
        pthread_mutex_unlock(&slot->mu);
        for (size_t i = 0; i < t.cap; i++) {
            const q_metrics_entry *src = &t.items[i];
            if (!src->klass)
                continue;
            q_metrics_entry *dst = q_metrics_find(all, src->klass);
            dst->processed += src->processed;
            dst->failed += src->failed;
            dst->ms += src->ms;
            dst->timed = dst->timed || src->timed;
            for (int b = 0; b < Q_METRICS_BUCKETS; b++)
                dst->hist[b] += src->hist[b];
        }
        q_metrics_free(&t);
    }
}

int q_metrics_flush(q_engine *e, q_conn *c)
{
    int major = e->cfg.retry.sidekiq_major;
    if (major < 7)
        return 0;
    if (q_conn_ensure(c) != 0)
        return -1; /* nothing taken: the counts wait in the slots for the next flush */
    q_metrics_table all = {0};
    q_metrics_collect(e, &all);
    if (all.used == 0) {
        q_metrics_free(&all);
        return 0;
    }
    time_t now = time(NULL);
    char keys[2][32];
    long ttls[2];
    int nkeys = q_metrics_counter_keys(major, now, keys, ttls);
    int replies = 0;
    for (size_t i = 0; i < all.cap; i++)
        if (all.items[i].klass && all.items[i].timed)
            replies += q_metrics_append_hist(c, major, now, &all.items[i]);
    for (int k = 0; k < nkeys; k++) {
        for (size_t i = 0; i < all.cap; i++)
            if (all.items[i].klass)
                replies += q_metrics_append_counts(c, keys[k], &all.items[i]);
        q_conn_appendf(c, "EXPIRE %s %ld", keys[k], ttls[k]);
        replies++;
    }
    size_t classes = all.used;
    q_metrics_free(&all);
    for (int i = 0; i < replies; i++) {
        redisReply *r = q_conn_reply(c);
        if (!r) {
            /* Unknown how much was written; like Sidekiq, these counts are dropped. */
            base_log(BASE_LOG_WARN, "job metrics for %zu classes not written: %s", classes,
                  q_conn_error(c));
            return -1;
        }
        if (r->type == REDIS_REPLY_ERROR)
            base_log(BASE_LOG_ERROR, "job metrics: Redis error: %s", r->str);
        q_reply_free(r);
    }
    base_log(BASE_LOG_DEBUG, "flushed job metrics of %zu classes", classes);
    return 0;
}
