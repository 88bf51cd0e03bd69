/* control_server.c -- the control server's one thread: poll() over the Unix
 * listener, the optional HTTP listener, a wake-up pipe and non-blocking
 * clients. Requests are answered from the engine's operator APIs (short locks
 * only), so no client can hold up a processor or the heartbeat; a client that
 * sends garbage, too long a line, or stays silent or unread too long gets a
 * JSON error and is dropped. */
#include "control_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct control_client {
    int fd;
    bool http;
    bool closing;             /* drop once out is written */
    char in[CONTROL_MAX_LINE + 1];
    size_t inlen;
    base_buf out;
    size_t outoff;
    double deadline;          /* monotonic; silent or unread past it: dropped */
} control_client;

/* Everything but `stop` is owned by the control thread once it runs;
 * control_start/control_stop touch the rest only before and after it. */
struct control_server {
    q_engine *engine;
    q_conn *redis;
    control_opts opts;        /* the schedules; its strings are not used after start */
    char path[256];
    gid_t group;
    int unix_fd, http_fd;
    int wake[2];
    atomic_bool stop;
    pthread_t thread;
    control_client clients[CONTROL_MAX_CLIENTS];
    int nclients;
};

static void control_queue(control_client *cl, const char *text, size_t len)
{
    base_buf_add(&cl->out, text, len);
}

static void control_queue_error(control_client *cl, const char *msg)
{
    json_t *j = json_pack("{s:b, s:s}", "ok", 0, "error", msg);
    char *text = json_dumps(j, JSON_COMPACT);
    control_queue(cl, text, strlen(text));
    control_queue(cl, "\n", 1);
    free(text);
    json_decref(j);
    cl->closing = true;
}

/* Writes what the socket takes now; -1 if the client is gone. */
static int control_flush(control_client *cl)
{
    while (cl->outoff < cl->out.len) {
        ssize_t w = send(cl->fd, cl->out.data + cl->outoff, cl->out.len - cl->outoff, MSG_NOSIGNAL);
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        cl->outoff += (size_t)w;
        cl->deadline = base_monotonic() + CONTROL_CLIENT_TIMEOUT;
    }
    cl->out.len = cl->outoff = 0;
    return 0;
}

/* Closes a client's socket. Unread input would turn the close into a reset
 * that destroys the error line still on its way, so what the client already
 * sent is read and discarded first (bounded: a client cannot keep us here). */
static void control_close(int fd)
{
    char scratch[4096];
    for (int i = 0; i < 16 && recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0; i++)
        continue;
    close(fd);
}

static void control_drop(control_server *s, int i)
{
    control_close(s->clients[i].fd);
    base_buf_free(&s->clients[i].out);
    s->clients[i] = s->clients[--s->nclients];
}

static void control_accept(control_server *s, int lfd, bool http)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        char err[256];
        const char *refusal = NULL;
        if (s->nclients >= CONTROL_MAX_CLIENTS) {
            snprintf(err, sizeof err, "too many control clients (%d at once); try again later",
                     CONTROL_MAX_CLIENTS);
            refusal = err;
        }
        else if (!http && control_peer_allowed(fd, s->group, err, sizeof err) != 0)
            refusal = err;
        if (refusal) {
            base_log(BASE_LOG_WARN, "control: refused a client: %s", refusal);
            control_client tmp = {.fd = fd};
            base_buf_init(&tmp.out);
            if (http) {
                const char *busy = "HTTP/1.0 503 Service Unavailable\r\nConnection: close\r\n\r\n";
                control_queue(&tmp, busy, strlen(busy));
            }
            else
                control_queue_error(&tmp, refusal);
            control_flush(&tmp);
            base_buf_free(&tmp.out);
            control_close(fd);
            continue;
        }
        control_client *cl = &s->clients[s->nclients++];
        memset(cl, 0, sizeof *cl);
        cl->fd = fd;
        cl->http = http;
        base_buf_init(&cl->out);
        cl->deadline = base_monotonic() + CONTROL_CLIENT_TIMEOUT;
    }
}

/* Answers every complete line in the client's buffer. */
static void control_lines(control_server *s, control_client *cl)
{
    size_t start = 0;
    for (char *nl; !cl->closing && (nl = memchr(cl->in + start, '\n', cl->inlen - start));) {
        *nl = '\0';
        bool malformed;
        char *reply = control_handle(s->engine, s->redis, &s->opts, cl->in + start,
                                     (size_t)(nl - (cl->in + start)), &malformed);
        control_queue(cl, reply, strlen(reply));
        cl->closing = malformed;
        free(reply);
        start = (size_t)(nl - cl->in) + 1;
        cl->deadline = base_monotonic() + CONTROL_CLIENT_TIMEOUT;
    }
    memmove(cl->in, cl->in + start, cl->inlen - start);
    cl->inlen -= start;
    if (!cl->closing && cl->inlen >= CONTROL_MAX_LINE)
        control_queue_error(cl, "request line longer than 4096 bytes; one JSON object per line");
}

static void control_http(control_server *s, control_client *cl)
{
    size_t len = 0;
    char *resp = cl->inlen >= CONTROL_MAX_LINE ? control_http_too_large(&len)
                                               : control_http_handle(s->engine, s->redis, cl->in, cl->inlen, &len);
    if (!resp)
        return;
    control_queue(cl, resp, len);
    free(resp);
    cl->closing = true;
}

/* Reads what the client sent; returns -1 when it is to be dropped now. */
static int control_read(control_server *s, control_client *cl)
{
    while (!cl->closing && cl->out.len - cl->outoff < CONTROL_MAX_PENDING) {
        ssize_t r = recv(cl->fd, cl->in + cl->inlen, CONTROL_MAX_LINE - cl->inlen, 0);
        if (r == 0) { /* the peer closed its side: send what is pending, then drop */
            cl->closing = true;
            return cl->out.len > cl->outoff ? 0 : -1;
        }
        if (r < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        cl->inlen += (size_t)r;
        cl->in[cl->inlen] = '\0';
        if (cl->http)
            control_http(s, cl);
        else
            control_lines(s, cl);
    }
    return 0;
}

static void *control_thread(void *arg)
{
    control_server *s = arg;
    struct pollfd pf[3 + CONTROL_MAX_CLIENTS];
    while (!atomic_load(&s->stop)) {
        double now = base_monotonic(), next = now + 1.0;
        int n = 0;
        pf[n++] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
        pf[n++] = (struct pollfd){.fd = s->unix_fd, .events = POLLIN};
        pf[n++] = (struct pollfd){.fd = s->http_fd, .events = POLLIN}; /* -1 is ignored by poll */
        for (int i = 0; i < s->nclients; i++) {
            control_client *cl = &s->clients[i];
            size_t pending = cl->out.len - cl->outoff;
            /* A client that sends faster than it reads gets no more replies queued. */
            bool take = !cl->closing && pending < CONTROL_MAX_PENDING;
            short ev = (short)((take ? POLLIN : 0) | (pending ? POLLOUT : 0));
            pf[n++] = (struct pollfd){.fd = cl->fd, .events = ev};
            if (cl->deadline < next)
                next = cl->deadline;
        }
        int ms = next > now ? (int)((next - now) * 1000.0) + 1 : 0;
        if (poll(pf, (nfds_t)n, ms) < 0 && errno != EINTR) {
            base_log(BASE_LOG_ERROR, "control: poll failed: %s; the control socket stops answering", strerror(errno));
            break;
        }
        /* Clients first (their pollfd indices match the array before accepting). */
        now = base_monotonic();
        for (int i = s->nclients - 1; i >= 0; i--) {
            control_client *cl = &s->clients[i];
            short re = pf[3 + i].revents;
            bool drop = false;
            if (re & (POLLIN | POLLHUP | POLLERR))
                drop = control_read(s, cl) != 0;
            if (!drop)
                drop = control_flush(cl) != 0 || (cl->closing && cl->out.len == 0);
            if (!drop && now > cl->deadline) {
                bool unread = cl->out.len > cl->outoff;
                base_log(BASE_LOG_WARN, "control: dropped a client that stayed %s for %.0f s",
                      unread ? "unread" : "silent", CONTROL_CLIENT_TIMEOUT);
                if (!unread && !cl->http) {
                    control_queue_error(cl, "timed out waiting for a complete request line (5 s)");
                    control_flush(cl);
                }
                drop = true;
            }
            if (drop)
                control_drop(s, i);
        }
        if (pf[1].revents & POLLIN)
            control_accept(s, s->unix_fd, false);
        if (s->http_fd >= 0 && (pf[2].revents & POLLIN))
            control_accept(s, s->http_fd, true);
        if (pf[0].revents & POLLIN) {
            char drain[16];
            while (read(s->wake[0], drain, sizeof drain) > 0)
                continue;
        }
    }
    return NULL;
}

static void control_free(control_server *s)
{
    for (int i = s->nclients - 1; i >= 0; i--)
        control_drop(s, i);
    if (s->unix_fd >= 0) {
        close(s->unix_fd);
        unlink(s->path);
    }
    if (s->http_fd >= 0)
        close(s->http_fd);
    if (s->wake[0] >= 0) {
        close(s->wake[0]);
        close(s->wake[1]);
    }
    q_conn_free(s->redis);
    free(s);
}

control_server *control_start(q_engine *e, const control_opts *o, char *err, size_t errlen)
{
    control_server *s = calloc(1, sizeof *s);
    s->engine = e;
    s->opts = *o;
    s->unix_fd = s->http_fd = s->wake[0] = s->wake[1] = -1;
    s->group = (gid_t)-1;
    if (o->path && *o->path)
        snprintf(s->path, sizeof s->path, "%s", o->path);
    else
        control_default_path(q_engine_config(e)->tag, s->path, sizeof s->path);
    if (o->group && *o->group) {
        struct group *gr = getgrnam(o->group);
        s->group = gr ? gr->gr_gid : (gid_t)-1;
    }
    s->redis = q_conn_new(&q_engine_config(e)->redis);
    q_conn_set_timeout(s->redis, 2000);
    if (pipe2(s->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(err, errlen, "control: cannot create a pipe: %s", strerror(errno));
        control_free(s);
        return NULL;
    }
    s->unix_fd = control_listen_unix(s->path, o->group, err, errlen);
    if (s->unix_fd < 0 || (o->metrics_listen && *o->metrics_listen &&
                           (s->http_fd = control_listen_tcp(o->metrics_listen, err, errlen)) < 0)) {
        control_free(s); /* removes the socket file only if this process created it */
        return NULL;
    }
    if (pthread_create(&s->thread, NULL, control_thread, s) != 0) {
        snprintf(err, errlen, "control: cannot start the control thread");
        control_free(s);
        return NULL;
    }
    base_log(BASE_LOG_INFO, "control socket %s%s%s", s->path, s->http_fd >= 0 ? ", metrics on http://" : "",
          s->http_fd >= 0 ? o->metrics_listen : "");
    return s;
}

void control_stop(control_server *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, true);
    ssize_t w = write(s->wake[1], "x", 1);
    (void)w; /* a full pipe wakes the thread just as well */
    pthread_join(s->thread, NULL);
    control_free(s);
}
