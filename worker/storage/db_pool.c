/* db_pool.c -- a fixed set of PostgreSQL connections shared by processor threads:
 * acquire blocks until one is free, release hands it back. Connections open
 * lazily and reconnect by themselves (db_conn.c). */
#include "storage.h"

#include <pthread.h>
#include <stdlib.h>

struct db_pool {
    pthread_mutex_t lock;      /* guards free_list and nfree */
    pthread_cond_t available;  /* signalled on release */
    db_conn **all;
    db_conn **free_list;
    int size, nfree;
};

db_pool *db_pool_new(const db_settings *s, int size)
{
    if (size < 1)
        size = 1;
    db_pool *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->all = calloc((size_t)size, sizeof *p->all);
    p->free_list = calloc((size_t)size, sizeof *p->free_list);
    if (!p->all || !p->free_list)
        abort();
    for (int i = 0; i < size; i++)
        p->all[i] = p->free_list[i] = db_conn_new(s);
    p->size = p->nfree = size;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->available, NULL);
    return p;
}

void db_pool_free(db_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->size; i++)
        db_conn_free(p->all[i]);
    free(p->all);
    free(p->free_list);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->available);
    free(p);
}

db_conn *db_pool_acquire(db_pool *p)
{
    pthread_mutex_lock(&p->lock);
    while (p->nfree == 0)
        pthread_cond_wait(&p->available, &p->lock);
    db_conn *c = p->free_list[--p->nfree];
    pthread_mutex_unlock(&p->lock);
    return c;
}

void db_pool_release(db_pool *p, db_conn *c)
{
    pthread_mutex_lock(&p->lock);
    p->free_list[p->nfree++] = c;
    pthread_cond_signal(&p->available);
    pthread_mutex_unlock(&p->lock);
}
