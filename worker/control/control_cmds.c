/* control_cmds.c -- the commands of the control protocol (PROTOCOL.md): parses
 * one request line and builds its one-line JSON reply from the engine's
 * operator APIs. Runs on the control thread only. */
#include "control_internal.h"
#include "ingress/attach_cluster.h"
#include "ingress/ingress.h"
#include "media.h"
#include "services.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *control_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *control_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static json_t *control_reply(const char *cmd)
{
    return json_pack("{s:b, s:s}", "ok", 1, "cmd", cmd);
}

static json_t *control_queues_json(q_engine *e, q_conn *c)
{
    q_queue_info qi[Q_MAX_QUEUES];
    int n = q_engine_queue_info(e, c, qi, Q_MAX_QUEUES);
    if (n < 0)
        return NULL;
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:i, s:I, s:f}", "name", qi[i].name, "weight",
                                             qi[i].weight, "size", (json_int_t)qi[i].size, "latency",
                                             qi[i].latency));
    return arr;
}

static json_t *control_busy_json(q_engine *e)
{
    int n = 0;
    q_busy_job *jobs = q_engine_busy_jobs(e, &n);
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:f}", "tid", jobs[i].tid, "jid", jobs[i].jid,
                              "class", jobs[i].klass, "queue", jobs[i].queue, "run_at",
                              (json_int_t)jobs[i].run_at, "elapsed", jobs[i].elapsed);
        json_object_set_new(j, "progress", jobs[i].progress >= 0 ? json_integer(jobs[i].progress) : json_null());
        json_array_append_new(arr, j);
    }
    free(jobs);
    return arr;
}

/* Media slots of this worker (the engine's user pointer is the worker's services),
 * or NULL when it runs no media. */
static json_t *control_media_json(q_engine *e)
{
    const services *s = q_engine_config(e)->user;
    if (!s || !s->media)
        return NULL;
    int running = 0, waiting = 0;
    double cpu = 0;
    media_runner_load(s->media, &running, &waiting, &cpu);
    return json_pack("{s:i, s:i, s:i, s:f, s:s, s:s, s:s}", "slots", s->media_slots, "in_use", running, "waiting",
                     waiting, "cpu_seconds", cpu, "cgroup", media_runner_cgroup_mode(s->media), "children",
                     media_runner_mode(s->media), "sandbox", media_runner_sandbox(s->media));
}

/* ActivityPub::ProcessingWorker outcomes per activity type (ingress_stats.c). */
static json_t *control_activities_json(void)
{
    ingress_type_stats rows[INGRESS_STATS_TYPES];
    int n = ingress_stats_snapshot(rows, INGRESS_STATS_TYPES);
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:I, s:I}", "type", rows[i].type, "handled",
                                             (json_int_t)rows[i].handled, "forwarded",
                                             (json_int_t)rows[i].forwarded, "dropped",
                                             (json_int_t)rows[i].dropped, "failed", (json_int_t)rows[i].failed));
    return arr;
}

static json_t *control_stats(q_engine *e, q_conn *c)
{
    q_engine_stats st;
    q_engine_get_stats(e, &st);
    json_t *r = control_reply("stats");
    json_object_set_new(r, "identity", json_string(q_engine_identity(e)));
    json_object_set_new(r, "tag", json_string(q_engine_config(e)->tag));
    json_object_set_new(r, "processed", json_integer((json_int_t)st.processed));
    json_object_set_new(r, "failed", json_integer((json_int_t)st.failed));
    json_object_set_new(r, "forwarded", json_integer((json_int_t)st.forwarded));
    json_object_set_new(r, "recovered", json_integer((json_int_t)st.recovered));
    json_object_set_new(r, "busy", json_integer(st.busy));
    json_object_set_new(r, "concurrency", json_integer(st.concurrency));
    json_object_set_new(r, "prefetched", json_integer(st.prefetched));
    json_object_set_new(r, "waiting_for_thread", json_integer(st.waiting));
    json_object_set_new(r, "quiet", json_boolean(q_engine_is_quiet(e)));
    json_object_set_new(r, "uptime", json_real(base_now() - st.started));
    json_object_set_new(r, "rss_kb", json_integer(q_rss_kb()));
    json_object_set_new(r, "redis_rtt_ms", json_real((double)st.rtt_us / 1000.0));
    json_t *media = control_media_json(e);
    if (media)
        json_object_set_new(r, "media", media);
    const services *svc = q_engine_config(e)->user;
    if (media && svc->media_cluster)
        json_object_set_new(media, "cluster", attach_cluster_stats(svc->media_cluster));
    json_t *queues = control_queues_json(e, c);
    json_object_set_new(r, "queues", queues ? queues : json_array());
    if (!queues)
        json_object_set_new(r, "redis_error", json_string(q_conn_error(c)));
    int n = 0;
    q_class_stats *cs = q_engine_class_stats(e, &n);
    json_t *classes = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(classes, json_pack("{s:s, s:s, s:I, s:I, s:f, s:f, s:f, s:f}", "class",
                                                 cs[i].klass, "queue", cs[i].queue, "processed",
                                                 (json_int_t)cs[i].processed, "failed",
                                                 (json_int_t)cs[i].failed, "seconds", cs[i].total_seconds,
                                                 "p50", cs[i].p50, "p95", cs[i].p95, "p99", cs[i].p99));
    free(cs);
    json_object_set_new(r, "classes", classes);
    json_object_set_new(r, "activities", control_activities_json());
    return r;
}

static json_t *control_run(q_engine *e, q_conn *c, const control_opts *o, const char *cmd)
{
    if (strcmp(cmd, "stats") == 0)
        return control_stats(e, c);
    if (strcmp(cmd, "busy") == 0) {
        json_t *r = control_reply("busy");
        json_object_set_new(r, "jobs", control_busy_json(e));
        return r;
    }
    if (strcmp(cmd, "queues") == 0) {
        json_t *queues = control_queues_json(e, c);
        if (!queues)
            return control_error("cannot read the queues from Redis: %s", q_conn_error(c));
        json_t *r = control_reply("queues");
        json_object_set_new(r, "queues", queues);
        return r;
    }
    if (strcmp(cmd, "quiet") == 0) {
        q_engine_quiet(e);
        base_log(BASE_LOG_INFO, "control: quiet requested, no new jobs will be fetched");
        json_t *r = control_reply("quiet");
        json_object_set_new(r, "quiet", json_true());
        return r;
    }
    if (strcmp(cmd, "stop") == 0) {
        base_log(BASE_LOG_INFO, "control: stop requested");
        q_engine_request_stop(e);
        json_t *r = control_reply("stop");
        json_object_set_new(r, "stopping", json_true());
        return r;
    }
    if (strcmp(cmd, "dump") == 0) {
        q_engine_dump(e); /* the full per-thread report also goes to the log */
        q_engine_stats st;
        q_engine_get_stats(e, &st);
        json_t *r = control_reply("dump");
        json_t *threads = control_busy_json(e);
        json_object_set_new(r, "concurrency", json_integer(st.concurrency));
        json_object_set_new(r, "idle", json_integer(st.concurrency - (int)json_array_size(threads)));
        json_object_set_new(r, "quiet", json_boolean(q_engine_is_quiet(e)));
        json_object_set_new(r, "stop_requested", json_boolean(q_engine_stop_requested(e)));
        json_object_set_new(r, "running", threads);
        return r;
    }
    if (strcmp(cmd, "metrics") == 0) {
        base_buf text;
        base_buf_init(&text);
        control_metrics(e, c, &text);
        json_t *r = control_reply("metrics");
        json_object_set_new(r, "text", json_stringn(text.data ? text.data : "", text.len));
        base_buf_free(&text);
        return r;
    }
    if (strcmp(cmd, "schedules") == 0) {
        char err[Q_ERRLEN];
        json_t *list = control_schedules_json(o->schedules, o->nschedules, c, err, sizeof err);
        if (!list)
            return control_error("%s", err);
        json_t *r = control_reply("schedules");
        json_object_set_new(r, "schedules", list);
        return r;
    }
    return control_error("unknown command \"%s\"; try stats, busy, queues, quiet, stop, dump, metrics or "
                         "schedules", cmd);
}

char *control_handle(q_engine *e, q_conn *c, const control_opts *o, const char *line, size_t len,
                     bool *malformed)
{
    *malformed = false;
    while (len > 0 && isspace((unsigned char)line[len - 1]))
        len--;
    while (len > 0 && isspace((unsigned char)*line)) {
        line++;
        len--;
    }
    json_t *reply;
    char word[32];
    if (len > 0 && *line == '{') {
        json_error_t jerr;
        json_t *req = json_loadb(line, len, 0, &jerr);
        json_t *cmd = req ? json_object_get(req, "cmd") : NULL;
        *malformed = !req || !json_is_string(cmd);
        if (!req)
            reply = control_error("malformed JSON request: %s", jerr.text);
        else if (!json_is_string(cmd))
            reply = control_error("%s", "the request has no \"cmd\" string, e.g. {\"cmd\":\"stats\"}");
        else
            reply = control_run(e, c, o, json_string_value(cmd));
        if (req)
            json_decref(req);
    }
    else if (len > 0 && len < sizeof word && strspn(line, "abcdefghijklmnopqrstuvwxyz") >= len) {
        memcpy(word, line, len);
        word[len] = '\0';
        reply = control_run(e, c, o, word);
    }
    else {
        *malformed = true;
        reply = control_error("%s", "malformed request: send one JSON object like {\"cmd\":\"stats\"} or a bare "
                                    "command word per line");
    }
    char *text = json_dumps(reply, JSON_COMPACT);
    json_decref(reply);
    size_t tl = strlen(text);
    char *out = malloc(tl + 2);
    memcpy(out, text, tl);
    memcpy(out + tl, "\n", 2);
    free(text);
    return out;
}
