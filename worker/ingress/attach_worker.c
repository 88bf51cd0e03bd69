/* attach_worker.c -- RedownloadMediaWorker ([media_attachment_id], queue pull,
 * retry 3, ExponentialBackoff): downloads and processes a remote attachment again,
 * and the pushes that schedule it (after a failed download, or to defer media). */
#include "attach.h"
#include "ingress.h"
#include "ingress_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* The id argument: an integer, or a string of digits (MediaAttachment.find takes both). */
static int attach_arg_id(const json_t *v, int64_t *id)
{
    if (json_is_integer(v)) {
        *id = json_integer_value(v);
        return *id > 0 ? 0 : -1;
    }
    const char *s = json_string_value(v);
    char *end;
    if (!s || !*s)
        return -1;
    long long n = strtoll(s, &end, 10);
    if (*end || n <= 0)
        return -1;
    *id = n;
    return 0;
}

static void attach_worker_run(q_ctx *ctx, const q_job *job, q_result *r)
{
    int64_t id;
    if (!json_is_array(job->args) || attach_arg_id(json_array_get(job->args, 0), &id) < 0) {
        q_fail(r, "ArgumentError", "RedownloadMediaWorker expects [media_attachment_id]");
        return;
    }
    char err[1024];
    switch (attach_fetch_ex(q_ctx_user(ctx), ctx, id, true, NULL, err, sizeof err)) {
    case ATTACH_DONE:
    case ATTACH_SKIPPED: /* logged by attach_fetch_ex; Mastodon gives these up too */
        return;
    case ATTACH_RETRY:
        q_fail(r, "Scotty::MediaDownloadError", "media attachment %" PRId64 ": %s", id, err);
        return;
    case ATTACH_ERROR:
        q_fail(r, "ActiveRecord::ConnectionNotEstablished", "media attachment %" PRId64 ": %s", id, err);
        return;
    }
}

void attach_register(q_registry *reg)
{
    static const q_handler h = {"RedownloadMediaWorker", attach_worker_run, 3, ingress_exponential_backoff, false};
    q_registry_add(reg, &h);
}

int attach_enqueue(q_ctx *ctx, const char *queue, int64_t id, long delay_s, char *err, size_t errlen)
{
    char args[32];
    snprintf(args, sizeof args, "[%" PRId64 "]", id);
    q_push p = {.klass = "RedownloadMediaWorker", .queue = queue, .args_json = args, .retry_json = "3",
                .at = delay_s > 0 ? base_now() + (double)delay_s : 0};
    return q_ctx_enqueue(ctx, &p, err, errlen);
}

int attach_schedule_redownload(q_ctx *ctx, int64_t id, long delay_s, char *err, size_t errlen)
{
    return attach_enqueue(ctx, "pull", id, delay_s, err, errlen);
}
