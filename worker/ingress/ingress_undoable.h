/* ingress_undoable.h -- what Announce, Like and Undo share (ingress_announce*.c,
 * ingress_like*.c, ingress_undo*.c): the rows of a status they act on, Mastodon's
 * delete_upon_arrival keys, and taking a boost or a favourite back with its counters.
 * Private to worker/ingress. */
#ifndef SCOTTY_INGRESS_UNDOABLE_H
#define SCOTTY_INGRESS_UNDOABLE_H

#include "ingress_internal.h"

/* A live status as the interaction handlers see it. */
typedef struct ingress_status_row {
    int64_t id, account_id;
    int64_t reblog_of_id;       /* 0 when not a boost */
    int visibility;             /* ap_visibility */
    bool author_local;          /* the author's accounts.domain IS NULL */
} ingress_status_row;

/* Loads the live status with this uri. Returns 0, 1 when unknown, -1 with err. */
int ingress_status_row_by_uri(db_conn *c, const char *uri, ingress_status_row *out, char *err,
                              size_t errlen);
/* Loads status `id`. Returns 0, 1 when unknown, -1 with err. */
int ingress_status_row_by_id(db_conn *c, int64_t id, ingress_status_row *out, char *err,
                             size_t errlen);

/* delete_arrived_first?: whether delete_upon_arrival:<account_id>:<uri> exists.
 * Returns 0 with *yes, -1 with err. */
int ingress_deleted_upon_arrival(q_ctx *ctx, int64_t account_id, const char *uri, bool *yes,
                                 char *err, size_t errlen);
/* delete_later!: sets delete_upon_arrival:<account_id>:<uri> to uri for 6 hours, so
 * the undone activity is ignored if it arrives after its Undo. Returns 0 or -1. */
int ingress_delete_later(q_ctx *ctx, int64_t account_id, const char *uri, char *err,
                         size_t errlen);

/* Removes boost `reblog_id` as RemoveStatusService does in the database: the row
 * goes, the original's reblogs_count and (unless direct) the booster's statuses_count
 * drop by one, never below 0. One transaction. Returns 0 or -1 with err. */
int ingress_reblog_remove(db_conn *c, int64_t reblog_id, char *err, size_t errlen);

/* Removes account_id's favourite of status_id and drops favourites_count. *removed
 * says whether there was one. One transaction. Returns 0 or -1 with err. */
int ingress_favourite_remove(db_conn *c, int64_t account_id, int64_t status_id, bool *removed,
                             char *err, size_t errlen);

#endif
