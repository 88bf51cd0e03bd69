/* storage_bench.c -- throughput of the storage layer against the servers the
 * run_*_test.sh harnesses start (not a test: it prints numbers).
 *   run_s3_test.sh storage_bench objstore THREADS COUNT SIZE
 *   run_db_test.sh storage_bench db THREADS COUNT
 * objstore: COUNT puts of SIZE bytes per thread through one shared store.
 * db: `db init`, then COUNT transactions per thread, each inserting a status, its
 * status_stats row and a media_attachments row, through a pool of THREADS. */
#include "storage.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct bench_thread {
    int id, count, failures;
    size_t size;
    objstore *store;
    db_pool *pool;
    long long account_id;
    char err[1024];
} bench_thread;

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *objstore_worker(void *arg)
{
    bench_thread *t = arg;
    char *data = malloc(t->size ? t->size : 1);
    if (!data)
        abort();
    memset(data, 'x', t->size);
    for (int i = 0; i < t->count; i++) {
        char key[128];
        snprintf(key, sizeof key, "bench-%d/cache/media_attachments/files/%06d.bin", t->id, i);
        if (objstore_put_buf(t->store, key, data, t->size, "application/octet-stream", t->err,
                             sizeof t->err) != 0)
            t->failures++;
    }
    free(data);
    return NULL;
}

static int insert_status(db_conn *c, void *user, char *err, size_t errlen)
{
    bench_thread *t = user;
    char account[32];
    snprintf(account, sizeof account, "%lld", t->account_id);
    const char *p[1] = {account};
    PGresult *r = db_exec(c, "bench_status",
                          "INSERT INTO statuses (account_id, text, created_at, updated_at, local) "
                          "VALUES ($1, 'hello', now(), now(), false) RETURNING id",
                          1, p, err, errlen);
    if (!r)
        return -1;
    char id[32];
    snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    const char *q[2] = {id, account};
    r = db_exec(c, "bench_stats",
                "INSERT INTO status_stats (status_id, created_at, updated_at) "
                "VALUES ($1, now(), now())", 1, q, err, errlen);
    if (!r)
        return -1;
    PQclear(r);
    r = db_exec(c, "bench_media",
                "INSERT INTO media_attachments (status_id, account_id, remote_url, created_at, "
                "updated_at) VALUES ($1, $2, 'https://example.com/a.png', now(), now())",
                2, q, err, errlen);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

static void *db_worker(void *arg)
{
    bench_thread *t = arg;
    for (int i = 0; i < t->count; i++) {
        db_conn *c = db_pool_acquire(t->pool);
        if (db_tx(c, insert_status, t, t->err, sizeof t->err) != 0)
            t->failures++;
        db_pool_release(t->pool, c);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "objstore") && strcmp(argv[1], "db"))) {
        fprintf(stderr, "usage: %s objstore THREADS COUNT SIZE | db THREADS COUNT\n", argv[0]);
        return 2;
    }
    bool db = strcmp(argv[1], "db") == 0;
    int threads = atoi(argv[2]), count = atoi(argv[3]);
    size_t size = argc > 4 ? (size_t)atol(argv[4]) : 0;
    if (threads < 1 || threads > 64 || count < 1) {
        fprintf(stderr, "THREADS must be 1..64 and COUNT positive\n");
        return 2;
    }
    char err[1024];
    objstore *store = NULL;
    db_settings settings;
    db_pool *pool = NULL;
    long long account_id = 0;
    if (db) {
        if (db_settings_from_env(&settings, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        pool = db_pool_new(&settings, threads);
        db_conn *c = db_pool_acquire(pool);
        if (db_schema_init(c, err, sizeof err) != 0) {
            fprintf(stderr, "db init: %s\n", err);
            return 1;
        }
        PGresult *r = db_exec(c, NULL, "INSERT INTO accounts (username, domain, created_at, "
                                       "updated_at) VALUES ('bench', 'example.com', now(), now()) "
                                       "RETURNING id", 0, NULL, err, sizeof err);
        if (!r) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        account_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        db_pool_release(pool, c);
    } else {
        objstore_cfg cfg;
        if (objstore_cfg_from_env(&cfg, err, sizeof err) != 0 ||
            !(store = objstore_new(&cfg, err, sizeof err))) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
    }
    bench_thread *t = calloc((size_t)threads, sizeof *t);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    if (!t || !tid)
        abort();
    double start = bench_now();
    for (int i = 0; i < threads; i++) {
        t[i] = (bench_thread){.id = i, .count = count, .size = size, .store = store,
                              .pool = pool, .account_id = account_id};
        pthread_create(&tid[i], NULL, db ? db_worker : objstore_worker, &t[i]);
    }
    int failures = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        failures += t[i].failures;
        if (t[i].failures)
            fprintf(stderr, "thread %d: %d failures, last: %s\n", i, t[i].failures, t[i].err);
    }
    double secs = bench_now() - start;
    long total = (long)threads * count;
    if (db)
        printf("db: %ld transactions (status + status_stats + media row) in %.2f s with %d "
               "connections: %.0f/s, %d failed\n", total, secs, threads, total / secs, failures);
    else
        printf("objstore (%s): %ld puts of %zu bytes in %.2f s with %d threads: %.0f puts/s, "
               "%.1f MB/s, %d failed\n", getenv("S3_ENABLED") ? "S3" : "filesystem", total, size,
               secs, threads, total / secs, (double)total * (double)size / secs / 1e6, failures);
    free(t);
    free(tid);
    objstore_free(store);
    db_pool_free(pool);
    return failures ? 1 : 0;
}
