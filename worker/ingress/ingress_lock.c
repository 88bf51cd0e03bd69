/* ingress_lock.c -- Mastodon's with_redis_lock in C, so Ruby and C workers exclude
 * each other: the mario-redis-lock gem's algorithm (SET lock:<name> <token> NX PX
 * <autorelease>, retried every 0.1 s until the wait runs out; released only by the
 * holder, with a compare-and-delete: the outcome script's UNLOCK, queues/q_outcome.c,
 * at once or with the job's outcome). scotty's token also names its process, and
 * while a lock is held its key and token are kept in the hash scotty:locks:<identity>
 * (written in the same script as the lock), so the process that recovers a dead
 * one's private lists releases its locks at once (ingress_lock_orphans) instead of
 * leaving them to the 15-minute auto-release. */
#include "ingress.h"
#include "ingress_internal.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* KEYS: lock, holder hash[, probe, marker]; ARGV: token, autorelease ms[, marker value,
 * marker TTL s ("" for none)]. {0} busy, else {1, whether the probe key exists, the
 * marker's value before it was set (or nil)}: what ingress_lock_also asks, read and
 * written in the step that takes the lock, saving round trips. A marker of another
 * type is refused before the lock is taken. */
static const char *ingress_lock_take_lua =
    "local t = redis.call('type', KEYS[2])['ok'] "
    "if t ~= 'none' and t ~= 'hash' then "
    "  return redis.error_reply('WRONGTYPE ' .. KEYS[2] .. ' is a ' .. t .. ', not a hash') end "
    "local marker = ARGV[3] and ARGV[3] ~= '' "
    "if marker then t = redis.call('type', KEYS[4])['ok'] end "
    "if marker and t ~= 'none' and t ~= 'string' then "
    "  return redis.error_reply('WRONGTYPE ' .. KEYS[4] .. ' is a ' .. t .. ', not a string') end "
    "if not redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0} end "
    "redis.call('hset', KEYS[2], KEYS[1], ARGV[1]) "
    "redis.call('pexpire', KEYS[2], ARGV[2]) "
    "if not KEYS[3] then return {1} end "
    "local prev = false "
    "if marker then prev = redis.call('set', KEYS[4], ARGV[3], 'EX', ARGV[4], 'GET') end "
    "return {1, redis.call('exists', KEYS[3]), prev}";

/* The gem's compare-and-delete alone, for a dead holder's locks. KEYS: lock; ARGV: token. */
static const char *ingress_lock_drop_lua =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end "
    "return 0";

/* The gem's token shape, "<Time.now>-<random>" (64 random bits), followed by the
 * holder: "-scotty:<identity>". Ruby only compares a lock's value with the token it
 * wrote itself, so any unique string works; this one tells an operator who holds it. */
static int ingress_lock_token(const char *identity, char *out, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char when[40], hex[17];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S +0000", &tm);
    if (objstore_random_hex16(hex) != 0)
        return -1;
    return (size_t)snprintf(out, len, "%s-%s-scotty:%s", when, hex, identity) < len ? 0 : -1;
}

/* "scotty:locks:<identity>": the locks a process holds. 0, or -1 if it does not fit. */
static int ingress_lock_holder_key(const char *identity, char *out, size_t len)
{
    return (size_t)snprintf(out, len, "scotty:locks:%s", identity) < len ? 0 : -1;
}

/* ingress_lock_acquire, and with `also` what it asks in the same step. */
static int ingress_lock_take(q_ctx *ctx, const char *name, long wait_ms, ingress_lock_also *also,
                             ingress_lock *l, char *err, size_t errlen)
{
    memset(l, 0, sizeof *l);
    if ((size_t)snprintf(l->key, sizeof l->key, "lock:%s", name) >= sizeof l->key) {
        snprintf(err, errlen, "lock name too long (%zu bytes)", strlen(name));
        return -1;
    }
    const char *identity = q_ctx_identity(ctx);
    char holders[INGRESS_LOCK_HOLDER_KEY_MAX], px[24], ttl[24];
    if (ingress_lock_holder_key(identity, holders, sizeof holders) != 0 ||
        ingress_lock_token(identity, l->token, sizeof l->token) != 0) {
        snprintf(err, errlen, "no lock token for %s: no random bytes, or identity %.80s... too long",
                 l->key, identity);
        return -1;
    }
    snprintf(px, sizeof px, "%ld", INGRESS_LOCK_AUTORELEASE_MS);
    const char *argv[8] = {l->key, holders, l->token, px};
    int nkeys = 2, argc = 4;
    if (also) {
        also->exists = false;
        also->set_prev = NULL;
        snprintf(ttl, sizeof ttl, "%d", also->set_ttl_s);
        bool set = also->set_key != NULL;
        const char *all[] = {l->key, holders, also->exists_key, set ? also->set_key : also->exists_key,
                             l->token, px, set ? also->set_value : "", ttl};
        memcpy(argv, all, sizeof all);
        nkeys = 4;
        argc = 8;
    }
    q_conn *c = ingress_app_redis(ctx);
    double give_up = base_monotonic() + (double)wait_ms / 1000.0;
    for (bool first = true;; first = false) {
        redisReply *r = q_conn_eval_meanwhile(c, ingress_lock_take_lua, nkeys, argc, argv, NULL,
                                              first && also ? also->meanwhile : NULL,
                                              also ? also->meanwhile_arg : NULL);
        bool shaped = r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
                      r->element[0]->type == REDIS_REPLY_INTEGER &&
                      (r->element[0]->integer == 0 || !also || r->elements == 3);
        if (!shaped) {
            snprintf(err, errlen, "Redis: taking %s: %s", l->key,
                     r && r->type == REDIS_REPLY_ERROR ? r->str : r ? "unexpected reply" : q_conn_error(c));
            q_reply_free(r);
            return -1;
        }
        bool ok = r->element[0]->integer == 1;
        if (ok && also) {
            also->exists = r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer > 0;
            if (r->element[2]->type == REDIS_REPLY_STRING) {
                also->set_prev = strdup(r->element[2]->str);
                if (!also->set_prev)
                    abort();
            }
        }
        q_reply_free(r);
        if (ok) {
            l->held = true;
            return 0;
        }
        if (base_monotonic() >= give_up || q_ctx_stopping(ctx))
            return 1;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int ingress_lock_acquire(q_ctx *ctx, const char *name, long wait_ms, ingress_lock *l, char *err,
                         size_t errlen)
{
    return ingress_lock_take(ctx, name, wait_ms, NULL, l, err, errlen);
}

int ingress_lock_or_retry_also(q_ctx *ctx, const char *kind, const char *subject, ingress_lock_also *also,
                               ingress_lock *l, char *err, size_t errlen)
{
    char name[INGRESS_LOCK_NAME_MAX];
    if ((size_t)snprintf(name, sizeof name, "%s:%s", kind, subject) >= sizeof name) {
        snprintf(err, errlen, "cannot lock %s:%.200s...: the name is %zu bytes, over %d", kind, subject,
                 strlen(kind) + 1 + strlen(subject), INGRESS_LOCK_NAME_MAX - 1);
        return -1;
    }
    int rc = ingress_lock_take(ctx, name, INGRESS_LOCK_WAIT_MS, also, l, err, errlen);
    if (rc > 0)
        snprintf(err, errlen, INGRESS_LOCK_BUSY "%s, try again later", name);
    return rc == 0 ? 0 : -1;
}

int ingress_lock_or_retry(q_ctx *ctx, const char *kind, const char *subject, ingress_lock *l, char *err,
                          size_t errlen)
{
    return ingress_lock_or_retry_also(ctx, kind, subject, NULL, l, err, errlen);
}

void ingress_lock_release(q_ctx *ctx, ingress_lock *l)
{
    if (!l->held)
        return;
    l->held = false;
    char holders[INGRESS_LOCK_HOLDER_KEY_MAX];
    if (ingress_lock_holder_key(q_ctx_identity(ctx), holders, sizeof holders) != 0)
        return; /* ingress_lock_acquire built the same key */
    char err[Q_ERRLEN];
    if (q_unlock_now(ingress_app_redis(ctx), l->key, holders, l->token, err, sizeof err) != 0)
        base_log(BASE_LOG_WARN, "ingress: could not release %s (%s); it auto-releases in %ld minutes, or when "
              "another process recovers this one's jobs", l->key, err, INGRESS_LOCK_AUTORELEASE_MS / 60000);
}

void ingress_lock_release_with_outcome(q_ctx *ctx, ingress_lock *l)
{
    char holders[INGRESS_LOCK_HOLDER_KEY_MAX];
    if (!l->held || ingress_app_redis(ctx) != q_ctx_redis(ctx) ||
        ingress_lock_holder_key(q_ctx_identity(ctx), holders, sizeof holders) != 0) {
        ingress_lock_release(ctx, l);
        return;
    }
    l->held = false;
    q_ctx_outcome_unlock(ctx, l->key, holders, l->token);
}

int ingress_lock_orphans(q_conn *c, const char *identity, char *err, size_t errlen)
{
    char holders[INGRESS_LOCK_HOLDER_KEY_MAX];
    if (ingress_lock_holder_key(identity, holders, sizeof holders) != 0) {
        snprintf(err, errlen, "identity %.80s... is too long for a lock holder", identity);
        return -1;
    }
    redisReply *all = q_conn_cmd(c, "HGETALL %s", holders);
    if (!all || all->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "Redis: HGETALL %s: %s", holders,
                 all && all->type == REDIS_REPLY_ERROR ? all->str : q_conn_error(c));
        q_reply_free(all);
        return -1;
    }
    int released = 0, rc = 0;
    for (size_t i = 0; i + 1 < all->elements && rc == 0; i += 2) {
        const redisReply *key = all->element[i], *token = all->element[i + 1];
        const char *argv[] = {key->str, token->str};
        const size_t lens[] = {key->len, token->len};
        redisReply *r = q_conn_eval(c, ingress_lock_drop_lua, 1, 2, argv, lens);
        if (!r || r->type != REDIS_REPLY_INTEGER) {
            snprintf(err, errlen, "Redis: releasing %s: %s", key->str,
                     r && r->type == REDIS_REPLY_ERROR ? r->str : q_conn_error(c));
            rc = -1;
        } else {
            released += (int)r->integer;
        }
        q_reply_free(r);
    }
    q_reply_free(all);
    if (rc != 0)
        return -1;
    redisReply *r = q_conn_cmd(c, "DEL %s", holders);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "Redis: DEL %s: %s", holders, r ? r->str : q_conn_error(c));
        q_reply_free(r);
        return -1;
    }
    q_reply_free(r);
    return released;
}

void ingress_on_orphan(const char *identity, void *user)
{
    services *s = user;
    char err[Q_ERRLEN];
    int n = ingress_lock_orphans(ingress_app_redis_outside(s), identity, err, sizeof err);
    if (n < 0)
        base_log(BASE_LOG_WARN, "ingress: the locks of process %s were not released: %s; they auto-release "
              "within %ld minutes", identity, err, INGRESS_LOCK_AUTORELEASE_MS / 60000);
    else if (n > 0)
        base_log(BASE_LOG_INFO, "ingress: released %d lock(s) held by process %s, whose jobs go back to "
              "their queues", n, identity);
}
