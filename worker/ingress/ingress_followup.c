/* ingress_followup.c -- what ActivityPub::Activity::Create does after its
 * transaction: the attachments (fetched inline under the media runner's caps, or
 * deferred to RedownloadMediaWorker on --media-defer's queue) and the jobs Mastodon's
 * Ruby side runs, with Mastodon's classes, args, queues, retry options and delays:
 * ThreadResolveWorker, MentionResolveWorker, ActivityPub::FetchRepliesWorker or
 * FetchReplyWorker, LinkCrawlWorker, DistributionWorker and, for a signed reply to a
 * local status, ActivityPub::RawDistributionWorker (forward_for_reply). */
#include "ingress_create.h"

#include "attach.h"
#include "ingress_quote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FETCH_REPLIES_MAX 5   /* ActivityPub::FetchRepliesService::MAX_REPLIES */

const char *ingress_ms_param(char *buf, size_t len, const char *iso, int64_t ms)
{
    if (!iso)
        return NULL;
    snprintf(buf, len, "%lld", (long long)ms);
    return buf;
}

int ingress_push(q_ctx *ctx, const char *klass, const char *queue, const char *retry_json,
                 const char *args_json, double delay_s)
{
    q_push p = {.klass = klass, .queue = queue, .args_json = args_json, .retry_json = retry_json,
                .at = delay_s > 0 ? base_now() + delay_s : 0};
    char err[Q_ERRLEN];
    if (q_ctx_enqueue(ctx, &p, err, sizeof err) == 0)
        return 0;
    base_log(BASE_LOG_ERROR, "ingress: could not push %s %s: %s", klass, args_json, err);
    return -1;
}

/* {"request_id":...} as Ruby writes the options hash. */
static void ingress_request_opts(base_buf *b, const ingress_create_opts *o)
{
    base_buf_adds(b, "{\"request_id\":");
    if (o->request_id)
        base_json_string(b, o->request_id, strlen(o->request_id));
    else
        base_buf_adds(b, "null");
    base_buf_adds(b, "}");
}

/* [status_id, "uri", {"request_id":...}] */
static char *ingress_args_id_uri(int64_t id, const char *uri, const ingress_create_opts *o)
{
    base_buf b;
    base_buf_init(&b);
    base_buf_addf(&b, "[%lld,", (long long)id);
    base_json_string(&b, uri, strlen(uri));
    base_buf_adds(&b, ",");
    ingress_request_opts(&b, o);
    base_buf_adds(&b, "]");
    return base_buf_take(&b);
}

void ingress_followup_fetch_media(q_ctx *ctx, services *s, int64_t media_id, const char *type, bool force)
{
    long long id = (long long)media_id;
    if (!attach_media_type_supported(type)) {
        base_log(BASE_LOG_INFO, "ingress: media %lld kept as a remote link: media type %s is not supported", id,
              type);
        return;
    }
    char args[32];
    snprintf(args, sizeof args, "[%lld]", id);
    if (s->media_defer_queue[0]) {
        ingress_push(ctx, "RedownloadMediaWorker", s->media_defer_queue, "3", args, 0);
        return;
    }
    char err[Q_ERRLEN];
    long retry_in;
    attach_result r = attach_fetch_ex(s, ctx, media_id, force, &retry_in, err, sizeof err);
    if (r == ATTACH_RETRY) {
        base_log(BASE_LOG_INFO, "ingress: media %lld: %s; RedownloadMediaWorker scheduled in %ld s", id, err,
              retry_in);
        if (attach_schedule_redownload(ctx, media_id, retry_in, err, sizeof err) != 0)
            base_log(BASE_LOG_ERROR, "ingress: media %lld: %s", id, err);
    } else if (r != ATTACH_DONE) {
        base_log(BASE_LOG_INFO, "ingress: media %lld kept as a remote link: %s", id, err);
    }
}

/* Each attachment as ActivityPub::Activity::Create#process_attachments. */
static void ingress_followup_media(q_ctx *ctx, ingress_create_plan *p)
{
    for (size_t i = 0; i < p->n_media; i++)
        ingress_followup_fetch_media(ctx, p->s, p->media_ids[i], p->st->media[i].media_type, false);
}

/* fetch_replies: an embedded page whose items are here gets FetchReplyWorker for up to
 * FETCH_REPLIES_MAX same-host replies; a collection by reference, or whose first page
 * is by reference, gets ActivityPub::FetchRepliesWorker. */
static void ingress_followup_replies(q_ctx *ctx, ingress_create_plan *p, const json_t *replies)
{
    if (!p->st->replies_uri)
        return;
    const json_t *items = NULL;
    if (json_is_object(replies)) {
        items = json_object_get(replies, "items");
        if (!items)
            items = json_object_get(replies, "orderedItems");
        const json_t *first = json_object_get(replies, "first");
        if (!items && json_is_object(first)) {
            items = json_object_get(first, "items");
            if (!items)
                items = json_object_get(first, "orderedItems");
        }
    }
    if (!json_is_array(items)) { /* by reference, or not embedded complete */
        char *args = ingress_args_id_uri(p->status_id, p->st->replies_uri, p->o);
        ingress_push(ctx, "ActivityPub::FetchRepliesWorker", "pull", "3", args, 0);
        free(args);
        return;
    }
    size_t i, n = 0;
    const json_t *item;
    json_array_foreach(items, i, item) {
        const char *uri = ap_id_of(item);
        if (!uri || !ap_same_host(uri, p->actor->uri))
            continue;
        if (n++ >= FETCH_REPLIES_MAX)
            break;
        base_buf b;
        base_buf_init(&b);
        base_buf_adds(&b, "[");
        base_json_string(&b, uri, strlen(uri));
        base_buf_adds(&b, ",");
        ingress_request_opts(&b, p->o);
        base_buf_adds(&b, "]");
        ingress_push(ctx, "FetchReplyWorker", "pull", "3", b.data, 0);
        base_buf_free(&b);
    }
}

/* forward_for_reply: an LD-signed public reply to a local status goes to the local
 * author's followers through ActivityPub::RawDistributionWorker. */
static void ingress_followup_forward(q_ctx *ctx, ingress_create_plan *p)
{
    const json_t *root = p->o->root;
    if (!root || !json_is_object(json_object_get(root, "signature")) || !p->parent_known ||
        !p->parent_local || (p->visibility != AP_VIS_PUBLIC && p->visibility != AP_VIS_UNLISTED))
        return;
    char aid[24], err[Q_ERRLEN];
    snprintf(aid, sizeof aid, "%lld", (long long)p->actor->id);
    const char *params[] = {aid};
    db_conn *c = db_pool_acquire(p->s->db);
    PGresult *res = db_exec(c, "ingress_actor_inbox",
                            "SELECT coalesce(nullif(shared_inbox_url, ''), inbox_url) FROM accounts "
                            "WHERE id = $1::bigint",
                            1, params, err, sizeof err);
    db_pool_release(p->s->db, c);
    if (!res) {
        base_log(BASE_LOG_ERROR, "ingress: forward_for_reply: %s", err);
        return;
    }
    base_buf b;
    base_buf_init(&b);
    base_buf_adds(&b, "[");
    char *json = json_dumps(root, JSON_COMPACT);
    base_json_string(&b, json, strlen(json));
    free(json);
    base_buf_addf(&b, ",%lld,[", (long long)p->parent_account_id);
    if (PQntuples(res) > 0) {
        const char *inbox = PQgetvalue(res, 0, 0);
        base_json_string(&b, inbox, strlen(inbox));
    }
    base_buf_adds(&b, "]]");
    PQclear(res);
    ingress_push(ctx, "ActivityPub::RawDistributionWorker", "push", "true", b.data, 0);
    base_buf_free(&b);
}

void ingress_create_followups(q_ctx *ctx, ingress_create_plan *p)
{
    const ap_status *st = p->st;
    const ingress_create_opts *o = p->o;
    if (p->n_media)
        ingress_followup_media(ctx, p);
    if (st->in_reply_to && !p->parent_known) {
        char *args = ingress_args_id_uri(p->status_id, st->in_reply_to, o);
        ingress_push(ctx, "ThreadResolveWorker", "pull", "3", args, 0);
        free(args);
    }
    for (size_t i = 0; i < p->n_unresolved; i++) {
        char *args = ingress_args_id_uri(p->status_id, p->unresolved[i], o);
        ingress_push(ctx, "MentionResolveWorker", "pull", "7", args, (double)ingress_rand_between(30, 599));
        free(args);
    }
    /* the object as sent: the activity's embedded object, or a fetched object itself */
    const json_t *obj = json_object_get(o->root, "object");
    if (!json_is_object(obj))
        obj = o->root;
    const char *obj_id = ap_id_of(obj);
    if (!obj_id || strcmp(obj_id, st->uri) != 0)
        obj = NULL;
    ingress_followup_replies(ctx, p, json_object_get(obj, "replies"));
    ingress_quote_verify(ctx, p);
    /* distribute: LinkCrawlWorker in 1..59 s, then DistributionWorker for deliveries
     * and statuses inside the 6-hour realtime window. */
    base_buf b;
    base_buf_init(&b);
    base_buf_addf(&b, "[%lld", (long long)p->status_id);
    if (st->link_href) {
        base_buf_adds(&b, ",");
        base_json_string(&b, st->link_href, strlen(st->link_href));
    }
    base_buf_adds(&b, "]");
    ingress_push(ctx, "LinkCrawlWorker", "pull", "0", b.data, (double)ingress_rand_between(1, 59));
    base_buf_free(&b);
    if (o->delivery || p->realtime) {
        base_buf_init(&b);
        base_buf_addf(&b, "[%lld,{\"silenced_account_ids\":[", (long long)p->status_id);
        bool first = true;
        for (size_t i = 0; i < p->n_mentions; i++)
            if (!ingress_ref_has(p->audience, p->n_audience, p->mentions[i].id)) {
                base_buf_addf(&b, "%s%lld", first ? "" : ",", (long long)p->mentions[i].id);
                first = false;
            }
        base_buf_adds(&b, "]}]");
        ingress_push(ctx, "DistributionWorker", "default", "true", b.data, 0);
        base_buf_free(&b);
    }
    ingress_followup_forward(ctx, p);
}
