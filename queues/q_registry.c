/* q_registry.c -- maps Ruby job class names to C handlers. Filled before the
 * engine starts, read-only afterwards (no lock needed while running). */
#include "queues.h"

#include <stdlib.h>
#include <string.h>

struct q_registry {
    q_handler *items; /* sorted by klass for bsearch */
    size_t n, cap;
};

q_registry *q_registry_new(void) { return calloc(1, sizeof(q_registry)); }

void q_registry_free(q_registry *reg)
{
    if (!reg)
        return;
    free(reg->items);
    free(reg);
}

static int q_handler_cmp(const void *a, const void *b)
{
    return strcmp(((const q_handler *)a)->klass, ((const q_handler *)b)->klass);
}

int q_registry_add(q_registry *reg, const q_handler *h)
{
    if (q_registry_find(reg, h->klass))
        return -1;
    if (reg->n == reg->cap) {
        size_t cap = reg->cap ? reg->cap * 2 : 16;
        q_handler *p = realloc(reg->items, cap * sizeof *p);
        if (!p)
            return -1;
        reg->items = p;
        reg->cap = cap;
    }
    reg->items[reg->n++] = *h;
    qsort(reg->items, reg->n, sizeof *reg->items, q_handler_cmp);
    return 0;
}

const q_handler *q_registry_find(const q_registry *reg, const char *klass)
{
    if (!klass || !reg->n)
        return NULL;
    q_handler key = {.klass = klass};
    return bsearch(&key, reg->items, reg->n, sizeof *reg->items, q_handler_cmp);
}
