/* pull_reply.c -- FetchReplyWorker [child_url, options]: one reply fetched and stored
 * (FetchRemoteStatusService with options request_id and prefetched_body), then its jid
 * taken out of worker_batch:<batch_id> whatever happened, as the worker's ensure does,
 * unless the job went to Ruby, whose run of it does that. */
#include "pull_internal.h"

#include <stdio.h>

void pull_fetch_reply(q_ctx *ctx, const q_job *job, q_result *r)
{
    json_t *url = json_array_get(job->args, 0), *options = json_array_get(job->args, 1);
    if (!json_is_string(url) || (options && !json_is_object(options) && !json_is_null(options))) {
        q_fail(r, "ArgumentError", "expected [child_url string, options hash]");
        return;
    }
    services *s = pull_services(ctx, r);
    if (!s)
        return;
    const char *batch = json_string_value(json_object_get(options, "batch_id"));
    const char *rid = json_string_value(json_object_get(options, "request_id"));
    /* prefetched_body: the object itself, or its JSON text (body_to_json takes both) */
    const json_t *body = json_object_get(options, "prefetched_body");
    json_t *parsed = NULL;
    if (json_is_string(body)) {
        parsed = json_loads(json_string_value(body), 0, NULL);
        body = parsed;
    }
    char err[Q_ERRLEN];
    int64_t id;
    bool created = false;
    ingress_outcome out = ingress_fetch_status(ctx, s, json_string_value(url),
                                               json_is_object(body) ? body : NULL, rid, &id,
                                               &created, err, sizeof err);
    json_decref(parsed);
    switch (out) {
    case INGRESS_STORED:
        break;
    case INGRESS_DROPPED:
        base_log(BASE_LOG_INFO, "FetchReplyWorker: nothing stored for %s: %s", json_string_value(url),
              err);
        break;
    case INGRESS_UNHANDLED:
        pull_forward(ctx, job, err, r);
        break;
    case INGRESS_FAILED:
        q_fail(r, "Mastodon::UnexpectedResponseError", "%s", err);
        break;
    }
    /* a forwarded job is still in its batch: the Ruby worker that runs it leaves it */
    bool forwarded = out == INGRESS_UNHANDLED && !r->failed;
    if (batch && !forwarded)
        pull_batch_remove_job(ctx, batch, job->jid, created);
}
