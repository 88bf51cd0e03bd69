/* delivery_avail.c -- a short memo per host of what the failure tracker last found:
 * available (no unavailable_domains row) and clean (no failure days in Redis), so a
 * stream of deliveries to one host asks PostgreSQL and Redis once per few seconds
 * instead of once per job (see delivery.h). */
#include "delivery.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define AVAIL_SLOTS 1024   /* direct-mapped by a hash of the host; a collision forgets */

typedef struct avail_slot {
    char host[256];
    double available;      /* monotonic time it was found available; 0: not known */
    double clean;          /* monotonic time its failure days were deleted; 0: not known */
} avail_slot;

struct delivery_avail {
    pthread_mutex_t lock;  /* guards slots */
    double ttl;
    avail_slot slots[AVAIL_SLOTS];
};

delivery_avail *delivery_avail_new(double ttl)
{
    delivery_avail *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    pthread_mutex_init(&a->lock, NULL);
    a->ttl = ttl;
    return a;
}

void delivery_avail_free(delivery_avail *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->lock);
    free(a);
}

/* FNV-1a */
static avail_slot *avail_slot_for(delivery_avail *a, const char *host)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)host; *p; p++)
        h = (h ^ *p) * 16777619u;
    return &a->slots[h % AVAIL_SLOTS];
}

/* Called with the lock held: host's slot, taken over (knowing nothing) if another
 * host had it. NULL for a host too long to remember. */
static avail_slot *avail_claim(delivery_avail *a, const char *host)
{
    if (strlen(host) >= sizeof a->slots[0].host)
        return NULL;
    avail_slot *s = avail_slot_for(a, host);
    if (strcmp(s->host, host) != 0) {
        strcpy(s->host, host);
        s->available = s->clean = 0;
    }
    return s;
}

static bool avail_fresh(const delivery_avail *a, double at, double now)
{
    return at > 0 && now - at < a->ttl;
}

bool delivery_avail_known(delivery_avail *a, const char *host)
{
    double now = base_monotonic();
    pthread_mutex_lock(&a->lock);
    const avail_slot *s = avail_slot_for(a, host);
    bool known = strcmp(s->host, host) == 0 && avail_fresh(a, s->available, now);
    pthread_mutex_unlock(&a->lock);
    return known;
}

void delivery_avail_note(delivery_avail *a, const char *host, bool available)
{
    double now = base_monotonic();
    pthread_mutex_lock(&a->lock);
    avail_slot *s = avail_claim(a, host);
    if (s)
        s->available = available ? now : 0;
    pthread_mutex_unlock(&a->lock);
}

bool delivery_avail_clean(delivery_avail *a, const char *host)
{
    double now = base_monotonic();
    pthread_mutex_lock(&a->lock);
    const avail_slot *s = avail_slot_for(a, host);
    bool clean = strcmp(s->host, host) == 0 && avail_fresh(a, s->clean, now);
    pthread_mutex_unlock(&a->lock);
    return clean;
}

void delivery_avail_note_clean(delivery_avail *a, const char *host, bool clean)
{
    double now = base_monotonic();
    pthread_mutex_lock(&a->lock);
    avail_slot *s = avail_claim(a, host);
    if (s)
        s->clean = clean ? now : 0;
    pthread_mutex_unlock(&a->lock);
}
