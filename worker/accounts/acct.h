/* acct.h -- remote accounts, natively: Mastodon's ResolveAccountService,
 * ActivityPub::FetchRemoteAccountService and ActivityPub::ProcessAccountService (a
 * signed GET of the actor, the id and host checks, WebFinger confirmation, every
 * accounts / account_stats / keypairs column they write, domain blocks), the account
 * Update activity, and the pull workers AccountRefreshWorker, ResolveAccountWorker and
 * MentionResolveWorker. Used by the ingress handlers for authors and mentions scotty
 * does not know yet. Implemented in worker/accounts/acct_*.c. */
#ifndef SCOTTY_ACCT_H
#define SCOTTY_ACCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "ingress_internal.h"

typedef enum {
    ACCT_RESOLVED = 0, /* *out is the account (created, refreshed or already known) */
    ACCT_NONE,         /* Mastodon's services return nil: refused, gone, blocked; err says why */
    ACCT_RETRY,        /* transient (no answer from the server, database, Redis, busy lock) */
    ACCT_UNHANDLED     /* only Ruby can finish it (a suspension change, a 410 for a known
                        * account): nothing was written */
} acct_outcome;

/* ActivityPub::FetchRemoteAccountService#call(uri, request_id:): a URI on this server
 * is the local account; otherwise the actor is fetched and processed, its WebFinger
 * handle confirmed. request_id NULL means Mastodon's default. */
acct_outcome acct_fetch(q_ctx *ctx, services *s, const char *uri, const char *request_id,
                        ingress_account *out, char *err, size_t errlen);

/* The account behind `uri` as ingress needs it: a known one (uri_to_actor / by uri or
 * url) as is, else acct_fetch. */
acct_outcome acct_find_or_fetch(q_ctx *ctx, services *s, const char *uri, const char *request_id,
                                ingress_account *out, char *err, size_t errlen);

/* DomainControlHelper#domain_not_allowed?(uri or domain): a suspend rule applies to it
 * or a parent domain (DomainBlock.blocked?), or, in limited federation mode, the
 * domain is not in domain_allows (DomainAllow.allowed?). Returns 0 with *blocked, or
 * -1 with err. */
int acct_domain_blocked(services *s, const char *uri_or_domain, bool *blocked, char *err, size_t errlen);

/* ActivityPub::Activity::Update of an actor (Person, Service, Group, Organization,
 * Application): the object must be the actor itself; processed as ProcessAccountService
 * with account: and signed_with_known_key: true. */
acct_outcome acct_update(q_ctx *ctx, services *s, const ingress_account *actor, const json_t *object,
                         const char *request_id, char *err, size_t errlen);

/* Account#needs_background_refresh? as SQL over an accounts row whose columns take the
 * prefix t ("a." or ""): remote, and last fully fetched over a week ago, never, or
 * under an invalidated username. */
#define ACCT_NEEDS_REFRESH_SQL(t)                                                              \
    t "domain IS NOT NULL AND (" t "last_webfingered_at IS NULL OR " t "last_webfingered_at <= " \
      "timezone('UTC', now()) - interval '1 week' OR " t "username LIKE '! %')"
/* Whether account id needs_background_refresh?, asked of the database. Returns 0, or
 * -1 with err. */
int acct_needs_refresh(services *s, int64_t id, bool *due, char *err, size_t errlen);
/* Account#schedule_refresh_if_stale!: AccountRefreshWorker within 6 hours when the
 * remote account was last fully fetched more than a week ago (or never), as read with
 * the actor's row when it was (refresh_known), else asked. Logs failures. */
void acct_schedule_refresh_if_stale(q_ctx *ctx, services *s, const ingress_account *actor);

/* AccountRefreshWorker, ResolveAccountWorker and MentionResolveWorker (acct_jobs.c). */
void acct_register(q_registry *reg);

#endif
