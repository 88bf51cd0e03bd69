/* media_runner.c -- the worker side of a media task. Waits for one of the
 * worker-wide slots, puts the task in its own CPU-quota cgroup when available,
 * posix_spawn()s `<exe> media-child ...` (no fork without exec in the threaded
 * worker), relays its progress, kills it with SIGKILL at the wall-clock
 * deadline, reaps it, and turns its result line or its death into an outcome. */
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

struct media_runner {
    media_runner_cfg cfg;        /* read-only after media_runner_new */
    media_cg_mode cg;
    char cg_base[600];
    pthread_mutex_t lock;        /* guards running, waiting, seq, stopping and pids */
    pthread_cond_t slot_freed;
    int running, waiting;
    unsigned long seq;
    bool stopping;               /* media_runner_stop was called */
    pid_t *pids;                 /* per slot: the child running in it, 0 when none */
};

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
    if (!r->pids) {
        free(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
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
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->slot_freed);
    free(r->pids);
    free(r);
}

const char *media_runner_cgroup_mode(const media_runner *r)
{
    return r->cg == MEDIA_CG_V2 ? "v2" : r->cg == MEDIA_CG_V1 ? "v1" : "none";
}

void media_runner_load(media_runner *r, int *running, int *waiting)
{
    pthread_mutex_lock(&r->lock);
    *running = r->running;
    *waiting = r->waiting;
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
            if (c != '\n')
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

static int spawn_child(const media_runner *r, const char *task, const char *in, const char *out_dir,
                       const char *cg_dir, int out_fd, pid_t *pid, char *err, size_t errlen)
{
    char threads[16], nice[16], ioc[16], iol[16], as[32], cpu[32], parent[16];
    snprintf(parent, sizeof parent, "%d", (int)getpid());
    snprintf(threads, sizeof threads, "%d", r->cfg.threads);
    snprintf(nice, sizeof nice, "%d", r->cfg.nice);
    snprintf(ioc, sizeof ioc, "%d", r->cfg.ioprio_class);
    snprintf(iol, sizeof iol, "%d", r->cfg.ioprio_level);
    snprintf(as, sizeof as, "%ld", r->cfg.as_budget_mb);
    snprintf(cpu, sizeof cpu, "%ld", r->cfg.cpu_seconds);
    const char *exe = r->cfg.exe[0] ? r->cfg.exe : "/proc/self/exe";
    const char *argv[32] = {exe, "media-child", task, "--in", in, "--threads", threads, "--nice", nice,
                            "--ioprio-class", ioc, "--ioprio-level", iol, "--as-budget-mb", as,
                            "--cpu-seconds", cpu, "--parent", parent};
    int argc = 19;
    if (out_dir) {
        argv[argc++] = "--out-dir";
        argv[argc++] = out_dir;
    }
    if (cg_dir) {
        argv[argc++] = "--cgroup";
        argv[argc++] = cg_dir;
    }
    argv[argc] = NULL;

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawn(pid, exe, &fa, &attr, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the media child %s: %s", exe, strerror(rc));
        return -1;
    }
    return 0;
}

/* Relays output until EOF or the deadline; returns true when the deadline hit. */
static bool pump(int fd, child_io *io, double deadline)
{
    char chunk[4096];
    for (;;) {
        double left = deadline - mono_now();
        if (left <= 0)
            return true;
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
            return false;
        io_feed(io, chunk, (size_t)got);
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

static void describe_death(const media_runner *r, const media_outcome *o, char *err, size_t errlen)
{
    if (o->cancelled) {
        snprintf(err, errlen, "media task cancelled: the worker is stopping");
    } else if (o->timed_out) {
        snprintf(err, errlen, "media child ran past the %.0f s wall-clock limit and was killed (SIGKILL); "
                 "the input is too long or hostile, or raise the media timeout", r->cfg.timeout);
    } else if (o->term_signal == SIGXCPU) {
        snprintf(err, errlen, "media child used up its CPU time limit (RLIMIT_CPU %ld s) and was stopped; the "
                 "input needs more work than allowed (a decompression bomb?)", r->cfg.cpu_seconds);
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
    int fds[2];
    pid_t pid = 0;
    double start = mono_now();
    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot create a pipe for the media child: %s", strerror(errno));
        media_cgroup_remove(cg_dir);
        slot_release(r, slot);
        return -1;
    }
    if (spawn_child(r, task, in, out_dir, cg_dir[0] ? cg_dir : NULL, fds[1], &pid, err, errlen) < 0) {
        close(fds[0]);
        close(fds[1]);
        media_cgroup_remove(cg_dir);
        slot_release(r, slot);
        return -1;
    }
    close(fds[1]);
    slot_set_pid(r, slot, pid);
    child_io io;
    memset(&io, 0, sizeof io);
    base_buf_init(&io.result);
    io.progress = progress;
    io.ud = ud;
    double deadline = start + r->cfg.timeout;
    bool killed = pump(fds[0], &io, deadline);
    if (killed)
        kill(pid, SIGKILL);
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    out->timed_out = reap(r, slot, pid, deadline, &status, &ru, killed);
    close(fds[0]);
    media_cgroup_remove(cg_dir);
    slot_release(r, slot);

    out->wall_seconds = mono_now() - start;
    out->cpu_user = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
    out->cpu_sys = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    out->max_rss_kb = ru.ru_maxrss;
    out->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    out->term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    out->cancelled = !out->timed_out && out->term_signal == SIGKILL && runner_stopping(r);
    if (io.in_result && io.result.len > 0)
        out->result = json_loadb(io.result.data, io.result.len, 0, NULL);
    base_buf_free(&io.result);

    if (out->result && !out->timed_out && !out->term_signal && !out->cancelled) {
        if (json_is_true(json_object_get(out->result, "ok")))
            return 0;
        const char *stage = json_string_value(json_object_get(out->result, "stage"));
        const char *msg = json_string_value(json_object_get(out->result, "error"));
        snprintf(err, errlen, "media %s failed: %s", stage ? stage : "task", msg ? msg : "no reason given");
        return -1;
    }
    describe_death(r, out, err, errlen);
    return -1;
}
