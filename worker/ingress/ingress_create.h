/* ingress_create.h -- what the three files of ActivityPub::Activity::Create share
 * (ingress_create.c: gates and lock; ingress_create_tx.c: the transaction;
 * ingress_followup.c: jobs pushed after it). Private to worker/ingress. */
#ifndef SCOTTY_INGRESS_CREATE_H
#define SCOTTY_INGRESS_CREATE_H

#include "ingress_internal.h"

typedef struct ingress_ref {
    int64_t id;
    bool local;
} ingress_ref;

/* Everything decided before the transaction. */
typedef struct ingress_create_plan {
    services *s;
    const ingress_account *actor;
    const ap_status *st;
    const ingress_create_opts *o;
    int visibility;               /* ap_visibility, LIMITED decided here */
    bool sensitive;
    bool backdate;                /* id from created_at (a fetched, past status) */
    /* the parent, when inReplyTo names a known status */
    bool parent_known;
    int64_t parent_id, parent_account_id, parent_reply_to_account_id, parent_conversation_id;
    bool parent_local, parent_reply;
    /* accounts */
    ingress_ref *mentions;        /* tag mentions, resolved, deduplicated */
    size_t n_mentions;
    ingress_ref *audience;        /* known accounts in to/cc, plus the personal inbox owner */
    size_t n_audience;
    char **unresolved;            /* mention hrefs naming no known account (borrowed) */
    size_t n_unresolved;
    /* results of the transaction */
    int64_t status_id;
    int64_t media_ids[AP_MAX_MEDIA];
    size_t n_media;
    bool created;                 /* this run inserted the status */
    bool realtime;                /* created within the last 6 hours (within_realtime_window?) */
} ingress_create_plan;

/* Inserts the status and every row that goes with it in one transaction on c.
 * When the COMMIT's reply is lost, the status is looked up by uri to learn whether
 * it was written. Returns 0 (p->created true), 1 when a status has the uri already
 * (p->status_id and *author set to that row's), 2 when Mastodon's validation refuses
 * the new status (a poll without options; err says so; nothing written), 3 when the
 * COMMIT's reply was lost and the check failed too (it may be written: the job is
 * retried, and its marker kept so that the retry writes the follow-ups if it was), -1
 * with err (nothing written: the job is retried). */
int ingress_create_tx(db_conn *c, ingress_create_plan *p, int64_t *author, char *err, size_t errlen);

/* After the commit, holding no database connection (inline attachments and the
 * forward_for_reply lookup take their own): attachments (inline or deferred) and the
 * follow-up jobs Mastodon pushes. Failures are logged; the status stays (see
 * ingress_create.c). */
void ingress_create_followups(q_ctx *ctx, ingress_create_plan *p);

/* One attachment's file, as process_attachments fetches it: a present, unsupported
 * mediaType keeps only remote_url; the rest are fetched inline (force: again, even if
 * stored) or deferred (--media-defer), and one that may pass later gets
 * RedownloadMediaWorker when Mastodon schedules it (at once after an object-storage
 * error). Failures are logged. */
void ingress_followup_fetch_media(q_ctx *ctx, services *s, int64_t media_id, const char *type, bool force);

/* Adds one job to the running job's outcome (q_ctx_enqueue): it is pushed in the
 * same atomic step as the running job's ack, or not at all. args_json is the args
 * array; delay_s > 0 schedules it. Logs and returns -1 on failure. */
int ingress_push(q_ctx *ctx, const char *klass, const char *queue, const char *retry_json,
                 const char *args_json, double delay_s);

/* Whether the set holds account `id`. */
bool ingress_ref_has(const ingress_ref *set, size_t n, int64_t id);

/* A time the parser read (`published`, `updated`) as SQL text for
 * to_timestamp($n::bigint / 1000.0): its Unix milliseconds, or NULL when absent.
 * buf needs 24 bytes. */
const char *ingress_ms_param(char *buf, size_t len, const char *iso, int64_t ms);

#endif
