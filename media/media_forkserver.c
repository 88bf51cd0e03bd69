/* media_forkserver.c -- `scotty-media media-server`: the one process per worker
 * that is exec'd once with libav and libvips loaded and libvips started (it
 * starts no thread), and forks a fresh task child for each task the worker
 * sends over the control socket. The server never opens any input and starts
 * no threads, so fork is safe and cheap; the task child applies its limits and sandbox (media_child_run) before
 * it opens the input. At start the server moves itself into an empty network
 * namespace (inherited by every task child) when the machine permits it, checks
 * that the seccomp allowlist can be installed, and reports both in READY. It
 * reaps its children and hands their wait status and rusage to the worker. */
#include "media.h"
#include "media_internal.h"
#include "media_vips.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum { SRV_MAX_TASKS = 256, SRV_MAX_ARGS = 60 };

typedef struct srv_task {
    uint32_t id;
    pid_t pid;
} srv_task;

typedef struct srv {
    int ctl, sfd;                  /* control socket, SIGCHLD signalfd */
    pid_t self;
    bool netns;                    /* every task child starts in our empty network namespace */
    media_child_hook hook;
    srv_task tasks[SRV_MAX_TASKS]; /* running task children */
    int ntasks;
} srv;

static void srv_send(const srv *s, media_srv_msg *m, size_t text_len)
{
    /* A worker that is gone shows as EOF on the next receive. */
    while (send(s->ctl, m, media_srv_msg_len(text_len), MSG_NOSIGNAL) < 0 && errno == EINTR)
        ;
}

static void srv_done(const srv *s, uint32_t id, int status, const struct rusage *ru, int err)
{
    media_srv_msg m;
    memset(&m, 0, offsetof(media_srv_msg, text));
    m.type = MEDIA_SRV_DONE;
    m.id = id;
    m.status = status;
    m.err = err;
    if (ru)
        m.ru = *ru;
    srv_send(s, &m, 0);
}

/* Forks a throw-away child that installs the filter, so READY can tell whether
 * every task child will get it. */
static bool srv_seccomp_works(char *why, size_t whylen)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(why, whylen, "pipe2 failed: %s", strerror(errno));
        return false;
    }
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_NAME, "sandbox-check"); /* so the tests can tell it from a task child */
        char err[MEDIA_ERRLEN] = "";
        int rc = media_sandbox_seccomp(err, sizeof err);
        if (rc < 0 && write(p[1], err, strlen(err)) < 0)
            _exit(2);
        _exit(rc < 0 ? 1 : 0);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        snprintf(why, whylen, "fork failed: %s", strerror(errno));
        return false;
    }
    char err[MEDIA_ERRLEN] = "";
    ssize_t n = read(p[0], err, sizeof err - 1);
    err[n > 0 ? n : 0] = '\0';
    close(p[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    snprintf(why, whylen, "%s", err[0] ? err : "the test child died installing it");
    return false;
}

/* Threads of this process (1 unless a library started some). */
static int srv_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* The task child: stdout on the task's pipe, then media-child with the argv
 * the worker sent, our pid as the parent to die with, and our namespace. */
static void srv_child(const srv *s, char *text, size_t len, int out_fd)
{
    sigset_t none;
    sigemptyset(&none);
    signal(SIGCHLD, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    close(s->sfd);
    close(s->ctl);
    if (out_fd != STDOUT_FILENO) {
        dup2(out_fd, STDOUT_FILENO);
        close(out_fd);
    }
    int null = open("/dev/null", O_RDONLY);
    if (null > 0) {
        dup2(null, STDIN_FILENO);
        close(null);
    }
    char *argv[SRV_MAX_ARGS + 6];
    int argc = 0;
    for (size_t off = 0; off < len && argc < SRV_MAX_ARGS; off += strlen(text + off) + 1)
        argv[argc++] = text + off;
    char parent[16];
    snprintf(parent, sizeof parent, "%d", (int)s->self);
    argv[argc++] = "--parent";
    argv[argc++] = parent;
    argv[argc++] = "--netns";
    argv[argc++] = s->netns ? "have" : "none";
    argv[argc] = NULL;
    int rc = media_child_run(argc, argv, s->hook);
    fflush(stdout);
    _exit(rc); /* the libraries' destructors are the server's business */
}

static void srv_start(srv *s, media_srv_msg *m, size_t len, int out_fd)
{
    if (out_fd < 0 || len == 0 || m->text[len - 1] != '\0' || s->ntasks >= SRV_MAX_TASKS) {
        srv_done(s, m->id, 0, NULL, out_fd < 0 ? EBADF : EINVAL);
        if (out_fd >= 0)
            close(out_fd);
        return;
    }
    pid_t pid = fork();
    if (pid == 0)
        srv_child(s, m->text, len, out_fd);
    int fork_errno = errno;
    close(out_fd);
    if (pid < 0) {
        srv_done(s, m->id, 0, NULL, fork_errno);
        return;
    }
    s->tasks[s->ntasks].id = m->id;
    s->tasks[s->ntasks].pid = pid;
    s->ntasks++;
    media_srv_msg r;
    memset(&r, 0, offsetof(media_srv_msg, text));
    r.type = MEDIA_SRV_STARTED;
    r.id = m->id;
    r.pid = pid;
    srv_send(s, &r, 0);
}

/* Reaps every child that ended and reports it; only here are pids released,
 * so a KILL can never hit a reused pid. */
static void srv_reap(srv *s)
{
    for (;;) {
        int status = 0;
        struct rusage ru;
        memset(&ru, 0, sizeof ru);
        pid_t pid = wait4(-1, &status, WNOHANG, &ru);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid <= 0)
            return;
        for (int i = 0; i < s->ntasks; i++) {
            if (s->tasks[i].pid != pid)
                continue;
            srv_done(s, s->tasks[i].id, status, &ru, 0);
            s->tasks[i] = s->tasks[--s->ntasks];
            break;
        }
    }
}

static void srv_kill(const srv *s, uint32_t id)
{
    for (int i = 0; i < s->ntasks; i++)
        if (s->tasks[i].id == id)
            kill(s->tasks[i].pid, SIGKILL);
}

/* One message from the worker: 1 handled, 0 the worker is gone. */
static int srv_receive(srv *s, media_srv_msg *m)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {m, sizeof *m};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    ssize_t n = recvmsg(s->ctl, &mh, MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 1;
    if (n <= 0)
        return 0;
    int fd = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            memcpy(&fd, CMSG_DATA(c), sizeof fd);
    if ((size_t)n < offsetof(media_srv_msg, text)) {
        if (fd >= 0)
            close(fd);
        return 1;
    }
    if (m->type == MEDIA_SRV_START) {
        srv_start(s, m, (size_t)n - offsetof(media_srv_msg, text), fd);
        return 1;
    }
    if (fd >= 0)
        close(fd);
    if (m->type == MEDIA_SRV_KILL)
        srv_kill(s, m->id);
    return 1;
}

static void srv_ready(srv *s)
{
    media_srv_msg m;
    memset(&m, 0, sizeof m);
    m.type = MEDIA_SRV_READY;
    m.pid = s->self;
    char why[MEDIA_ERRLEN] = "", seccomp_why[MEDIA_ERRLEN] = "";
    s->netns = media_sandbox_netns(why, sizeof why) == 0;
    m.netns = s->netns;
    m.seccomp = srv_seccomp_works(seccomp_why, sizeof seccomp_why);
    snprintf(m.text, sizeof m.text, "%s%s%s%s%s", s->netns ? "" : "no network namespace: ", why,
             !s->netns && !m.seccomp ? "; " : "", m.seccomp ? "" : "no seccomp allowlist: ", seccomp_why);
    srv_send(s, &m, strlen(m.text) + 1);
}

int media_server_main(int argc, char **argv, media_child_hook hook)
{
    (void)argc;
    if (fcntl(MEDIA_SRV_FD, F_GETFD) < 0) {
        fprintf(stderr, "usage: %s (started by scotty's media runner with its control socket on fd %d)\n",
                argv[0], MEDIA_SRV_FD);
        return 2;
    }
    /* Not dumpable (inherited by every task child): a compromised sibling cannot read
     * or write this process through /proc/<pid>/mem, environ or ptrace. */
    prctl(PR_SET_DUMPABLE, 0);
    srv s;
    memset(&s, 0, sizeof s);
    s.ctl = MEDIA_SRV_FD;
    s.self = getpid();
    s.hook = hook;
    fcntl(s.ctl, F_SETFD, FD_CLOEXEC);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    s.sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (s.sfd < 0) {
        fprintf(stderr, "scotty-media media-server: signalfd failed: %s\n", strerror(errno));
        return 1;
    }
    media_sandbox_names();
    char err[MEDIA_ERRLEN] = "";
    if (media_vips_start(err, sizeof err) < 0) {
        fprintf(stderr, "scotty-media media-server: %s\n", err);
        return 1;
    }
    int threads = srv_threads();
    if (threads != 1) {
        fprintf(stderr, "scotty-media media-server: %d threads after starting the libraries; a fork would copy "
                "only one of them, so the server stops\n", threads);
        return 1;
    }
    srv_ready(&s);
    media_srv_msg *m = malloc(sizeof *m);
    if (!m)
        return 1;
    for (;;) {
        struct pollfd p[2] = {{s.ctl, POLLIN, 0}, {s.sfd, POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents) {
            struct signalfd_siginfo si;
            while (read(s.sfd, &si, sizeof si) == (ssize_t)sizeof si)
                ;
            srv_reap(&s);
        }
        if (p[0].revents && srv_receive(&s, m) == 0)
            break;
    }
    /* The worker is gone (or closed us): no task child may outlive it. */
    for (int i = 0; i < s.ntasks; i++)
        kill(s.tasks[i].pid, SIGKILL);
    while (wait(NULL) > 0 || errno == EINTR)
        ;
    free(m);
    close(s.sfd);
    return 0;
}
