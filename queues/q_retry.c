/* q_retry.c -- what happens to a failed job, exactly as Sidekiq's JobRetry does it:
 * retry with backoff, the dead set, or discard; and the new payload, built by
 * editing the raw job in Ruby's field order (queue in place, then error_message,
 * error_class, failed_at|retried_at, retry_count, error_backtrace). */
#include "queues.h"

#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define Q_RETRY_COUNT_MAX 50000 /* 49999^4 + jitter still fits a long */

/* Counts outside 0..Q_RETRY_COUNT_MAX-1 are clamped: no division by zero, no overflow. */
static int q_retry_clamp(int count)
{
    return count < 0 ? 0 : count >= Q_RETRY_COUNT_MAX ? Q_RETRY_COUNT_MAX - 1 : count;
}

long q_retry_delay(int major, int count, unsigned *seed)
{
    count = q_retry_clamp(count);
    long c = count;
    long base = c * c * c * c + 15;
    return base + q_retry_jitter(major, count, seed);
}

long q_retry_jitter(int major, int count, unsigned *seed)
{
    unsigned r = rand_r(seed);
    count = q_retry_clamp(count);
    if (major >= 8)
        return (long)(r % (unsigned)(10 * (count + 1)));
    return (long)(r % 10) * (count + 1);
}

char *q_backtrace_encode(const char *const *lines, int n)
{
    base_buf js;
    base_buf_init(&js);
    base_buf_add(&js, "[", 1);
    for (int i = 0; i < n; i++) {
        if (i)
            base_buf_add(&js, ",", 1);
        base_json_string(&js, lines[i], strlen(lines[i]));
    }
    base_buf_add(&js, "]", 1);
    uLongf zlen = compressBound(js.len);
    unsigned char *z = malloc(zlen);
    if (compress2(z, &zlen, (const unsigned char *)js.data, js.len, Z_DEFAULT_COMPRESSION) != Z_OK)
        zlen = 0;
    base_buf_free(&js);
    char *b64 = malloc(4 * ((zlen + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)b64, z, (int)zlen); /* strict: no newlines */
    free(z);
    return b64;
}

/* Replaces *payload with a copy that has key set to value_json. */
static void q_edit(char **payload, const char *key, const char *value_json)
{
    char *next = q_json_set(*payload, strlen(*payload), key, value_json);
    if (next) {
        free(*payload);
        *payload = next;
    }
}

static void q_edit_string(char **payload, const char *key, const char *value)
{
    base_buf b;
    base_buf_init(&b);
    base_json_string(&b, value, strlen(value));
    q_edit(payload, key, b.data);
    base_buf_free(&b);
}

/* The "retry" option: -2 = false (no retry), -1 = true (max_retries), N = max N
 * (a negative N is 0, one past INT_MAX is INT_MAX: Sidekiq's reading of them). */
static int q_retry_option(const q_job *job, const q_handler *h)
{
    json_t *r = json_object_get(job->doc, "retry");
    if (!r || json_is_null(r))
        return h ? h->retry : -1;
    if (json_is_false(r))
        return -2;
    if (json_is_integer(r)) {
        json_int_t n = json_integer_value(r);
        return n < 0 ? 0 : n > INT_MAX ? INT_MAX : (int)n;
    }
    return -1; /* true or any other truthy value */
}

char *q_retry_refused_payload(const q_retry_cfg *cfg, const q_job *job, const char *why, double now)
{
    char *p = q_json_set(job->raw, job->raw_len, "error_message", "\"\"");
    if (!job->doc || !p) {
        free(p);
        return NULL;
    }
    char ts[40];
    q_json_timestamp(cfg->ts, now, ts, sizeof ts);
    q_edit_string(&p, "error_message", why);
    q_edit_string(&p, "error_class", "Scotty::RefusedJob");
    q_edit(&p, "failed_at", ts);
    return p;
}

void q_retry_decide(const q_retry_cfg *cfg, const q_job *job, const q_handler *h,
                    const q_result *r, double now, unsigned *seed, q_failure *out)
{
    memset(out, 0, sizeof *out);
    int opt = q_retry_option(job, h);
    if (opt == -2) {
        out->fate = Q_FATE_DISCARD;
        return;
    }
    char *p = strdup(job->raw);
    char ts[40];

    json_t *rq = json_object_get(job->doc, "retry_queue");
    q_edit_string(&p, "queue", json_is_string(rq) ? json_string_value(rq) : job->queue);
    q_edit_string(&p, "error_message", r->error_message);
    q_edit_string(&p, "error_class", r->error_class[0] ? r->error_class : "RuntimeError");

    json_t *rc = json_object_get(job->doc, "retry_count");
    int count = 0;
    q_json_timestamp(cfg->ts, now, ts, sizeof ts);
    if (rc && !json_is_null(rc)) {
        /* Sidekiq adds 1 to an Integer; anything else (or a count whose backoff would
         * not fit) cannot be retried: the job dies with the reason in the log. */
        json_int_t n = json_is_integer(rc) ? json_integer_value(rc) : Q_RETRY_COUNT_MAX;
        if (n < -1 || n >= Q_RETRY_COUNT_MAX) {
            out->note = "its retry_count is not an integer from -1 to 49999";
            n = -1;
        }
        count = (int)n + 1;
        q_edit(&p, "retried_at", ts);
    } else {
        q_edit(&p, "failed_at", ts);
    }
    char num[24];
    snprintf(num, sizeof num, "%d", count);
    q_edit(&p, "retry_count", num);

    json_t *bt = json_object_get(job->doc, "backtrace");
    if (bt && (json_is_true(bt) || (json_is_integer(bt) && json_integer_value(bt) > 0))) {
        int n = r->backtrace_len;
        if (json_is_integer(bt) && json_integer_value(bt) < n)
            n = (int)json_integer_value(bt);
        char *enc = q_backtrace_encode(r->backtrace, n);
        q_edit_string(&p, "error_backtrace", enc);
        free(enc);
    }

    int max = opt >= 0 ? opt : cfg->max_retries;
    bool exhausted;
    json_t *rf = json_object_get(job->doc, "retry_for");
    if (out->note) {
        exhausted = true;
    } else if (cfg->sidekiq_major >= 7 && json_is_integer(rf)) {
        json_t *fa = json_object_get(job->doc, "failed_at");
        double first = fa ? q_json_read_timestamp(fa) : now;
        bool late = first + (double)json_integer_value(rf) < now;
        exhausted = cfg->sidekiq_major >= 8 ? late : (late || count >= max);
    } else {
        exhausted = count >= max;
    }

    long delay = 0;
    if (!exhausted && h && h->backoff) {
        long custom = h->backoff(count, r, job);
        if (custom == Q_BACKOFF_DISCARD) {
            free(p);
            out->fate = Q_FATE_DISCARD;
            return;
        }
        if (custom == Q_BACKOFF_KILL)
            exhausted = true;
        else if (custom > 0)
            delay = custom + q_retry_jitter(cfg->sidekiq_major, count, seed);
    }
    if (!exhausted) {
        if (delay == 0)
            delay = q_retry_delay(cfg->sidekiq_major, count, seed);
        out->fate = Q_FATE_RETRY;
        out->payload = p;
        out->score = now + (double)delay;
        return;
    }
    json_t *dead = json_object_get(job->doc, "dead");
    if (!out->note && (json_is_false(dead) || (!dead && h && h->no_dead))) {
        free(p);
        out->fate = Q_FATE_DISCARD;
        return;
    }
    out->fate = Q_FATE_DEAD;
    out->payload = p;
    out->score = now;
}
