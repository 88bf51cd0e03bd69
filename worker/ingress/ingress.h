/* ingress.h -- the ingress and pull job handlers: ActivityPub::ProcessingWorker
 * (ingress), FetchReplyWorker, ThreadResolveWorker, RedownloadMediaWorker and
 * ActivityPub::FetchRepliesWorker (pull). They need the engine's user pointer to be a
 * services (services.h). */
#ifndef SCOTTY_INGRESS_H
#define SCOTTY_INGRESS_H

#include <stdint.h>

#include "queues.h"

/* ActivityPub::ProcessingWorker (ingress_worker.c). */
void ingress_register(q_registry *reg);
/* FetchReplyWorker, ThreadResolveWorker, ActivityPub::FetchRepliesWorker (pull_*.c). */
void pull_register(q_registry *reg);
/* RedownloadMediaWorker (attach_worker.c). */
void attach_register(q_registry *reg);
/* The engine's on_orphan (q_engine_cfg): releases the Redis locks a dead process held
 * (ingress_lock.c). `user` is the services, whose `redis` names the Sidekiq Redis. */
void ingress_on_orphan(const char *identity, void *user);

/* Activities seen by ActivityPub::ProcessingWorker since start, per type as sent
 * (types beyond INGRESS_STATS_TYPES distinct names count as "Other"), by outcome:
 * handled (processed completely, or nothing to do), forwarded (to --forward-unhandled),
 * dropped (refused or ignored the way Mastodon ignores it), failed (the job failed:
 * retried, or unhandled without a forward queue). Read by the control socket. */
#define INGRESS_STATS_TYPES 32
typedef struct ingress_type_stats {
    char type[48];
    uint64_t handled, forwarded, dropped, failed;
} ingress_type_stats;
/* Copies up to max rows into out; returns how many. */
int ingress_stats_snapshot(ingress_type_stats *out, int max);

#endif
