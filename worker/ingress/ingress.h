/* ingress.h -- the ingress and pull job handlers: ActivityPub::ProcessingWorker
 * (ingress), FetchReplyWorker, ThreadResolveWorker, RedownloadMediaWorker and
 * ActivityPub::FetchRepliesWorker (pull). They need the engine's user pointer to be a
 * services (services.h). */
#ifndef SCOTTY_INGRESS_H
#define SCOTTY_INGRESS_H

#include "queues.h"

/* ActivityPub::ProcessingWorker (ingress_worker.c). */
void ingress_register(q_registry *reg);
/* FetchReplyWorker, ThreadResolveWorker, ActivityPub::FetchRepliesWorker (pull_*.c). */
void pull_register(q_registry *reg);
/* RedownloadMediaWorker (attach_worker.c). */
void attach_register(q_registry *reg);

#endif
