/* media_tool.c -- drives the media runner the way the worker does, for the
 * media tests and the benchmark. Like scotty-media it serves the hidden
 * `media-server` and `media-child` subcommands, so the runner can exec
 * /proc/self/exe, and its children know the test-only tasks below, which try
 * what the sandbox must stop (never compiled into scotty-media).
 *
 *   media_tool run [--task process|probe|TEST] --in FILE --out-dir DIR [--threads N]
 *                  [--slots N] [--parallel N] [--nice N] [--timeout S] [--quota CORES]
 *                  [--as-mb MB] [--cpu-seconds S] [--cgroup-root DIR] [--leak-fd] [--exe BIN]
 *                  [--stop-after S]   (calls media_runner_stop after S seconds, like a shutdown)
 *                  [--fork-server on|off] [--fsize-mb MB] [--nofile N]
 *   TEST: try-socket, try-exec, try-env, try-fsize, try-fork, try-kill-parent, try-prlimit-parent,
 *         try-nofile, try-ptrace, try-peek-environ
 *
 * Prints one JSON object: the outcome of each task and what the runner saw. */
#include "media.h"
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

extern char **environ;

/* The worker's secrets a task child must not see (the test sets them). */
static const char *const tool_secrets[] = {"DATABASE_URL", "DB_PASS", "REDIS_URL", "AWS_SECRET_ACCESS_KEY"};

static json_t *tool_outcome(bool escaped, const char *what)
{
    return json_pack("{s:b, s:s, s:s}", "ok", escaped, "stage", "test", "error", what);
}

/* Forbidden things, tried inside the sandboxed task child. "ok": true means the
 * child got away with it. */
static json_t *tool_try(const char *task, const char *in, const char *out_dir)
{
    (void)in;
    char what[512];
    if (strcmp(task, "try-socket") == 0) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        snprintf(what, sizeof what, "socket() gave %d (%s)", fd, fd < 0 ? strerror(errno) : "open");
        return tool_outcome(fd >= 0, what);
    }
    if (strcmp(task, "try-exec") == 0) {
        char *argv[] = {"/bin/sh", "-c", "true", NULL};
        execve(argv[0], argv, environ);
        snprintf(what, sizeof what, "execve failed: %s", strerror(errno));
        return tool_outcome(false, what);
    }
    if (strcmp(task, "try-env") == 0) {
        char seen[256] = "";
        for (size_t i = 0; i < sizeof tool_secrets / sizeof tool_secrets[0]; i++)
            if (getenv(tool_secrets[i]))
                snprintf(seen + strlen(seen), sizeof seen - strlen(seen), "%s ", tool_secrets[i]);
        snprintf(what, sizeof what, "secrets in the environment: %s", seen[0] ? seen : "none");
        return tool_outcome(seen[0] != '\0', what);
    }
    if (strcmp(task, "try-fsize") == 0) {
        char path[1024];
        snprintf(path, sizeof path, "%s.big", out_dir);
        FILE *f = fopen(path, "w");
        static char block[1 << 16];
        long written = 0;
        while (f && fwrite(block, 1, sizeof block, f) == sizeof block && written < (1L << 30))
            written += (long)sizeof block;
        if (f)
            fclose(f);
        snprintf(what, sizeof what, "wrote %ld bytes", written);
        return tool_outcome(written >= (1L << 30), what);
    }
    if (strcmp(task, "try-ptrace") == 0) {
        long rc = ptrace(PTRACE_ATTACH, getppid(), NULL, NULL);
        snprintf(what, sizeof what, "ptrace(PTRACE_ATTACH, parent) gave %ld", rc);
        return tool_outcome(rc == 0, what);
    }
    if (strcmp(task, "try-fork") == 0) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        snprintf(what, sizeof what, "fork gave %d (%s)", (int)pid, pid < 0 ? strerror(errno) : "a child");
        return tool_outcome(pid > 0, what);
    }
    if (strcmp(task, "try-kill-parent") == 0) {
        int rc = kill(getppid(), SIGTERM);
        snprintf(what, sizeof what, "kill(parent) gave %d", rc);
        return tool_outcome(rc == 0, what);
    }
    if (strcmp(task, "try-prlimit-parent") == 0) {
        struct rlimit own;
        if (getrlimit(RLIMIT_NOFILE, &own) != 0) { /* reading its own limits stays allowed */
            snprintf(what, sizeof what, "getrlimit failed: %s", strerror(errno));
            return tool_outcome(false, what);
        }
        struct rlimit tiny = {5, 5};
        int rc = prlimit(getppid(), RLIMIT_NOFILE, &tiny, NULL);
        snprintf(what, sizeof what, "prlimit(parent, RLIMIT_NOFILE) gave %d", rc);
        return tool_outcome(rc == 0, what);
    }
    if (strcmp(task, "try-peek-environ") == 0) {
        /* the environ of its parent (the fork server, or the runner) and of that one's
         * parent: the runner, like the worker, holds the secrets and is not dumpable */
        pid_t pids[2] = {getppid(), 0};
        char path[64], buf[4096];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pids[0]);
        FILE *st = fopen(path, "r");
        if (!st || fscanf(st, "%*d (%*[^)]) %*c %d", &pids[1]) != 1)
            pids[1] = 1;
        if (st)
            fclose(st);
        bool read_any = false;
        size_t off = (size_t)snprintf(what, sizeof what, "environ of");
        for (int i = 0; i < 2; i++) {
            snprintf(path, sizeof path, "/proc/%d/environ", (int)pids[i]);
            int fd = open(path, O_RDONLY);
            ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf);
            int e = errno;
            if (fd >= 0)
                close(fd);
            read_any |= n > 0;
            off += (size_t)snprintf(what + off, sizeof what - off, "%s: %s", i ? "; of the runner" : " the parent",
                                    n > 0 ? "read" : n == 0 ? "empty" : strerror(e));
            if (off >= sizeof what)
                break;
        }
        return tool_outcome(read_any, what);
    }
    if (strcmp(task, "try-nofile") == 0) {
        int n = 0;
        while (n < 100000 && open("/dev/null", O_RDONLY) >= 0)
            n++;
        snprintf(what, sizeof what, "opened %d descriptors, then: %s", n, strerror(errno));
        return tool_outcome(n >= 100000, what);
    }
    return NULL;
}

typedef struct tool_task {
    media_runner *runner;
    const char *task, *in;
    char out_dir[1024];
    int rc;
    char err[MEDIA_ERRLEN];
    media_outcome outcome;
    int progress_calls, last_progress;
    int max_running;          /* highest running count this task saw */
} tool_task;

static void tool_progress(void *ud, int percent)
{
    tool_task *t = ud;
    t->progress_calls++;
    t->last_progress = percent;
    int running, waiting;
    double cpu;
    media_runner_load(t->runner, &running, &waiting, &cpu);
    if (running > t->max_running)
        t->max_running = running;
}

static void *tool_run_one(void *arg)
{
    tool_task *t = arg;
    t->rc = media_runner_run(t->runner, t->task, t->in, t->out_dir, tool_progress, t, &t->outcome, t->err,
                             sizeof t->err);
    return NULL;
}

static json_t *tool_task_json(const tool_task *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "rc", json_integer(t->rc));
    json_object_set_new(o, "error", json_string(t->rc == 0 ? "" : t->err));
    json_object_set_new(o, "result", t->outcome.result ? json_incref(t->outcome.result) : json_null());
    json_object_set_new(o, "wall_seconds", json_real(t->outcome.wall_seconds));
    json_object_set_new(o, "cpu_seconds", json_real(t->outcome.cpu_user + t->outcome.cpu_sys));
    json_object_set_new(o, "max_rss_kb", json_integer(t->outcome.max_rss_kb));
    json_object_set_new(o, "timed_out", json_boolean(t->outcome.timed_out));
    json_object_set_new(o, "cancelled", json_boolean(t->outcome.cancelled));
    json_object_set_new(o, "signal", json_integer(t->outcome.term_signal));
    json_object_set_new(o, "exit_code", json_integer(t->outcome.exit_code));
    json_object_set_new(o, "progress_calls", json_integer(t->progress_calls));
    json_object_set_new(o, "last_progress", json_integer(t->last_progress));
    json_object_set_new(o, "max_running", json_integer(t->max_running));
    return o;
}

static int tool_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"task", required_argument, NULL, 'k'},    {"in", required_argument, NULL, 'i'},
        {"out-dir", required_argument, NULL, 'o'}, {"threads", required_argument, NULL, 't'},
        {"slots", required_argument, NULL, 's'},   {"parallel", required_argument, NULL, 'p'},
        {"nice", required_argument, NULL, 'n'},    {"timeout", required_argument, NULL, 'w'},
        {"quota", required_argument, NULL, 'q'},   {"as-mb", required_argument, NULL, 'm'},
        {"cpu-seconds", required_argument, NULL, 'c'}, {"cgroup-root", required_argument, NULL, 'g'},
        {"leak-fd", no_argument, NULL, 'l'},       {"exe", required_argument, NULL, 'e'},
        {"stop-after", required_argument, NULL, 'x'}, {"fork-server", required_argument, NULL, 'F'},
        {"fsize-mb", required_argument, NULL, 'z'},   {"nofile", required_argument, NULL, 'd'},
        {NULL, 0, NULL, 0},
    };
    /* as the worker does: a task child cannot read this process through /proc */
    prctl(PR_SET_DUMPABLE, 0);
    media_runner_cfg cfg;
    media_runner_cfg_defaults(&cfg);
    const char *task = "process", *in = NULL, *out_dir = NULL;
    int parallel = 1, c;
    double stop_after = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k': task = optarg; break;
        case 'i': in = optarg; break;
        case 'o': out_dir = optarg; break;
        case 't': cfg.threads = atoi(optarg); break;
        case 's': cfg.slots = atoi(optarg); break;
        case 'p': parallel = atoi(optarg); break;
        case 'n': cfg.nice = atoi(optarg); break;
        case 'w': cfg.timeout = atof(optarg); break;
        case 'q': cfg.cpu_quota = atof(optarg); break;
        case 'm': cfg.as_budget_mb = atol(optarg); break;
        case 'c': cfg.cpu_seconds = atol(optarg); break;
        case 'g': snprintf(cfg.cgroup_root, sizeof cfg.cgroup_root, "%s", optarg); break;
        case 'l': open("/dev/null", O_RDONLY); break; /* a careless worker's descriptor, kept open */
        case 'e': snprintf(cfg.exe, sizeof cfg.exe, "%s", optarg); break;
        case 'x': stop_after = atof(optarg); break;
        case 'F': cfg.fork_server = strcmp(optarg, "off") != 0; break;
        case 'z': cfg.fsize_mb = atol(optarg); break;
        case 'd': cfg.nofile = atoi(optarg); break;
        default: return 2;
        }
    }
    if (!in || !out_dir || parallel < 1 || parallel > 16) {
        fprintf(stderr, "usage: media_tool run --in FILE --out-dir DIR [options]\n");
        return 2;
    }
    char err[MEDIA_ERRLEN];
    media_runner *r = media_runner_new(&cfg, err, sizeof err);
    if (!r || media_runner_prepare(r, err, sizeof err) < 0) {
        fprintf(stderr, "media_tool: %s\n", err);
        return 1;
    }
    tool_task *tasks = calloc((size_t)parallel, sizeof *tasks);
    pthread_t *threads = calloc((size_t)parallel, sizeof *threads);
    if (!tasks || !threads) {
        fprintf(stderr, "media_tool: out of memory\n");
        return 1;
    }
    if (parallel > 1 && mkdir(out_dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "media_tool: cannot create %s: %s\n", out_dir, strerror(errno));
        return 1;
    }
    for (int i = 0; i < parallel; i++) {
        tasks[i].runner = r;
        tasks[i].task = task;
        tasks[i].in = in;
        if (parallel == 1)
            snprintf(tasks[i].out_dir, sizeof tasks[i].out_dir, "%s", out_dir);
        else
            snprintf(tasks[i].out_dir, sizeof tasks[i].out_dir, "%s/%d", out_dir, i);
        pthread_create(&threads[i], NULL, tool_run_one, &tasks[i]);
    }
    if (stop_after > 0) {
        struct timespec ts = {(time_t)stop_after, (long)((stop_after - (double)(time_t)stop_after) * 1e9)};
        nanosleep(&ts, NULL);
        media_runner_stop(r);
    }
    json_t *all = json_array();
    for (int i = 0; i < parallel; i++) {
        pthread_join(threads[i], NULL);
        json_array_append_new(all, tool_task_json(&tasks[i]));
        json_decref(tasks[i].outcome.result);
    }
    json_t *doc = parallel == 1 ? json_incref(json_array_get(all, 0)) : json_object();
    if (parallel > 1)
        json_object_set(doc, "tasks", all);
    json_object_set_new(doc, "cgroup", json_string(media_runner_cgroup_mode(r)));
    json_object_set_new(doc, "slots", json_integer(cfg.slots));
    json_object_set_new(doc, "mode", json_string(media_runner_mode(r)));
    json_object_set_new(doc, "sandbox", json_string(media_runner_sandbox(r)));
    char *s = json_dumps(doc, JSON_COMPACT);
    printf("%s\n", s);
    free(s);
    json_decref(doc);
    json_decref(all);
    free(tasks);
    free(threads);
    media_runner_free(r);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "media-server") == 0)
        return media_server_main(argc - 1, argv + 1, tool_try);
    if (argc > 1 && strcmp(argv[1], "media-child") == 0)
        return media_child_run(argc - 1, argv + 1, tool_try);
    if (argc > 1 && strcmp(argv[1], "run") == 0)
        return tool_run(argc - 1, argv + 1);
    fprintf(stderr, "usage: media_tool {run|media-server|media-child} ...\n");
    return 2;
}
