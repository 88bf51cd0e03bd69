/* jobs.h -- the job handlers scotty runs, registered by class name. */
#ifndef SCOTTY_JOBS_H
#define SCOTTY_JOBS_H

#include "queues.h"

/* Scotty::Diag::* jobs (diag.c). */
void jobs_register_diag(q_registry *reg);

/* ActivityPub::DeliveryWorker and LowPriorityDeliveryWorker (delivery.c); they need
 * the engine's user pointer to be a services (services.h). */
void jobs_register_delivery(q_registry *reg);

/* Scotty::MediaCacheCleanup and Scotty::DeadSetTrim (maintenance_*.c); the cleanup
 * needs the engine's user pointer to be a services (services.h). */
void jobs_register_maintenance(q_registry *reg);

#endif
