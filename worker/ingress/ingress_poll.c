/* ingress_poll.c -- the polls row of a remote status as Mastodon writes it. Create
 * (Activity::Create#process_poll, saved with the status by autosave, then
 * Status#set_poll_id): options, cached_tallies, votes_count = their sum, multiple,
 * voters_count, expires_at, hide_totals false, last_fetched_at NULL, lock_version 0.
 * Update (ProcessStatusUpdateService#update_poll!): last_fetched_at now, the parsed
 * values, lock_version + 1 (optimistic locking); when the options or `multiple`
 * changed, Poll#reset_votes! (tallies all 0, votes_count 0, voters_count 0, the local
 * poll_votes deleted). A status that is no longer a Question loses its poll
 * (Poll#destroy!: its poll_votes and notifications go with it, the notification
 * requests reconsidered as Notification's after_destroy does). After an update
 * commits, Poll#reset_parent_cache deletes "v3:statuses/<status id>" from the Rails
 * cache, and queue_poll_notifications! schedules PollExpirationNotifyWorker for a poll
 * local accounts voted in. */
#include "ingress_poll.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLL_NOTIFY_DELAY_S (5 * 60)            /* expires_at + 5.minutes */
#define POLL_NOTIFY_LOCK_TTL_S (50L * 24 * 3600) /* Mastodon's SidekiqUniqueJobs lock_ttl: 50 days */

/* The SQL parameters of a parsed poll: $kind (0 open, 1 at, 2 now), $us, $options
 * (a JSON array), $tallies (an array literal), $multiple, $votes, $voters. */
typedef struct ingress_poll_args {
    char kind[4], us[24], multiple[2], votes[24], voters[24];
    char *options;
    char *tallies;
} ingress_poll_args;

static void ingress_poll_args_make(ingress_poll_args *a, const ap_poll *p, bool reset)
{
    snprintf(a->kind, sizeof a->kind, "%d", (int)p->expiry);
    snprintf(a->us, sizeof a->us, "%" PRId64, p->expires_us);
    snprintf(a->multiple, sizeof a->multiple, "%s", p->multiple ? "t" : "f");
    snprintf(a->votes, sizeof a->votes, "%" PRId64, reset ? 0 : p->votes_count);
    snprintf(a->voters, sizeof a->voters, "%" PRId64, reset ? 0 : p->voters_count);
    json_t *opts = json_array();
    for (size_t i = 0; i < p->n_options; i++)
        json_array_append_new(opts, json_string(p->options[i]));
    a->options = json_dumps(opts, JSON_COMPACT);
    json_decref(opts);
    if (!a->options)
        abort();
    base_buf b;
    base_buf_init(&b);
    base_buf_adds(&b, "{");
    size_t n = reset ? p->n_options : p->n_tallies; /* reset_votes!: options.map { 0 } */
    for (size_t i = 0; i < n; i++)
        base_buf_addf(&b, "%s%" PRId64, i ? "," : "", reset ? 0 : p->tallies[i]);
    base_buf_adds(&b, "}");
    a->tallies = base_buf_take(&b);
}

static void ingress_poll_args_free(ingress_poll_args *a)
{
    free(a->options);
    free(a->tallies);
}

/* The SQL of expires_at from $kind and $us (parameter numbers k and u). */
#define INGRESS_POLL_EXPIRES(k, u)                                                                      \
    "CASE $" k "::int WHEN 1 THEN '1970-01-01'::timestamp + $" u "::bigint * interval '1 microsecond' " \
    "WHEN 2 THEN " DB_NOW " END"
#define INGRESS_POLL_OPTIONS(o)                                                                         \
    "ARRAY(SELECT e FROM json_array_elements_text($" o "::json) WITH ORDINALITY AS t(e, i) ORDER BY i)"

int ingress_poll_create(db_conn *c, int64_t account_id, int64_t status_id, const ap_poll *p,
                        bool from_update, char *err, size_t errlen)
{
    ingress_poll_args a;
    ingress_poll_args_make(&a, p, from_update);
    char aid[24], sid[24];
    snprintf(aid, sizeof aid, "%" PRId64, account_id);
    snprintf(sid, sizeof sid, "%" PRId64, status_id);
    const char *params[] = {aid,       sid,     a.kind, a.us, a.options, a.tallies, a.multiple, a.votes,
                            p->has_voters || from_update ? a.voters : NULL, from_update ? "t" : "f"};
    int rc = db_run_params(
        c, "ingress_poll_create",
        "WITH p AS (INSERT INTO polls (account_id, status_id, expires_at, options, cached_tallies, "
        "multiple, hide_totals, votes_count, voters_count, last_fetched_at, lock_version, created_at, "
        "updated_at) VALUES ($1::bigint, $2::bigint, " INGRESS_POLL_EXPIRES("3", "4") ", "
        INGRESS_POLL_OPTIONS("5") ", $6::bigint[], $7::boolean, false, $8::bigint, $9::bigint, "
        "CASE WHEN $10::boolean THEN " DB_NOW " END, 0, " DB_NOW ", " DB_NOW ") "
        "RETURNING id) UPDATE statuses SET poll_id = (SELECT id FROM p) WHERE id = $2::bigint",
        10, params, err, errlen);
    ingress_poll_args_free(&a);
    return rc;
}

int ingress_poll_update(db_conn *c, int64_t poll_id, const ap_poll *p, bool reset, char *err,
                        size_t errlen)
{
    char pid[24];
    snprintf(pid, sizeof pid, "%" PRId64, poll_id);
    const char *pv[] = {pid};
    if (reset && db_run_params(c, "ingress_poll_votes_reset", "DELETE FROM poll_votes WHERE poll_id = $1::bigint",
                               1, pv, err, errlen) != 0)
        return -1;
    ingress_poll_args a;
    ingress_poll_args_make(&a, p, reset);
    const char *params[] = {pid,     a.kind, a.us, a.options, a.tallies, a.multiple, a.votes,
                            p->has_voters || reset ? a.voters : NULL};
    int rc = db_run_params(c, "ingress_poll_update",
                           "UPDATE polls SET last_fetched_at = " DB_NOW ", expires_at = "
                           INGRESS_POLL_EXPIRES("2", "3") ", options = " INGRESS_POLL_OPTIONS("4") ", "
                           "cached_tallies = $5::bigint[], multiple = $6::boolean, votes_count = $7::bigint, "
                           "voters_count = $8::bigint, lock_version = lock_version + 1, updated_at = "
                           DB_NOW " WHERE id = $1::bigint",
                           8, params, err, errlen);
    ingress_poll_args_free(&a);
    return rc;
}

int ingress_poll_destroy(db_conn *c, int64_t poll_id, int64_t status_id, char *err, size_t errlen)
{
    char pid[24], sid[24];
    snprintf(pid, sizeof pid, "%" PRId64, poll_id);
    snprintf(sid, sizeof sid, "%" PRId64, status_id);
    const char *pv[] = {pid};
    const char *ps[] = {sid};
    if (ingress_notifications_destroy(c, "Poll", pid, err, errlen) != 0 ||
        db_run_params(c, "ingress_poll_votes_reset", "DELETE FROM poll_votes WHERE poll_id = $1::bigint", 1, pv,
                      err, errlen) != 0 ||
        db_run_params(c, "ingress_poll_delete", "DELETE FROM polls WHERE id = $1::bigint", 1, pv, err,
                      errlen) != 0)
        return -1;
    return db_run_params(c, "ingress_poll_unlink", "UPDATE statuses SET poll_id = NULL WHERE id = $1::bigint", 1,
                         ps, err, errlen);
}

int ingress_poll_stored(db_conn *c, int64_t status_id, const ap_poll *parsed, ingress_poll_state *out,
                        char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char sid[24];
    snprintf(sid, sizeof sid, "%" PRId64, status_id);
    ingress_poll_args a;
    ingress_poll_args_make(&a, parsed, false);
    const char *params[] = {sid, a.options, a.multiple};
    PGresult *res = db_exec_idempotent(
        c, "ingress_poll_stored",
        "SELECT p.id, p.options::text[] = " INGRESS_POLL_OPTIONS("2") " AND p.multiple = $3::boolean, "
        "p.expires_at IS NOT NULL, coalesce(p.expires_at < " DB_NOW ", false), "
        "EXISTS (SELECT 1 FROM poll_votes v WHERE v.poll_id = p.id), "
        "coalesce((extract(epoch FROM p.expires_at) * 1000000)::bigint, 0) "
        "FROM statuses s JOIN polls p ON p.id = s.poll_id WHERE s.id = $1::bigint",
        3, params, err, errlen);
    ingress_poll_args_free(&a);
    if (!res)
        return -1;
    if (PQntuples(res) > 0) {
        out->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        out->same = PQgetvalue(res, 0, 1)[0] == 't';
        out->expires = PQgetvalue(res, 0, 2)[0] == 't';
        out->expired = PQgetvalue(res, 0, 3)[0] == 't';
        out->voted = PQgetvalue(res, 0, 4)[0] == 't';
        out->expires_us = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
    }
    PQclear(res);
    return 0;
}

void ingress_poll_cache_forget(q_ctx *ctx, int64_t status_id)
{
    char key[64];
    snprintf(key, sizeof key, "v3:statuses/%" PRId64, status_id);
    ingress_rails_cache_delete(ctx, key);
}

int ingress_poll_notify(q_ctx *ctx, int64_t poll_id, int64_t previous_us, int64_t expires_us, char *err,
                        size_t errlen)
{
    char id[24], args[32];
    snprintf(id, sizeof id, "%" PRId64, poll_id);
    snprintf(args, sizeof args, "[%s]", id);
    q_conn *r = q_ctx_redis(ctx);
    char why[Q_ERRLEN];
    if (previous_us && previous_us > expires_us &&
        q_unique_unschedule(r, "PollExpirationNotifyWorker", id, why, sizeof why) < 0) {
        snprintf(err, errlen, "could not unschedule the PollExpirationNotifyWorker of poll %" PRId64 ": %s",
                 poll_id, why);
        return -1;
    }
    q_push p = {.klass = "PollExpirationNotifyWorker", .queue = "default", .args_json = args, .retry_json = "true",
                .at = (double)expires_us / 1e6 + POLL_NOTIFY_DELAY_S};
    int pushed = q_unique_push(r, &p, "until_executing", POLL_NOTIFY_LOCK_TTL_S, q_ctx_retry(ctx)->ts, why,
                               sizeof why);
    if (pushed < 0) {
        snprintf(err, errlen, "could not schedule PollExpirationNotifyWorker for poll %" PRId64 ": %s", poll_id,
                 why);
        return -1;
    }
    if (pushed == 0)
        base_log(BASE_LOG_INFO, "ingress: PollExpirationNotifyWorker for poll %" PRId64 " is scheduled already "
                 "(its unique lock is held), so this one is dropped, as sidekiq-unique-jobs drops it", poll_id);
    return 0;
}
