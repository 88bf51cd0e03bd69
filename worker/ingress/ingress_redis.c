/* ingress_redis.c -- the Redis Mastodon's application code uses (REDIS_URL, else
 * REDIS_HOST/REDIS_PORT/REDIS_DB with REDIS_PASSWORD), where its locks,
 * delete_upon_arrival keys, home feeds and streaming channels live. It is the
 * Sidekiq connection unless SIDEKIQ_REDIS_URL names another endpoint, as in
 * Mastodon's split set-ups; then each processor thread opens its own connection.
 * Threads outside a job (the engine's on_orphan) always use one of their own. */
#include "ingress_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decided once from the environment (ingress_redis_once); read-only afterwards. */
static pthread_once_t ingress_redis_once_flag = PTHREAD_ONCE_INIT;
static bool ingress_redis_separate;
static q_redis_opts ingress_redis_opts;
/* One connection per thread when separate (or outside a job), freed when the thread
 * ends. */
static pthread_key_t ingress_redis_key;

static void ingress_redis_conn_free(void *c)
{
    q_conn_free(c);
}

static void ingress_redis_once(void)
{
    pthread_key_create(&ingress_redis_key, ingress_redis_conn_free);
    const char *sidekiq = getenv("SIDEKIQ_REDIS_URL"), *url = getenv("REDIS_URL");
    const char *host = getenv("REDIS_HOST");
    if (!sidekiq || !*sidekiq || ((!url || !*url) && (!host || !*host)))
        return;
    char built[1024];
    if (!url || !*url) {
        const char *port = getenv("REDIS_PORT"), *db = getenv("REDIS_DB");
        snprintf(built, sizeof built, "redis://%s:%s/%s", host, port && *port ? port : "6379",
                 db && *db ? db : "0");
        url = built;
    }
    if (strcmp(url, sidekiq) == 0)
        return;
    char err[Q_ERRLEN];
    if (q_redis_parse_url(url, &ingress_redis_opts, err, sizeof err) != 0) {
        base_log(BASE_LOG_ERROR, "ingress: REDIS_URL: %s; Mastodon's locks and feeds are written to the Sidekiq "
              "Redis instead", err);
        return;
    }
    const char *pw = getenv("REDIS_PASSWORD"), *ca = getenv("REDIS_TLS_CA_FILE");
    if (pw && *pw && !ingress_redis_opts.password[0])
        snprintf(ingress_redis_opts.password, sizeof ingress_redis_opts.password, "%s", pw);
    if (ca && *ca)
        snprintf(ingress_redis_opts.tls_ca_file, sizeof ingress_redis_opts.tls_ca_file, "%s", ca);
    ingress_redis_separate = true;
    char where[512];
    q_redis_describe(&ingress_redis_opts, where, sizeof where);
    base_log(BASE_LOG_INFO, "ingress: Mastodon's application Redis is %s (Sidekiq's is SIDEKIQ_REDIS_URL)", where);
}

/* This thread's own connection to o, opened on first use. */
static q_conn *ingress_redis_thread_conn(const q_redis_opts *o)
{
    q_conn *c = pthread_getspecific(ingress_redis_key);
    if (!c) {
        c = q_conn_new(o);
        pthread_setspecific(ingress_redis_key, c);
    }
    return c;
}

q_conn *ingress_app_redis(q_ctx *ctx)
{
    pthread_once(&ingress_redis_once_flag, ingress_redis_once);
    if (!ingress_redis_separate)
        return q_ctx_redis(ctx);
    return ingress_redis_thread_conn(&ingress_redis_opts);
}

q_conn *ingress_app_redis_outside(const q_redis_opts *sidekiq)
{
    pthread_once(&ingress_redis_once_flag, ingress_redis_once);
    return ingress_redis_thread_conn(ingress_redis_separate ? &ingress_redis_opts : sidekiq);
}
