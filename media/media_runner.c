/* media_runner.c -- the worker side of a media task. Waits for one of the
 * worker-wide slots, puts the task in its own CPU-quota cgroup when available,
 * has the fork server fork a task child for it (media_srvlink.c) or, with the
 * fork server off, posix_spawn()s `<exe> media-child ...` (no fork without exec
 * in the threaded worker), relays its progress, kills it with SIGKILL at the
 * wall-clock deadline, gets its wait status and rusage (from the server, which
 * reaps its children, or from its own wait4), and turns its result line or its
 * death into an outcome. Children get a scrubbed environment. */
#include "media.h"
#include "media_internal.h"
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* The result line a child may send; a longer one is dropped and the child killed. */
#define MEDIA_RESULT_MAX (1024 * 1024)

/* The worker's variables a media child keeps; everything else (DATABASE_URL,
 * DB_PASS, REDIS_URL, S3 and AWS keys, ...) stays in the worker. */
static const char *const runner_env_keep[] = {
    "TMPDIR", "TZ", "LANG", "LC_ALL", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
};

struct media_runner {
    media_runner_cfg cfg;        /* read-only after media_runner_new */
    media_cg_mode cg;
    char cg_base[600];
    char **envp;                 /* the children's environment; read-only after media_runner_new */
    media_srv *srv;              /* the fork server link; NULL with fork_server off */
    char sandbox[1024];          /* what media_runner_prepare found; written once at start */
    pthread_mutex_t lock;        /* guards running, waiting, seq, stopping, pids, cpu_seconds */
    pthread_cond_t slot_freed;
    int running, waiting;
    double cpu_seconds;          /* user + system CPU of every finished task child */
    unsigned long seq;
    bool stopping;               /* media_runner_stop was called */
    pid_t *pids;                 /* per slot: the child running in it, 0 when none */
};

/* The kept variables of this process's environment, as a new NULL-ended array. */
static char **runner_env(void)
{
    size_t n = 0;
    for (char **e = environ; *e; e++)
        n++;
    char **out = calloc(n + 1, sizeof *out);
    if (!out)
        return NULL;
    size_t k = 0;
    for (char **e = environ; *e; e++)
        for (size_t i = 0; i < sizeof runner_env_keep / sizeof runner_env_keep[0]; i++) {
            size_t len = strlen(runner_env_keep[i]);
            if (strncmp(*e, runner_env_keep[i], len) == 0 && (*e)[len] == '=') {
                out[k] = strdup(*e);
                if (out[k])
                    k++;
            }
        }
    return out;
}

static void runner_env_free(char **envp)
{
    for (char **e = envp; e && *e; e++)
        free(*e);
    free(envp);
}

media_runner *media_runner_new(const media_runner_cfg *cfg, char *err, size_t errlen)
{
    if (cfg->slots < 1 || cfg->threads < 1 || cfg->threads > 64 || cfg->nice < 0 || cfg->nice > 19 ||
        cfg->timeout <= 0 || cfg->cpu_quota < 0 || cfg->ioprio_class < 0 || cfg->ioprio_class > 3) {
        snprintf(err, errlen, "invalid media settings: need slots >= 1, threads 1..64, nice 0..19, "
                 "timeout > 0, cpu quota >= 0, ioprio class 0..3");
        return NULL;
    }
    media_runner *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->cfg = *cfg;
    r->pids = calloc((size_t)cfg->slots, sizeof *r->pids);
    r->envp = runner_env();
    r->srv = r->envp && cfg->fork_server ? media_srv_new(cfg->exe, r->envp) : NULL;
    if (!r->pids || !r->envp || (cfg->fork_server && !r->srv)) {
        free(r->pids);
        runner_env_free(r->envp);
        free(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(r->sandbox, sizeof r->sandbox, "not checked yet");
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->slot_freed, NULL);
    if (cfg->cpu_quota > 0) {
        char why[MEDIA_ERRLEN];
        r->cg = media_cgroup_setup(cfg->cgroup_root, r->cg_base, sizeof r->cg_base, why, sizeof why);
        if (r->cg == MEDIA_CG_NONE)
            base_log(BASE_LOG_WARN, "media: no CPU quota for media children (%s); nice %d, %d thread(s) per task "
                  "and %d slot(s) still apply", why, cfg->nice, cfg->threads, cfg->slots);
        else
            base_log(BASE_LOG_INFO, "media: CPU quota %.2f core(s) per task via cgroup %s (%s)", cfg->cpu_quota,
                  r->cg == MEDIA_CG_V2 ? "v2" : "v1", r->cg_base);
    }
    return r;
}

void media_runner_free(media_runner *r)
{
    if (!r)
        return;
    media_srv_free(r->srv);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->slot_freed);
    free(r->pids);
    runner_env_free(r->envp);
    free(r);
}

int media_runner_prepare(media_runner *r, char *err, size_t errlen)
{
    media_srv *probe = r->srv ? r->srv : media_srv_new(r->cfg.exe, r->envp);
    if (!probe) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = media_srv_ensure(probe, err, errlen);
    bool netns = false, seccomp = false;
    char why[MEDIA_ERRLEN] = "";
    if (rc == 0)
        media_srv_protections(probe, &netns, &seccomp, why, sizeof why);
    if (probe != r->srv)
        media_srv_free(probe);
    if (rc < 0)
        return -1;
    char fsize[48] = "no RLIMIT_FSIZE", nofile[48] = "no RLIMIT_NOFILE";
    if (r->cfg.fsize_mb > 0)
        snprintf(fsize, sizeof fsize, "RLIMIT_FSIZE %ld MB", r->cfg.fsize_mb);
    if (r->cfg.nofile > 0)
        snprintf(nofile, sizeof nofile, "RLIMIT_NOFILE %d", r->cfg.nofile);
    snprintf(r->sandbox, sizeof r->sandbox, "env scrubbed, no capabilities, %s, %s, %s, %s, result line <= %d KiB",
             seccomp ? "seccomp allowlist" : "NO seccomp", netns ? "network namespace" : "no network namespace",
             fsize, nofile, MEDIA_RESULT_MAX / 1024);
    base_log(BASE_LOG_INFO, "media: task children %s; sandbox: %s", r->srv ? "forked by one fork server" :
             "exec'ed per task (--media-fork-server off)", r->sandbox);
    if (!netns)
        base_log(BASE_LOG_WARN, "media: %s; task children have no network through seccomp alone", why);
    if (!seccomp) {
        snprintf(err, errlen, "media: the sandbox cannot be installed here (%s); refusing to run media tasks", why);
        return -1;
    }
    return 0;
}

const char *media_runner_sandbox(const media_runner *r)
{
    return r->sandbox;
}

const char *media_runner_mode(const media_runner *r)
{
    return r->srv ? "fork-server" : "exec";
}

const char *media_runner_cgroup_mode(const media_runner *r)
{
    return r->cg == MEDIA_CG_V2 ? "v2" : r->cg == MEDIA_CG_V1 ? "v1" : "none";
}

void media_runner_load(media_runner *r, int *running, int *waiting, double *cpu_seconds)
{
    pthread_mutex_lock(&r->lock);
    *running = r->running;
    *waiting = r->waiting;
    *cpu_seconds = r->cpu_seconds;
    pthread_mutex_unlock(&r->lock);
}

/* Waits for a free slot; returns its index, or -1 when the runner is stopping. */
static int slot_acquire(media_runner *r, unsigned long *seq)
{
    pthread_mutex_lock(&r->lock);
    r->waiting++;
    while (r->running >= r->cfg.slots && !r->stopping)
        pthread_cond_wait(&r->slot_freed, &r->lock);
    r->waiting--;
    int idx = -1;
    if (!r->stopping) {
        r->running++;
        *seq = ++r->seq;
        for (idx = 0; r->pids[idx] != 0; idx++)
            ;
        r->pids[idx] = -1; /* taken, no child yet */
    }
    pthread_mutex_unlock(&r->lock);
    return idx;
}

static void slot_release(media_runner *r, int idx)
{
    pthread_mutex_lock(&r->lock);
    r->pids[idx] = 0;
    r->running--;
    pthread_cond_signal(&r->slot_freed);
    pthread_mutex_unlock(&r->lock);
}

/* Records the child in its slot; a stop that came first kills it at once. */
static void slot_set_pid(media_runner *r, int idx, pid_t pid)
{
    pthread_mutex_lock(&r->lock);
    r->pids[idx] = pid;
    if (r->stopping)
        kill(pid, SIGKILL);
    pthread_mutex_unlock(&r->lock);
}

void media_runner_stop(media_runner *r)
{
    pthread_mutex_lock(&r->lock);
    r->stopping = true;
    for (int i = 0; i < r->cfg.slots; i++)
        if (r->pids[i] > 0)
            kill(r->pids[i], SIGKILL); /* never reaped while listed, so never a reused pid */
    pthread_cond_broadcast(&r->slot_freed);
    pthread_mutex_unlock(&r->lock);
    if (r->srv)
        media_srv_kill_all(r->srv); /* tasks submitted later see stopping and kill their own */
}

static bool runner_stopping(media_runner *r)
{
    pthread_mutex_lock(&r->lock);
    bool stopping = r->stopping;
    pthread_mutex_unlock(&r->lock);
    return stopping;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The child's output so far, split into lines as they complete. */
typedef struct child_io {
    char buf[8192];
    size_t len;
    base_buf result;            /* the "R " line, which may be longer than buf */
    bool in_result;
    bool overflow;              /* the "R " line passed MEDIA_RESULT_MAX: dropped */
    media_progress_fn progress;
    void *ud;
} child_io;

static void io_line(child_io *io, const char *line, size_t n)
{
    if (n > 2 && line[0] == 'P' && line[1] == ' ' && io->progress)
        io->progress(io->ud, atoi(line + 2));
}

/* Consumes bytes; the "R " line is collected whole, other lines are handled. */
static void io_feed(child_io *io, const char *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = data[i];
        if (io->in_result) {
            if (io->result.len >= MEDIA_RESULT_MAX)
                io->overflow = true;
            else if (c != '\n')
                base_buf_add(&io->result, &c, 1);
            continue;
        }
        if (c == '\n') {
            io_line(io, io->buf, io->len);
            io->len = 0;
        } else if (io->len == 1 && io->buf[0] == 'R' && c == ' ') {
            io->in_result = true;
            io->len = 0;
        } else if (io->len < sizeof io->buf - 1) {
            io->buf[io->len++] = c;
            io->buf[io->len] = '\0';
        }
    }
}

/* The media-child arguments of a task, in bufs (kept by the caller). */
typedef struct task_argv {
    char threads[16], nice[16], ioc[16], iol[16], as[32], cpu[32], fsize[32], nofile[16];
    const char *argv[40];
    int argc;
} task_argv;

static void task_argv_build(const media_runner *r, task_argv *a, const char *task, const char *in,
                            const char *out_dir, const char *cg_dir)
{
    snprintf(a->threads, sizeof a->threads, "%d", r->cfg.threads);
    snprintf(a->nice, sizeof a->nice, "%d", r->cfg.nice);
    snprintf(a->ioc, sizeof a->ioc, "%d", r->cfg.ioprio_class);
    snprintf(a->iol, sizeof a->iol, "%d", r->cfg.ioprio_level);
    snprintf(a->as, sizeof a->as, "%ld", r->cfg.as_budget_mb);
    snprintf(a->cpu, sizeof a->cpu, "%ld", r->cfg.cpu_seconds);
    snprintf(a->fsize, sizeof a->fsize, "%ld", r->cfg.fsize_mb);
    snprintf(a->nofile, sizeof a->nofile, "%d", r->cfg.nofile);
    const char *base[] = {"media-child", task, "--in", in, "--threads", a->threads, "--nice", a->nice,
                          "--ioprio-class", a->ioc, "--ioprio-level", a->iol, "--as-budget-mb", a->as,
                          "--cpu-seconds", a->cpu, "--fsize-mb", a->fsize, "--nofile", a->nofile};
    a->argc = 0;
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        a->argv[a->argc++] = base[i];
    if (out_dir) {
        a->argv[a->argc++] = "--out-dir";
        a->argv[a->argc++] = out_dir;
    }
    if (cg_dir) {
        a->argv[a->argc++] = "--cgroup";
        a->argv[a->argc++] = cg_dir;
    }
    a->argv[a->argc] = NULL;
}

static int spawn_child(const media_runner *r, const task_argv *ta, int out_fd, pid_t *pid, char *err,
                       size_t errlen)
{
    char parent[16];
    snprintf(parent, sizeof parent, "%d", (int)getpid());
    const char *exe = r->cfg.exe[0] ? r->cfg.exe : "/proc/self/exe";
    const char *argv[48] = {exe};
    int argc = 1;
    for (int i = 0; i < ta->argc; i++)
        argv[argc++] = ta->argv[i];
    argv[argc++] = "--parent";
    argv[argc++] = parent;
    argv[argc++] = "--netns";
    argv[argc++] = "new";
    argv[argc] = NULL;

    int rc = media_spawn(pid, exe, (char *const *)argv, r->envp, out_fd, -1, -1);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the media child %s: %s", exe, strerror(rc));
        return -1;
    }
    return 0;
}

typedef enum { PUMP_EOF = 0, PUMP_DEADLINE, PUMP_OVERFLOW } pump_end;

/* Relays output until EOF, the deadline or an oversized result line. */
static pump_end pump(int fd, child_io *io, double deadline)
{
    char chunk[4096];
    for (;;) {
        double left = deadline - mono_now();
        if (left <= 0)
            return PUMP_DEADLINE;
        struct pollfd pfd = {fd, POLLIN, 0};
        int n = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            continue;
        ssize_t got = read(fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return PUMP_EOF;
        io_feed(io, chunk, (size_t)got);
        if (io->overflow)
            return PUMP_OVERFLOW;
    }
}

/* Waits for the child to exit, killing it at the deadline; takes it out of its
 * slot before reaping, so media_runner_stop never signals a reused pid. */
static bool reap(media_runner *r, int idx, pid_t pid, double deadline, int *status, struct rusage *ru,
                 bool killed)
{
    bool timed_out = killed;
    for (;;) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        int w = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT | (timed_out ? 0 : WNOHANG));
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 || info.si_pid == pid)
            break;
        if (mono_now() >= deadline) {
            kill(pid, SIGKILL);
            timed_out = true;
        } else {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    pthread_mutex_lock(&r->lock);
    r->pids[idx] = -1;
    pthread_mutex_unlock(&r->lock);
    while (wait4(pid, status, 0, ru) < 0 && errno == EINTR)
        ;
    return timed_out;
}

/* How one child ended, whichever way it was started. */
typedef struct child_end {
    int status;
    struct rusage ru;
    bool timed_out;
    bool overflow;           /* killed for a result line over MEDIA_RESULT_MAX */
    bool lost;               /* the fork server died under it: no status */
} child_end;

static void io_start(child_io *io, media_progress_fn progress, void *ud)
{
    memset(io, 0, sizeof *io);
    base_buf_init(&io->result);
    io->progress = progress;
    io->ud = ud;
}

/* The old path: one exec'ed child per task, reaped here. */
static int run_exec(media_runner *r, int slot, const task_argv *ta, double deadline, child_io *io,
                    child_end *end, char *err, size_t errlen)
{
    int fds[2];
    pid_t pid = 0;
    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot create a pipe for the media child: %s", strerror(errno));
        return -1;
    }
    if (spawn_child(r, ta, fds[1], &pid, err, errlen) < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    close(fds[1]);
    slot_set_pid(r, slot, pid);
    pump_end pe = pump(fds[0], io, deadline);
    if (pe != PUMP_EOF)
        kill(pid, SIGKILL);
    end->overflow = pe == PUMP_OVERFLOW;
    end->timed_out = reap(r, slot, pid, deadline, &end->status, &end->ru, pe == PUMP_DEADLINE);
    close(fds[0]);
    return 0;
}

/* One try on the fork server: its task child writes to our pipe; the server
 * reaps it and reports status and rusage. */
static int run_forked_once(media_runner *r, const task_argv *ta, double deadline, child_io *io, child_end *end,
                           char *err, size_t errlen)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot create a pipe for the media child: %s", strerror(errno));
        return -1;
    }
    media_srv_task t;
    if (media_srv_submit(r->srv, &t, ta->argv, fds[1], err, errlen) < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    close(fds[1]);
    if (runner_stopping(r))
        media_srv_kill(r->srv, &t);
    pump_end pe = pump(fds[0], io, deadline);
    if (pe != PUMP_EOF)
        media_srv_kill(r->srv, &t);
    end->overflow = pe == PUMP_OVERFLOW;
    end->timed_out = media_srv_wait(r->srv, &t, deadline) || pe == PUMP_DEADLINE;
    close(fds[0]);
    end->lost = t.lost;
    end->status = t.status;
    end->ru = t.ru;
    if (t.done && t.err) {
        snprintf(err, errlen, "the media fork server could not start the task child: %s", strerror(t.err));
        return -1;
    }
    return 0;
}

/* A task whose server died under it before it could report runs once more on
 * a new server; a second loss fails it. */
static int run_forked(media_runner *r, const task_argv *ta, double deadline, child_io *io, child_end *end,
                      media_progress_fn progress, void *ud, char *err, size_t errlen)
{
    for (int attempt = 1;; attempt++) {
        if (run_forked_once(r, ta, deadline, io, end, err, errlen) < 0)
            return -1;
        if (!end->lost || io->in_result || attempt == 2 || runner_stopping(r) || mono_now() >= deadline)
            return 0;
        base_log(BASE_LOG_WARN, "media: the fork server died while a task ran; running the task once more on a "
                 "new server");
        base_buf_free(&io->result);
        io_start(io, progress, ud);
    }
}

static void describe_death(const media_runner *r, const media_outcome *o, const child_end *end, char *err,
                           size_t errlen)
{
    if (o->cancelled) {
        snprintf(err, errlen, "media task cancelled: the worker is stopping");
    } else if (end->overflow) {
        snprintf(err, errlen, "media child sent a result line over %d KiB; it was killed and its result "
                 "dropped", MEDIA_RESULT_MAX / 1024);
    } else if (end->lost) {
        snprintf(err, errlen, "the media fork server died twice while the task ran (killed, or out of memory?); "
                 "the task failed without a result");
    } else if (o->timed_out) {
        snprintf(err, errlen, "media child ran past the %.0f s wall-clock limit and was killed (SIGKILL); "
                 "the input is too long or hostile, or raise the media timeout", r->cfg.timeout);
    } else if (o->term_signal == SIGXCPU) {
        snprintf(err, errlen, "media child used up its CPU time limit (RLIMIT_CPU %ld s) and was stopped; the "
                 "input needs more work than allowed (a decompression bomb?)", r->cfg.cpu_seconds);
    } else if (o->term_signal == SIGXFSZ) {
        snprintf(err, errlen, "media child tried to write a file over its size limit (RLIMIT_FSIZE %ld MB) and "
                 "was stopped; the input would make too large an output", r->cfg.fsize_mb);
    } else if (o->term_signal == SIGKILL) {
        snprintf(err, errlen, "media child was killed (SIGKILL): its CPU time hard limit (RLIMIT_CPU %ld s + 2) "
                 "ran out, or the kernel's OOM killer stopped it", r->cfg.cpu_seconds);
    } else if (o->term_signal) {
        snprintf(err, errlen, "media child crashed with signal %d (%s)%s", o->term_signal,
                 sigdescr_np(o->term_signal), o->term_signal == SIGABRT || o->term_signal == SIGSEGV ?
                 "; the input may be hostile, or memory ran out under RLIMIT_AS" : "");
    } else {
        snprintf(err, errlen, "media child exited with status %d without a result%s", o->exit_code,
                 r->cfg.as_budget_mb > 0 ? " (out of memory under RLIMIT_AS?)" : "");
    }
}

int media_runner_run(media_runner *r, const char *task, const char *in, const char *out_dir,
                     media_progress_fn progress, void *ud, media_outcome *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    unsigned long seq = 0;
    int slot = slot_acquire(r, &seq);
    if (slot < 0) {
        out->cancelled = true;
        snprintf(err, errlen, "media task cancelled: the worker is stopping");
        return -1;
    }
    char cg_dir[1200] = "";
    if (r->cg != MEDIA_CG_NONE) {
        char name[64];
        snprintf(name, sizeof name, "task-%d-%lu", (int)getpid(), seq);
        if (media_cgroup_create(r->cg, r->cg_base, name, r->cfg.cpu_quota, cg_dir, sizeof cg_dir, err,
                                errlen) < 0) {
            slot_release(r, slot);
            return -1;
        }
    }
    double start = mono_now();
    double deadline = start + r->cfg.timeout;
    task_argv ta;
    task_argv_build(r, &ta, task, in, out_dir, cg_dir[0] ? cg_dir : NULL);
    child_io io;
    io_start(&io, progress, ud);
    child_end end;
    memset(&end, 0, sizeof end);
    int rc = r->srv ? run_forked(r, &ta, deadline, &io, &end, progress, ud, err, errlen) :
                      run_exec(r, slot, &ta, deadline, &io, &end, err, errlen);
    media_cgroup_remove(cg_dir);
    slot_release(r, slot);
    if (rc < 0) {
        base_buf_free(&io.result);
        return -1;
    }

    out->wall_seconds = mono_now() - start;
    out->cpu_user = (double)end.ru.ru_utime.tv_sec + end.ru.ru_utime.tv_usec / 1e6;
    out->cpu_sys = (double)end.ru.ru_stime.tv_sec + end.ru.ru_stime.tv_usec / 1e6;
    out->max_rss_kb = end.ru.ru_maxrss;
    pthread_mutex_lock(&r->lock);
    r->cpu_seconds += out->cpu_user + out->cpu_sys;
    pthread_mutex_unlock(&r->lock);
    out->timed_out = end.timed_out;
    out->exit_code = end.lost ? -1 : WIFEXITED(end.status) ? WEXITSTATUS(end.status) : -1;
    out->term_signal = end.lost ? SIGKILL : WIFSIGNALED(end.status) ? WTERMSIG(end.status) : 0;
    out->cancelled = !out->timed_out && out->term_signal == SIGKILL && runner_stopping(r);
    if (io.in_result && io.result.len > 0 && !end.overflow)
        out->result = json_loadb(io.result.data, io.result.len, 0, NULL);
    base_buf_free(&io.result);

    if (out->result && !out->timed_out && !out->term_signal && !out->cancelled) {
        if (json_is_true(json_object_get(out->result, "ok")))
            return 0;
        const char *stage = json_string_value(json_object_get(out->result, "stage"));
        const char *msg = json_string_value(json_object_get(out->result, "error"));
        snprintf(err, errlen, "media %s failed: %s", stage ? stage : "task", msg ? msg : "no reason given");
        if (stage && strcmp(stage, "sandbox") == 0)
            base_log(BASE_LOG_WARN, "media: a task child was stopped by its sandbox: %s (input %s)",
                     msg ? msg : "no reason given", in);
        return -1;
    }
    describe_death(r, out, &end, err, errlen);
    if (end.overflow)
        base_log(BASE_LOG_WARN, "media: %s (input %s)", err, in);
    return -1;
}
