/* delivery.c -- ActivityPub::DeliveryWorker (queue push, retry 16) and
 * ActivityPub::LowPriorityDeliveryWorker (queue pull, retry 8), args
 * [json, source_account_id, inbox_url, options] (mastodon.md §2, §6): a signed POST
 * of the activity to one inbox, Mastodon's outcome rules, its failure tracker, and a
 * per-host circuit breaker so a dead host costs milliseconds per job. */
#include "jobs.h"
#include "services.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Mastodon's rule: these will not get better by retrying (401 may: keys rotate). */
static bool delivery_unsalvageable(long status)
{
    return status == 501 ||
           (status >= 400 && status < 500 && status != 401 && status != 408 && status != 429);
}

static bool delivery_option(const json_t *options, const char *name)
{
    json_t *v = json_object_get(options, name);
    return v && !json_is_false(v) && !json_is_null(v);
}

/* One delivery in flight, as the breaker knows it, for its give_up questions. */
typedef struct delivery_flight {
    delivery_breaker *breaker;
    const char *host;
    double next_ask;       /* monotonic: libcurl's progress calls before this are not passed on */
    bool cut;              /* the breaker cut it off */
} delivery_flight;

static int delivery_give_up(void *arg, char *why, size_t whylen)
{
    delivery_flight *f = arg;
    double now = base_monotonic();
    if (now < f->next_ask)
        return 0;
    f->next_ask = now + 0.5;
    if (delivery_breaker_give_up(f->breaker, f->host, f, why, whylen) == 0)
        return 0;
    f->cut = true;
    return -1;
}

/* The second knock: the same POST signed the RFC 9421 way, unsigned otherwise. */
static http_err delivery_post_rfc9421(services *s, const delivery_signer *signer,
                                      const char *inbox, const char *body, size_t body_len,
                                      const char *sync, delivery_flight *f, http_response *resp)
{
    delivery_rfc9421 h;
    char err[Q_ERRLEN];
    if (delivery_rfc9421_headers(signer, inbox, body, body_len, &h, err, sizeof err) != 0) {
        base_log(BASE_LOG_WARN, "delivery: no RFC 9421 retry for %s: %s", inbox, err);
        return resp->err;
    }
    sig_header extra[] = {{"Content-Digest", h.content_digest},
                          {"Signature-Input", h.signature_input},
                          {"Signature", h.signature},
                          {"Collection-Synchronization", sync}};
    http_request req = {.method = "POST", .url = inbox, .content_type = "application/activity+json",
                        .body = body, .body_len = body_len, .extra_headers = extra,
                        .n_extra_headers = sync ? 4 : 3, .give_up = delivery_give_up,
                        .give_up_arg = f};
    http_response_free(resp);
    return http_perform(s->http, &req, resp);
}

/* The request itself, once the signer and the breaker said yes. Returns true when
 * the delivery failed in a way worth retrying (r is then marked failed). */
static bool delivery_post(services *s, const delivery_signer *signer, const char *inbox,
                          const char *body, size_t body_len, const char *sync, delivery_flight *f,
                          q_result *r)
{
    sig_header extra = {"Collection-Synchronization", sync};
    http_request req = {.method = "POST", .url = inbox, .content_type = "application/activity+json",
                        .body = body, .body_len = body_len,
                        .extra_headers = sync ? &extra : NULL, .n_extra_headers = sync ? 1 : 0,
                        .sign_key = signer->key, .key_id = signer->key_id,
                        .give_up = delivery_give_up, .give_up_arg = f};
    http_response resp;
    http_err e = http_perform(s->http, &req, &resp);
    if (e == HTTP_E_STATUS && (resp.status == 400 || resp.status == 401)) {
        base_log(BASE_LOG_DEBUG, "delivery: %s answered %ld, knocking again with an RFC 9421 signature",
              inbox, resp.status);
        e = delivery_post_rfc9421(s, signer, inbox, body, body_len, sync, f, &resp);
    }
    bool retry = false;
    if (e == HTTP_OK) {
        base_log(BASE_LOG_DEBUG, "delivery: %s answered %ld", inbox, resp.status);
    } else if (e == HTTP_E_STATUS && delivery_unsalvageable(resp.status)) {
        base_log(BASE_LOG_INFO, "delivery: %s answered %ld, giving up (not retried)", inbox, resp.status);
    } else if (e == HTTP_E_REFUSED || e == HTTP_E_INVALID) {
        base_log(BASE_LOG_INFO, "delivery: giving up on %s: %s", inbox, resp.error);
    } else if (e == HTTP_E_STATUS) {
        q_fail(r, "Mastodon::UnexpectedResponseError", "%s answered %ld", inbox, resp.status);
        retry = true;
    } else {
        q_fail(r, e == HTTP_E_TIMEOUT ? "HTTP::TimeoutError" : "HTTP::ConnectionError",
               "delivery to %s failed (%s): %s", inbox, http_err_name(e), resp.error);
        retry = true;
    }
    http_response_free(&resp);
    return retry;
}

/* Records the outcome in Redis and PostgreSQL. A tracker error is logged, not
 * raised: the delivery's own outcome decides the job's. */
static void delivery_track(q_ctx *ctx, services *s, const char *host, bool ok, bool had_row)
{
    char err[Q_ERRLEN];
    int rc = ok ? delivery_track_success(q_ctx_redis(ctx), s->db, s->avail, host, had_row, err,
                                         sizeof err)
                : delivery_track_failure(q_ctx_redis(ctx), s->db, s->avail, host, err, sizeof err);
    if (rc != 0)
        base_log(BASE_LOG_WARN, "delivery: failure tracker for %s not updated: %s", host, err);
}

/* 1 if host is marked unavailable, 0 if not, -1 with err; asks PostgreSQL (through
 * *db, taken from the pool on first use) unless the memo knows host is available. */
static int delivery_unavailable(services *s, db_conn **db, const char *host, char *err,
                                size_t errlen)
{
    if (delivery_avail_known(s->avail, host))
        return 0;
    if (!*db)
        *db = db_pool_acquire(s->db);
    int rc = delivery_host_unavailable(*db, host, err, errlen);
    if (rc == 0)
        delivery_avail_note(s->avail, host, true);
    return rc;
}

/* The checks and lookups before the request, which may need the database: whether
 * host is marked unavailable (*unavailable), the signer (*signer, NULL when the job
 * is not to be sent) and the Collection-Synchronization header. A database
 * connection is held only here, never while the inbox is being waited for. Returns
 * false when the job ends here (failed in r, or skipped). */
static bool delivery_prepare(services *s, const q_job *job, const char *url, const char *host,
                             int *unavailable, const delivery_signer **signer, base_buf *sync,
                             q_result *r)
{
    json_t *account = json_array_get(job->args, 1), *options = json_array_get(job->args, 3);
    int64_t account_id = (int64_t)json_integer_value(account);
    json_t *sign_with = json_object_get(options, "sign_with");
    char err[Q_ERRLEN];
    db_conn *db = NULL;
    bool go = false;
    *signer = NULL;
    *unavailable = delivery_unavailable(s, &db, host, err, sizeof err);
    if (*unavailable < 0) {
        q_fail(r, "ActiveRecord::ConnectionNotEstablished", "%s", err);
        goto out;
    }
    if (*unavailable && !delivery_option(options, "bypass_availability")) {
        base_log(BASE_LOG_DEBUG, "delivery: skipping %s, %s is marked unavailable", url, host);
        goto out;
    }
    if (!sign_with || json_is_null(sign_with))
        *signer = delivery_keys_cached(s->keys, account_id);
    if (!*signer) {
        if (!db)
            db = db_pool_acquire(s->db);
        *signer = delivery_keys_get(s->keys, db, account_id, sign_with, err, sizeof err);
    }
    if (!*signer) {
        q_fail(r, "ActiveRecord::RecordNotFound", "cannot sign for account %" PRId64 ": %s",
               account_id, err);
        goto out;
    }
    if (delivery_option(options, "synchronize_followers")) {
        if (!db)
            db = db_pool_acquire(s->db);
        if (delivery_sync_header(db, account_id, (*signer)->actor_uri, url, sync, err,
                                 sizeof err) != 0) {
            q_fail(r, "ActiveRecord::StatementInvalid", "Collection-Synchronization for %s: %s",
                   url, err);
            goto out;
        }
    }
    go = true;
out:
    if (db)
        db_pool_release(s->db, db);
    return go;
}

static void delivery_run(q_ctx *ctx, const q_job *job, q_result *r)
{
    services *s = q_ctx_user(ctx);
    json_t *json = json_array_get(job->args, 0), *account = json_array_get(job->args, 1);
    json_t *inbox = json_array_get(job->args, 2), *options = json_array_get(job->args, 3);
    if (!json_is_string(json) || !json_is_integer(account) || !json_is_string(inbox) ||
        (options && !json_is_object(options) && !json_is_null(options))) {
        q_fail(r, "ArgumentError", "expected [json string, source_account_id integer, "
               "inbox_url string, options hash]");
        return;
    }
    if (!s || !s->db) {
        q_fail(r, "Scotty::NotConfigured", "deliveries need the database: %s",
               s ? s->db_missing : "services not opened");
        return;
    }
    const char *url = json_string_value(inbox);
    char host[256], err[Q_ERRLEN];
    if (delivery_url_host(url, host, sizeof host) != 0) {
        base_log(BASE_LOG_INFO, "delivery: giving up on %s: not a URL with a host", url);
        return;
    }
    const delivery_signer *signer;
    int unavailable;
    base_buf sync;
    base_buf_init(&sync);
    if (delivery_prepare(s, job, url, host, &unavailable, &signer, &sync, r)) {
        bool retry;
        delivery_flight f = {.breaker = s->breaker, .host = host, .next_ask = base_monotonic() + 1};
        if (delivery_breaker_enter(s->breaker, host, err, sizeof err) != 0) {
            q_fail(r, "Stoplight::Error::RedLight", "not delivering to %s: %s", url, err);
            retry = true;
        } else {
            retry = delivery_post(s, signer, url, json_string_value(json), json_string_length(json),
                                  sync.len ? sync.data : NULL, &f, r);
            delivery_breaker_leave(s->breaker, host, &f,
                                   f.cut ? DELIVERY_CUT : retry ? DELIVERY_FAILED : DELIVERY_ANSWERED);
        }
        /* Mastodon tracks successes and retryable failures; a give-up is neither */
        if (!r->failed && !retry)
            delivery_track(ctx, s, host, true, unavailable == 1);
        else if (retry)
            delivery_track(ctx, s, host, false, false);
    }
    if (signer)
        delivery_signer_release(s->keys, signer);
    base_buf_free(&sync);
}

/* DeliveryWorker's sidekiq_retry_in: count^4 + 15 + rand(0.5 * count^4) seconds, a
 * float that Sidekiq cuts with to_i, so the extra is a whole number below half of
 * count^4 (0 to 7 at count 2); the engine adds Sidekiq's own jitter. */
static long delivery_backoff(int count, const q_result *r, const q_job *job)
{
    long base = (long)count * count * count * count;
    long choices = (base + 1) / 2;
    return base + 15 + (choices > 0 ? (long)arc4random_uniform((uint32_t)choices) : 0);
}

void jobs_register_delivery(q_registry *reg)
{
    static const q_handler handlers[] = {
        {"ActivityPub::DeliveryWorker", delivery_run, 16, delivery_backoff, true},
        {"ActivityPub::LowPriorityDeliveryWorker", delivery_run, 8, delivery_backoff, true},
    };
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        q_registry_add(reg, &handlers[i]);
}
