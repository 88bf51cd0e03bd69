/* ingress_announce.h -- the two halves of ActivityPub::Activity::Announce
 * (ingress_announce.c: gates, lock, the boosted status; ingress_announce_row.c: the
 * boost row, counters and follow-up jobs). Private to worker/ingress. */
#ifndef SCOTTY_INGRESS_ANNOUNCE_H
#define SCOTTY_INGRESS_ANNOUNCE_H

#include "ingress_undoable.h"

/* Creates actor's boost of `orig` for activity a (visibility from its to/cc, uri its
 * id, created_at its published), unless actor already boosted it or a status has that
 * uri: the statuses row with its own conversation, the original's reblogs_count and
 * (unless direct) the booster's statuses_count, in one statement; then
 * LocalNotificationWorker (a local original) and DistributionWorker. */
ingress_outcome ingress_announce_store(q_ctx *ctx, services *s, const ingress_account *actor,
                                       const ap_activity *a, const ingress_status_row *orig,
                                       char *err, size_t errlen);

/* visibility_from_audience of an Announce: public (Public in to), unlisted (in cc),
 * private (the actor's followers in to), else direct. */
int ingress_announce_visibility(const json_t *activity, const char *followers_url);

#endif
