/* media_cluster_tool.c -- one scotty-like process for the cluster-slot test:
 * runs media tasks through attach_cluster_run (the lease in Redis, then the
 * real scotty-media child) from several threads, as ingress jobs would.
 *
 *   media_cluster_tool --socket PATH --slots N --local-slots L --lease S
 *                      --tasks K --exe SCOTTY_MEDIA --in FILE --out-dir DIR [--task T]
 *
 * For each task it prints "<event> <task number> <unix time in s>" lines:
 * "want" before asking for the slot, "start" at the child's first progress
 * line (so the child is running), "done"/"fail" once attach_cluster_run
 * returned (the child has exited). [start, done] lies inside the child's
 * life, so two such intervals that overlap mean two children ran at once.
 * The last line is "stats <json>" from attach_cluster_stats. */
#include "attach_cluster.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

typedef struct tool {
    attach_cluster *cluster;
    media_runner *runner;
    const char *task, *in, *out_dir;
    int next, tasks;
    pthread_mutex_t lock;   /* guards next and stdout */
} tool;

static double tool_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void tool_say(tool *t, const char *event, int n)
{
    pthread_mutex_lock(&t->lock);
    printf("%s %d %.6f\n", event, n, tool_time());
    fflush(stdout);
    pthread_mutex_unlock(&t->lock);
}

/* The runner's progress callback marks the child's start: the lease is held by then. */
typedef struct tool_job {
    tool *t;
    int n;
    bool started;
} tool_job;

static void tool_progress(void *ud, int percent)
{
    (void)percent;
    tool_job *j = ud;
    if (!j->started) {
        j->started = true;
        tool_say(j->t, "start", j->n);
    }
}

static void *tool_worker(void *arg)
{
    tool *t = arg;
    for (;;) {
        pthread_mutex_lock(&t->lock);
        int n = t->next < t->tasks ? t->next++ : -1;
        pthread_mutex_unlock(&t->lock);
        if (n < 0)
            return NULL;
        char out[1024], err[MEDIA_ERRLEN];
        snprintf(out, sizeof out, "%s/%d", t->out_dir, n);
        tool_job j = {t, n, false};
        media_outcome o;
        tool_say(t, "want", n);
        int rc = attach_cluster_run(t->cluster, t->runner, t->task, t->in, out, tool_progress, &j, &o, err,
                                    sizeof err);
        tool_say(t, rc == 0 ? "done" : "fail", n);
        if (rc != 0) {
            pthread_mutex_lock(&t->lock);
            fprintf(stderr, "task %d: %s\n", n, err);
            pthread_mutex_unlock(&t->lock);
        }
        json_decref(o.result);
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'}, {"slots", required_argument, NULL, 'n'},
        {"local-slots", required_argument, NULL, 'l'}, {"lease", required_argument, NULL, 'L'},
        {"tasks", required_argument, NULL, 'k'}, {"exe", required_argument, NULL, 'e'},
        {"in", required_argument, NULL, 'i'}, {"out-dir", required_argument, NULL, 'o'},
        {"task", required_argument, NULL, 't'}, {NULL, 0, NULL, 0},
    };
    q_redis_opts redis;
    memset(&redis, 0, sizeof redis);
    int slots = 1, local = 1, c;
    double lease = 5;
    tool t = {.task = "process", .tasks = 1};
    const char *exe = NULL;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': snprintf(redis.unix_path, sizeof redis.unix_path, "%s", optarg); break;
        case 'n': slots = atoi(optarg); break;
        case 'l': local = atoi(optarg); break;
        case 'L': lease = atof(optarg); break;
        case 'k': t.tasks = atoi(optarg); break;
        case 'e': exe = optarg; break;
        case 'i': t.in = optarg; break;
        case 'o': t.out_dir = optarg; break;
        case 't': t.task = optarg; break;
        default: return 2;
        }
    }
    if (!redis.unix_path[0] || !exe || !t.in || !t.out_dir || local < 1) {
        fprintf(stderr, "usage: media_cluster_tool --socket PATH --exe BIN --in FILE --out-dir DIR [...]\n");
        return 2;
    }
    char err[MEDIA_ERRLEN];
    media_runner_cfg cfg;
    media_runner_cfg_defaults(&cfg);
    snprintf(err, sizeof err, "%d", local);
    if (media_runner_cfg_set(&cfg, "media-slots", err, err, sizeof err) < 0 ||
        media_runner_cfg_set(&cfg, "media-exe", exe, err, sizeof err) < 0 ||
        !(t.runner = media_runner_new(&cfg, err, sizeof err)) ||
        !(t.cluster = attach_cluster_new(&redis, slots, local, lease, err, sizeof err))) {
        fprintf(stderr, "media_cluster_tool: %s\n", err);
        return 1;
    }
    mkdir(t.out_dir, 0700);
    pthread_mutex_init(&t.lock, NULL);
    pthread_t th[64];
    int nth = local < 64 ? local : 64;
    for (int i = 0; i < nth; i++)
        pthread_create(&th[i], NULL, tool_worker, &t);
    for (int i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    json_t *stats = attach_cluster_stats(t.cluster);
    char *s = json_dumps(stats, JSON_COMPACT);
    printf("stats %s\n", s ? s : "{}");
    free(s);
    json_decref(stats);
    attach_cluster_free(t.cluster);
    media_runner_stop(t.runner);
    media_runner_free(t.runner);
    return 0;
}
