/* ingress_fetch.h -- remote fetches beyond ingress_fetch_object, shared by the
 * Announce handler and the pull workers (ingress_fetch*.c). Private to worker/ingress. */
#ifndef SCOTTY_INGRESS_FETCH_H
#define SCOTTY_INGRESS_FETCH_H

#include "ingress_internal.h"

/* ingress_fetch_object without the id check (Mastodon's
 * fetch_resource_without_id_validation, used for collections). Same returns. */
int ingress_fetch_json(services *s, const char *uri, json_t **out, char *err, size_t errlen);
/* ingress_fetch_json that also says whether the server answered: *status is the last
 * HTTP status seen (0 when no answer came: connection, TLS, timeout, refused address).
 * Mastodon's fetch_resource(raise_on_error: :all) gives up on any answer but a 200 and
 * raises only on connection errors; callers that follow it read *status. */
int ingress_fetch_json_answered(services *s, const char *uri, json_t **out, long *status, char *err,
                                size_t errlen);

/* ActivityPub::FetchRemoteStatusService for one status URI: fetch it (or take
 * `prefetched` when not NULL, whose id must still be `uri`), check its @context,
 * that it is a status object whose id host equals its attributedTo host, count it
 * against status_discovery_per_request:<request_id> (1,000 per request, 5 minutes),
 * and store it with ingress_create_status (delivery false) under its author's known
 * account, or, when that author already has it, process it as an Update of it
 * (ingress_update: a newer edit, poll counts). request_id NULL means Mastodon's default
 * "<epoch>-status-<uri>".
 * Returns INGRESS_STORED with *status_id (and *created when this call inserted it;
 * a status already stored is returned as it is when another account has its URI);
 * INGRESS_DROPPED when Mastodon would give up without an error (gone, refused,
 * spoofed, suspended author, a URI on this server or on a domain not allowed: never
 * fetched);
 * INGRESS_UNHANDLED when only Ruby can finish it (the author's account needs Ruby,
 * the object is a type scotty does not store, or an activity);
 * INGRESS_FAILED when it may pass later. err says why for anything but STORED.
 * A quote post is stored with its quote, verified as its Create would be. */
ingress_outcome ingress_fetch_status(q_ctx *ctx, services *s, const char *uri,
                                     const json_t *prefetched, const char *request_id,
                                     int64_t *status_id, bool *created, char *err, size_t errlen);
/* ingress_fetch_status at FetchRemoteStatusService's `depth` (the quoted post of a
 * quote post fetched at depth d is fetched at d + 1; VerifyQuoteService fetches none
 * past MAX_SYNCHRONOUS_DEPTH). */
ingress_outcome ingress_fetch_status_at(q_ctx *ctx, services *s, const char *uri, const json_t *prefetched,
                                        const char *request_id, int depth, int64_t *status_id, bool *created,
                                        char *err, size_t errlen);

/* supported_context?: @context is, or includes, the ActivityStreams context. */
bool ingress_supported_context(const json_t *doc);

#endif
