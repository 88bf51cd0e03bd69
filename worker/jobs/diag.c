/* diag.c -- built-in diagnostic jobs for the demo, the tests and the benchmarks:
 *   Scotty::Diag::Noop                      does nothing
 *   Scotty::Diag::Sleep [ms]                sleeps, giving up when the stop deadline passes
 *   Scotty::Diag::Hang [ms]                 sleeps and ignores the stop deadline, as a
 *                                           handler stuck in a library call would
 *   Scotty::Diag::Fail [message]            raises RuntimeError with the message
 *   Scotty::Diag::Enqueue [class, queue, args, n]  pushes the job (n copies in one bulk
 *                                           push) with scotty's client
 *   Scotty::Diag::Mark [key, member, ms]    sleeps ms, then RPUSHes member to key (tests
 *                                           use it to see which jobs ran, in what order) */
#include "jobs.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define DIAG_MS_MAX (24L * 3600 * 1000) /* a day: longer pauses are refused */

static void diag_noop(q_ctx *ctx, const q_job *job, q_result *r) {}

/* A pause argument: absent or null = dflt, else milliseconds 0..DIAG_MS_MAX. Returns
 * false (r failed) for anything else. */
static bool diag_ms(const json_t *v, long dflt, long *ms, q_result *r)
{
    if (!v || json_is_null(v)) {
        *ms = dflt;
        return true;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > DIAG_MS_MAX) {
        q_fail(r, "ArgumentError", "a pause must be an integer from 0 to %ld milliseconds", DIAG_MS_MAX);
        return false;
    }
    *ms = (long)json_integer_value(v);
    return true;
}

/* Sleeps `total` milliseconds in small steps, reporting progress. */
static void diag_pause(q_ctx *ctx, long total)
{
    double end = base_monotonic() + (double)total / 1000.0;
    while (base_monotonic() < end && !q_ctx_stopping(ctx)) {
        double left = end - base_monotonic();
        double step = left < 0.05 ? left : 0.05;
        if (step > 0) {
            struct timespec ts = {0, (long)(step * 1e9)};
            nanosleep(&ts, NULL);
        }
        if (total > 0)
            q_ctx_progress(ctx, (int)(100.0 * (1.0 - (end - base_monotonic()) / ((double)total / 1000.0))));
    }
}

static void diag_sleep(q_ctx *ctx, const q_job *job, q_result *r)
{
    long total;
    if (diag_ms(json_array_get(job->args, 0), 1000, &total, r))
        diag_pause(ctx, total);
}

static void diag_hang(q_ctx *ctx, const q_job *job, q_result *r)
{
    long total;
    if (!diag_ms(json_array_get(job->args, 0), 1000, &total, r))
        return;
    struct timespec ts = {total / 1000, (total % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void diag_mark(q_ctx *ctx, const q_job *job, q_result *r)
{
    json_t *key = json_array_get(job->args, 0), *member = json_array_get(job->args, 1);
    if (!json_is_string(key) || !json_is_string(member)) {
        q_fail(r, "ArgumentError", "expected [key, member, ms]");
        return;
    }
    long ms;
    if (!diag_ms(json_array_get(job->args, 2), 0, &ms, r))
        return;
    if (ms > 0)
        diag_pause(ctx, ms);
    /* Binary-safe: a member holding a NUL (valid JSON, as "\u0000") is pushed whole. */
    redisReply *rep = q_conn_cmd(q_ctx_redis(ctx), "RPUSH %b %b", json_string_value(key), json_string_length(key),
                                 json_string_value(member), json_string_length(member));
    if (!rep)
        q_fail(r, "Redis::CannotConnectError", "%s", q_conn_error(q_ctx_redis(ctx)));
    q_reply_free(rep);
}

static void diag_fail(q_ctx *ctx, const q_job *job, q_result *r)
{
    json_t *m = json_array_get(job->args, 0);
    q_fail(r, "RuntimeError", "%s", json_is_string(m) ? json_string_value(m) : "diagnostic failure");
    r->backtrace[0] = "worker/jobs/diag.c:in `Scotty::Diag::Fail#perform'";
    r->backtrace_len = 1;
}

static void diag_enqueue(q_ctx *ctx, const q_job *job, q_result *r)
{
    json_t *klass = json_array_get(job->args, 0), *queue = json_array_get(job->args, 1);
    json_t *args = json_array_get(job->args, 2), *count = json_array_get(job->args, 3);
    if (!json_is_string(klass) || !json_is_string(queue) || (args && !json_is_array(args)) ||
        (count && (!json_is_integer(count) || json_integer_value(count) < 1 ||
                   json_integer_value(count) > 100000))) {
        q_fail(r, "ArgumentError", "expected [class, queue, args array, copies 1..100000]");
        return;
    }
    base_buf b;
    base_buf_init(&b);
    if (args)
        base_json_value(&b, args);
    else
        base_buf_adds(&b, "[]");
    q_push p = {.klass = json_string_value(klass), .queue = json_string_value(queue),
                .args_json = b.data};
    char err[Q_ERRLEN];
    size_t n = count ? (size_t)json_integer_value(count) : 1;
    q_ts_format ts = q_ctx_retry(ctx)->ts; /* as Sidekiq's client writes them, per version */
    int rc;
    if (n == 1) {
        rc = q_client_push(q_ctx_redis(ctx), &p, ts, NULL, err, sizeof err);
    } else {
        const char **each = malloc(n * sizeof *each);
        for (size_t i = 0; i < n; i++)
            each[i] = b.data;
        rc = q_client_push_bulk(q_ctx_redis(ctx), &p, each, n, ts, err, sizeof err);
        free(each);
    }
    if (rc != 0)
        q_fail(r, "Redis::CannotConnectError", "%s", err);
    base_buf_free(&b);
}

void jobs_register_diag(q_registry *reg)
{
    static const q_handler handlers[] = {
        {.klass = "Scotty::Diag::Noop", .run = diag_noop, .retry = -1},
        {.klass = "Scotty::Diag::Sleep", .run = diag_sleep, .retry = -1},
        {.klass = "Scotty::Diag::Hang", .run = diag_hang, .retry = -1},
        {.klass = "Scotty::Diag::Fail", .run = diag_fail, .retry = -1},
        {.klass = "Scotty::Diag::Enqueue", .run = diag_enqueue, .retry = -1},
        {.klass = "Scotty::Diag::Mark", .run = diag_mark, .retry = -1},
    };
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        q_registry_add(reg, &handlers[i]);
}
