/* ingress_quote.h -- the quotes row of a Create that quotes a status, and its
 * verification (ActivityPub::VerifyQuoteService). Private to worker/ingress. */
#ifndef SCOTTY_INGRESS_QUOTE_H
#define SCOTTY_INGRESS_QUOTE_H

#include "ingress_create.h"

/* Inside the Create transaction: the quotes row of p's new status when it quotes one
 * (state pending, or deleted for a Tombstone quote). Returns 0 or -1 with err. */
int ingress_quote_insert(db_conn *c, const ingress_create_plan *p, char *err, size_t errlen);

/* In the Create or Update transaction: statuses.quote_approval_policy of status_id
 * from st's interactionPolicy.canQuote (StatusParser#quote_policy with the author's
 * followers and following collections; 0 without one). Create leaves the column's
 * default 0 alone (write_zero false); Update#update_interaction_policies! writes it
 * whatever it is. Returns 0 or -1 with err. */
int ingress_quote_policy_write(db_conn *c, int64_t status_id, const ingress_account *actor, const ap_status *st,
                               bool write_zero, char *err, size_t errlen);

/* After the commit, holding no connection: Create#fetch_and_verify_quote. The quoted
 * status is looked up or fetched, then accepted (a self-quote, or a matching
 * QuoteAuthorization), rejected (the approval is gone) or left pending; a transient
 * failure schedules ActivityPub::RefetchAndVerifyQuoteWorker. Failures are logged. */
void ingress_quote_verify(q_ctx *ctx, ingress_create_plan *p);

/* ActivityPub::RefetchAndVerifyQuoteWorker's VerifyQuoteService call for quote
 * quote_id (approval: the job's approval_uri, else the row's). Returns 0 when done
 * (also for an unknown quote; *changed when its state changed, *status_id the quoting
 * status), -1 when the job should be retried, 1 when only Ruby can finish it (err
 * says why in both). */
int ingress_quote_refetch(q_ctx *ctx, services *s, int64_t quote_id, const char *quoted_uri,
                          const char *approval, const char *request_id, int64_t *status_id, bool *changed,
                          char *err, size_t errlen);

/* ActivityPub::QuoteRefreshWorker [quote_id]: nothing for an unknown quote or one
 * updated within Quote::BACKGROUND_REFRESH_INTERVAL (a week); else VerifyQuoteService
 * with the row's approval_uri, and the quote touched. Returns as
 * ingress_quote_refetch does. */
int ingress_quote_refresh(q_ctx *ctx, services *s, int64_t quote_id, char *err, size_t errlen);

/* A quotes row for status_id by account_id (pending, or deleted), in c's transaction;
 * *id (when not NULL) its id. Returns 0 or -1 with err. */
int ingress_quote_row_insert(db_conn *c, int64_t status_id, int64_t account_id, bool legacy, bool deleted,
                             int64_t *id, char *err, size_t errlen);

/* Status#increment_count! / #decrement_count! of quotes_count (delta 1 or -1, never
 * below 0; the status_stats row created when missing). Returns 0 or -1 with err. */
int ingress_quote_count_add(db_conn *c, const char *quoted_status_id, int delta, char *err, size_t errlen);

/* The quote of status_id as an Update sees it (id 0 when none). */
typedef struct ingress_quote_stored {
    bool schema;           /* the database keeps quotes (Mastodon 4.5 and later) */
    int64_t id;
    char quoted_uri[2048]; /* the quoted status's uri, "" when it has none (yet) */
    bool quoted_local;     /* the quoted status is local (Status#local?) */
    bool has_quoted;       /* quoted_status.present? (set and not discarded) */
    bool accepted;         /* state accepted */
    bool quoted_account_local; /* quoted_account&.local? */
} ingress_quote_stored;
int ingress_quote_of_status(db_conn *c, int64_t status_id, ingress_quote_stored *q, char *err, size_t errlen);

/* In an explicit Update's transaction on c, update_quote! for a quote added, removed
 * or pointed at another post (ingress_quote_edit.c): old's quote (id 0: none) is
 * destroyed, and when st quotes a post a new quote created, *new_id its id (0: none).
 * The caller verifies the new one after the commit (ingress_quote_update). Returns 0
 * or -1 with err. */
int ingress_quote_edit(db_conn *c, int64_t status_id, int64_t account_id, const ap_status *st,
                       const ingress_quote_stored *old, int64_t *new_id, char *err, size_t errlen);

/* ProcessStatusUpdateService's quote part for an Update whose quoted post is the one
 * stored (update_quote!, or update_quote_approval! when implicit), after the commit,
 * holding no connection: a quote whose approval_uri differs from the Update's is set
 * back to pending (legacy as the Update says, quotes_count as
 * Quote#update_counter_caches!), then VerifyQuoteService runs again, a failure
 * scheduling RefetchAndVerifyQuoteWorker. Returns whether the quote's state changed;
 * failures are logged. */
bool ingress_quote_update(q_ctx *ctx, services *s, int64_t quote_id, const ap_status *st, bool implicit);

/* ActivityPub::Activity::Delete#revoke_quote, first half: the pending or accepted
 * quote whose approval_uri is a's object, of a status by actor (0 when none), with
 * its status and whether Mastodon's Forwarder would deliver the Delete anywhere (then
 * it is Ruby's).
 * Returns 0 or -1 with err. */
int ingress_quote_revocable(db_conn *c, const ap_activity *a, const ingress_account *actor, int64_t *quote_id,
                            int64_t *status_id, bool *forward, char *err, size_t errlen);
/* The second half, on c: Quote#reject! (revoked when accepted) and DistributionWorker
 * [status_id, {"update": true}]. Failures are logged. */
void ingress_quote_revoke(q_ctx *ctx, services *s, db_conn *c, int64_t quote_id, int64_t status_id,
                          const char *approval);

#endif
