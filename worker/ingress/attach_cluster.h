/* attach_cluster.h -- --media-cluster-slots N: at most N media tasks at once
 * across every scotty process sharing the Sidekiq Redis, through leases there.
 * A holder renews its lease while its task runs; a holder that dies (kill -9,
 * a lost host) frees its slot when the lease runs out. Waiters queue in Redis
 * by ticket, so the first to ask is the first served, whichever process asks. */
#ifndef SCOTTY_ATTACH_CLUSTER_H
#define SCOTTY_ATTACH_CLUSTER_H

#include "media.h"
#include "queues.h"

#include <jansson.h>
#include <stddef.h>

typedef struct attach_cluster attach_cluster;

/* Starts the lease renewer. slots: the cluster-wide limit (>= 1); local_slots:
 * this process's --media-slots (its tasks take a local place first, in order,
 * so a held cluster slot never waits for a local one); lease: seconds.
 * Returns NULL with err. */
attach_cluster *attach_cluster_new(const q_redis_opts *redis, int slots, int local_slots, double lease,
                                 char *err, size_t errlen);
/* Wakes every waiter ("cancelled", as media_runner_stop does) and makes later
 * calls fail the same way; running tasks keep their leases until they end. */
void attach_cluster_stop(attach_cluster *c);
/* After every attach_cluster_run call has returned. */
void attach_cluster_free(attach_cluster *c);

/* media_runner_run under the cluster limit (c NULL: no limit). Waits for a
 * local place, then for a cluster lease (retrying while Redis is away, with
 * one log line), runs the task, and gives the lease back. On stop while
 * waiting: -1 with out->cancelled. */
int attach_cluster_run(attach_cluster *c, media_runner *r, const char *task, const char *in, const char *out_dir,
                      media_progress_fn progress, void *ud, media_outcome *out, char *err, size_t errlen);

/* {"slots", "in_use", "waiting" (cluster-wide, from Redis), "here" (held by
 * this process), "lease"}; "error" instead of the Redis counts when Redis
 * cannot be asked. */
json_t *attach_cluster_stats(attach_cluster *c);

#endif
