/* media_srvlink.c -- the worker's end of the media fork server: starts
 * `<exe> media-server` with the control socket on its fd 3 (again after it
 * died), sends each task's START with the task's output pipe, and runs one
 * reader thread per server that turns STARTED and DONE into the state of the
 * waiting task and, at EOF, marks the server's running tasks lost, kills and
 * reaps it. Task threads wait on the condition variable. */
#include "media_internal.h"
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Seconds a server may take to say READY (sanitizer builds start slowly), and
 * to report a task's end after KILL before it is itself killed. */
enum { SRV_READY_WAIT_S = 60, SRV_KILL_GRACE_S = 30 };

struct media_srv {
    char exe[1024];
    char **envp;                 /* the runner's scrubbed environment (strings owned by the runner)
                                  * and LD_BIND_NOW=1 */
    pthread_mutex_t lock;        /* guards everything below */
    pthread_cond_t changed;      /* a task started or ended, or the server died */
    int fd;                      /* the worker's end of the control socket; -1 when no server */
    pid_t pid;
    bool reader_running;         /* a reader thread exists and was not joined */
    bool closing;                /* media_srv_free ends the server: its end is no news */
    pthread_t reader;
    uint32_t next_id;
    unsigned starts;             /* servers started so far */
    media_srv_task *tasks;       /* running on the current server */
    bool netns, seccomp;         /* from the last READY */
    char why[MEDIA_ERRLEN];
};

size_t media_srv_msg_len(size_t text_len)
{
    return offsetof(media_srv_msg, text) + text_len;
}

/* The server resolves every symbol of every library once, at exec, so no task
 * child pays for lazy binding of the calls it makes. */
static char media_srv_bind_now[] = "LD_BIND_NOW=1";

media_srv *media_srv_new(const char *exe, char *const *envp)
{
    size_t n = 0;
    while (envp[n])
        n++;
    media_srv *s = calloc(1, sizeof *s);
    char **env = calloc(n + 2, sizeof *env);
    if (!s || !env) {
        free(s);
        free(env);
        return NULL;
    }
    memcpy(env, envp, n * sizeof *env);
    env[n] = media_srv_bind_now;
    snprintf(s->exe, sizeof s->exe, "%s", exe[0] ? exe : "/proc/self/exe");
    s->envp = env;
    s->fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->changed, &attr);
    pthread_condattr_destroy(&attr);
    return s;
}

static void srv_unlink(media_srv *s, media_srv_task *t)
{
    for (media_srv_task **p = &s->tasks; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            return;
        }
}

static media_srv_task *srv_find(media_srv *s, uint32_t id)
{
    for (media_srv_task *t = s->tasks; t; t = t->next)
        if (t->id == id)
            return t;
    return NULL;
}

typedef struct srv_reader_arg {
    media_srv *s;
    int fd;
    pid_t pid;
} srv_reader_arg;

static void *srv_reader_main(void *arg)
{
    srv_reader_arg a = *(srv_reader_arg *)arg;
    free(arg);
    media_srv *s = a.s;
    media_srv_msg *m = malloc(sizeof *m);
    while (m) {
        ssize_t n = recv(a.fd, m, sizeof *m, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < (ssize_t)offsetof(media_srv_msg, text))
            break;
        pthread_mutex_lock(&s->lock);
        media_srv_task *t = srv_find(s, m->id);
        if (t && m->type == MEDIA_SRV_STARTED) {
            t->started = true;
            t->pid = m->pid;
        } else if (t && m->type == MEDIA_SRV_DONE) {
            t->done = true;
            t->status = m->status;
            t->err = m->err;
            t->ru = m->ru;
            srv_unlink(s, t);
        }
        pthread_cond_broadcast(&s->changed);
        pthread_mutex_unlock(&s->lock);
    }
    free(m);
    pthread_mutex_lock(&s->lock);
    for (media_srv_task *t = s->tasks; t; t = t->next)
        t->lost = true;
    s->tasks = NULL;
    s->fd = -1;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    kill(a.pid, SIGKILL);
    int status = 0;
    while (waitpid(a.pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(a.fd);
    pthread_mutex_lock(&s->lock);
    bool closing = s->closing;
    pthread_mutex_unlock(&s->lock);
    if (!closing && WIFSIGNALED(status))
        base_log(BASE_LOG_WARN, "media: the fork server (pid %d) died of signal %d (%s); it starts again for the "
                 "next task", (int)a.pid, WTERMSIG(status), sigdescr_np(WTERMSIG(status)));
    else if (!closing)
        base_log(BASE_LOG_WARN, "media: the fork server (pid %d) exited with status %d; it starts again for the "
                 "next task", (int)a.pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return NULL;
}

/* Waits up to SRV_READY_WAIT_S for the server's READY. */
static int srv_read_ready(media_srv *s, int fd, char *err, size_t errlen)
{
    media_srv_msg *m = malloc(sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct pollfd p = {fd, POLLIN, 0};
    int rc = poll(&p, 1, SRV_READY_WAIT_S * 1000);
    ssize_t n = rc > 0 ? recv(fd, m, sizeof *m, 0) : -1;
    if (n < (ssize_t)offsetof(media_srv_msg, text) || m->type != MEDIA_SRV_READY) {
        snprintf(err, errlen, "the media fork server %s did not start (%s)", s->exe,
                 rc == 0 ? "no READY in 60 s" : n == 0 ? "it exited at once; see its message above" :
                 "no READY");
        free(m);
        return -1;
    }
    m->text[sizeof m->text - 1] = '\0';
    s->netns = m->netns;
    s->seccomp = m->seccomp;
    snprintf(s->why, sizeof s->why, "%.*s", (int)sizeof s->why - 1, m->text);
    free(m);
    return 0;
}

/* Starts a server; called with the lock held and no server running. */
static int srv_start(media_srv *s, char *err, size_t errlen)
{
    if (s->reader_running) {
        pthread_t old = s->reader;   /* joined by this thread only */
        s->reader_running = false;
        pthread_mutex_unlock(&s->lock); /* the old reader takes the lock to finish */
        pthread_join(old, NULL);
        pthread_mutex_lock(&s->lock);
        if (s->fd >= 0)
            return 0; /* another thread started one meanwhile */
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(err, errlen, "cannot create the fork server's socket: %s", strerror(errno));
        return -1;
    }
    if (sv[1] == MEDIA_SRV_FD) { /* dup2 onto itself would keep close-on-exec */
        int moved = fcntl(sv[1], F_DUPFD_CLOEXEC, MEDIA_SRV_FD + 1);
        close(sv[1]);
        sv[1] = moved;
    }
    char *argv[] = {s->exe, "media-server", NULL};
    pid_t pid = 0;
    int rc = sv[1] < 0 ? errno : media_spawn(&pid, s->exe, argv, s->envp, -1, sv[1], MEDIA_SRV_FD);
    if (sv[1] >= 0)
        close(sv[1]);
    if (rc != 0) {
        close(sv[0]);
        snprintf(err, errlen, "cannot start the media fork server %s: %s", s->exe, strerror(rc));
        return -1;
    }
    srv_reader_arg *a = malloc(sizeof *a);
    if (srv_read_ready(s, sv[0], err, errlen) < 0 || !a) {
        if (!a)
            snprintf(err, errlen, "out of memory");
        free(a);
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        close(sv[0]);
        return -1;
    }
    a->s = s;
    a->fd = sv[0];
    a->pid = pid;
    s->fd = sv[0];
    s->pid = pid;
    if (s->starts++ > 0)
        base_log(BASE_LOG_INFO, "media: fork server started again (pid %d)", (int)pid);
    if (pthread_create(&s->reader, NULL, srv_reader_main, a) != 0) {
        free(a);
        s->fd = -1;
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        close(sv[0]);
        snprintf(err, errlen, "cannot start the fork server's reader thread");
        return -1;
    }
    s->reader_running = true;
    return 0;
}

int media_srv_ensure(media_srv *s, char *err, size_t errlen)
{
    pthread_mutex_lock(&s->lock);
    int rc = s->fd >= 0 ? 0 : srv_start(s, err, errlen);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void media_srv_protections(media_srv *s, bool *netns, bool *seccomp, char *why, size_t whylen)
{
    pthread_mutex_lock(&s->lock);
    *netns = s->netns;
    *seccomp = s->seccomp;
    snprintf(why, whylen, "%s", s->why);
    pthread_mutex_unlock(&s->lock);
}

unsigned media_srv_starts(media_srv *s)
{
    pthread_mutex_lock(&s->lock);
    unsigned n = s->starts;
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* Sends m (with out_fd attached when >= 0); called with the lock held. */
static int srv_send(media_srv *s, media_srv_msg *m, size_t text_len, int out_fd)
{
    struct iovec iov = {m, media_srv_msg_len(text_len)};
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (out_fd >= 0) {
        memset(cbuf, 0, sizeof cbuf);
        mh.msg_control = cbuf;
        mh.msg_controllen = sizeof cbuf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &out_fd, sizeof out_fd);
    }
    ssize_t n;
    while ((n = sendmsg(s->fd, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    return n < 0 ? -1 : 0;
}

int media_srv_submit(media_srv *s, media_srv_task *t, const char *const *argv, int out_fd, char *err,
                     size_t errlen)
{
    media_srv_msg *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t len = 0;
    for (int i = 0; argv[i]; i++) {
        size_t n = strlen(argv[i]) + 1;
        if (len + n > sizeof m->text) {
            free(m);
            snprintf(err, errlen, "the media task's arguments are longer than %zu bytes", sizeof m->text);
            return -1;
        }
        memcpy(m->text + len, argv[i], n);
        len += n;
    }
    memset(t, 0, sizeof *t);
    m->type = MEDIA_SRV_START;
    pthread_mutex_lock(&s->lock);
    int rc = s->fd >= 0 ? 0 : srv_start(s, err, errlen);
    if (rc == 0) {
        t->id = m->id = ++s->next_id;
        t->next = s->tasks;
        s->tasks = t;
        if (srv_send(s, m, len, out_fd) < 0)
            t->lost = true; /* the server is dying; its reader will clear the list */
    }
    pthread_mutex_unlock(&s->lock);
    free(m);
    return rc;
}

/* Called with the lock held. */
static void srv_kill_locked(media_srv *s, const media_srv_task *t)
{
    if (t->done || t->lost || s->fd < 0)
        return;
    media_srv_msg m;
    memset(&m, 0, offsetof(media_srv_msg, text));
    m.type = MEDIA_SRV_KILL;
    m.id = t->id;
    srv_send(s, &m, 0, -1);
}

void media_srv_kill(media_srv *s, const media_srv_task *t)
{
    pthread_mutex_lock(&s->lock);
    srv_kill_locked(s, t);
    pthread_mutex_unlock(&s->lock);
}

void media_srv_kill_all(media_srv *s)
{
    pthread_mutex_lock(&s->lock);
    for (media_srv_task *t = s->tasks; t; t = t->next)
        srv_kill_locked(s, t);
    pthread_mutex_unlock(&s->lock);
}

static struct timespec srv_abs(double mono)
{
    struct timespec ts = {(time_t)mono, (long)((mono - (double)(time_t)mono) * 1e9)};
    return ts;
}

static double srv_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

bool media_srv_wait(media_srv *s, media_srv_task *t, double deadline)
{
    bool timed_out = false;
    pthread_mutex_lock(&s->lock);
    while (!t->done && !t->lost) {
        struct timespec ts = srv_abs(deadline);
        if (pthread_cond_timedwait(&s->changed, &s->lock, &ts) != ETIMEDOUT || t->done || t->lost)
            continue;
        if (!timed_out) {
            srv_kill_locked(s, t);
            timed_out = true;
            deadline = srv_now() + SRV_KILL_GRACE_S;
        } else if (s->fd >= 0) {
            base_log(BASE_LOG_WARN, "media: the fork server (pid %d) did not report a killed task's end in %d s; "
                     "killing it", (int)s->pid, SRV_KILL_GRACE_S);
            kill(s->pid, SIGKILL);
            deadline = srv_now() + SRV_KILL_GRACE_S;
        }
    }
    srv_unlink(s, t);
    pthread_mutex_unlock(&s->lock);
    return timed_out;
}

int media_spawn(pid_t *pid, const char *exe, char *const argv[], char *const envp[], int out_fd, int fd,
                int fd_as)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (out_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    else
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, fd, fd_as);
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawn(pid, exe, &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}

void media_srv_free(media_srv *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->closing = true;
    if (s->fd >= 0)
        shutdown(s->fd, SHUT_RDWR); /* the server sees EOF and ends; so does its reader */
    bool join = s->reader_running;
    pthread_mutex_unlock(&s->lock);
    if (join)
        pthread_join(s->reader, NULL);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->lock);
    free(s->envp);
    free(s);
}
