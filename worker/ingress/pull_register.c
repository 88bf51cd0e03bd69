/* pull_register.c -- the pull queue's workers as Mastodon declares them (queue pull,
 * retry 3, ExponentialBackoff; mastodon.md §1.3-1.4; RefetchAndVerifyQuoteWorker retry 5), and what they share: the
 * services check and forwarding a job to the Ruby side. LinkCrawlWorker (retry 0)
 * is worker/cards' (card_register). */
#include "ingress.h"
#include "pull_internal.h"
#include "cards/card.h"

#include <stdio.h>
#include <stdlib.h>

services *pull_services(q_ctx *ctx, q_result *r)
{
    services *s = q_ctx_user(ctx);
    if (!s || !s->db) {
        q_fail(r, "Scotty::NotConfigured", "pull jobs need the database: %s",
               s ? s->db_missing : "services not opened");
        return NULL;
    }
    return s;
}

void pull_forward(q_ctx *ctx, const q_job *job, const char *why, q_result *r)
{
    services *s = q_ctx_user(ctx);
    if (!s->forward_unhandled[0]) {
        q_fail(r, "NotImplementedError", "%s; scotty cannot finish this job: run it on a Ruby "
               "Sidekiq, or start scotty with --forward-unhandled QUEUE", why);
        return;
    }
    q_forward(r, s->forward_unhandled);
    base_log(BASE_LOG_INFO, "class=%s jid=%s forwarded unchanged to queue %s: %s", job->klass, job->jid,
          s->forward_unhandled, why);
}

void pull_register(q_registry *reg)
{
    static const q_handler handlers[] = {
        {"FetchReplyWorker", pull_fetch_reply, 3, ingress_exponential_backoff, false},
        {"ThreadResolveWorker", pull_thread_resolve, 3, ingress_exponential_backoff, false},
        {"ActivityPub::FetchRepliesWorker", pull_fetch_replies, 3, ingress_exponential_backoff, false},
        {"ActivityPub::RefetchAndVerifyQuoteWorker", pull_refetch_verify_quote, 5, ingress_exponential_backoff,
         false},
        {"ActivityPub::QuoteRefreshWorker", pull_quote_refresh, 3, NULL, true},
    };
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        q_registry_add(reg, &handlers[i]);
    card_register(reg);
}
