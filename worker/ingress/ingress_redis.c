/* ingress_redis.c -- the Redis Mastodon's application code uses, where its locks,
 * delete_upon_arrival keys, home feeds and streaming channels live. It is the
 * Sidekiq connection unless Mastodon's variables name another server for it
 * (config_redis.c decides, services carries the result), as in Mastodon's split
 * set-ups; then each processor thread opens its own connection. Threads outside a
 * job (the engine's on_orphan) always use one of their own. */
#include "ingress_internal.h"

#include <pthread.h>

/* One connection per thread when separate (or outside a job), freed when the thread
 * ends. */
static pthread_once_t ingress_redis_once_flag = PTHREAD_ONCE_INIT;
static pthread_key_t ingress_redis_key;

static void ingress_redis_conn_free(void *c)
{
    q_conn_free(c);
}

static void ingress_redis_once(void)
{
    pthread_key_create(&ingress_redis_key, ingress_redis_conn_free);
}

/* This thread's own connection to o, opened on first use. */
static q_conn *ingress_redis_thread_conn(const q_redis_opts *o)
{
    pthread_once(&ingress_redis_once_flag, ingress_redis_once);
    q_conn *c = pthread_getspecific(ingress_redis_key);
    if (!c) {
        c = q_conn_new(o);
        pthread_setspecific(ingress_redis_key, c);
    }
    return c;
}

q_conn *ingress_app_redis(q_ctx *ctx)
{
    const services *s = q_ctx_user(ctx);
    if (!s || !s->app_redis_own)
        return q_ctx_redis(ctx);
    return ingress_redis_thread_conn(&s->app_redis);
}

q_conn *ingress_app_redis_outside(const services *s)
{
    return ingress_redis_thread_conn(s->app_redis_own ? &s->app_redis : &s->redis);
}
