/* base_log_out.c -- where log lines go: stderr, written directly, or, once a process
 * starts the writer (base_log_out_start), by a writer thread in batches. With per-job
 * log lines at tens of thousands of jobs a second, one write(2) per line was a tenth
 * of the worker's CPU. Lines at WARN and above are still written before base_log
 * returns (after every line before them), so what precedes a crash is on disk; only
 * INFO/DEBUG lines of the last moments can be lost to a kill -9. */
#include "base.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BASE_LOG_OUT_MAX (256u << 10) /* lines waiting beyond this are written by their caller */

/* The writer's state, guarded by mu. Owned by this file; the writer thread and every
 * thread that logs share it. */
static pthread_mutex_t base_log_out_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t base_log_out_wake = PTHREAD_COND_INITIALIZER;   /* writer: lines wait */
static pthread_cond_t base_log_out_done = PTHREAD_COND_INITIALIZER;   /* callers: lines written */
static base_buf base_log_out_pending;   /* lines not yet handed to the writer */
static unsigned long long base_log_out_queued, base_log_out_written; /* line counts */
static bool base_log_out_running, base_log_out_stopping;
static pthread_t base_log_out_thread;

static void base_log_out_raw(const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, p, len);
        if (n <= 0)
            return; /* nowhere to report a broken stderr */
        p += n;
        len -= (size_t)n;
    }
}

static void *base_log_out_main(void *arg)
{
    (void)arg;
    base_buf batch;
    base_buf_init(&batch);
    pthread_mutex_lock(&base_log_out_mu);
    for (;;) {
        while (base_log_out_pending.len == 0 && !base_log_out_stopping)
            pthread_cond_wait(&base_log_out_wake, &base_log_out_mu);
        if (base_log_out_pending.len == 0)
            break;
        base_buf swap = batch;
        batch = base_log_out_pending;
        base_log_out_pending = swap;
        base_log_out_pending.len = 0;
        unsigned long long upto = base_log_out_queued;
        pthread_mutex_unlock(&base_log_out_mu);
        base_log_out_raw(batch.data, batch.len);
        batch.len = 0;
        pthread_mutex_lock(&base_log_out_mu);
        base_log_out_written = upto;
        pthread_cond_broadcast(&base_log_out_done);
    }
    pthread_mutex_unlock(&base_log_out_mu);
    base_buf_free(&batch);
    return NULL;
}

void base_log_out_write(const char *line, size_t len, bool wait)
{
    pthread_mutex_lock(&base_log_out_mu);
    if (!base_log_out_running || base_log_out_pending.len + len > BASE_LOG_OUT_MAX) {
        /* No writer, or it is far behind: write here, after the lines before it. */
        while (base_log_out_running && base_log_out_written < base_log_out_queued)
            pthread_cond_wait(&base_log_out_done, &base_log_out_mu);
        base_log_out_raw(line, len);
        pthread_mutex_unlock(&base_log_out_mu);
        return;
    }
    bool was_empty = base_log_out_pending.len == 0;
    base_buf_add(&base_log_out_pending, line, len);
    unsigned long long mine = ++base_log_out_queued;
    if (was_empty)
        pthread_cond_signal(&base_log_out_wake);
    while (wait && base_log_out_written < mine)
        pthread_cond_wait(&base_log_out_done, &base_log_out_mu);
    pthread_mutex_unlock(&base_log_out_mu);
}

int base_log_out_start(void)
{
    pthread_mutex_lock(&base_log_out_mu);
    int rc = 0;
    if (!base_log_out_running) {
        base_log_out_stopping = false;
        rc = pthread_create(&base_log_out_thread, NULL, base_log_out_main, NULL);
        base_log_out_running = rc == 0;
    }
    pthread_mutex_unlock(&base_log_out_mu);
    return rc == 0 ? 0 : -1;
}

void base_log_out_stop(void)
{
    pthread_mutex_lock(&base_log_out_mu);
    if (!base_log_out_running || base_log_out_stopping) { /* not started, or another stop joins it */
        pthread_mutex_unlock(&base_log_out_mu);
        return;
    }
    base_log_out_stopping = true;
    pthread_cond_signal(&base_log_out_wake);
    pthread_mutex_unlock(&base_log_out_mu);
    pthread_join(base_log_out_thread, NULL);
    pthread_mutex_lock(&base_log_out_mu);
    /* Lines queued after the writer's last look are written here, and whoever waits
     * for them is told. */
    base_log_out_raw(base_log_out_pending.data, base_log_out_pending.len);
    base_log_out_written = base_log_out_queued;
    base_log_out_running = false;
    pthread_cond_broadcast(&base_log_out_done);
    base_buf_free(&base_log_out_pending);
    base_buf_init(&base_log_out_pending);
    pthread_mutex_unlock(&base_log_out_mu);
}
