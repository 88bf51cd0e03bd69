/* media_child.c -- `scotty media-child <task> ...`: one media task in its own
 * process, forked by the fork server or exec'ed by the worker. It caps itself
 * first (cgroup, nice, ioprio, rlimits), then sandboxes itself (network
 * namespace, seccomp allowlist), then probes (a still picture from its libvips
 * header, anything else with libav), validates and processes the input the way
 * Mastodon's processor chain does, writing its files into --out-dir.
 * stdout is the channel to the worker: "P <percent>" lines while working, then
 * one "R <json>" line with the result. */
#include "media.h"
#include "media_internal.h"
#include "media_vips.h"

#include <errno.h>
#include <getopt.h>
#include <libavutil/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

typedef struct child_args {
    const char *task, *in, *out_dir;
    const char *netns;       /* "new": unshare one; "have": already in one; "none": not permitted */
    int threads;
    media_child_limits limits;
} child_args;

static double child_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double child_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void child_progress(void *ud, int percent)
{
    (void)ud;
    printf("P %d\n", percent);
    fflush(stdout);
}

static int child_emit(json_t *result)
{
    char *s = json_dumps(result, JSON_COMPACT);
    printf("R %s\n", s ? s : "{\"ok\":false,\"error\":\"out of memory\"}");
    fflush(stdout);
    free(s);
    bool ok = json_is_true(json_object_get(result, "ok"));
    json_decref(result);
    return ok ? 0 : 1;
}

static int child_fail(const char *stage, const char *msg)
{
    json_t *r = json_object();
    json_object_set_new(r, "ok", json_false());
    json_object_set_new(r, "stage", json_string(stage));
    json_object_set_new(r, "error", json_string(msg));
    return child_emit(r);
}

static int child_parse(int argc, char **argv, child_args *a, media_child_hook hook)
{
    static const struct option opts[] = {
        {"in", required_argument, NULL, 'i'},       {"out-dir", required_argument, NULL, 'o'},
        {"threads", required_argument, NULL, 't'},  {"nice", required_argument, NULL, 'n'},
        {"ioprio-class", required_argument, NULL, 'c'}, {"ioprio-level", required_argument, NULL, 'l'},
        {"as-budget-mb", required_argument, NULL, 'm'}, {"cpu-seconds", required_argument, NULL, 's'},
        {"cgroup", required_argument, NULL, 'g'},   {"parent", required_argument, NULL, 'p'},
        {"fsize-mb", required_argument, NULL, 'f'}, {"nofile", required_argument, NULL, 'd'},
        {"netns", required_argument, NULL, 'N'},    {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->threads = 1;
    a->netns = "new";
    if (argc < 2)
        return -1;
    a->task = argv[1];
    optind = 2;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'i': a->in = optarg; break;
        case 'o': a->out_dir = optarg; break;
        case 't': a->threads = atoi(optarg); break;
        case 'n': a->limits.nice = atoi(optarg); break;
        case 'c': a->limits.ioprio_class = atoi(optarg); break;
        case 'l': a->limits.ioprio_level = atoi(optarg); break;
        case 'm': a->limits.as_budget_mb = atol(optarg); break;
        case 's': a->limits.cpu_seconds = atol(optarg); break;
        case 'g': a->limits.cgroup_dir = optarg; break;
        case 'p': a->limits.parent = atoi(optarg); break;
        case 'f': a->limits.fsize_mb = atol(optarg); break;
        case 'd': a->limits.nofile = atoi(optarg); break;
        case 'N': a->netns = optarg; break;
        default: return -1;
        }
    }
    if (a->threads < 1)
        a->threads = 1;
    bool image_task = media_vips_task_known(a->task);
    if (!a->in || ((strcmp(a->task, "process") == 0 || image_task) && !a->out_dir))
        return -1;
    if (strcmp(a->netns, "new") != 0 && strcmp(a->netns, "have") != 0 && strcmp(a->netns, "none") != 0)
        return -1;
    return strcmp(a->task, "process") == 0 || strcmp(a->task, "probe") == 0 || image_task || hook ? 0 : -1;
}

/* No network (a namespace of its own unless the machine does not permit one:
 * then seccomp's ban on socket() alone), no capabilities, and the system call
 * allowlist. */
static int child_sandbox(const child_args *a, char *err, size_t errlen)
{
    if (strcmp(a->netns, "new") == 0 && media_sandbox_netns(err, errlen) < 0)
        err[0] = '\0'; /* the worker logged at start that tasks run without one */
    if (media_sandbox_drop_caps(err, errlen) < 0)
        return -1;
    return media_sandbox_seccomp(err, errlen);
}

int media_child_main(int argc, char **argv)
{
    return media_child_run(argc, argv, NULL);
}

int media_child_run(int argc, char **argv, media_child_hook hook)
{
    child_args a;
    if (child_parse(argc, argv, &a, hook) < 0) {
        fprintf(stderr, "usage: %s {process|probe} --in FILE [--out-dir DIR] [--threads N] [--nice N]\n"
                        "       [--ioprio-class C --ioprio-level L] [--as-budget-mb MB] [--cpu-seconds S]\n"
                        "       [--fsize-mb MB] [--nofile N] [--netns new|have|none] [--cgroup DIR]"
                        " [--parent PID]\n", argv[0]);
        return 2;
    }
    char err[MEDIA_ERRLEN] = "";
    if (media_limits_apply(&a.limits, err, sizeof err) < 0)
        return child_fail("limits", err);
    if (child_sandbox(&a, err, sizeof err) < 0)
        return child_fail("sandbox", err);
    if (media_vips_task_known(a.task))
        return child_emit(media_vips_task_run(a.task, a.in, a.out_dir, a.threads));
    if (strcmp(a.task, "process") != 0 && strcmp(a.task, "probe") != 0) {
        json_t *own = hook(a.task, a.in, a.out_dir);
        return own ? child_emit(own) : child_fail("task", "unknown task");
    }
    double t0 = child_now(), c0 = child_cpu();
    av_log_set_level(AV_LOG_FATAL);
    media_probe p;
    media_vips_info still_info;
    bool still = media_vips_init(a.threads, err, sizeof err) == 0 && media_vips_probe_still(a.in, &p, &still_info) == 1;
    if (!still && media_probe_file(a.in, &p, err, sizeof err) < 0)
        return child_fail("probe", err);
    media_kind kind = media_classify(&p);
    json_t *result = json_object();
    json_object_set_new(result, "probe", media_probe_json(&p));
    json_object_set_new(result, "type", json_string(media_kind_name(kind)));
    if (strcmp(a.task, "probe") == 0) {
        json_object_set_new(result, "ok", json_true());
        return child_emit(result);
    }
    const char *stage = "validate";
    int rc = media_validate(&p, kind, err, sizeof err);
    if (rc == 0 && mkdir(a.out_dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, sizeof err, "cannot create the output directory %s: %s", a.out_dir, strerror(errno));
        stage = "output";
        rc = -1;
    }
    if (rc == 0)
        stage = "process";
    json_t *meta = json_object();
    if (rc == 0) {
        media_styles_ctx sc = {a.in, a.out_dir, a.threads, child_progress, NULL, still ? &still_info : NULL};
        rc = media_styles_make(&sc, &p, kind, result, meta, err, sizeof err);
    }
    json_object_set_new(result, "file_meta", meta);
    json_object_set_new(result, "ok", json_boolean(rc == 0));
    if (rc < 0) {
        json_object_set_new(result, "stage", json_string(stage));
        json_object_set_new(result, "error", json_string(err));
    }
    json_object_set_new(result, "cpu_seconds", json_real(child_cpu() - c0));
    json_object_set_new(result, "wall_seconds", json_real(child_now() - t0));
    return child_emit(result);
}
