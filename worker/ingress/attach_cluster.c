/* attach_cluster.c -- the cluster-wide media slots (--media-cluster-slots):
 * a fair counting semaphore in the Sidekiq Redis with leases.
 *
 * Keys (scotty:media:cluster:*): `holders` (zset token -> lease end, ms),
 * `queue` (zset token -> ticket), `waiting` (zset token -> a waiter's own
 * lease end, ms, renewed at each poll) and `ticket` (counter). One script
 * takes a slot atomically: expired holders and waiters are dropped first, a
 * new waiter gets the next ticket, and a waiter takes a slot when fewer than
 * `slots` leases are live and its rank in the queue is below the free count,
 * so earlier tickets always go first. A thread renews the leases this process
 * holds every third of the lease. Times come from Redis (TIME), so the
 * processes' clocks do not matter. */
#include "attach_cluster.h"

#include "base.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MC_KEY "scotty:media:cluster:"
#define MC_POLL_MS 200
#define MC_TOKEN_MAX 96

static const char *const mc_keys[] = {MC_KEY "holders", MC_KEY "queue", MC_KEY "waiting", MC_KEY "ticket"};

/* Shared prologue: Redis time in ms, expired holders and waiters dropped. */
#define MC_LUA_PRUNE                                                                          \
    "if redis.replicate_commands then redis.replicate_commands() end\n"                       \
    "local t = redis.call('TIME')\n"                                                          \
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"                 \
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"                                  \
    "for _, w in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do\n"              \
    "  redis.call('ZREM', KEYS[2], w)\n"                                                      \
    "end\n"                                                                                   \
    "redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)\n"

/* ARGV: token, slots, lease ms. 1: the slot is ours; 0: wait (our place kept). */
static const char mc_take_lua[] =
    MC_LUA_PRUNE
    "local lease_end = now + tonumber(ARGV[3])\n"
    "if redis.call('ZSCORE', KEYS[1], ARGV[1]) then\n"
    "  redis.call('ZADD', KEYS[1], lease_end, ARGV[1])\n"
    "  return 1\n"
    "end\n"
    "if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then\n"
    "  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), ARGV[1])\n"
    "end\n"
    "redis.call('ZADD', KEYS[3], lease_end, ARGV[1])\n"
    "local free = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1])\n"
    "if redis.call('ZRANK', KEYS[2], ARGV[1]) < free then\n"
    "  redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "  redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "  redis.call('ZADD', KEYS[1], lease_end, ARGV[1])\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

/* ARGV: token, lease ms. 1: renewed; 0: the lease had run out. */
static const char mc_renew_lua[] =
    MC_LUA_PRUNE
    "if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end\n"
    "redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])\n"
    "return 1\n";

/* ARGV: token. Gives a slot or a place in the queue back. */
static const char mc_release_lua[] =
    "redis.call('ZREM', KEYS[1], ARGV[1])\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "return 1\n";

/* Live leases and live waiters. */
static const char mc_count_lua[] =
    MC_LUA_PRUNE
    "return {redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2])}\n";

struct attach_cluster {
    q_redis_opts redis;
    int slots, local_slots;
    double lease;
    char prefix[80];                  /* host:pid, the start of every token */

    pthread_mutex_t lock;             /* guards everything below */
    pthread_cond_t cond;              /* local turn changes, stop, renewer wake-ups */
    bool stopping;
    unsigned long issued, admitted;   /* local FIFO: tickets given out, tickets let through */
    int local_in_use;
    unsigned long seq;                /* token numbers */
    char (*held)[MC_TOKEN_MAX];       /* [local_slots]: tokens holding a lease, "" = none yet */
    bool *taken;                      /* [local_slots]: the place belongs to a task (waiting or running) */
    bool redis_down;                  /* one log line per outage */
    bool renewer_quit;
    pthread_t renewer;

    pthread_mutex_t conn_lock;        /* guards conn: one command at a time */
    q_conn *conn;
};

static double mc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Waits on cond until `seconds` from now or a signal; c->lock held. */
static void mc_wait(attach_cluster *c, double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long ns = ts.tv_nsec + (long long)(seconds * 1e9);
    ts.tv_sec += (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    pthread_cond_timedwait(&c->cond, &c->lock, &ts);
}

/* Runs one script with the four keys; returns its integer reply (or 0 with
 * the two integers of an array reply in *a and *b), or -1 with err. */
static long long mc_eval(attach_cluster *c, const char *script, int argc, const char **args, long long *a,
                         long long *b, char *err, size_t errlen)
{
    const char *argv[8];
    for (int i = 0; i < 4; i++)
        argv[i] = mc_keys[i];
    for (int i = 0; i < argc && i < 4; i++)
        argv[4 + i] = args[i];
    pthread_mutex_lock(&c->conn_lock);
    redisReply *r = q_conn_eval(c->conn, script, 4, 4 + argc, argv, NULL);
    long long v = -1;
    if (!r)
        snprintf(err, errlen, "Redis: %s", q_conn_error(c->conn));
    else if (r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && a && b) {
        *a = r->element[0]->integer;
        *b = r->element[1]->integer;
        v = 0;
    } else
        snprintf(err, errlen, "Redis answered the media slot script with %s",
                 r->type == REDIS_REPLY_ERROR ? r->str : "an unexpected reply");
    q_reply_free(r);
    pthread_mutex_unlock(&c->conn_lock);
    return v;
}

/* One log line when Redis goes away and one when it is back; c->lock not held. */
static void mc_health(attach_cluster *c, bool ok, const char *why)
{
    pthread_mutex_lock(&c->lock);
    bool was_down = c->redis_down;
    c->redis_down = !ok;
    pthread_mutex_unlock(&c->lock);
    if (!ok && !was_down)
        base_log(BASE_LOG_WARN, "media cluster slots: %s; media tasks wait until Redis answers", why);
    else if (ok && was_down)
        base_log(BASE_LOG_INFO, "media cluster slots: Redis answers again");
}

static void *mc_renewer(void *arg)
{
    attach_cluster *c = arg;
    char lease_ms[32], err[256];
    snprintf(lease_ms, sizeof lease_ms, "%lld", (long long)(c->lease * 1000));
    double next = mc_now() + c->lease / 3;
    pthread_mutex_lock(&c->lock);
    while (!c->renewer_quit) {
        /* The cond also wakes for local turns: renew on schedule only. */
        if (mc_now() < next) {
            mc_wait(c, next - mc_now());
            continue;
        }
        next = mc_now() + c->lease / 3;
        for (int i = 0; i < c->local_slots && !c->renewer_quit; i++) {
            char token[MC_TOKEN_MAX];
            snprintf(token, sizeof token, "%s", c->held[i]);
            if (!token[0])
                continue;
            pthread_mutex_unlock(&c->lock);
            const char *args[] = {token, lease_ms};
            long long v = mc_eval(c, mc_renew_lua, 2, args, NULL, NULL, err, sizeof err);
            mc_health(c, v >= 0, err);
            if (v == 0)
                base_log(BASE_LOG_WARN, "media cluster slots: the lease of %s ran out while its task runs (Redis "
                         "away for over %.0f s?); until it ends the cluster may run one task more than %d",
                         token, c->lease, c->slots);
            pthread_mutex_lock(&c->lock);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

attach_cluster *attach_cluster_new(const q_redis_opts *redis, int slots, int local_slots, double lease,
                                 char *err, size_t errlen)
{
    if (slots < 1 || local_slots < 1 || lease < 1) {
        snprintf(err, errlen, "--media-cluster-slots must be >= 1 and --media-cluster-lease >= 1 s");
        return NULL;
    }
    attach_cluster *c = calloc(1, sizeof *c);
    if (!c || !(c->held = calloc((size_t)local_slots, sizeof *c->held)) ||
        !(c->taken = calloc((size_t)local_slots, sizeof *c->taken))) {
        if (c)
            free(c->held);
        free(c);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->redis = *redis;
    c->slots = slots;
    c->local_slots = local_slots;
    c->lease = lease;
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(c->prefix, sizeof c->prefix, "%s:%d", host, (int)getpid());
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->conn_lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    c->conn = q_conn_new(redis);
    q_conn_set_quiet(c->conn);
    q_conn_set_timeout(c->conn, 5000);
    int rc = pthread_create(&c->renewer, NULL, mc_renewer, c);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the media lease renewer: %s", strerror(rc));
        q_conn_free(c->conn);
        free(c->held);
        free(c);
        return NULL;
    }
    base_log(BASE_LOG_INFO, "media cluster slots: at most %d media task(s) at once across every process on this "
             "Redis, leases of %.0f s", slots, lease);
    return c;
}

void attach_cluster_stop(attach_cluster *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

void attach_cluster_free(attach_cluster *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->renewer_quit = true;
    c->stopping = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->renewer, NULL);
    q_conn_free(c->conn);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->conn_lock);
    pthread_mutex_destroy(&c->lock);
    free(c->held);
    free(c->taken);
    free(c);
}

/* A local place, in arrival order. Returns its index in held, or -1 on stop. */
static int mc_local_take(attach_cluster *c, char *token, size_t tokenlen)
{
    pthread_mutex_lock(&c->lock);
    unsigned long mine = c->issued++;
    while (!c->stopping && (mine != c->admitted || c->local_in_use >= c->local_slots))
        pthread_cond_wait(&c->cond, &c->lock);
    int idx = -1;
    if (!c->stopping) {
        c->admitted++;
        c->local_in_use++;
        /* taken, not held: a place is the task's from here, while it still waits for
         * its lease, so two waiting tasks never share one */
        for (int i = 0; i < c->local_slots && idx < 0; i++)
            if (!c->taken[i])
                idx = i;
        c->taken[idx] = true;
        snprintf(token, tokenlen, "%s:%lu", c->prefix, ++c->seq);
        pthread_cond_broadcast(&c->cond);
    }
    pthread_mutex_unlock(&c->lock);
    return idx;
}

static void mc_local_give(attach_cluster *c, int idx)
{
    pthread_mutex_lock(&c->lock);
    c->held[idx][0] = '\0';
    c->taken[idx] = false;
    c->local_in_use--;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

/* Polls for the cluster slot. 0: held (and in held[idx]); -1: stopped. */
static int mc_cluster_take(attach_cluster *c, int idx, const char *token)
{
    char slots[16], lease_ms[32], err[256];
    snprintf(slots, sizeof slots, "%d", c->slots);
    snprintf(lease_ms, sizeof lease_ms, "%lld", (long long)(c->lease * 1000));
    const char *args[] = {token, slots, lease_ms};
    for (;;) {
        long long v = mc_eval(c, mc_take_lua, 3, args, NULL, NULL, err, sizeof err);
        mc_health(c, v >= 0, err);
        pthread_mutex_lock(&c->lock);
        if (v == 1)
            snprintf(c->held[idx], sizeof c->held[idx], "%s", token);
        bool stop = v != 1 && c->stopping;
        if (v != 1 && !stop)
            mc_wait(c, v < 0 ? 1.0 : MC_POLL_MS / 1000.0);
        stop = v != 1 && c->stopping;
        pthread_mutex_unlock(&c->lock);
        if (v == 1)
            return 0;
        if (stop)
            return -1;
    }
}

static void mc_release(attach_cluster *c, const char *token)
{
    char err[256];
    const char *args[] = {token};
    long long v = mc_eval(c, mc_release_lua, 1, args, NULL, NULL, err, sizeof err);
    mc_health(c, v >= 0, err);
}

int attach_cluster_run(attach_cluster *c, media_runner *r, const char *task, const char *in, const char *out_dir,
                      media_progress_fn progress, void *ud, media_outcome *out, char *err, size_t errlen)
{
    if (!c)
        return media_runner_run(r, task, in, out_dir, progress, ud, out, err, errlen);
    char token[MC_TOKEN_MAX];
    int idx = mc_local_take(c, token, sizeof token);
    if (idx >= 0 && mc_cluster_take(c, idx, token) < 0) {
        mc_release(c, token);
        mc_local_give(c, idx);
        idx = -1;
    }
    if (idx < 0) {
        memset(out, 0, sizeof *out);
        out->cancelled = true;
        snprintf(err, errlen, "media task cancelled: the worker is stopping");
        return -1;
    }
    int rc = media_runner_run(r, task, in, out_dir, progress, ud, out, err, errlen);
    mc_release(c, token);
    mc_local_give(c, idx);
    return rc;
}

json_t *attach_cluster_stats(attach_cluster *c)
{
    if (!c)
        return NULL;
    pthread_mutex_lock(&c->lock);
    int here = 0;
    for (int i = 0; i < c->local_slots; i++)
        here += c->held[i][0] != '\0';
    pthread_mutex_unlock(&c->lock);
    json_t *o = json_pack("{s:i, s:i, s:f}", "slots", c->slots, "here", here, "lease", c->lease);
    long long in_use = 0, waiting = 0;
    char err[256];
    if (mc_eval(c, mc_count_lua, 0, NULL, &in_use, &waiting, err, sizeof err) < 0) {
        json_object_set_new(o, "error", json_string(err));
    } else {
        json_object_set_new(o, "in_use", json_integer(in_use));
        json_object_set_new(o, "waiting", json_integer(waiting));
    }
    return o;
}
