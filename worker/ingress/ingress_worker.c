/* ingress_worker.c -- ActivityPub::ProcessingWorker (queue ingress, retry 8,
 * backtrace): args [actor_id, body, delivered_to_account_id, actor_type] as
 * Mastodon's inbox controller pushes them. Loads the signer's account, parses the
 * body with Mastodon's rules (a refusal is logged and the job completes: Mastodon
 * ignores bad activities), takes the actor of a relayed activity from its verified
 * FEP-8b32 proof (ingress_relayed.c), drops local actors' activities and suspended
 * actors' except Delete/Reject/Undo/Update, and either runs a covered activity completely or, before
 * writing anything, forwards the unchanged job to --forward-unhandled's queue (or
 * fails it the Sidekiq way without one). */
#include "ingress.h"
#include "ingress_internal.h"

#include <stdio.h>
#include <string.h>

/* What the worker does with an activity scotty does not cover. */
static void ingress_unhandled(services *s, const q_job *job, const ap_activity *a, const char *what,
                              q_result *r)
{
    if (!s->forward_unhandled[0]) {
        ingress_stats_count(a->type, INGRESS_OUT_FAILED);
        q_fail(r, "NotImplementedError",
               "scotty does not handle %s (%s%s%s); run it with --forward-unhandled QUEUE so a Ruby "
               "Sidekiq does",
               what, a->type, a->object_type ? " of " : "", a->object_type ? a->object_type : "");
        return;
    }
    q_forward(r, s->forward_unhandled);
    ingress_stats_count(a->type, INGRESS_OUT_FORWARDED);
    base_log(BASE_LOG_INFO, "ActivityPub::ProcessingWorker jid=%s: %s %s (%s) forwarded unchanged to queue %s",
          job->jid, a->type, a->id ? a->id : "(no id)", what, s->forward_unhandled);
}

/* A relayed activity (its actor is not the signer): with the actor a proof vouches
 * for, *a is parsed again as that actor's and *actor becomes it (0); otherwise the
 * job is completed, forwarded or failed here, as ProcessActivityService would end it
 * (1). */
static int ingress_relayed_reparse(services *s, const q_job *job, const char *body, size_t len, ingress_account *actor,
                                   ap_activity *a, q_result *r)
{
    char err[Q_ERRLEN];
    ingress_account vouched;
    ingress_outcome out = ingress_relayed_actor(s, a, &vouched, err, sizeof err);
    if (out == INGRESS_STORED && !vouched.domain[0]) {
        snprintf(err, sizeof err, "%s relayed for the local account %.400s", a->type, vouched.uri);
        out = INGRESS_DROPPED;
    }
    if (out == INGRESS_STORED) {
        ap_activity again;
        memset(&again, 0, sizeof again);
        if (ap_parse(body, len, vouched.uri, vouched.followers_url[0] ? vouched.followers_url : NULL, &again, err,
                     sizeof err) != 0) {
            ap_activity_free(&again);
            out = INGRESS_DROPPED;
        } else {
            ap_activity_free(a);
            *a = again;
            *actor = vouched;
            return 0;
        }
    }
    switch (out) {
    case INGRESS_UNHANDLED:
        ingress_unhandled(s, job, a, err, r);
        break;
    case INGRESS_FAILED:
        ingress_stats_count(a->type, INGRESS_OUT_FAILED);
        q_fail(r, "Scotty::IngressError", "%s", err);
        break;
    default:
        ingress_stats_count(a->type, INGRESS_OUT_DROPPED);
        base_log(BASE_LOG_INFO, "ActivityPub::ProcessingWorker jid=%s: dropped: %s", job->jid, err);
        break;
    }
    ap_activity_free(a);
    return 1;
}

static void ingress_processing_run(q_ctx *ctx, const q_job *job, q_result *r)
{
    services *s = q_ctx_user(ctx);
    json_t *args = job->args;
    size_t n = json_array_size(args);
    json_t *actor_id = json_array_get(args, 0), *body = json_array_get(args, 1);
    json_t *delivered = json_array_get(args, 2), *actor_type = json_array_get(args, 3);
    if (n < 2 || n > 4 || !json_is_integer(actor_id) || !json_is_string(body) ||
        (delivered && !json_is_null(delivered) && !json_is_integer(delivered)) ||
        (actor_type && !json_is_null(actor_type) && !json_is_string(actor_type))) {
        q_fail(r, "ArgumentError",
               "ActivityPub::ProcessingWorker expects [actor_id (Integer), body (String), "
               "delivered_to_account_id (Integer or nil), actor_type (String)]");
        return;
    }
    if (json_is_string(actor_type) && strcmp(json_string_value(actor_type), "Account") != 0) {
        base_log(BASE_LOG_INFO, "ActivityPub::ProcessingWorker jid=%s: actor type %s is not Account; nothing to do",
              job->jid, json_string_value(actor_type));
        return;
    }
    if (!s || !s->db) {
        q_fail(r, "ActiveRecord::ConnectionNotEstablished", "no database: %s",
               s ? s->db_missing : "services not opened");
        return;
    }
    char err[Q_ERRLEN];
    ingress_account actor;
    db_conn *c = db_pool_acquire(s->db);
    int rc = ingress_account_by_id(c, json_integer_value(actor_id), &actor, err, sizeof err);
    db_pool_release(s->db, c);
    if (rc < 0) {
        q_fail(r, "ActiveRecord::ConnectionNotEstablished", "%s", err);
        return;
    }
    if (rc == 1) {
        base_log(BASE_LOG_INFO, "ActivityPub::ProcessingWorker jid=%s: account %lld does not exist; nothing to do",
              job->jid, (long long)json_integer_value(actor_id));
        return;
    }
    if (!actor.domain[0]) { /* ProcessActivityService ignores activities of local actors */
        ingress_stats_count("Local", INGRESS_OUT_DROPPED);
        base_log(BASE_LOG_INFO, "ActivityPub::ProcessingWorker jid=%s: activity from local account %lld dropped",
              job->jid, (long long)actor.id);
        return;
    }
    ap_activity a;
    memset(&a, 0, sizeof a);
    if (ap_parse(json_string_value(body), json_string_length(body), actor.uri,
                 actor.followers_url[0] ? actor.followers_url : NULL, &a, err, sizeof err) != 0) {
        ingress_stats_count("Invalid", INGRESS_OUT_DROPPED);
        base_log(BASE_LOG_WARN, "ActivityPub::ProcessingWorker jid=%s actor=%s: activity refused: %s", job->jid,
              actor.uri, err);
        return;
    }
    bool relayed = a.relayed;
    if (relayed && ingress_relayed_reparse(s, job, json_string_value(body), json_string_length(body), &actor, &a, r)
                       != 0)
        return;
    if (actor.suspended && a.kind != AP_DELETE && a.kind != AP_UNDO && a.kind != AP_UPDATE &&
        strcmp(a.type, "Reject") != 0) {
        ingress_stats_count(a.type, INGRESS_OUT_DROPPED);
        base_log(BASE_LOG_INFO, "ActivityPub::ProcessingWorker jid=%s: %s from suspended account %s dropped",
              job->jid, a.type, actor.uri);
        ap_activity_free(&a);
        return;
    }
    const char *what = ingress_activity_unhandled(&a);
    if (what) {
        ingress_unhandled(s, job, &a, what, r);
        ap_activity_free(&a);
        return;
    }
    ingress_create_opts o = {.delivery = true,
                             .delivered_to_account_id = json_is_integer(delivered) ? json_integer_value(delivered) : 0,
                             .root = a.root,
                             .relayed = relayed};
    ingress_outcome out = ingress_dispatch(ctx, s, &actor, &a, &o, err, sizeof err);
    switch (out) {
    case INGRESS_STORED:
        ingress_stats_count(a.type, INGRESS_OUT_HANDLED);
        break;
    case INGRESS_DROPPED:
        ingress_stats_count(a.type, INGRESS_OUT_DROPPED);
        base_log(BASE_LOG_INFO, "ActivityPub::ProcessingWorker jid=%s: %s %s dropped: %s", job->jid, a.type,
              a.id ? a.id : "(no id)", err);
        break;
    case INGRESS_UNHANDLED:
        ingress_unhandled(s, job, &a, err, r);
        break;
    case INGRESS_FAILED:
        ingress_stats_count(a.type, INGRESS_OUT_FAILED);
        q_fail(r, strncmp(err, INGRESS_LOCK_BUSY, strlen(INGRESS_LOCK_BUSY)) == 0
                      ? "Mastodon::RaceConditionError" : "Scotty::IngressError", "%s", err);
        break;
    }
    ap_activity_free(&a);
}

void ingress_register(q_registry *reg)
{
    q_handler h = {.klass = "ActivityPub::ProcessingWorker", .run = ingress_processing_run, .retry = 8};
    q_registry_add(reg, &h);
}
