/* q_conn.c -- one Redis connection: TCP, Unix socket or TLS (rediss://).
 *
 * Debian's hiredis 0.14 has no TLS, so we do the socket and OpenSSL I/O here and
 * use hiredis only for what it is good at: formatting commands and parsing RESP
 * replies (redisFormatCommand*, redisReader). One code path serves plain and TLS
 * connections, pipelines and blocking commands with their own read timeout.
 * A connection belongs to one thread at a time. */
#include "q_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define Q_CONNECT_TIMEOUT_MS 5000
#define Q_DEFAULT_TIMEOUT_MS 5000
#define Q_CONN_SCRIPTS 16       /* scripts one connection remembers; more are sent whole */

/* A Lua script this connection has used: a copy of its text, so a caller's buffer
 * reused for another script can never run this one's SHA. */
typedef struct q_conn_script {
    char *text;
    size_t len;
    char sha[SHA_DIGEST_LENGTH * 2 + 1];
    bool sent;                 /* its text went to this server since the connect */
    bool eval_only;            /* SCRIPT LOAD was refused (an ACL): always send the text */
} q_conn_script;

struct q_conn {
    q_redis_opts o;
    int fd;
    SSL_CTX *ssl_ctx;
    SSL *ssl;
    redisReader *reader;
    base_buf out;        /* commands formatted but not yet sent */
    int timeout_ms;   /* read timeout for replies */
    char err[Q_ERRLEN];
    bool quiet;       /* a sentinel: its failures are not Redis being down */
    bool refused;     /* the last connect reached a server that refused these settings */
    int sentinel;     /* with sentinels: the one that answered last */
    q_conn_script scripts[Q_CONN_SCRIPTS];
    int nscripts;
    unsigned long appended, answered; /* commands queued and replies read since the connect */
    struct {                  /* SCRIPT LOADs in flight: their replies are read and dropped */
        unsigned long at;     /* the command's number (appended before it) */
        int script;
    } loads[Q_CONN_SCRIPTS];
    int nloads, loads_head;   /* how many, and the first of them */
    bool noscript;            /* the last reply was NOSCRIPT: nothing ran, sending again is safe */
    unsigned long outages;    /* q_redis_health_outages() when this connection was made */
};

q_conn *q_conn_new(const q_redis_opts *o)
{
    q_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->o = *o;
    c->fd = -1;
    c->timeout_ms = Q_DEFAULT_TIMEOUT_MS;
    base_buf_init(&c->out);
    return c;
}

static void q_conn_close(q_conn *c)
{
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->ssl_ctx) {
        SSL_CTX_free(c->ssl_ctx);
        c->ssl_ctx = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (c->reader) {
        redisReaderFree(c->reader);
        c->reader = NULL;
    }
    c->out.len = 0;
    c->nloads = c->loads_head = 0;
    c->appended = c->answered = 0;
    for (int i = 0; i < c->nscripts; i++) /* the next server may not have them (a failover) */
        c->scripts[i].sent = false;
}

void q_conn_free(q_conn *c)
{
    if (!c)
        return;
    q_conn_close(c);
    base_buf_free(&c->out);
    for (int i = 0; i < c->nscripts; i++)
        free(c->scripts[i].text);
    free(c);
}

const char *q_conn_error(const q_conn *c) { return c->err; }
void q_conn_set_quiet(q_conn *c) { c->quiet = true; }
bool q_conn_refused(const q_conn *c) { return c->refused; }

static void q_conn_apply_timeout(q_conn *c)
{
    if (c->fd < 0)
        return;
    struct timeval tv = {c->timeout_ms / 1000, (c->timeout_ms % 1000) * 1000};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

void q_conn_set_timeout(q_conn *c, int ms)
{
    c->timeout_ms = ms;
    q_conn_apply_timeout(c);
}

/* Marks the connection broken after an I/O failure. */
static void q_conn_fail(q_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void q_conn_fail(q_conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    q_conn_close(c);
    /* A socket from before the last outage ended has only now noticed the old server
     * is gone: the next connect says whether Redis is down. */
    if (!c->quiet && c->outages == q_redis_health_outages())
        q_redis_health_down(c->err);
}

static int q_connect_fd(q_conn *c)
{
    if (c->o.unix_path[0]) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s", c->o.unix_path) >= sizeof sa.sun_path) {
            if (fd >= 0)
                close(fd);
            snprintf(c->err, sizeof c->err, "Redis socket path %.60s... is longer than %zu bytes",
                     c->o.unix_path, sizeof sa.sun_path - 1);
            return -1;
        }
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            snprintf(c->err, sizeof c->err, "cannot connect to Redis at %s: %s", c->o.unix_path,
                     strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        return fd;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", c->o.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(c->o.host, port, &hints, &res);
    if (rc != 0) {
        snprintf(c->err, sizeof c->err, "cannot resolve Redis host %s: %s", c->o.host,
                 gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    int last = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (poll(&p, 1, Q_CONNECT_TIMEOUT_MS) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
                break;
            last = soerr ? soerr : ETIMEDOUT;
        } else {
            last = errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(c->err, sizeof c->err, "cannot connect to Redis at %s:%d: %s", c->o.host,
                 c->o.port, strerror(last));
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    return fd;
}

static int q_conn_tls(q_conn *c)
{
    const char *name = c->o.tls_server_name[0] ? c->o.tls_server_name : c->o.host;
    c->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ssl_ctx)
        goto ssl_error;
    SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_2_VERSION);
    if (c->o.tls_verify) {
        SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER, NULL);
        int ok = c->o.tls_ca_file[0]
                     ? SSL_CTX_load_verify_locations(c->ssl_ctx, c->o.tls_ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(c->ssl_ctx);
        if (ok != 1) {
            snprintf(c->err, sizeof c->err, "cannot load TLS CA certificates %.400s",
                     c->o.tls_ca_file[0] ? c->o.tls_ca_file : "(system default)");
            return -1;
        }
    }
    c->ssl = SSL_new(c->ssl_ctx);
    if (!c->ssl)
        goto ssl_error;
    SSL_set_fd(c->ssl, c->fd);
    unsigned char addr[16];
    bool is_ip = inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
    if (!is_ip)
        SSL_set_tlsext_host_name(c->ssl, name);
    if (c->o.tls_verify) {
        X509_VERIFY_PARAM *param = SSL_get0_param(c->ssl);
        if (is_ip)
            X509_VERIFY_PARAM_set1_ip_asc(param, name);
        else
            X509_VERIFY_PARAM_set1_host(param, name, 0);
    }
    struct timeval tv = {Q_CONNECT_TIMEOUT_MS / 1000, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (SSL_connect(c->ssl) != 1) {
        long vr = SSL_get_verify_result(c->ssl);
        c->refused = vr != X509_V_OK;
        if (vr != X509_V_OK)
            snprintf(c->err, sizeof c->err,
                     "TLS handshake with Redis at %s:%d failed: certificate not trusted (%s); "
                     "set the CA with --redis-ca or REDIS_TLS_CA_FILE",
                     c->o.host, c->o.port, X509_verify_cert_error_string(vr));
        else
            goto ssl_error;
        return -1;
    }
    return 0;
ssl_error: {
    unsigned long e = ERR_get_error();
    snprintf(c->err, sizeof c->err, "TLS to Redis at %s:%d failed: %s", c->o.host, c->o.port,
             e ? ERR_error_string(e, NULL) : "handshake error");
    ERR_clear_error();
    return -1;
}
}

static int q_conn_handshake(q_conn *c)
{
    redisReply *r;
    if (c->o.password[0]) {
        r = c->o.username[0] ? q_conn_cmd(c, "AUTH %s %s", c->o.username, c->o.password)
                             : q_conn_cmd(c, "AUTH %s", c->o.password);
        if (!r)
            return -1;
        if (r->type == REDIS_REPLY_ERROR) {
            c->refused = true;
            snprintf(c->err, sizeof c->err, "Redis refused the password: %s", r->str);
            q_reply_free(r);
            return -1;
        }
        q_reply_free(r);
    }
    if (c->o.db) {
        r = q_conn_cmd(c, "SELECT %d", c->o.db);
        if (!r)
            return -1;
        if (r->type == REDIS_REPLY_ERROR) {
            c->refused = true;
            snprintf(c->err, sizeof c->err, "Redis refused database %d: %s", c->o.db, r->str);
            q_reply_free(r);
            return -1;
        }
        q_reply_free(r);
    }
    return 0;
}

/* With sentinels: whether the server reached is the master (INFO, which managed Redis
 * allows, rather than ROLE, which it may not). 0, or -1 with c->err. */
static int q_conn_check_master(q_conn *c)
{
    redisReply *r = q_conn_cmd(c, "INFO replication");
    if (!r)
        return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_STRING && strstr(r->str, "role:slave")) {
        snprintf(c->err, sizeof c->err, "Redis at %s:%d, named master of %s by a sentinel, is a "
                 "replica (a failover is under way)", c->o.host, c->o.port, c->o.sentinel_master);
        rc = -1;
    }
    q_reply_free(r);
    return rc;
}

int q_conn_ensure(q_conn *c)
{
    if (c->fd >= 0)
        return 0;
    c->refused = false;
    if (c->o.nsentinels > 0 && q_sentinel_master(&c->o, &c->sentinel, c->err, sizeof c->err) != 0)
        goto fail;
    c->fd = q_connect_fd(c);
    if (c->fd < 0)
        goto fail;
    if (c->o.tls && q_conn_tls(c) != 0)
        goto fail;
    c->reader = redisReaderCreate();
    q_conn_apply_timeout(c);
    if (q_conn_handshake(c) != 0)
        goto fail;
    if (c->o.nsentinels > 0 && q_conn_check_master(c) != 0)
        goto fail;
    if (!c->quiet)
        q_redis_health_up();
    c->outages = q_redis_health_outages();
    return 0;
fail:
    {
        char keep[Q_ERRLEN];
        snprintf(keep, sizeof keep, "%s", c->err);
        q_conn_close(c);
        snprintf(c->err, sizeof c->err, "%s", keep);
    }
    if (!c->quiet)
        q_redis_health_down(c->err);
    return -1;
}

int q_conn_append(q_conn *c, int argc, const char **argv, const size_t *lens)
{
    char *cmd = NULL;
    int n = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (n < 0)
        return -1;
    base_buf_add(&c->out, cmd, (size_t)n);
    free(cmd);
    c->appended++;
    return 0;
}

static int q_conn_vappendf(q_conn *c, const char *fmt, va_list ap)
{
    char *cmd = NULL;
    int n = redisvFormatCommand(&cmd, fmt, ap);
    if (n < 0)
        return -1;
    base_buf_add(&c->out, cmd, (size_t)n);
    free(cmd);
    c->appended++;
    return 0;
}

int q_conn_appendf(q_conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = q_conn_vappendf(c, fmt, ap);
    va_end(ap);
    return rc;
}

static int q_conn_flush(q_conn *c)
{
    size_t off = 0;
    while (off < c->out.len) {
        ssize_t n = c->ssl ? SSL_write(c->ssl, c->out.data + off, (int)(c->out.len - off))
                           : send(c->fd, c->out.data + off, c->out.len - off, MSG_NOSIGNAL);
        if (n <= 0) {
            if (n < 0 && errno == EINTR && !c->ssl)
                continue;
            q_conn_fail(c, "lost the Redis connection while writing: %s",
                        n == 0 ? "closed" : strerror(errno));
            return -1;
        }
        off += (size_t)n;
    }
    c->out.len = 0;
    return 0;
}

/* A READONLY error, as a command or a script's write gets on a replica. */
static bool q_conn_readonly(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR &&
           (strncmp(r->str, "READONLY", 8) == 0 || strstr(r->str, "-READONLY") != NULL);
}

/* Sends what is queued and reads the next reply, whatever it answers. */
static redisReply *q_conn_read_one(q_conn *c)
{
    for (;;) {
        void *reply = NULL;
        if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) {
            q_conn_fail(c, "protocol error from Redis: %s", c->reader->errstr);
            return NULL;
        }
        if (reply && ((redisReply *)reply)->type == REDIS_REPLY_ERROR &&
            strncmp(((redisReply *)reply)->str, "NOSCRIPT", 8) == 0) {
            /* The script did not run; after a reconnect its text is loaded again. */
            q_reply_free(reply);
            snprintf(c->err, sizeof c->err, "Redis at %s:%d lost its script cache (SCRIPT FLUSH?): "
                     "loading the scripts again", c->o.host, c->o.port);
            q_conn_close(c);
            c->noscript = true;
            return NULL;
        }
        if (reply && q_conn_readonly(reply)) {
            /* A demoted master: what was sent may not have run. Reconnect (to the new
             * master, through the sentinels or DNS) and let the caller send it again. */
            q_reply_free(reply);
            q_conn_fail(c, "Redis at %s:%d is a read-only replica now (a failover): reconnecting",
                        c->o.host, c->o.port);
            return NULL;
        }
        if (reply)
            return reply;
        char buf[16384];
        ssize_t n = c->ssl ? SSL_read(c->ssl, buf, sizeof buf) : recv(c->fd, buf, sizeof buf, 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR && !c->ssl)
                continue;
            bool timeout = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
            q_conn_fail(c, "lost the Redis connection while reading: %s",
                        n == 0 ? "closed by server" : timeout ? "read timed out" : strerror(errno));
            return NULL;
        }
        redisReaderFeed(c->reader, buf, (size_t)n);
    }
}

redisReply *q_conn_reply(q_conn *c)
{
    c->noscript = false;
    if (c->fd < 0 && q_conn_ensure(c) != 0) {
        c->out.len = 0;
        return NULL;
    }
    if (c->out.len && q_conn_flush(c) != 0)
        return NULL;
    for (;;) {
        redisReply *r = q_conn_read_one(c);
        if (!r)
            return NULL;
        unsigned long at = c->answered++;
        if (!c->nloads || c->loads[c->loads_head].at != at)
            return r;
        /* A SCRIPT LOAD's answer. Refused (an ACL without SCRIPT): the EVALSHA after it
         * answers NOSCRIPT, and from then on this script goes as EVAL with its text. */
        if (r->type == REDIS_REPLY_ERROR)
            c->scripts[c->loads[c->loads_head].script].eval_only = true;
        q_reply_free(r);
        c->loads_head = (c->loads_head + 1) % Q_CONN_SCRIPTS;
        c->nloads--;
    }
}

redisReply *q_conn_cmd(q_conn *c, const char *fmt, ...)
{
    if (c->fd < 0 && q_conn_ensure(c) != 0)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    int rc = q_conn_vappendf(c, fmt, ap);
    va_end(ap);
    return rc == 0 ? q_conn_reply(c) : NULL;
}

/* This connection's entry for script, NULL when it remembers too many. */
static q_conn_script *q_conn_script_of(q_conn *c, const char *script)
{
    size_t len = strlen(script);
    for (int i = 0; i < c->nscripts; i++)
        if (c->scripts[i].len == len && memcmp(c->scripts[i].text, script, len) == 0)
            return &c->scripts[i];
    if (c->nscripts == Q_CONN_SCRIPTS)
        return NULL;
    q_conn_script *s = &c->scripts[c->nscripts];
    s->text = malloc(len + 1);
    if (!s->text)
        return NULL;
    memcpy(s->text, script, len + 1);
    s->len = len;
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)script, len, md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(s->sha + i * 2, 3, "%02x", md[i]);
    s->sent = false;
    c->nscripts++;
    return s;
}

int q_conn_append_eval(q_conn *c, const char *script, int nkeys, int argc, const char **argv,
                       const size_t *lens)
{
    q_conn_script *s = q_conn_script_of(c, script);
    if (s && s->eval_only)
        s = NULL;
    if (s && !s->sent) {
        /* SCRIPT LOAD, not a first EVAL: Redis 7.4+ evicts scripts EVAL loaded once
         * a shared server holds many, never loaded ones. Its answer is read and
         * dropped by q_conn_reply. */
        const char *load[3] = {"SCRIPT", "LOAD", script};
        size_t lens3[3] = {6, 4, s->len};
        unsigned long at = c->appended;
        if (q_conn_append(c, 3, load, lens3) != 0)
            return -1;
        int slot = (c->loads_head + c->nloads) % Q_CONN_SCRIPTS;
        c->loads[slot].at = at;
        c->loads[slot].script = (int)(s - c->scripts);
        c->nloads++;
        s->sent = true;
    }
    char nk[16];
    snprintf(nk, sizeof nk, "%d", nkeys);
    const char *head[3] = {s ? "EVALSHA" : "EVAL", s ? s->sha : script, nk};
    enum { ARGV_STACK = 64 };
    const char *av_stack[ARGV_STACK];
    size_t al_stack[ARGV_STACK];
    const char **av = argc + 3 <= ARGV_STACK ? av_stack : malloc(sizeof(char *) * (size_t)(argc + 3));
    size_t *al = argc + 3 <= ARGV_STACK ? al_stack : malloc(sizeof(size_t) * (size_t)(argc + 3));
    if (!av || !al) {
        if (av != av_stack)
            free(av);
        if (al != al_stack)
            free(al);
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        av[i] = head[i];
        al[i] = strlen(head[i]);
    }
    for (int i = 0; i < argc; i++) {
        av[i + 3] = argv[i];
        al[i + 3] = lens ? lens[i] : strlen(argv[i]);
    }
    int rc = q_conn_append(c, argc + 3, av, al);
    if (av != av_stack)
        free(av);
    if (al != al_stack)
        free(al);
    return rc;
}

redisReply *q_conn_eval_meanwhile(q_conn *c, const char *script, int nkeys, int argc, const char **argv,
                                  const size_t *lens, void (*meanwhile)(void *), void *arg)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        bool sent = q_conn_ensure(c) == 0 && q_conn_append_eval(c, script, nkeys, argc, argv, lens) == 0 &&
                    (!meanwhile || q_conn_flush(c) == 0);
        if (meanwhile) {
            meanwhile(arg);
            meanwhile = NULL;
        }
        if (!sent)
            return NULL;
        redisReply *r = q_conn_reply(c);
        if (r || !c->noscript)
            return r;
        /* NOSCRIPT: the script did not run; once more, loading it first */
    }
    return NULL;
}

redisReply *q_conn_eval(q_conn *c, const char *script, int nkeys, int argc, const char **argv,
                        const size_t *lens)
{
    return q_conn_eval_meanwhile(c, script, nkeys, argc, argv, lens, NULL, NULL);
}

void q_reply_free(redisReply *r)
{
    if (r)
        freeReplyObject(r);
}
