/* delivery_breaker.c -- the per-host circuit breaker, in-flight limit and cut-off
 * for deliveries (see delivery.h). One table for the process, guarded by its mutex. */
#include "delivery.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A host whose oldest request has had no answer for this long is suspect. */
#define BREAKER_STALL_SECONDS 1.0
/* A host silent this long with deliveries in flight keeps one of them waiting and
 * has the others cut off. */
#define BREAKER_CUT_SECONDS 3.0
/* Consecutive failures that make a host suspect. */
#define BREAKER_SUSPECT_FAILURES 2
/* In flight to a host that has not answered yet (new, or idle since it was last seen):
 * a dead one then holds this many threads for the read timeout, not a second's worth
 * of its deliveries. The others wait for the first answer (or are refused once the
 * host stalls). */
#define BREAKER_UNPROVEN_CAP 4

typedef struct breaker_host {
    char host[256];
    int failures;          /* consecutive retryable failures */
    int in_flight;
    int waiting;           /* threads waiting for one of in_flight to be answered */
    const void *keeper;    /* the delivery that waits on once it is silent, or NULL */
    bool proven;           /* a delivery to it succeeded since it entered the table */
    double open_until;     /* monotonic; refused before this */
    double last_progress;  /* monotonic: last answer, or start of an idle host's request */
} breaker_host;

struct delivery_breaker {
    pthread_mutex_t lock;  /* guards hosts and n */
    pthread_cond_t answered; /* signalled whenever a delivery leaves (CLOCK_MONOTONIC) */
    breaker_host *hosts;
    size_t n, cap;
    int waiting;           /* sum of the hosts' waiting */
    unsigned long cut_offs; /* deliveries delivery_breaker_give_up cut off, ever */
    int threshold;
    double cooloff;
    int unproven_cap;
};

delivery_breaker *delivery_breaker_new(int threshold, double cooloff, int concurrency)
{
    delivery_breaker *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    pthread_mutex_init(&b->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->answered, &ca);
    pthread_condattr_destroy(&ca);
    b->threshold = threshold > 0 ? threshold : 10;
    b->cooloff = cooloff > 0 ? cooloff : 60;
    int half = concurrency / 2 > 1 ? concurrency / 2 : 1;
    b->unproven_cap = half < BREAKER_UNPROVEN_CAP ? half : BREAKER_UNPROVEN_CAP;
    return b;
}

void delivery_breaker_free(delivery_breaker *b)
{
    if (!b)
        return;
    pthread_cond_destroy(&b->answered);
    pthread_mutex_destroy(&b->lock);
    free(b->hosts);
    free(b);
}

/* Called with the lock held. NULL when out of memory. */
static breaker_host *breaker_find(delivery_breaker *b, const char *host, bool create)
{
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->hosts[i].host, host) == 0)
            return &b->hosts[i];
    if (!create)
        return NULL;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        breaker_host *grown = realloc(b->hosts, cap * sizeof *grown);
        if (!grown)
            return NULL;
        b->hosts = grown;
        b->cap = cap;
    }
    breaker_host *h = &b->hosts[b->n++];
    memset(h, 0, sizeof *h);
    snprintf(h->host, sizeof h->host, "%s", host);
    return h;
}

/* Failing, or its oldest request unanswered for too long: one request at a time. */
static bool breaker_suspect(const breaker_host *h, double now)
{
    return h->failures >= BREAKER_SUSPECT_FAILURES ||
           (h->in_flight > 0 && now - h->last_progress > BREAKER_STALL_SECONDS);
}

/* Healthy, idle hosts are dropped so the table only holds hosts worth watching. */
static void breaker_forget(delivery_breaker *b, breaker_host *h)
{
    *h = b->hosts[--b->n];
}

int delivery_breaker_enter(delivery_breaker *b, const char *host, char *why, size_t whylen)
{
    int rc = 0;
    pthread_mutex_lock(&b->lock);
    for (;;) {
        double now = base_monotonic();
        breaker_host *h = breaker_find(b, host, true);
        if (!h) {
            snprintf(why, whylen, "out of memory in the delivery circuit breaker");
            rc = -1;
            break;
        }
        if (h->open_until > now) {
            snprintf(why, whylen, "circuit for %s open for %.0f more seconds after %d consecutive "
                     "failures", host, h->open_until - now, h->failures);
            rc = -1;
            break;
        }
        bool suspect = breaker_suspect(h, now);
        /* a host that answers has no cap: see delivery.h */
        int cap = suspect ? 1 : h->proven ? INT_MAX : b->unproven_cap;
        if (h->in_flight < cap) {
            if (h->in_flight == 0)
                h->last_progress = now;
            h->in_flight++;
            break;
        }
        if (suspect) {
            snprintf(why, whylen, "%s has %d deliveries in flight and is not answering (recent "
                     "failures or no reply for over %.0f s)", host, h->in_flight,
                     BREAKER_STALL_SECONDS);
            rc = -1;
            break;
        }
        /* a healthy host at its limit: wait for an answer, or until it stalls */
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += 100 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        h->waiting++;
        b->waiting++;
        pthread_cond_timedwait(&b->answered, &b->lock, &until);
        /* the table may have moved while waiting: find the host again */
        h = breaker_find(b, host, false);
        if (h)
            h->waiting--;
        b->waiting--;
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

int delivery_breaker_give_up(delivery_breaker *b, const char *host, const void *flight, char *why,
                             size_t whylen)
{
    int rc = 0;
    pthread_mutex_lock(&b->lock);
    double now = base_monotonic();
    breaker_host *h = breaker_find(b, host, false);
    if (h && h->in_flight > 1 && now - h->last_progress > BREAKER_CUT_SECONDS) {
        if (!h->keeper)
            h->keeper = flight;
        if (h->keeper != flight) {
            snprintf(why, whylen, "cut off: %s has answered none of its %d deliveries in flight "
                     "for %.0f s; one of them waits on, the others are retried later",
                     host, h->in_flight, now - h->last_progress);
            b->cut_offs++;
            rc = -1;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

void delivery_breaker_states(delivery_breaker *b, int *open, int *suspect, int *closed,
                             unsigned long *cut_offs)
{
    *open = *suspect = *closed = 0;
    pthread_mutex_lock(&b->lock);
    *cut_offs = b->cut_offs;
    double now = base_monotonic();
    for (size_t i = 0; i < b->n; i++) {
        const breaker_host *h = &b->hosts[i];
        if (h->open_until > now)
            (*open)++;
        else if (breaker_suspect(h, now))
            (*suspect)++;
        else
            (*closed)++;
    }
    pthread_mutex_unlock(&b->lock);
}

void delivery_breaker_leave(delivery_breaker *b, const char *host, const void *flight,
                           delivery_outcome outcome)
{
    double now = base_monotonic();
    bool opened = false;
    int failures = 0;
    pthread_mutex_lock(&b->lock);
    breaker_host *h = breaker_find(b, host, false);
    bool proven_now = false;
    if (h) {
        h->in_flight--;
        if (h->keeper == flight)
            h->keeper = NULL;
        /* a delivery cut off is no answer, nor a failure of the host's */
        if (outcome != DELIVERY_CUT)
            h->last_progress = now;
        if (outcome == DELIVERY_ANSWERED) {
            proven_now = !h->proven;
            h->proven = true;
            h->failures = 0;
            h->open_until = 0;
        } else if (outcome == DELIVERY_FAILED && ++h->failures >= b->threshold) {
            h->open_until = now + b->cooloff;
            opened = true;
            failures = h->failures;
        }
    }
    /* one waiter is enough when all of them wait for this host and its cap did not
     * just rise; else all look */
    if (h && b->waiting > 0 && h->waiting == b->waiting && !proven_now)
        pthread_cond_signal(&b->answered);
    else if (b->waiting > 0)
        pthread_cond_broadcast(&b->answered);
    if (h && h->in_flight == 0 && h->failures == 0 && h->waiting == 0)
        breaker_forget(b, h);
    pthread_mutex_unlock(&b->lock);
    if (opened)
        base_log(BASE_LOG_WARN, "delivery: circuit for %s open for %.0f s after %d consecutive failures; "
              "deliveries to it fail fast until then", host, b->cooloff, failures);
}
