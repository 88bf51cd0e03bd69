/* objstore_s3_breaker.c -- a circuit breaker in front of S3, like Mastodon's
 * Stoplight "object-storage" light: after breaker_threshold failed requests in a
 * row (network errors or 5xx after every retry) requests fail at once for
 * breaker_cooloff_ms, so a dead store costs jobs no time; after that one request
 * is let through, and its outcome closes or re-opens the circuit. */
#include "objstore_internal.h"

#include <time.h>

static double breaker_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void objstore_breaker_init(objstore *o)
{
    pthread_mutex_init(&o->breaker_lock, NULL);
    o->breaker_failures = 0;
    o->breaker_open_until = 0;
}

void objstore_breaker_destroy(objstore *o) { pthread_mutex_destroy(&o->breaker_lock); }

bool objstore_breaker_allow(objstore *o, char *err, size_t errlen)
{
    if (o->cfg.breaker_threshold <= 0)
        return true;
    pthread_mutex_lock(&o->breaker_lock);
    double now = breaker_now(), until = o->breaker_open_until;
    int failures = o->breaker_failures;
    bool trial = now >= until && failures >= o->cfg.breaker_threshold;
    if (trial) /* this request tries the store; the others keep failing fast meanwhile */
        o->breaker_open_until = now + (double)o->cfg.breaker_cooloff_ms / 1000.0;
    pthread_mutex_unlock(&o->breaker_lock);
    if (now >= until)
        return true;
    snprintf(err, errlen, "object storage is failing (%d failed requests in a row); not trying "
                          "again for %.0f s (circuit breaker, SCOTTY_S3_BREAKER_COOLOFF_MS)",
             failures, until - now);
    return false;
}

void objstore_breaker_record(objstore *o, bool unhealthy)
{
    if (o->cfg.breaker_threshold <= 0)
        return;
    bool opened = false;
    int failures;
    pthread_mutex_lock(&o->breaker_lock);
    if (!unhealthy) {
        o->breaker_failures = 0;
        o->breaker_open_until = 0;
    } else if (++o->breaker_failures >= o->cfg.breaker_threshold) {
        o->breaker_open_until = breaker_now() + (double)o->cfg.breaker_cooloff_ms / 1000.0;
        opened = true;
    }
    failures = o->breaker_failures;
    pthread_mutex_unlock(&o->breaker_lock);
    if (opened)
        base_log(BASE_LOG_WARN, "object storage circuit open after %d failed requests in a row; "
                          "requests fail at once for %ld ms", failures, o->cfg.breaker_cooloff_ms);
}
