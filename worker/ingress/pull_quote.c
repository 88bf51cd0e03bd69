/* pull_quote.c -- the quote jobs of queue pull (verification in ingress_quote.c):
 * ActivityPub::RefetchAndVerifyQuoteWorker [quote_id, quoted_uri, options] (retry 5):
 * VerifyQuoteService again for a quote whose quoted status or approval could not be
 * fetched, then DistributionWorker with {"update": true} when the quote's state
 * changed; ActivityPub::QuoteRefreshWorker [quote_id] (retry 3, dead: false; its
 * until_executed lock is released by the engine after success): the weekly re-check of
 * an approval. An unknown quote is done (RecordNotFound); a transient failure is
 * retried; what only Ruby can fetch is forwarded. */
#include "pull_internal.h"
#include "ingress_quote.h"

#include <stdio.h>

void pull_refetch_verify_quote(q_ctx *ctx, const q_job *job, q_result *r)
{
    json_t *id = json_array_get(job->args, 0), *uri = json_array_get(job->args, 1);
    json_t *options = json_array_get(job->args, 2);
    if (!json_is_integer(id) || (uri && !json_is_string(uri) && !json_is_null(uri)) ||
        (options && !json_is_object(options) && !json_is_null(options))) {
        q_fail(r, "ArgumentError", "expected [quote_id integer, quoted_uri string, options hash]");
        return;
    }
    services *s = pull_services(ctx, r);
    if (!s)
        return;
    char err[Q_ERRLEN] = "";
    int64_t status_id = 0;
    bool changed = false;
    int rc = ingress_quote_refetch(ctx, s, (int64_t)json_integer_value(id), json_string_value(uri),
                                   json_string_value(json_object_get(options, "approval_uri")),
                                   json_string_value(json_object_get(options, "request_id")), &status_id,
                                   &changed, err, sizeof err);
    if (rc < 0) {
        q_fail(r, "Mastodon::UnexpectedResponseError", "%s", err);
        return;
    }
    if (rc > 0) {
        pull_forward(ctx, job, err, r);
        return;
    }
    if (changed) {
        char args[64];
        snprintf(args, sizeof args, "[%lld,{\"update\":true}]", (long long)status_id);
        ingress_push(ctx, "DistributionWorker", "default", "true", args, 0);
    }
}

void pull_quote_refresh(q_ctx *ctx, const q_job *job, q_result *r)
{
    json_t *id = json_array_get(job->args, 0);
    if (!json_is_integer(id)) {
        q_fail(r, "ArgumentError", "expected [quote_id integer]");
        return;
    }
    services *s = pull_services(ctx, r);
    if (!s)
        return;
    char err[Q_ERRLEN] = "";
    int rc = ingress_quote_refresh(ctx, s, (int64_t)json_integer_value(id), err, sizeof err);
    if (rc < 0)
        q_fail(r, "Mastodon::UnexpectedResponseError", "%s", err);
    else if (rc > 0)
        pull_forward(ctx, job, err, r);
}
