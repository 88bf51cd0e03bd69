/* delivery_avail.c -- a short memo of hosts found available (no unavailable_domains
 * row), so a stream of deliveries to one host asks PostgreSQL once per few seconds
 * instead of once per job (see delivery.h). */
#include "delivery.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define AVAIL_SLOTS 1024   /* direct-mapped by a hash of the host; a collision forgets */

typedef struct avail_slot {
    char host[256];
    double checked;        /* monotonic time of the lookup that found it available */
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

bool delivery_avail_known(delivery_avail *a, const char *host)
{
    double now = base_monotonic();
    pthread_mutex_lock(&a->lock);
    const avail_slot *s = avail_slot_for(a, host);
    bool known = strcmp(s->host, host) == 0 && now - s->checked < a->ttl;
    pthread_mutex_unlock(&a->lock);
    return known;
}

void delivery_avail_note(delivery_avail *a, const char *host, bool available)
{
    if (strlen(host) >= sizeof a->slots[0].host)
        return;
    double now = base_monotonic();
    pthread_mutex_lock(&a->lock);
    avail_slot *s = avail_slot_for(a, host);
    if (available) {
        strcpy(s->host, host);
        s->checked = now;
    } else if (strcmp(s->host, host) == 0) {
        s->host[0] = '\0';
    }
    pthread_mutex_unlock(&a->lock);
}
