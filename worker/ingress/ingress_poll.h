/* ingress_poll.h -- the polls row of a remote status (ingress_poll.c), written by
 * Create and Update inside their transactions. Private to worker/ingress. */
#ifndef SCOTTY_INGRESS_POLL_H
#define SCOTTY_INGRESS_POLL_H

#include "ingress_internal.h"

/* The stored poll of a status, compared with a parsed one. */
typedef struct ingress_poll_state {
    int64_t id;            /* 0: the status has no poll */
    bool same;             /* same options and `multiple` as the parsed poll
                            * (not PollParser#significantly_changes?) */
    bool expires;          /* expires_at is set */
    bool expired;          /* expires_at is in the past */
    bool voted;            /* local accounts voted (poll_votes rows) */
    int64_t expires_us;    /* expires_at in Unix microseconds (0: NULL) */
} ingress_poll_state;

/* Inserts the poll of status_id and sets statuses.poll_id. from_update: the poll is
 * added by an edit (last_fetched_at now, and reset_votes!: tallies 0, votes_count and
 * voters_count 0). Returns 0 or -1 with err. */
int ingress_poll_create(db_conn *c, int64_t account_id, int64_t status_id, const ap_poll *p,
                        bool from_update, char *err, size_t errlen);
/* update_poll! on the stored poll: the parsed values, last_fetched_at now, lock_version
 * + 1; reset: reset_votes! (the poll_votes deleted). Returns 0 or -1 with err. */
int ingress_poll_update(db_conn *c, int64_t poll_id, const ap_poll *p, bool reset, char *err,
                        size_t errlen);
/* Poll#destroy! (poll_votes and notifications with it) and statuses.poll_id NULL.
 * Returns 0 or -1 with err. */
int ingress_poll_destroy(db_conn *c, int64_t poll_id, int64_t status_id, char *err, size_t errlen);
/* Reads the stored poll of status_id into out. Returns 0 or -1 with err. */
int ingress_poll_stored(db_conn *c, int64_t status_id, const ap_poll *parsed, ingress_poll_state *out,
                        char *err, size_t errlen);
/* queue_poll_notifications!, after an update of a poll local accounts voted in
 * committed: a sooner expiry than previous_us first removes the poll's scheduled
 * PollExpirationNotifyWorker with its unique lock; then the worker is scheduled for
 * expires_us plus five minutes under its `until_executing` lock, which drops it while
 * one is scheduled already. Returns 0, or -1 with err (Redis refused or unreachable:
 * the Update is retried, and the lock keeps a second run from scheduling twice). */
int ingress_poll_notify(q_ctx *ctx, int64_t poll_id, int64_t previous_us, int64_t expires_us, char *err,
                        size_t errlen);
/* Poll#reset_parent_cache, after an update committed. */
void ingress_poll_cache_forget(q_ctx *ctx, int64_t status_id);

#endif
