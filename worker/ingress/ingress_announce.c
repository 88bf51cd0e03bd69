/* ingress_announce.c -- ActivityPub::Activity::Announce (a boost): relevance gate
 * (the booster is followed here, is an enabled relay, or boosts a local status), the
 * boosted status found locally, taken from the activity for a self-boost, or fetched
 * with its origin checked, then the boost row under lock:announce:<object>, counters
 * and follow-up jobs (ingress_announce_row.c). */
#include "ingress_announce.h"
#include "ingress_create.h"
#include "ingress_fetch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* followed_by_local_accounts? and requested_through_relay? for the booster. */
static int announce_related(db_conn *c, const ingress_account *actor, bool *followed, bool *relay,
                            char *err, size_t errlen)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, actor->id);
    const char *params[] = {id};
    PGresult *res = db_exec(c, "ingress_announce_related",
                            "SELECT EXISTS (SELECT 1 FROM follows WHERE target_account_id = $1), "
                            "coalesce((SELECT inbox_url FROM accounts WHERE id = $1), ''), "
                            "to_regclass('relays') IS NOT NULL",
                            1, params, err, errlen);
    if (!res)
        return -1;
    *followed = PQgetvalue(res, 0, 0)[0] == 't';
    bool has_relays = PQgetvalue(res, 0, 2)[0] == 't';
    char *inbox = strdup(PQgetvalue(res, 0, 1));
    PQclear(res);
    *relay = false;
    int rc = 0;
    if (has_relays && inbox && *inbox) {
        const char *p2[] = {inbox};
        res = db_exec(c, "ingress_announce_relay",
                      "SELECT EXISTS (SELECT 1 FROM relays WHERE inbox_url = $1 AND state = 2)",
                      1, p2, err, errlen);
        if (res) {
            *relay = PQgetvalue(res, 0, 0)[0] == 't';
            PQclear(res);
        } else {
            rc = -1;
        }
    }
    free(inbox);
    return rc;
}

/* The gates Mastodon applies before the lock, on a pooled connection. */
static ingress_outcome announce_gate(q_ctx *ctx, services *s, const ingress_account *actor,
                                     const ap_activity *a, bool *relay, char *err, size_t errlen)
{
    bool late;
    if (ingress_deleted_upon_arrival(ctx, actor->id, a->id, &late, err, errlen) != 0)
        return INGRESS_FAILED;
    if (late) {
        snprintf(err, errlen, "Announce %s was undone before it arrived", a->id);
        return INGRESS_DROPPED;
    }
    db_conn *c = db_pool_acquire(s->db);
    bool followed;
    ingress_outcome out = INGRESS_STORED;
    ingress_status_row known;
    int rc = announce_related(c, actor, &followed, relay, err, errlen);
    if (rc == 0 && !followed && !*relay)
        rc = ingress_status_row_by_uri(c, a->object_id, &known, err, errlen);
    db_pool_release(s->db, c);
    if (rc < 0)
        out = INGRESS_FAILED;
    else if (!followed && !*relay && (rc == 1 || !known.author_local)) {
        snprintf(err, errlen, "Announce of %s by %s: nobody here follows the booster and the "
                 "status is not local", a->object_id, actor->uri);
        out = INGRESS_DROPPED;
    }
    return out;
}

/* status_from_object: known locally, the embedded object of a self-boost stored like a
 * Create, or fetched (origin checked, never from this server: ingress_fetch_status).
 * *row is the boosted status (a boost of a boost names its original). */
static ingress_outcome announce_original(q_ctx *ctx, services *s, const ingress_account *actor,
                                         const ap_activity *a, ingress_status_row *row, char *err,
                                         size_t errlen)
{
    db_conn *c = db_pool_acquire(s->db);
    int rc = ingress_status_row_by_uri(c, a->object_id, row, err, errlen);
    db_pool_release(s->db, c);
    if (rc < 0)
        return INGRESS_FAILED;
    ingress_outcome out = INGRESS_STORED;
    int64_t id = row->id;
    if (rc == 1) {
        const json_t *obj = json_object_get(a->root, "object");
        const char *by = ap_id_of(json_object_get(obj, "attributedTo"));
        bool created;
        if (json_is_object(obj) && by && strcmp(by, actor->uri) == 0) {
            ap_status st;
            rc = ap_status_parse(obj, actor->uri,
                                 actor->followers_url[0] ? actor->followers_url : NULL, &st, err,
                                 errlen);
            if (rc != 0)
                return rc > 0 ? INGRESS_UNHANDLED : INGRESS_DROPPED;
            ingress_create_opts o = {.delivery = false};
            out = ingress_create_status(ctx, s, actor, &st, &o, &id, err, errlen);
            ap_status_free(&st);
        } else {
            out = ingress_fetch_status(ctx, s, a->object_id, NULL, NULL, &id, &created, err,
                                       errlen);
        }
        if (out != INGRESS_STORED)
            return out;
    }
    c = db_pool_acquire(s->db);
    rc = ingress_status_row_by_id(c, id, row, err, errlen);
    if (rc == 0 && row->reblog_of_id)
        rc = ingress_status_row_by_id(c, row->reblog_of_id, row, err, errlen);
    db_pool_release(s->db, c);
    if (rc < 0)
        return INGRESS_FAILED;
    if (rc == 1) {
        snprintf(err, errlen, "the boosted status %s is gone", a->object_id);
        return INGRESS_DROPPED;
    }
    return INGRESS_STORED;
}

ingress_outcome ingress_announce(q_ctx *ctx, services *s, const ingress_account *actor,
                                 const ap_activity *a, char *err, size_t errlen)
{
    if (!a->object_id || (strncmp(a->object_id, "https://", 8) != 0 &&
                          strncmp(a->object_id, "http://", 7) != 0)) {
        snprintf(err, errlen, "Announce without an http(s) object");
        return INGRESS_DROPPED;
    }
    bool relay = false;
    ingress_outcome out = announce_gate(ctx, s, actor, a, &relay, err, errlen);
    if (out != INGRESS_STORED)
        return out;

    ingress_lock lock;
    if (ingress_lock_or_retry(ctx, "announce", a->object_id, &lock, err, errlen) != 0)
        return INGRESS_FAILED;
    ingress_status_row orig;
    out = announce_original(ctx, s, actor, a, &orig, err, errlen);
    if (out == INGRESS_STORED && orig.account_id != actor->id && orig.visibility != AP_VIS_PUBLIC &&
        orig.visibility != AP_VIS_UNLISTED) {
        snprintf(err, errlen, "status %" PRId64 " is not public or unlisted: it cannot be boosted",
                 orig.id);
        out = INGRESS_DROPPED;
    }
    /* a relay's Announce only brings the status in */
    if (out == INGRESS_STORED && !relay)
        out = ingress_announce_store(ctx, s, actor, a, &orig, err, errlen);
    ingress_lock_release_with_outcome(ctx, &lock); /* the job ends with this */
    return out;
}
