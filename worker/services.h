/* services.h -- what job handlers share across processor threads: one HTTP client
 * (its connection cache), the PostgreSQL pool, the Rails encryption keys and the
 * delivery circuit breaker. Opened once at start from the environment and handed
 * to the engine as its `user` pointer; handlers read it with q_ctx_user(). */
#ifndef SCOTTY_SERVICES_H
#define SCOTTY_SERVICES_H

#include <stdbool.h>
#include <stddef.h>

#include "net.h"
#include "storage.h"
#include "jobs/delivery.h"

typedef struct services {
    http_client *http;
    db_settings db_settings;   /* the pool's connections point here */
    db_pool *db;               /* NULL when no database is configured: see db_missing */
    char db_missing[256];      /* why db is NULL, for the jobs that need it */
    arenc_keys *arenc;         /* NULL when ACTIVE_RECORD_ENCRYPTION_* are unset */
    char local_domain[256];    /* LOCAL_DOMAIN, "localhost" if unset */
    bool limited_federation;   /* LIMITED_FEDERATION_MODE (else WHITELIST_MODE) is "true":
                                * only domain_allows' domains are federated with */
    delivery_breaker *breaker; /* per-host circuit breaker for deliveries */
    delivery_keys *keys;       /* signing keys by account, cached for a minute */
    delivery_avail *avail;     /* hosts recently found available (unavailable_domains) */
    objstore *store;           /* object storage from the S3 and PAPERCLIP variables */
    struct media_runner *media; /* scotty-media children under the --media-* caps; set by
                                * the worker after services_open, NULL without media */
    int media_slots;            /* --media-slots, for the operator's views */
    struct attach_cluster *media_cluster; /* --media-cluster-slots leases in Redis; NULL
                                           * without a cluster-wide limit */
    char forward_unhandled[128]; /* --forward-unhandled QUEUE: activities scotty does not
                                  * cover go there unchanged; "" fails them */
    char media_defer_queue[128]; /* --media-defer QUEUE: attachments are fetched by
                                  * RedownloadMediaWorker there; "" fetches them inline */
    q_redis_opts redis;          /* the Sidekiq Redis (the engine's), for work outside a
                                  * job: set by the worker after services_open */
    q_redis_opts app_redis;      /* Mastodon's application Redis (REDIS_*) when
                                  * app_redis_own: it is another server than Sidekiq's */
    bool app_redis_own;          /* set by the worker from the config */
} services;

/* Opens everything from the environment for `concurrency` processor threads:
 *   DATABASE_URL or DB_HOST/DB_NAME (optional: without them jobs needing the
 *   database fail with a message saying so), DB_POOL (connections; min(concurrency, 25)), ACTIVE_RECORD_ENCRYPTION_* (optional),
 *   object storage (S3_..., PAPERCLIP_...), LOCAL_DOMAIN, ALLOWED_PRIVATE_ADDRESSES,
 *   LIMITED_FEDERATION_MODE (or WHITELIST_MODE),
 *   SCOTTY_HTTP_READ_TIMEOUT (seconds),
 *   SCOTTY_DELIVERY_BREAKER_THRESHOLD (10 consecutive failures) and
 *   SCOTTY_DELIVERY_BREAKER_COOLOFF (60 seconds).
 * Returns NULL with err on a setting that cannot work. */
services *services_open(int concurrency, char *err, size_t errlen);
void services_free(services *s);

#endif
