/* control_metrics.c -- the Prometheus text exposition of one scotty process,
 * with the metric names of the Ruby exporter Mastodon uses (sidekiq_*) plus
 * scotty's own (scotty_*). Served over the control socket and HTTP /metrics. */
#include "control.h"
#include "ingress/attach_cluster.h"
#include "ingress/ingress.h"
#include "media.h"
#include "services.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A label value with \, " and newline escaped as the text format requires. */
static void control_label(base_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            base_buf_adds(b, "\\\\");
        else if (*s == '"')
            base_buf_adds(b, "\\\"");
        else if (*s == '\n')
            base_buf_adds(b, "\\n");
        else
            base_buf_add(b, s, 1);
    }
}

static void control_head(base_buf *b, const char *name, const char *type, const char *help)
{
    base_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{job_name="..",queue=".."[,quantile=".."]} */
static void control_job_series(base_buf *b, const char *name, const q_class_stats *c, const char *quantile)
{
    base_buf_addf(b, "%s{job_name=\"", name);
    control_label(b, c->klass);
    base_buf_adds(b, "\",queue=\"");
    control_label(b, c->queue);
    if (quantile)
        base_buf_addf(b, "\",quantile=\"%s", quantile);
    base_buf_adds(b, "\"} ");
}

static void control_metrics_jobs(q_engine *e, base_buf *b)
{
    int n = 0;
    q_class_stats *cs = q_engine_class_stats(e, &n);
    control_head(b, "sidekiq_jobs_total", "counter", "Jobs run by this process (successful and failed).");
    for (int i = 0; i < n; i++) {
        control_job_series(b, "sidekiq_jobs_total", &cs[i], NULL);
        base_buf_addf(b, "%llu\n", (unsigned long long)cs[i].processed);
    }
    control_head(b, "sidekiq_failed_jobs_total", "counter", "Jobs that raised an error.");
    for (int i = 0; i < n; i++) {
        control_job_series(b, "sidekiq_failed_jobs_total", &cs[i], NULL);
        base_buf_addf(b, "%llu\n", (unsigned long long)cs[i].failed);
    }
    control_head(b, "sidekiq_job_duration_seconds", "summary", "Time spent running jobs.");
    for (int i = 0; i < n; i++) {
        control_job_series(b, "sidekiq_job_duration_seconds", &cs[i], "0.5");
        base_buf_addf(b, "%.6f\n", cs[i].p50);
        control_job_series(b, "sidekiq_job_duration_seconds", &cs[i], "0.95");
        base_buf_addf(b, "%.6f\n", cs[i].p95);
        control_job_series(b, "sidekiq_job_duration_seconds", &cs[i], "0.99");
        base_buf_addf(b, "%.6f\n", cs[i].p99);
        control_job_series(b, "sidekiq_job_duration_seconds_sum", &cs[i], NULL);
        base_buf_addf(b, "%.6f\n", cs[i].total_seconds);
        control_job_series(b, "sidekiq_job_duration_seconds_count", &cs[i], NULL);
        base_buf_addf(b, "%llu\n", (unsigned long long)cs[i].processed);
    }
    free(cs);
}

static void control_metrics_process(q_engine *e, const q_engine_stats *st, base_buf *b)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    base_buf labels;
    base_buf_init(&labels);
    base_buf_adds(&labels, "{identity=\"");
    control_label(&labels, q_engine_identity(e));
    base_buf_adds(&labels, "\",tag=\"");
    control_label(&labels, q_engine_config(e)->tag);
    base_buf_adds(&labels, "\",hostname=\"");
    control_label(&labels, host);
    base_buf_addf(&labels, "\",quiet=\"%s\"}", q_engine_is_quiet(e) ? "true" : "false");
    control_head(b, "sidekiq_process_busy", "gauge", "Jobs running in this process now.");
    base_buf_addf(b, "sidekiq_process_busy%s %d\n", labels.data, st->busy);
    control_head(b, "sidekiq_process_concurrency", "gauge", "Processor threads of this process.");
    base_buf_addf(b, "sidekiq_process_concurrency%s %d\n", labels.data, st->concurrency);
    base_buf_free(&labels);
}

static void control_metrics_queues(q_engine *e, q_conn *c, base_buf *b)
{
    q_queue_info qi[Q_MAX_QUEUES];
    int n = q_engine_queue_info(e, c, qi, Q_MAX_QUEUES);
    if (n < 0)
        return; /* Redis unreachable: scotty_redis_rtt_seconds and the log tell. */
    control_head(b, "sidekiq_queue_backlog", "gauge", "Jobs waiting in the queue.");
    for (int i = 0; i < n; i++) {
        base_buf_adds(b, "sidekiq_queue_backlog{queue=\"");
        control_label(b, qi[i].name);
        base_buf_addf(b, "\"} %ld\n", qi[i].size);
    }
    control_head(b, "sidekiq_queue_latency_seconds", "gauge", "Age of the oldest job in the queue.");
    for (int i = 0; i < n; i++) {
        base_buf_adds(b, "sidekiq_queue_latency_seconds{queue=\"");
        control_label(b, qi[i].name);
        base_buf_addf(b, "\"} %.3f\n", qi[i].latency);
    }
}

/* Media slots, when this worker runs media (the engine's user pointer is its services). */
static void control_metrics_media(q_engine *e, base_buf *b)
{
    const services *s = q_engine_config(e)->user;
    if (!s || !s->media)
        return;
    int running = 0, waiting = 0;
    double cpu = 0;
    media_runner_load(s->media, &running, &waiting, &cpu);
    control_head(b, "scotty_media_slots", "gauge", "Media tasks this process may run at once (--media-slots).");
    base_buf_addf(b, "scotty_media_slots %d\n", s->media_slots);
    control_head(b, "scotty_media_slots_in_use", "gauge", "Media children running now.");
    base_buf_addf(b, "scotty_media_slots_in_use %d\n", running);
    control_head(b, "scotty_media_tasks_waiting", "gauge", "Media tasks waiting for a free slot.");
    base_buf_addf(b, "scotty_media_tasks_waiting %d\n", waiting);
    control_head(b, "scotty_media_cpu_seconds_total", "counter",
                 "CPU seconds (user + system) of every finished media task child.");
    base_buf_addf(b, "scotty_media_cpu_seconds_total %.3f\n", cpu);
    json_t *cl = s->media_cluster ? attach_cluster_stats(s->media_cluster) : NULL;
    if (cl && !json_object_get(cl, "error")) {
        control_head(b, "scotty_media_cluster_slots", "gauge", "Media tasks the whole cluster may run at once "
                     "(--media-cluster-slots).");
        base_buf_addf(b, "scotty_media_cluster_slots %d\n", (int)json_integer_value(json_object_get(cl, "slots")));
        control_head(b, "scotty_media_cluster_slots_in_use", "gauge", "Cluster media leases live in Redis.");
        base_buf_addf(b, "scotty_media_cluster_slots_in_use %d\n",
                      (int)json_integer_value(json_object_get(cl, "in_use")));
        control_head(b, "scotty_media_cluster_tasks_waiting", "gauge", "Media tasks of every process queued for a "
                     "cluster lease.");
        base_buf_addf(b, "scotty_media_cluster_tasks_waiting %d\n",
                      (int)json_integer_value(json_object_get(cl, "waiting")));
    }
    json_decref(cl);
}

/* scotty_delivery_breaker_hosts{state}: the hosts the delivery breaker watches;
 * scotty_delivery_cut_offs_total: deliveries it cut off. */
static void control_metrics_breaker(q_engine *e, base_buf *b)
{
    const services *s = q_engine_config(e)->user;
    if (!s || !s->breaker)
        return;
    int open, suspect, closed;
    unsigned long cut_offs;
    delivery_breaker_states(s->breaker, &open, &suspect, &closed, &cut_offs);
    control_head(b, "scotty_delivery_breaker_hosts", "gauge",
                 "Inbox hosts the delivery circuit breaker watches, by state (open: refused; suspect: one "
                 "request at a time; closed: normal).");
    base_buf_addf(b, "scotty_delivery_breaker_hosts{state=\"open\"} %d\n", open);
    base_buf_addf(b, "scotty_delivery_breaker_hosts{state=\"suspect\"} %d\n", suspect);
    base_buf_addf(b, "scotty_delivery_breaker_hosts{state=\"closed\"} %d\n", closed);
    control_head(b, "scotty_delivery_cut_offs_total", "counter",
                 "Deliveries cut off because their host answered none of its deliveries in flight "
                 "for 3 s (one waits on; these are retried).");
    base_buf_addf(b, "scotty_delivery_cut_offs_total %lu\n", cut_offs);
}

/* scotty_activities_total{type,outcome}: ActivityPub::ProcessingWorker outcomes. */
static void control_metrics_activities(base_buf *b)
{
    ingress_type_stats rows[INGRESS_STATS_TYPES];
    int n = ingress_stats_snapshot(rows, INGRESS_STATS_TYPES);
    control_head(b, "scotty_activities_total", "counter",
                 "ActivityPub activities by type and outcome (handled, forwarded, dropped, failed).");
    for (int i = 0; i < n; i++) {
        const char *outcomes[] = {"handled", "forwarded", "dropped", "failed"};
        uint64_t v[] = {rows[i].handled, rows[i].forwarded, rows[i].dropped, rows[i].failed};
        for (int k = 0; k < 4; k++) {
            base_buf_adds(b, "scotty_activities_total{type=\"");
            control_label(b, rows[i].type);
            base_buf_addf(b, "\",outcome=\"%s\"} %llu\n", outcomes[k], (unsigned long long)v[k]);
        }
    }
}

void control_metrics(q_engine *e, q_conn *c, base_buf *b)
{
    q_engine_stats st;
    q_engine_get_stats(e, &st);
    control_metrics_jobs(e, b);
    control_metrics_process(e, &st, b);
    control_metrics_queues(e, c, b);
    control_head(b, "scotty_uptime_seconds", "gauge", "Seconds since this process started.");
    base_buf_addf(b, "scotty_uptime_seconds %.0f\n", base_now() - st.started);
    control_head(b, "scotty_rss_bytes", "gauge", "Resident memory of this process.");
    base_buf_addf(b, "scotty_rss_bytes %ld\n", q_rss_kb() * 1024L);
    control_head(b, "scotty_redis_rtt_seconds", "gauge", "Redis round-trip time measured by the heartbeat.");
    base_buf_addf(b, "scotty_redis_rtt_seconds %.6f\n", (double)st.rtt_us / 1e6);
    control_head(b, "scotty_processed_jobs_total", "counter", "Jobs run by this process.");
    base_buf_addf(b, "scotty_processed_jobs_total %llu\n", (unsigned long long)st.processed);
    control_head(b, "scotty_failed_jobs_total", "counter", "Jobs that failed in this process.");
    base_buf_addf(b, "scotty_failed_jobs_total %llu\n", (unsigned long long)st.failed);
    control_head(b, "scotty_forwarded_jobs_total", "counter", "Jobs of unknown classes forwarded to another queue.");
    base_buf_addf(b, "scotty_forwarded_jobs_total %llu\n", (unsigned long long)st.forwarded);
    control_head(b, "scotty_recovered_jobs_total", "counter", "Jobs recovered from dead processes' private queues.");
    base_buf_addf(b, "scotty_recovered_jobs_total %llu\n", (unsigned long long)st.recovered);
    control_metrics_media(e, b);
    control_metrics_breaker(e, b);
    control_metrics_activities(b);
}
