/* q_stats.c -- what operators ask a running process: per-class counts and
 * duration percentiles, running jobs, queue sizes and latency. Each processor
 * keeps its own table (under its slot lock, taken anyway per job); readers
 * merge them. */
#include "q_internal.h"

#include <hiredis/hiredis.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t q_stats_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int q_stats_bucket(double seconds)
{
    double us = seconds * 1e6;
    if (us <= 10)
        return 0;
    int b = (int)ceil(log(us / 10.0) / log(1.25));
    return b < Q_HIST_BUCKETS ? b : Q_HIST_BUCKETS - 1;
}

static double q_stats_bucket_seconds(int b) { return 10e-6 * pow(1.25, b); }

static q_stat_entry *q_stats_find(q_stat_table *t, const char *key, bool create)
{
    if (create && (t->used + 1) * 2 > t->cap) {
        q_stat_table bigger = {calloc(t->cap ? t->cap * 2 : 16, sizeof(q_stat_entry)),
                               t->cap ? t->cap * 2 : 16, 0};
        for (size_t i = 0; i < t->cap; i++)
            if (t->items[i].key) {
                q_stat_entry *dst = q_stats_find(&bigger, t->items[i].key, true);
                char *k = dst->key;
                *dst = t->items[i];
                free(k);
            }
        free(t->items);
        *t = bigger;
    }
    if (!t->cap)
        return NULL;
    for (size_t i = q_stats_hash(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        q_stat_entry *e = &t->items[i];
        if (!e->key) {
            if (!create)
                return NULL;
            e->key = strdup(key);
            t->used++;
            return e;
        }
        if (strcmp(e->key, key) == 0)
            return e;
    }
}

void q_stats_record(q_stat_table *t, const char *klass, const char *queue, double seconds, bool failed)
{
    char key[300];
    snprintf(key, sizeof key, "%s\t%s", klass, queue);
    q_stat_entry *e = q_stats_find(t, key, true);
    e->processed++;
    e->failed += failed;
    e->total_seconds += seconds;
    e->hist[q_stats_bucket(seconds)]++;
}

void q_stats_free(q_stat_table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->items[i].key);
    free(t->items);
    memset(t, 0, sizeof *t);
}

static double q_stats_percentile(const uint32_t *hist, uint64_t total, double p)
{
    uint64_t want = (uint64_t)ceil(p * (double)total), seen = 0;
    for (int b = 0; b < Q_HIST_BUCKETS; b++) {
        seen += hist[b];
        if (seen >= want && seen > 0)
            return q_stats_bucket_seconds(b);
    }
    return 0;
}

q_class_stats *q_engine_class_stats(q_engine *e, int *n)
{
    q_stat_table merged = {0};
    for (int i = 0; i < e->cfg.concurrency; i++) {
        q_slot *s = &e->slots[i];
        pthread_mutex_lock(&s->mu);
        for (size_t k = 0; k < s->stats.cap; k++) {
            q_stat_entry *src = &s->stats.items[k];
            if (!src->key)
                continue;
            q_stat_entry *dst = q_stats_find(&merged, src->key, true);
            dst->processed += src->processed;
            dst->failed += src->failed;
            dst->total_seconds += src->total_seconds;
            for (int b = 0; b < Q_HIST_BUCKETS; b++)
                dst->hist[b] += src->hist[b];
        }
        pthread_mutex_unlock(&s->mu);
    }
    q_class_stats *out = calloc(merged.used ? merged.used : 1, sizeof *out);
    int m = 0;
    for (size_t k = 0; k < merged.cap; k++) {
        q_stat_entry *src = &merged.items[k];
        if (!src->key)
            continue;
        q_class_stats *c = &out[m++];
        char *tab = strchr(src->key, '\t');
        snprintf(c->klass, sizeof c->klass, "%.*s", (int)(tab - src->key), src->key);
        snprintf(c->queue, sizeof c->queue, "%s", tab + 1);
        c->processed = src->processed;
        c->failed = src->failed;
        c->total_seconds = src->total_seconds;
        c->p50 = q_stats_percentile(src->hist, src->processed, 0.50);
        c->p95 = q_stats_percentile(src->hist, src->processed, 0.95);
        c->p99 = q_stats_percentile(src->hist, src->processed, 0.99);
    }
    q_stats_free(&merged);
    *n = m;
    return out;
}

q_busy_job *q_engine_busy_jobs(q_engine *e, int *n)
{
    q_busy_job *out = calloc((size_t)e->cfg.concurrency, sizeof *out);
    int m = 0;
    double now = base_monotonic();
    for (int i = 0; i < e->cfg.concurrency; i++) {
        q_slot *s = &e->slots[i];
        pthread_mutex_lock(&s->mu);
        if (s->job) {
            q_busy_job *b = &out[m++];
            snprintf(b->tid, sizeof b->tid, "%s", s->tid);
            snprintf(b->jid, sizeof b->jid, "%s", s->job->jid);
            snprintf(b->klass, sizeof b->klass, "%s", q_job_display_class(s->job));
            snprintf(b->queue, sizeof b->queue, "%s", s->job->queue);
            b->run_at = s->run_at;
            b->elapsed = now - s->job->started;
            b->progress = s->progress;
        }
        pthread_mutex_unlock(&s->mu);
    }
    *n = m;
    return out;
}

int q_engine_queue_info(q_engine *e, q_conn *c, q_queue_info *out, int max)
{
    int n = e->cfg.order.nqueues < max ? e->cfg.order.nqueues : max;
    if (q_conn_ensure(c) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        q_conn_appendf(c, "LLEN queue:%s", e->cfg.order.queues[i].name);
        q_conn_appendf(c, "LINDEX queue:%s -1", e->cfg.order.queues[i].name);
    }
    double now = base_now();
    for (int i = 0; i < n; i++) {
        q_queue_info *q = &out[i];
        memset(q, 0, sizeof *q);
        snprintf(q->name, sizeof q->name, "%s", e->cfg.order.queues[i].name);
        q->weight = e->cfg.order.queues[i].weight;
        redisReply *len = q_conn_reply(c), *oldest = len ? q_conn_reply(c) : NULL;
        if (!len || !oldest) {
            q_reply_free(len);
            return -1;
        }
        q->size = len->type == REDIS_REPLY_INTEGER ? len->integer : 0;
        if (oldest->type == REDIS_REPLY_STRING) {
            json_t *doc = json_loadb(oldest->str, oldest->len, JSON_ALLOW_NUL, NULL);
            double t = doc ? q_json_read_timestamp(json_object_get(doc, "enqueued_at")) : 0;
            q->latency = t > 0 && now > t ? now - t : 0;
            if (doc)
                json_decref(doc);
        }
        q_reply_free(len);
        q_reply_free(oldest);
    }
    return n;
}

const q_engine_cfg *q_engine_config(const q_engine *e) { return &e->cfg; }
