/* delivery_tracker.c -- Mastodon's DeliveryFailureTracker (mastodon.md §6.4), on the
 * same Redis keys and table so Ruby and scotty see one state: a set
 * exhausted_deliveries:<host> of UTC days with a failed delivery; on the 7th day an
 * unavailable_domains row; any successful delivery deletes both. */
#include "delivery.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int delivery_host_unavailable(db_conn *db, const char *host, char *err, size_t errlen)
{
    const char *params[] = {host};
    PGresult *res = db_exec(db, "scotty_delivery_unavailable",
                            "SELECT 1 FROM unavailable_domains WHERE domain = $1", 1, params, err,
                            errlen);
    if (!res)
        return -1;
    int rc = PQntuples(res) > 0;
    PQclear(res);
    return rc;
}

static void tracker_key(const char *host, char *key, size_t len)
{
    snprintf(key, len, "exhausted_deliveries:%s", host);
}

int delivery_track_failure(q_conn *redis, db_pool *pool, delivery_avail *avail, const char *host,
                           char *err, size_t errlen)
{
    char key[320], day[16];
    tracker_key(host, key, sizeof key);
    if (avail)
        delivery_avail_note_clean(avail, host, false);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(day, sizeof day, "%Y%m%d", &tm);
    if (q_conn_appendf(redis, "SADD %s %s", key, day) != 0 ||
        q_conn_appendf(redis, "SCARD %s", key) != 0) {
        snprintf(err, errlen, "cannot record a failed delivery to %s in Redis: %s", host,
                 q_conn_error(redis));
        return -1;
    }
    redisReply *added = q_conn_reply(redis);
    redisReply *card = added ? q_conn_reply(redis) : NULL;
    long long days = card && card->type == REDIS_REPLY_INTEGER ? card->integer : -1;
    q_reply_free(added);
    q_reply_free(card);
    if (days < 0) {
        snprintf(err, errlen, "cannot record a failed delivery to %s in Redis: %s", host,
                 q_conn_error(redis));
        return -1;
    }
    if (days < DELIVERY_FAILURE_DAYS)
        return 0;
    const char *params[] = {host};
    db_conn *db = db_pool_acquire(pool);
    PGresult *res = db_exec(db, "scotty_delivery_mark_unavailable",
                            "INSERT INTO unavailable_domains (domain, created_at, updated_at) "
                            "VALUES ($1, now(), now()) ON CONFLICT (domain) DO NOTHING",
                            1, params, err, errlen);
    db_pool_release(pool, db);
    if (!res)
        return -1;
    if (avail)
        delivery_avail_note(avail, host, false);
    if (strcmp(PQcmdTuples(res), "1") == 0)
        base_log(BASE_LOG_WARN, "delivery: %s failed on %lld distinct days, marked unavailable "
              "(no deliveries until it answers a bypassing delivery or sends us a signed request)",
              host, days);
    PQclear(res);
    return 0;
}

int delivery_track_success(q_conn *redis, db_pool *pool, delivery_avail *avail, const char *host,
                           bool had_row, char *err, size_t errlen)
{
    if (!had_row && avail && delivery_avail_clean(avail, host))
        return 0;
    char key[320];
    tracker_key(host, key, sizeof key);
    redisReply *r = q_conn_cmd(redis, "DEL %s", key);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "cannot reset the delivery failures of %s in Redis: %s", host,
                 r ? r->str : q_conn_error(redis));
        q_reply_free(r);
        return -1;
    }
    q_reply_free(r);
    if (avail)
        delivery_avail_note_clean(avail, host, true);
    if (!had_row)
        return 0;
    const char *params[] = {host};
    db_conn *db = db_pool_acquire(pool);
    int rc = db_run_params(db, "scotty_delivery_mark_available",
                           "DELETE FROM unavailable_domains WHERE domain = $1", 1, params, err, errlen);
    db_pool_release(pool, db);
    if (rc == 0 && avail)
        delivery_avail_note(avail, host, true);
    return rc;
}
