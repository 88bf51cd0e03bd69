/* ingress_internal.h -- what the ingress and pull handlers share: the actor's
 * account, storing a parsed status with every row Mastodon writes for it, and
 * dereferencing remote objects. Implemented in ingress_*.c. */
#ifndef SCOTTY_INGRESS_INTERNAL_H
#define SCOTTY_INGRESS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ap.h"
#include "queues.h"
#include "services.h"

/* The columns of an accounts row ingress decisions need. */
typedef struct ingress_account {
    int64_t id;
    char uri[1024];
    char domain[256];           /* "" for a local account */
    char followers_url[1024];
    bool suspended, silenced, sensitized;
    bool refresh_known;         /* `stale` was read with the row (ingress_account.c) */
    bool stale;                 /* needs_background_refresh? */
} ingress_account;

/* Loads account `id` (a local account's uri as stored, usually ""; see
 * ingress_account_resolve). Returns 0, 1 when there is no such account, -1 with err. */
int ingress_account_by_id(db_conn *c, int64_t id, ingress_account *out, char *err, size_t errlen);
/* Loads the account whose uri (or url) is `uri`. Returns 0, 1 when unknown, -1 with err. */
int ingress_account_by_uri(db_conn *c, const char *uri, ingress_account *out, char *err,
                           size_t errlen);

/* Like ingress_account_by_uri, but a URI on this server (LOCAL_DOMAIN: /users/NAME,
 * /ap/users/ID, /@NAME) names the local account, as ActivityPub::TagManager's
 * uri_to_actor does. Returns 0, 1 when unknown, -1 with err. */
int ingress_account_resolve(db_conn *c, const char *local_domain, const char *uri,
                            ingress_account *out, char *err, size_t errlen);

/* Mastodon's application Redis (locks, delete_upon_arrival, feeds, streaming): the
 * Sidekiq connection unless SIDEKIQ_REDIS_* and REDIS_* name different servers
 * (services' app_redis_own); then a connection of this thread's own (ingress_redis.c).
 * Jobs are always pushed through q_ctx_redis. */
q_conn *ingress_app_redis(q_ctx *ctx);
/* The same Redis for work outside a job (no q_ctx), such as the engine's on_orphan
 * call: a connection of this thread's own, to s->redis (the engine's Redis) unless
 * Mastodon's application Redis is another one. Freed when the thread ends. */
q_conn *ingress_app_redis_outside(const services *s);

/* Rails.cache.delete(key) in Mastodon's cache store ("cache:" + key; ingress_cache.c).
 * Failures are logged: the entry then expires on its own. */
void ingress_rails_cache_delete(q_ctx *ctx, const char *key);

/* ---- Redis locks exactly as Mastodon's with_redis_lock (the mario-redis-lock gem):
 * key "lock:<name>", SET key token NX PX <autorelease>, retried every 0.1 s for up to
 * 10 s, released by a compare-and-delete of the token (ingress_lock.c). Ruby and C
 * workers exclude each other through the same keys. The token names this process
 * ("<time>-<random>-scotty:<identity>"), and a held lock is also a field of the hash
 * scotty:locks:<identity> (lock key -> token, with the lock's TTL), so that a dead
 * process's locks can be released by whoever recovers its jobs. */
#define INGRESS_LOCK_AUTORELEASE_MS 900000L  /* 15 minutes */
#define INGRESS_LOCK_WAIT_MS 10000L          /* the gem's retry_timeout */
#define INGRESS_LOCK_NAME_MAX 4200 /* "kind:subject": a URL Mastodon stores (cards: 2,692 characters) fits */
typedef struct ingress_lock {
    char key[INGRESS_LOCK_NAME_MAX + 8]; /* "lock:" + name */
    char token[400];
    bool held;
} ingress_lock;
#define INGRESS_LOCK_HOLDER_KEY_MAX 400 /* "scotty:locks:<identity>" */
/* Returns 0 when held, 1 when another holder kept it for wait_ms (Mastodon raises
 * RaceConditionError: the job retries), -1 with err when Redis failed. */
int ingress_lock_acquire(q_ctx *ctx, const char *name, long wait_ms, ingress_lock *l, char *err,
                         size_t errlen);
/* How a busy lock's err begins: the message of Mastodon's RaceConditionError, by which
 * handlers name the failure the same way. */
#define INGRESS_LOCK_BUSY "Could not acquire lock for "
/* with_redis_lock("<kind>:<subject>") with raise_on_failure: ingress_lock_acquire
 * waiting INGRESS_LOCK_WAIT_MS, a busy lock being Mastodon's RaceConditionError
 * (INGRESS_LOCK_BUSY "<name>, try again later"). Returns 0 when held, -1 with err when
 * busy or Redis failed (either way the job retries). */
int ingress_lock_or_retry(q_ctx *ctx, const char *kind, const char *subject, ingress_lock *l, char *err,
                          size_t errlen);
/* What the step that takes a lock also does, on the lock's Redis: whether exists_key
 * exists, and (set_key not NULL) SET set_key set_value EX set_ttl_s GET; and
 * meanwhile(meanwhile_arg), when not NULL, run once while the first attempt's reply
 * is on its way (work that needs no Redis of the lock's, taken or not; not run when
 * the lock's name or token cannot even be made). */
typedef struct ingress_lock_also {
    const char *exists_key;
    const char *set_key, *set_value;
    int set_ttl_s;
    void (*meanwhile)(void *);
    void *meanwhile_arg;
    bool exists;               /* out */
    char *set_prev;            /* out: set_key's value before (malloc'd), NULL if none */
} ingress_lock_also;
/* ingress_lock_or_retry that also does `also` once the lock is taken (its outs are set
 * when it returns 0). */
int ingress_lock_or_retry_also(q_ctx *ctx, const char *kind, const char *subject, ingress_lock_also *also,
                               ingress_lock *l, char *err, size_t errlen);
/* Releases the lock if this holder still owns it. */
void ingress_lock_release(q_ctx *ctx, ingress_lock *l);
/* The same, for a handler whose last act it is: in the step that writes the job's
 * outcome when the locks live on the Sidekiq Redis (one round trip fewer), else now. */
void ingress_lock_release_with_outcome(q_ctx *ctx, ingress_lock *l);
/* Releases the locks the dead process `identity` still holds (those whose value is
 * still its token; one taken over since is left alone) and forgets its holder hash.
 * Returns how many were released, or -1 with err. */
int ingress_lock_orphans(q_conn *c, const char *identity, char *err, size_t errlen);

typedef struct ingress_create_opts {
    bool delivery;                   /* an inbox delivery: relevance gate, time-of-arrival id */
    int64_t delivered_to_account_id; /* personal inbox owner, 0 for the shared inbox */
    const char *request_id;          /* passed on in follow-up jobs' options, or NULL */
    const json_t *root;              /* the activity document (raw fields follow-ups read:
                                      * replies, signature), or NULL */
    bool named_object;               /* the object has a "name": as a reply to a local poll it
                                      * is a vote, which scotty does not record (unhandled) */
    bool relayed;                    /* the signer relayed it for its actor (a verified proof) */
    int depth;                       /* FetchRemoteStatusService's depth: how many quoted
                                      * posts were fetched to reach this one (0: none) */
    bool unlock_with_outcome;        /* the job ends with this status: its create lock is
                                      * released with the job's outcome */
} ingress_create_opts;

typedef enum {
    INGRESS_STORED = 0,   /* created now, or already there (idempotent) */
    INGRESS_DROPPED,      /* Mastodon would drop it: tombstoned, deleted upon arrival,
                           * not relevant, authorship mismatch; err says which */
    INGRESS_FAILED,       /* transient (database, Redis, lock busy): retry the job */
    INGRESS_UNHANDLED     /* an activity handler found, before writing anything, that the
                           * activity is one scotty does not cover (an Undo whose bare
                           * object uri is neither a boost nor a like, say): the
                           * dispatcher forwards the job or fails it */
} ingress_outcome;

/* The actor of an activity the signer relayed (a->relayed), as ProcessActivityService
 * finds it: INGRESS_STORED with *actor when an FEP-8b32 eddsa-jcs-2022 proof by a
 * stored key of the actor verifies (ingress_relayed.c); INGRESS_DROPPED when Mastodon
 * would find no actor (a bad, expired or forged proof); INGRESS_UNHANDLED when only
 * Ruby can tell (an LD signature, a key not stored here, ML-DSA); INGRESS_FAILED for
 * the database. err says why, but for STORED. */
ingress_outcome ingress_relayed_actor(services *s, const ap_activity *a, ingress_account *actor, char *err,
                                      size_t errlen);

/* Creates the status for `st` by `actor` exactly as ActivityPub::Activity::Create does:
 * under the Redis lock lock:create:<uri>, statuses + status_stats + mentions + tags +
 * statuses_tags + conversation + media_attachments rows in one transaction, then the
 * attachments (inline or deferred) and the follow-up jobs. *status_id gets the new or
 * existing id. */
ingress_outcome ingress_create_status(q_ctx *ctx, services *s, const ingress_account *actor,
                                      const ap_status *st, const ingress_create_opts *o,
                                      int64_t *status_id, char *err, size_t errlen);

/* The id of the non-deleted status with this uri. Returns 0, 1 when
 * unknown, -1 with err. */
int ingress_status_by_uri(db_conn *c, const char *uri, int64_t *id, int64_t *account_id,
                          char *err, size_t errlen);

/* GETs a remote ActivityPub object with Mastodon's fetch rules: Accept header, 1 MB
 * cap, signed with the instance actor's key when one is configured (authorized
 * fetch), the returned id must equal `uri`, and its host must equal `origin`'s when
 * origin is not NULL. *out is the parsed object (caller json_decref()s).
 * Returns 0; 1 for a permanent refusal (404/410, wrong id or host, not AP);
 * -1 for a transient failure. err says why. */
int ingress_fetch_object(services *s, const char *uri, const char *origin, json_t **out,
                         char *err, size_t errlen);

/* ---- Activity handlers (ActivityPub::ProcessingWorker's dispatch, ingress_dispatch.c) ----
 * Each handles one activity completely, with the effects of Mastodon's
 * ActivityPub::Activity::<Type>, for `actor` (the signer's account; the dispatcher has
 * already dropped suspended actors except for Delete/Undo/Update). They never
 * forward: what scotty cannot finish is recognised by ingress_activity_unhandled
 * before anything is written. err says why for anything but INGRESS_STORED. */
typedef ingress_outcome (*ingress_activity_fn)(q_ctx *ctx, services *s, const ingress_account *actor,
                                               const ap_activity *a, char *err, size_t errlen);

/* Announce (boosts), Like, Undo of Announce/Like: implemented by the pull engineer
 * (their own files), called from ingress_dispatch.c. */
ingress_outcome ingress_announce(q_ctx *ctx, services *s, const ingress_account *actor,
                                 const ap_activity *a, char *err, size_t errlen);
ingress_outcome ingress_like(q_ctx *ctx, services *s, const ingress_account *actor,
                             const ap_activity *a, char *err, size_t errlen);
ingress_outcome ingress_undo(q_ctx *ctx, services *s, const ingress_account *actor,
                             const ap_activity *a, char *err, size_t errlen);

/* Create (ingress_create.c: the object parsed into a->status, stored with
 * ingress_create_status), Update of a status (ingress_update.c), Delete of a status
 * (ingress_delete.c). */
ingress_outcome ingress_create(q_ctx *ctx, services *s, const ingress_account *actor,
                               const ap_activity *a, const ingress_create_opts *o, char *err,
                               size_t errlen);
ingress_outcome ingress_update(q_ctx *ctx, services *s, const ingress_account *actor,
                               const ap_activity *a, const ingress_create_opts *o, char *err,
                               size_t errlen);
ingress_outcome ingress_delete(q_ctx *ctx, services *s, const ingress_account *actor,
                               const ap_activity *a, char *err, size_t errlen);

/* Destroys the notifications of one activity (activity_type "Poll", "Quote", ...,
 * activity_id its id) and reconsiders the notification request of each one's
 * (account, from_account) pair, as Notification's after_destroy does
 * (ingress_notifications.c). Returns 0 or -1 with err. */
int ingress_notifications_destroy(db_conn *c, const char *activity_type, const char *activity_id, char *err,
                                  size_t errlen);

/* Decides, before anything is written, whether scotty covers this activity: returns
 * NULL when it does, else a short description of what it does not cover ("Follow
 * activities", "Create of Question", "Undo of Follow", "account Delete") for the
 * forward/fail message and the per-type stats. Implemented in ingress_dispatch.c. */
const char *ingress_activity_unhandled(const ap_activity *a);
/* The part of that decision a parsed status makes by itself, wherever it comes from (a
 * delivered Create or Update, a fetched or boosted object: ingress_create_status): a quote
 * with no http URI, a tagged FeaturedCollection, a poll Ruby raises on. NULL, or what. */
const char *ingress_status_unhandled(const ap_status *st);

/* ActivityPub::Forwarder#forwardable? for an activity about status_id: LD-signed, the
 * status public or unlisted, boosted by a local account or replying to a local
 * status (ingress_forwarder.c). Returns 0 with *out, or -1 with err. */
int ingress_forwardable(db_conn *c, const ap_activity *a, int64_t status_id, bool *out, char *err,
                        size_t errlen);

/* Runs the handler of a covered activity (ingress_dispatch.c). */
ingress_outcome ingress_dispatch(q_ctx *ctx, services *s, const ingress_account *actor,
                                 const ap_activity *a, const ingress_create_opts *o, char *err,
                                 size_t errlen);

/* Per activity type counters since start: handled, forwarded, dropped, failed
 * (ingress_stats.c). `type` is the activity's type as sent (capped, and "Other"
 * beyond a fixed number of distinct names). */
typedef enum { INGRESS_OUT_HANDLED = 0, INGRESS_OUT_FORWARDED, INGRESS_OUT_DROPPED,
               INGRESS_OUT_FAILED, INGRESS_OUT_N } ingress_stat_outcome;
void ingress_stats_count(const char *type, ingress_stat_outcome outcome);

/* A random whole number of seconds in [lo, hi] (ingress_delays.c). */
long ingress_rand_between(long lo, long hi);
/* Mastodon's ExponentialBackoff, 15 + 10 * count^4 + rand(10 * count^4) seconds, as the
 * q_handler backoff of the pull workers; the engine adds Sidekiq's own jitter. */
long ingress_exponential_backoff(int count, const q_result *r, const q_job *job);

#endif
