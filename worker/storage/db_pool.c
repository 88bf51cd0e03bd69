/* db_pool.c -- a fixed set of PostgreSQL connections shared by processor threads:
 * acquire blocks until one is free, release hands it back. Connections open
 * lazily and reconnect by themselves (db_conn.c). When the pool is freed it logs the
 * statements and round trips its connections made (read by tests/bench/ingress.sh). */
#include "db_batch.h"

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
    unsigned long statements = 0, round_trips = 0;
    for (int i = 0; i < p->size; i++) {
        statements += db_conn_statements(p->all[i]);
        round_trips += db_conn_round_trips(p->all[i]);
        db_conn_free(p->all[i]);
    }
    if (statements)
        base_log(BASE_LOG_INFO, "PostgreSQL pool: %lu statements in %lu round trips", statements,
                 round_trips);
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
