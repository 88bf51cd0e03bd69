/* pull_thread.c -- ThreadResolveWorker [child_status_id, parent_url, options]: a reply
 * whose parent was unknown at creation gets it, found locally by URI or fetched and
 * stored, and is threaded as Status#set_conversation does (in_reply_to_id,
 * in_reply_to_account_id carried over for self-replies, reply, the parent's
 * conversation when the child has none); then DistributionWorker [child_id,
 * {"skip_notifications": true}] when the child is less than 6 hours old. */
#include "pull_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 0 with *ready (the child exists and has no parent yet) and *recent (within the
 * realtime window), -1 with err. */
static int thread_child(db_conn *c, const char *child, bool *ready, bool *recent, char *err,
                        size_t errlen)
{
    const char *params[] = {child};
    PGresult *res = db_exec(c, "pull_thread_child",
                            "SELECT in_reply_to_id IS NULL, "
                            "created_at >= (now() AT TIME ZONE 'UTC') - interval '6 hours' "
                            "FROM statuses WHERE id = $1",
                            1, params, err, errlen);
    if (!res)
        return -1;
    *ready = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    *recent = PQntuples(res) == 1 && PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    return 0;
}

/* child.thread = parent; child.save! -- the parent's boost stands for its original. */
static int thread_link(db_conn *c, const char *child, int64_t parent_id, char *err, size_t errlen)
{
    char parent[24];
    snprintf(parent, sizeof parent, "%" PRId64, parent_id);
    const char *params[] = {child, parent};
    PGresult *res = db_exec(
        c, "pull_thread_link",
        "WITH p AS (SELECT coalesce(o.id, s.id) AS id, "
        "  coalesce(o.account_id, s.account_id) AS account_id, "
        "  coalesce(o.conversation_id, s.conversation_id) AS conversation_id, "
        "  coalesce(o.reply, s.reply) AS reply, "
        "  coalesce(o.in_reply_to_account_id, s.in_reply_to_account_id) AS in_reply_to_account_id "
        "  FROM statuses s LEFT JOIN statuses o ON o.id = s.reblog_of_id WHERE s.id = $2) "
        "UPDATE statuses c SET in_reply_to_id = p.id, reply = true, "
        "  in_reply_to_account_id = CASE WHEN p.account_id = c.account_id AND p.reply "
        "    THEN p.in_reply_to_account_id ELSE p.account_id END, "
        "  conversation_id = coalesce(c.conversation_id, p.conversation_id), "
        "  updated_at = now() AT TIME ZONE 'UTC' "
        "FROM p WHERE c.id = $1 AND c.in_reply_to_id IS NULL",
        2, params, err, errlen);
    if (!res)
        return -1;
    PQclear(res);
    return 0;
}

void pull_thread_resolve(q_ctx *ctx, const q_job *job, q_result *r)
{
    json_t *child = json_array_get(job->args, 0), *url = json_array_get(job->args, 1);
    json_t *options = json_array_get(job->args, 2);
    if (!json_is_integer(child) || !json_is_string(url) ||
        (options && !json_is_object(options) && !json_is_null(options))) {
        q_fail(r, "ArgumentError",
               "expected [child_status_id integer, parent_url string, options hash]");
        return;
    }
    services *s = pull_services(ctx, r);
    if (!s)
        return;
    char child_id[24], err[Q_ERRLEN];
    snprintf(child_id, sizeof child_id, "%" PRId64, (int64_t)json_integer_value(child));
    const char *parent_url = json_string_value(url);

    db_conn *c = db_pool_acquire(s->db);
    bool ready = false, recent = false;
    int64_t parent = 0;
    int rc = thread_child(c, child_id, &ready, &recent, err, sizeof err);
    if (rc == 0 && ready)
        rc = ingress_status_by_uri(c, parent_url, &parent, NULL, err, sizeof err);
    db_pool_release(s->db, c);
    if (rc < 0) {
        q_fail(r, "ActiveRecord::ConnectionNotEstablished", "%s", err);
        return;
    }
    if (!ready)
        return;     /* gone, or already threaded */
    if (!parent) {
        bool created;
        const char *rid = json_string_value(json_object_get(options, "request_id"));
        switch (ingress_fetch_status(ctx, s, parent_url, NULL, rid, &parent, &created, err,
                                     sizeof err)) {
        case INGRESS_STORED:
            break;
        case INGRESS_DROPPED:
            base_log(BASE_LOG_INFO, "ThreadResolveWorker: parent %s of status %s not found: %s",
                  parent_url, child_id, err);
            return;
        case INGRESS_UNHANDLED:
            pull_forward(ctx, job, err, r);
            return;
        case INGRESS_FAILED:
            q_fail(r, "RuntimeError", "Thread resolution failed for %s: %s", parent_url, err);
            return;
        }
    }
    c = db_pool_acquire(s->db);
    rc = thread_link(c, child_id, parent, err, sizeof err);
    db_pool_release(s->db, c);
    if (rc != 0) {
        q_fail(r, "ActiveRecord::StatementInvalid", "threading status %s: %s", child_id, err);
        return;
    }
    if (recent) {
        char args[96];
        snprintf(args, sizeof args, "[%s,{\"skip_notifications\":true}]", child_id);
        q_push p = {.klass = "DistributionWorker", .queue = "default", .args_json = args};
        if (q_ctx_enqueue(ctx, &p, err, sizeof err) != 0)
            q_fail(r, "ArgumentError", "DistributionWorker for %s: %s", child_id, err);
    }
}
