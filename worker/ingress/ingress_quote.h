/* ingress_quote.h -- the quotes row of a Create that quotes a status, and its
 * verification (ActivityPub::VerifyQuoteService). Private to worker/ingress. */
#ifndef SCOTTY_INGRESS_QUOTE_H
#define SCOTTY_INGRESS_QUOTE_H

#include "ingress_create.h"

/* Inside the Create transaction: the quotes row of p's new status when it quotes one
 * (state pending, or deleted for a Tombstone quote). Returns 0 or -1 with err. */
int ingress_quote_insert(db_conn *c, const ingress_create_plan *p, char *err, size_t errlen);

/* Inside the Create transaction: statuses.quote_approval_policy of p's new status from
 * its interactionPolicy.canQuote (StatusParser#quote_policy with the author's
 * followers and following collections). Returns 0 or -1 with err. */
int ingress_quote_policy_store(db_conn *c, const ingress_create_plan *p, char *err, size_t errlen);

/* After the commit, holding no connection: Create#fetch_and_verify_quote. The quoted
 * status is looked up or fetched, then accepted (a self-quote, or a matching
 * QuoteAuthorization), rejected (the approval is gone) or left pending; a transient
 * failure schedules ActivityPub::RefetchAndVerifyQuoteWorker. Failures are logged. */
void ingress_quote_verify(q_ctx *ctx, ingress_create_plan *p);

#endif
