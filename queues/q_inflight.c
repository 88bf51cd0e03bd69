/* q_inflight.c -- the jobs of one private list that this process knows it holds.
 *
 * A fetch moves jobs into the private list in Redis and returns them. When its reply
 * is lost (Redis died, the connection broke), the jobs are in the list but not in
 * memory: nobody would run them until the process stops. So each fetcher counts the
 * jobs it delivered (by a 64-bit hash of their bytes) until the acker has written
 * their outcome, and after a lost reply compares the list with that count: what the
 * list holds beyond it was fetched but never delivered, and is delivered now. */
#include "q_internal.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

uint64_t q_inflight_hash(const char *raw, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)raw[i];
        h *= 1099511628211ULL;
    }
    return h ? h : 1; /* 0 marks an empty slot */
}

void q_inflight_init(q_inflight *t)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
}

void q_inflight_free(q_inflight *t)
{
    free(t->slots);
    pthread_mutex_destroy(&t->mu);
}

/* The slot of h, or the empty slot where it would go. t->cap > 0. */
static q_inflight_slot *q_inflight_find(q_inflight *t, uint64_t h)
{
    size_t i = (size_t)h & (t->cap - 1);
    while (t->slots[i].hash && t->slots[i].hash != h)
        i = (i + 1) & (t->cap - 1);
    return &t->slots[i];
}

/* Rehashes when half the slots are used, dropping slots counted down to 0; the table
 * doubles only when live jobs fill a quarter of it, so a long-running process does
 * not grow with the number of jobs it has ever fetched. */
static void q_inflight_grow(q_inflight *t)
{
    q_inflight_slot *old = t->slots;
    size_t old_cap = t->cap, live = 0;
    for (size_t i = 0; i < old_cap; i++)
        live += old[i].count > 0;
    t->cap = !old_cap ? 64 : live * 4 > old_cap ? old_cap * 2 : old_cap;
    t->slots = calloc(t->cap, sizeof *t->slots);
    t->used = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].count > 0) {
            *q_inflight_find(t, old[i].hash) = old[i];
            t->used++;
        }
    free(old);
}

static void q_inflight_add_locked(q_inflight *t, uint64_t h)
{
    if ((t->used + 1) * 2 > t->cap)
        q_inflight_grow(t);
    q_inflight_slot *s = q_inflight_find(t, h);
    if (!s->hash) {
        s->hash = h;
        t->used++;
    }
    s->count++;
}

/* Counts h down; false if it was not counted. */
static bool q_inflight_take_locked(q_inflight *t, uint64_t h)
{
    if (!t->cap)
        return false;
    q_inflight_slot *s = q_inflight_find(t, h);
    if (!s->hash || s->count == 0)
        return false;
    s->count--;
    return true;
}

void q_inflight_add(q_inflight *t, uint64_t h)
{
    pthread_mutex_lock(&t->mu);
    q_inflight_add_locked(t, h);
    pthread_mutex_unlock(&t->mu);
}

void q_inflight_remove(q_inflight *t, uint64_t h)
{
    pthread_mutex_lock(&t->mu);
    q_inflight_take_locked(t, h);
    pthread_mutex_unlock(&t->mu);
}

redisReply *q_inflight_unknown(q_inflight *t, q_conn *c, const char *private_key, bool **unknown)
{
    /* Held across the read: an outcome written meanwhile cannot make a job we know of
     * look unknown (the acker counts it down only after its removal is written). */
    pthread_mutex_lock(&t->mu);
    redisReply *r = q_conn_cmd(c, "LRANGE %s 0 -1", private_key);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        pthread_mutex_unlock(&t->mu);
        q_reply_free(r);
        return NULL;
    }
    bool *u = calloc(r->elements ? r->elements : 1, sizeof *u);
    uint64_t *taken = calloc(r->elements ? r->elements : 1, sizeof *taken);
    size_t ntaken = 0;
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *item = r->element[i];
        if (item->type != REDIS_REPLY_STRING)
            continue;
        uint64_t h = q_inflight_hash(item->str, item->len);
        if (q_inflight_take_locked(t, h))
            taken[ntaken++] = h;
        else
            u[i] = true;
    }
    for (size_t i = 0; i < ntaken; i++)
        q_inflight_add_locked(t, taken[i]);
    pthread_mutex_unlock(&t->mu);
    free(taken);
    *unknown = u;
    return r;
}
