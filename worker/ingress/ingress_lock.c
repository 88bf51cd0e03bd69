/* ingress_lock.c -- Mastodon's with_redis_lock in C, so Ruby and C workers exclude
 * each other: the mario-redis-lock gem's algorithm (SET lock:<name> <token> NX PX
 * <autorelease>, retried every 0.1 s until the wait runs out; released only by the
 * holder, with a compare-and-delete script). */
#include "ingress_internal.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *ingress_lock_release_lua =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
    "else return nil end";

/* The gem's token shape, "<Time.now>-<random>", with 64 random bits: it only has to
 * tell this holder from any other. */
static int ingress_lock_token(char *out, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char when[40], hex[17];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S +0000", &tm);
    if (objstore_random_hex16(hex) != 0)
        return -1;
    snprintf(out, len, "%s-%s", when, hex);
    return 0;
}

int ingress_lock_acquire(q_ctx *ctx, const char *name, long wait_ms, ingress_lock *l, char *err,
                         size_t errlen)
{
    memset(l, 0, sizeof *l);
    if ((size_t)snprintf(l->key, sizeof l->key, "lock:%s", name) >= sizeof l->key) {
        snprintf(err, errlen, "lock name too long (%zu bytes)", strlen(name));
        return -1;
    }
    if (ingress_lock_token(l->token, sizeof l->token) != 0) {
        snprintf(err, errlen, "no random bytes for a lock token");
        return -1;
    }
    q_conn *c = ingress_app_redis(ctx);
    double give_up = q_monotonic() + (double)wait_ms / 1000.0;
    for (;;) {
        redisReply *r = q_conn_cmd(c, "SET %s %s NX PX %ld", l->key, l->token,
                                   INGRESS_LOCK_AUTORELEASE_MS);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "Redis: taking %s: %s", l->key,
                     r ? r->str : q_conn_error(c));
            q_reply_free(r);
            return -1;
        }
        bool ok = r->type == REDIS_REPLY_STATUS;
        q_reply_free(r);
        if (ok) {
            l->held = true;
            return 0;
        }
        if (q_monotonic() >= give_up || q_ctx_stopping(ctx))
            return 1;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int ingress_lock_or_retry(q_ctx *ctx, const char *kind, const char *subject, ingress_lock *l, char *err,
                          size_t errlen)
{
    char name[1100];
    snprintf(name, sizeof name, "%s:%s", kind, subject);
    int rc = ingress_lock_acquire(ctx, name, INGRESS_LOCK_WAIT_MS, l, err, errlen);
    if (rc > 0)
        snprintf(err, errlen, INGRESS_LOCK_BUSY "%s, try again later", name);
    return rc == 0 ? 0 : -1;
}

void ingress_lock_release(q_ctx *ctx, ingress_lock *l)
{
    if (!l->held)
        return;
    const char *argv[] = {l->key, l->token};
    size_t lens[] = {strlen(l->key), strlen(l->token)};
    q_reply_free(q_conn_eval(ingress_app_redis(ctx), ingress_lock_release_lua, 1, 2, argv, lens));
    l->held = false;
}
