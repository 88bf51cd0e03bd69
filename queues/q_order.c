/* q_order.c -- the order in which queues are tried, as Sidekiq computes it.
 * Strict (no weights): declared order, every fetch. Weighted: each queue appears
 * max(weight,1) times; every fetch shuffles that list and keeps first
 * occurrences, so queue X leads with probability w_X / sum(w). */
#include "queues.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int q_order_add(q_order *o, const char *spec, char *err, size_t errlen)
{
    char name[Q_NAME_MAX];
    int weight = 0;
    const char *comma = strchr(spec, ',');
    size_t n = comma ? (size_t)(comma - spec) : strlen(spec);
    if (n == 0) {
        snprintf(err, errlen, "invalid queue '%s': expected NAME or NAME,WEIGHT", spec);
        return -1;
    }
    if (n >= sizeof name) {
        snprintf(err, errlen, "queue name '%.*s...' is %zu bytes long; at most %d are allowed", 40,
                 spec, n, Q_NAME_MAX - 1);
        return -1;
    }
    memcpy(name, spec, n);
    name[n] = '\0';
    if (comma) {
        char *end;
        long w = strtol(comma + 1, &end, 10);
        if (*end || end == comma + 1 || w < 0 || w > 1000) {
            snprintf(err, errlen, "invalid weight in queue '%s': expected an integer 0..1000", spec);
            return -1;
        }
        weight = (int)w;
    }
    for (int i = 0; i < o->nqueues; i++)
        if (strcmp(o->queues[i].name, name) == 0) {
            snprintf(err, errlen, "queue '%s' is listed twice", name);
            return -1;
        }
    if (o->nqueues == Q_MAX_QUEUES) {
        snprintf(err, errlen, "too many queues (at most %d)", Q_MAX_QUEUES);
        return -1;
    }
    int reps = weight > 1 ? weight : 1;
    if (o->nexpanded + reps > (int)(sizeof o->expanded / sizeof o->expanded[0])) {
        snprintf(err, errlen, "queue weights add up to more than %d",
                 (int)(sizeof o->expanded / sizeof o->expanded[0]));
        return -1;
    }
    q_queue_spec *q = &o->queues[o->nqueues];
    snprintf(q->name, sizeof q->name, "%s", name);
    q->weight = weight;
    for (int i = 0; i < reps; i++)
        o->expanded[o->nexpanded++] = o->nqueues;
    o->nqueues++;
    o->strict = true;
    for (int i = 0; i < o->nqueues; i++)
        if (o->queues[i].weight > 0)
            o->strict = false;
    return 0;
}

int q_order_pick(const q_order *o, unsigned *seed, int *out)
{
    if (o->strict) {
        for (int i = 0; i < o->nqueues; i++)
            out[i] = i;
        return o->nqueues;
    }
    int list[sizeof o->expanded / sizeof o->expanded[0]];
    memcpy(list, o->expanded, sizeof(int) * (size_t)o->nexpanded);
    for (int i = o->nexpanded - 1; i > 0; i--) { /* Fisher-Yates */
        int j = (int)(rand_r(seed) % (unsigned)(i + 1));
        int t = list[i];
        list[i] = list[j];
        list[j] = t;
    }
    bool seen[Q_MAX_QUEUES] = {false};
    int n = 0;
    for (int i = 0; i < o->nexpanded; i++)
        if (!seen[list[i]]) {
            seen[list[i]] = true;
            out[n++] = list[i];
        }
    return n;
}
