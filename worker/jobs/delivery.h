/* delivery.h -- the parts of ActivityPub delivery (delivery*.c) that are shared
 * between its files and with services.c: the per-host circuit breaker, the signing
 * key cache, Mastodon's DeliveryFailureTracker and the Collection-Synchronization
 * header. The handlers themselves are registered through jobs.h. */
#ifndef SCOTTY_DELIVERY_H
#define SCOTTY_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "net.h"
#include "queues.h"
#include "storage.h"

/* ---- Circuit breaker (delivery_breaker.c) ----
 * Per host: after `threshold` consecutive failed deliveries the host is refused
 * for `cooloff` seconds, then one probe goes through (a success closes the circuit,
 * a failure opens it again). Besides, a host is "suspect" once two deliveries in a
 * row failed or its oldest request has been waiting for an answer longer than a
 * second; a suspect host gets one delivery in flight at a time and the others are
 * refused at once. A host that has not answered since it was last idle may have
 * min(4, concurrency / 2) deliveries in flight (so a dead one holds that many
 * threads, not a second's worth of its deliveries); more wait for one of them to be
 * answered, or are refused once it turns suspect. A host that answers has no cap, as
 * in Ruby (a cap parks threads that hold its jobs: they serve no other host meanwhile,
 * and halve what one busy inbox can be sent). What bounds a host that then goes
 * silent is the cut-off: once none of its deliveries in flight has been answered for
 * 3 s, one waits on for its read timeout and the others are cut off when they next
 * ask delivery_breaker_give_up, so all threads are back within about 4 s, not the
 * read timeout. */
typedef struct delivery_breaker delivery_breaker;

typedef enum delivery_outcome {
    DELIVERY_ANSWERED,     /* the host answered, or the delivery was given up on it */
    DELIVERY_FAILED,       /* a retryable failure of the host's: counts towards opening */
    DELIVERY_CUT           /* cut off by delivery_breaker_give_up: neither */
} delivery_outcome;

delivery_breaker *delivery_breaker_new(int threshold, double cooloff, int concurrency);
void delivery_breaker_free(delivery_breaker *b);
/* Asks to deliver to host. Returns 0 (call delivery_breaker_leave afterwards), or -1
 * with why ("circuit open for 41 more seconds after 10 consecutive failures"). */
int delivery_breaker_enter(delivery_breaker *b, const char *host, char *why, size_t whylen);
/* -1 with why when the delivery `flight` (any address unique to it while it is in
 * flight; the same one for leave) is to be cut off, as above; ask while it waits (a
 * second after it entered, then every half second is enough). */
int delivery_breaker_give_up(delivery_breaker *b, const char *host, const void *flight, char *why,
                             size_t whylen);
/* Reports the delivery's outcome. */
void delivery_breaker_leave(delivery_breaker *b, const char *host, const void *flight,
                           delivery_outcome outcome);
/* Hosts the breaker watches now: refused (open), one request at a time (suspect), the
 * rest (closed); and the deliveries it has cut off since it was made. */
void delivery_breaker_states(delivery_breaker *b, int *open, int *suspect, int *closed,
                             unsigned long *cut_offs);

/* ---- Signing keys (delivery_keys.c) ---- */
typedef struct delivery_signer {
    sig_key *key;
    char key_id[1024];         /* keyId: Keypair#full_uri */
    char actor_uri[1024];      /* the account's ActivityPub id */
} delivery_signer;

typedef struct delivery_keys delivery_keys;
/* A cache of signers by account id; entries are reloaded after a minute. */
delivery_keys *delivery_keys_new(const arenc_keys *arenc, const char *local_domain);
void delivery_keys_free(delivery_keys *k);
/* The signer for account_id: the oldest usable RSA `keypairs` row, else the legacy
 * accounts.private_key. With sign_with (the job's options.sign_with: a PEM string or
 * a hash with private_key, uri, local_fragment) that key is used instead. Returns a
 * reference the caller gives back with delivery_signer_release, or NULL with err. */
const delivery_signer *delivery_keys_get(delivery_keys *k, db_conn *db, int64_t account_id,
                                         const json_t *sign_with, char *err, size_t errlen);
void delivery_signer_release(delivery_keys *k, const delivery_signer *s);
/* account_id's signer if the cache holds a fresh one (no database needed), else NULL;
 * a non-NULL result is released like delivery_keys_get's. */
const delivery_signer *delivery_keys_cached(delivery_keys *k, int64_t account_id);

/* ---- Tracker memo (delivery_avail.c) ----
 * Per host, for `ttl` seconds: that it has no unavailable_domains row, so deliveries
 * to it skip that lookup, and that its failure days were deleted, so successes skip
 * the DEL. Only the good news is remembered. A host Ruby marks unavailable is seen
 * at most ttl seconds late (it gets the deliveries it would have got a moment
 * earlier); a host marked unavailable is asked about every time, so one that
 * recovers loses nothing; a failure day Ruby records is deleted by the first success
 * after the memo's ttl, not the first one after it. scotty's own failures forget the
 * host at once. */
typedef struct delivery_avail delivery_avail;
delivery_avail *delivery_avail_new(double ttl);
void delivery_avail_free(delivery_avail *a);
/* true if host was found available less than ttl seconds ago. */
bool delivery_avail_known(delivery_avail *a, const char *host);
/* Records a lookup's or the tracker's finding for host. */
void delivery_avail_note(delivery_avail *a, const char *host, bool available);
/* true if host's failure days were deleted less than ttl seconds ago. */
bool delivery_avail_clean(delivery_avail *a, const char *host);
void delivery_avail_note_clean(delivery_avail *a, const char *host, bool clean);

/* ---- DeliveryFailureTracker (delivery_tracker.c), Mastodon-compatible ----
 * Redis set exhausted_deliveries:<host> of UTC days (YYYYMMDD) with a failure; at 7
 * days an unavailable_domains row; a success deletes both. */
#define DELIVERY_FAILURE_DAYS 7
/* 1 if host has an unavailable_domains row, 0 if not, -1 with err. */
int delivery_host_unavailable(db_conn *db, const char *host, char *err, size_t errlen);
/* Both take a connection from db only when they write to PostgreSQL (the 7th day's
 * row, or deleting one), and note the change in avail (may be NULL). */
int delivery_track_failure(q_conn *redis, db_pool *db, delivery_avail *avail, const char *host,
                           char *err, size_t errlen);
/* had_row: whether the host was marked unavailable (skips a DELETE when it was not). */
int delivery_track_success(q_conn *redis, db_pool *db, delivery_avail *avail, const char *host,
                           bool had_row, char *err, size_t errlen);

/* ---- Collection-Synchronization (delivery_sync.c) ----
 * collectionId="<actor>/followers", digest="<hex>", url="<actor>/followers_synchronization"
 * where digest XORs SHA-256 of the URIs of account_id's followers on the inbox's
 * scheme://host[:port] (Account#remote_followers_hash). Appends to out; 0 or -1. */
int delivery_sync_header(db_conn *db, int64_t account_id, const char *actor_uri,
                         const char *inbox_url, base_buf *out, char *err, size_t errlen);

/* ---- RFC 9421 second knock (delivery_rfc9421.c) ---- */
typedef struct delivery_rfc9421 {
    char content_digest[128];   /* Content-Digest: sha-256=:<b64>: */
    char signature_input[1500]; /* Signature-Input: sig1=(...);created=...;keyid="..." */
    char signature[1024];       /* Signature: sig1=:<b64>: */
} delivery_rfc9421;
/* The three headers of a POST of body to url signed by s. Returns 0 or -1 with err. */
int delivery_rfc9421_headers(const delivery_signer *s, const char *url, const void *body,
                             size_t len, delivery_rfc9421 *out, char *err, size_t errlen);

/* The inbox URL's host, lowercased (Addressable's normalized_host, without the
 * port). Returns 0 or -1 if the URL has no host. */
int delivery_url_host(const char *url, char *host, size_t len);

#endif
