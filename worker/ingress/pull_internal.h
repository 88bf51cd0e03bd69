/* pull_internal.h -- what the pull queue's workers share (pull_*.c): WorkerBatch
 * bookkeeping in Redis, and forwarding a job scotty
 * cannot finish to the Ruby queue. Private to worker/ingress. */
#ifndef SCOTTY_PULL_INTERNAL_H
#define SCOTTY_PULL_INTERNAL_H

#include "ingress_fetch.h"

/* FetchReplyWorker (pull_reply.c), ThreadResolveWorker (pull_thread.c),
 * ActivityPub::FetchRepliesWorker (pull_replies.c),
 * ActivityPub::RefetchAndVerifyQuoteWorker and ActivityPub::QuoteRefreshWorker
 * (pull_quote.c). */
void pull_fetch_reply(q_ctx *ctx, const q_job *job, q_result *r);
void pull_thread_resolve(q_ctx *ctx, const q_job *job, q_result *r);
void pull_fetch_replies(q_ctx *ctx, const q_job *job, q_result *r);
void pull_refetch_verify_quote(q_ctx *ctx, const q_job *job, q_result *r);
void pull_quote_refresh(q_ctx *ctx, const q_job *job, q_result *r);

/* The services and database every pull job needs; fails r and returns NULL without. */
services *pull_services(q_ctx *ctx, q_result *r);

/* Hands the job on unchanged to --forward-unhandled's queue (q_forward); without such
 * a queue, fails r with NotImplementedError saying why. */
void pull_forward(q_ctx *ctx, const q_job *job, const char *why, q_result *r);

/* WorkerBatch#within + push_bulk: pushes FetchReplyWorker [uri, {"request_id",
 * "batch_id"}] on pull for each uri and records their jids in worker_batch:<batch_id>
 * (the set of jobs, and "pending" in the hash; 1 hour TTL), in one MULTI. batch_id
 * NULL makes a new batch. Returns 0 or -1 with err. */
int pull_batch_push_replies(q_ctx *ctx, const char *batch_id, const char *request_id,
                            const char *const *uris, size_t n, char *err, size_t errlen);

/* WorkerBatch#remove_job: the jid leaves the batch, pending - 1, processed + 1; when
 * pending reaches 0 or processed passes the threshold the async refresh (if any) is
 * finished and the batch keys deleted. `increment` adds one to the async refresh's
 * result_count. Failures are logged. */
void pull_batch_remove_job(q_ctx *ctx, const char *batch_id, const char *jid, bool increment);

#endif
