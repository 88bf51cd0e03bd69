/* ingress_media_edit.h -- the media attachments of a status: the row Create and Update
 * insert (ingress_media_insert) and update_media_attachments! of an explicit Update
 * (ProcessStatusUpdateService): planned before the status is snapshotted, applied in
 * the same transaction, files fetched after it. Private to worker/ingress. */
#ifndef SCOTTY_INGRESS_MEDIA_EDIT_H
#define SCOTTY_INGRESS_MEDIA_EDIT_H

#include "ingress_internal.h"

/* Inserts media_attachments row `id` for attachment m of status `status_id` by
 * `account_id` (type unknown until its file is fetched; focalPoint in file_meta).
 * Returns 0 or -1 with err. */
int ingress_media_insert(db_conn *c, int64_t id, int64_t account_id, int64_t status_id,
                         const ap_attachment *m, char *err, size_t errlen);

/* The Update's attachments (st->media, already cut to Status::MEDIA_ATTACHMENTS_LIMIT)
 * matched with the status's rows by remote_url. */
typedef struct ingress_media_edit {
    int64_t ids[AP_MAX_MEDIA]; /* the next ordered_media_attachment_ids, aligned with st->media */
    bool fresh[AP_MAX_MEDIA];  /* a new row: its file (and thumbnail) is fetched */
    bool thumb[AP_MAX_MEDIA];  /* a kept row whose thumbnail_remote_url changes */
    size_t n;
    bool changed;              /* @media_attachments_changed: ids, a description or thumbnail differ */
} ingress_media_edit;

/* Reads the status's rows (all with its status_id, kept ones of earlier edits too) and
 * plans the edit: a row is reused when its remote_url matches, else a new id is taken.
 * Writes nothing. Returns 0 or -1 with err. */
int ingress_media_edit_plan(db_conn *c, int64_t status_id, const ap_status *st, ingress_media_edit *m,
                            char *err, size_t errlen);

/* Writes the plan: new rows inserted, kept ones given the Update's description, focus,
 * thumbnail_remote_url and blurhash, and statuses.ordered_media_attachment_ids set.
 * Rows left out keep their status_id, as Mastodon leaves them. Returns 0 or -1. */
int ingress_media_edit_apply(db_conn *c, int64_t status_id, int64_t account_id, const ap_status *st,
                             const ingress_media_edit *m, char *err, size_t errlen);

/* download_media_files!, after the commit, holding no database connection: new rows'
 * files and changed thumbnails, as Create's are (ingress_followup_fetch_media). */
void ingress_media_edit_fetch(q_ctx *ctx, services *s, const ap_status *st, const ingress_media_edit *m);

#endif
