/* scottyctl_print.c -- scottyctl's human-readable tables for each reply. */
#include "scottyctl.h"

#include <string.h>
#include <time.h>

void ctl_duration(double s, char *buf, size_t len)
{
    if (s < 60)
        snprintf(buf, len, "%.1fs", s);
    else if (s < 3600)
        snprintf(buf, len, "%dm%02ds", (int)s / 60, (int)s % 60);
    else if (s < 86400)
        snprintf(buf, len, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
    else
        snprintf(buf, len, "%dd%02dh", (int)s / 86400, (int)s % 86400 / 3600);
}

void ctl_bar(int percent, int width, char *buf, size_t len)
{
    if (percent < 0 || (size_t)width + 3 > len) {
        snprintf(buf, len, "-");
        return;
    }
    int fill = percent >= 100 ? width : percent * width / 100;
    buf[0] = '[';
    for (int i = 0; i < width; i++)
        buf[1 + i] = i < fill ? '#' : ' ';
    buf[width + 1] = ']';
    buf[width + 2] = '\0';
}

static const char *ctl_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static double ctl_num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static void ctl_print_queues(FILE *out, const json_t *queues)
{
    fprintf(out, "%-24s %6s %10s %10s\n", "QUEUE", "WEIGHT", "SIZE", "LATENCY");
    size_t i;
    const json_t *q;
    json_array_foreach(queues, i, q) {
        char lat[32];
        ctl_duration(ctl_num(q, "latency"), lat, sizeof lat);
        fprintf(out, "%-24s %6.0f %10.0f %10s\n", ctl_str(q, "name"), ctl_num(q, "weight"), ctl_num(q, "size"),
                lat);
    }
}

static void ctl_print_busy(FILE *out, const json_t *jobs)
{
    fprintf(out, "%-8s %-24s %-36s %-12s %9s  %s\n", "TID", "JID", "CLASS", "QUEUE", "ELAPSED", "PROGRESS");
    size_t i;
    const json_t *j;
    json_array_foreach(jobs, i, j) {
        char el[32], bar[40] = "-";
        ctl_duration(ctl_num(j, "elapsed"), el, sizeof el);
        const json_t *p = json_object_get(j, "progress");
        if (json_is_integer(p)) {
            ctl_bar((int)json_integer_value(p), 20, bar, sizeof bar);
            snprintf(bar + strlen(bar), sizeof bar - strlen(bar), " %3d%%", (int)json_integer_value(p));
        }
        fprintf(out, "%-8s %-24s %-36s %-12s %9s  %s\n", ctl_str(j, "tid"), ctl_str(j, "jid"), ctl_str(j, "class"),
                ctl_str(j, "queue"), el, bar);
    }
    if (json_array_size(jobs) == 0)
        fprintf(out, "(no running jobs)\n");
}

static void ctl_print_stats(FILE *out, const json_t *r)
{
    char up[32];
    ctl_duration(ctl_num(r, "uptime"), up, sizeof up);
    fprintf(out, "identity %s%s\n", ctl_str(r, "identity"), json_is_true(json_object_get(r, "quiet")) ? " (quiet)" : "");
    fprintf(out, "processed %.0f  failed %.0f  busy %.0f of %.0f  uptime %s  rss %.1f MB  redis rtt %.2f ms\n",
            ctl_num(r, "processed"), ctl_num(r, "failed"), ctl_num(r, "busy"), ctl_num(r, "concurrency"), up,
            ctl_num(r, "rss_kb") / 1024.0, ctl_num(r, "redis_rtt_ms"));
    const json_t *media = json_object_get(r, "media");
    if (media)
        fprintf(out, "media slots %.0f of %.0f in use, %.0f waiting  cpu cap via cgroup %s\n",
                ctl_num(media, "in_use"), ctl_num(media, "slots"), ctl_num(media, "waiting"),
                ctl_str(media, "cgroup"));
    if (media && json_object_get(media, "sandbox"))
        fprintf(out, "media children %s  sandbox: %s\n", ctl_str(media, "children"), ctl_str(media, "sandbox"));
    const json_t *cluster = media ? json_object_get(media, "cluster") : NULL;
    if (cluster && json_object_get(cluster, "error"))
        fprintf(out, "media cluster slots %.0f: unknown (%s)\n", ctl_num(cluster, "slots"), ctl_str(cluster, "error"));
    else if (cluster)
        fprintf(out, "media cluster slots %.0f of %.0f in use, %.0f waiting (all processes); %.0f held here, "
                "lease %.0f s\n", ctl_num(cluster, "in_use"), ctl_num(cluster, "slots"), ctl_num(cluster, "waiting"),
                ctl_num(cluster, "here"), ctl_num(cluster, "lease"));
    if (json_object_get(r, "redis_error"))
        fprintf(out, "queues unavailable: %s\n", ctl_str(r, "redis_error"));
    fprintf(out, "\n");
    ctl_print_queues(out, json_object_get(r, "queues"));
    fprintf(out, "\n%-36s %-12s %9s %7s %9s %9s %9s\n", "CLASS", "QUEUE", "PROCESSED", "FAILED", "P50", "P95", "P99");
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(r, "classes"), i, c) {
        fprintf(out, "%-36s %-12s %9.0f %7.0f %8.3fs %8.3fs %8.3fs\n", ctl_str(c, "class"), ctl_str(c, "queue"),
                ctl_num(c, "processed"), ctl_num(c, "failed"), ctl_num(c, "p50"), ctl_num(c, "p95"),
                ctl_num(c, "p99"));
    }
    const json_t *acts = json_object_get(r, "activities");
    if (json_array_size(acts) == 0)
        return;
    fprintf(out, "\n%-16s %9s %9s %9s %9s\n", "ACTIVITY", "HANDLED", "FORWARDED", "DROPPED", "FAILED");
    json_array_foreach(acts, i, c) {
        fprintf(out, "%-16s %9.0f %9.0f %9.0f %9.0f\n", ctl_str(c, "type"), ctl_num(c, "handled"),
                ctl_num(c, "forwarded"), ctl_num(c, "dropped"), ctl_num(c, "failed"));
    }
}

/* "2026-11-24 04:17:00 UTC (in 3h05m)", or "-" for none. */
static void ctl_when(const json_t *v, double now, char *buf, size_t len)
{
    if (!json_is_integer(v)) {
        snprintf(buf, len, "-");
        return;
    }
    time_t t = (time_t)json_integer_value(v);
    struct tm tm;
    gmtime_r(&t, &tm);
    char date[32], rel[32];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
    ctl_duration((double)t > now ? (double)t - now : now - (double)t, rel, sizeof rel);
    snprintf(buf, len, "%.19s (%s%.20s%s)", date, (double)t > now ? "in " : "", rel, (double)t > now ? "" : " ago");
}

static void ctl_print_schedules(FILE *out, const json_t *list)
{
    double now = (double)time(NULL);
    fprintf(out, "%-28s %-36s %-12s %-24s %-38s %-38s %s\n", "NAME", "CLASS", "QUEUE", "WHEN", "LAST RUN (UTC)",
            "NEXT RUN (UTC)", "ENABLED");
    size_t i;
    const json_t *s;
    json_array_foreach(list, i, s) {
        char when[160], last[64], next[64];
        snprintf(when, sizeof when, "%s %s", ctl_str(s, "kind"), ctl_str(s, "expr"));
        ctl_when(json_object_get(s, "last_run"), now, last, sizeof last);
        ctl_when(json_object_get(s, "next_run"), now, next, sizeof next);
        fprintf(out, "%-28s %-36s %-12s %-24s %-38s %-38s %s\n", ctl_str(s, "name"), ctl_str(s, "class"),
                ctl_str(s, "queue"), when, last, next, json_is_true(json_object_get(s, "enabled")) ? "yes" : "no");
    }
    if (json_array_size(list) == 0)
        fprintf(out, "(no schedules in this process)\n");
}

void ctl_print(FILE *out, const char *cmd, const json_t *r)
{
    if (strcmp(cmd, "stats") == 0)
        ctl_print_stats(out, r);
    else if (strcmp(cmd, "busy") == 0)
        ctl_print_busy(out, json_object_get(r, "jobs"));
    else if (strcmp(cmd, "queues") == 0)
        ctl_print_queues(out, json_object_get(r, "queues"));
    else if (strcmp(cmd, "schedules") == 0)
        ctl_print_schedules(out, json_object_get(r, "schedules"));
    else if (strcmp(cmd, "metrics") == 0)
        fputs(ctl_str(r, "text"), out);
    else if (strcmp(cmd, "quiet") == 0)
        fprintf(out, "quiet: no new jobs will be fetched; running jobs finish\n");
    else if (strcmp(cmd, "stop") == 0)
        fprintf(out, "stopping: running jobs get the -t deadline, unfinished ones go back to their queue\n");
    else if (strcmp(cmd, "dump") == 0) {
        fprintf(out, "%.0f threads: %zu running, %.0f idle%s%s (full report in scotty's log)\n",
                ctl_num(r, "concurrency"), json_array_size(json_object_get(r, "running")), ctl_num(r, "idle"),
                json_is_true(json_object_get(r, "quiet")) ? ", quiet" : "",
                json_is_true(json_object_get(r, "stop_requested")) ? ", stopping" : "");
        ctl_print_busy(out, json_object_get(r, "running"));
    }
}
