/* ingress_media_edit.c -- media attachment rows: the insert Create and Update share,
 * and ProcessStatusUpdateService#update_media_attachments! with download_media_files!
 * for an explicit Update. An attachment whose remote_url matches one of the status's
 * rows (the first by id; rows dropped by earlier edits still have its status_id) is
 * that row (so a stored remote_url twice in one Update is that row twice, a new one
 * two new rows, as in Mastodon), given the new description, focus, thumbnail_remote_url and blurhash; any
 * other is a new row. A new remote_url or thumbnail, or a new description, marks the
 * media changed (MediaAttachmentParser#significantly_changes?), as do other ordered
 * ids; focus and blurhash alone do not. Rows the Update leaves out keep their
 * status_id and files, as Mastodon leaves them: only ordered_media_attachment_ids
 * says which the status shows. */
#include "ingress_media_edit.h"
#include "ingress_create.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* file_meta's {"focus": {...}} for a focalPoint, or "" without one. buf needs 128 bytes. */
static const char *ingress_media_focus(const ap_attachment *m, char *buf, size_t len)
{
    buf[0] = '\0';
    if (m->has_focus) {
        char x[32], y[32];
        base_json_float(m->focus_x, x, sizeof x);
        base_json_float(m->focus_y, y, sizeof y);
        snprintf(buf, len, "{\"focus\":{\"x\":%s,\"y\":%s}}", x, y);
    }
    return buf;
}

int ingress_media_insert(db_conn *c, int64_t id, int64_t account_id, int64_t status_id,
                         const ap_attachment *m, char *err, size_t errlen)
{
    char sid[24], aid[24], mid[24], meta[128];
    snprintf(mid, sizeof mid, "%lld", (long long)id);
    snprintf(aid, sizeof aid, "%lld", (long long)account_id);
    snprintf(sid, sizeof sid, "%lld", (long long)status_id);
    ingress_media_focus(m, meta, sizeof meta);
    const char *params[] = {mid, aid, sid, m->remote_url, m->thumbnail_remote_url, m->description,
                            m->blurhash, meta[0] ? meta : NULL};
    return db_run_params(c, "ingress_media_insert",
                         "INSERT INTO media_attachments (id, account_id, status_id, remote_url, "
                         "thumbnail_remote_url, description, blurhash, file_meta, type, processing, "
                         "created_at, updated_at) VALUES ($1::bigint, $2::bigint, $3::bigint, $4, $5, "
                         "$6, $7, $8::json, 3, 2, " DB_NOW ", " DB_NOW ")",
                         8, params, err, errlen);
}

static bool ingress_media_differs(const char *stored, bool stored_null, const char *next)
{
    if (stored_null || !next)
        return stored_null != !next;
    return strcmp(stored, next) != 0;
}

int ingress_media_edit_plan(db_conn *c, int64_t status_id, const ap_status *st, ingress_media_edit *m,
                            char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", (long long)status_id);
    const char *params[] = {sid};
    /* previous_media_attachments_ids: the stored order, else the rows by id */
    PGresult *prev = db_exec(c, "ingress_media_prev_ids",
                             "SELECT COALESCE(s.ordered_media_attachment_ids, ARRAY(SELECT m.id FROM "
                             "media_attachments m WHERE m.status_id = s.id ORDER BY m.id))::text "
                             "FROM statuses s WHERE s.id = $1::bigint",
                             1, params, err, errlen);
    if (!prev)
        return -1;
    PGresult *res = db_exec(c, "ingress_media_prev",
                            "SELECT id, remote_url, thumbnail_remote_url, description FROM media_attachments "
                            "WHERE status_id = $1::bigint ORDER BY id",
                            1, params, err, errlen);
    if (!res) {
        PQclear(prev);
        return -1;
    }
    base_buf next;
    base_buf_init(&next);
    base_buf_adds(&next, "{");
    int rc = 0;
    for (size_t i = 0; i < st->n_media && rc == 0; i++) {
        const ap_attachment *a = &st->media[i];
        int row = -1;
        for (int r = 0; r < PQntuples(res) && row < 0; r++)
            if (!PQgetisnull(res, r, 1) && strcmp(PQgetvalue(res, r, 1), a->remote_url) == 0)
                row = r;
        if (row >= 0) {
            m->ids[i] = strtoll(PQgetvalue(res, row, 0), NULL, 10);
            m->thumb[i] = ingress_media_differs(PQgetvalue(res, row, 2), PQgetisnull(res, row, 2),
                                                a->thumbnail_remote_url);
            m->changed = m->changed || m->thumb[i] ||
                         ingress_media_differs(PQgetvalue(res, row, 3), PQgetisnull(res, row, 3), a->description);
        } else {
            PGresult *idr = db_exec(c, "ingress_media_new_id", "SELECT timestamp_id('media_attachments')", 0,
                                    NULL, err, errlen);
            if (!idr) {
                rc = -1;
                break;
            }
            m->ids[i] = strtoll(PQgetvalue(idr, 0, 0), NULL, 10);
            m->fresh[i] = true;
            m->changed = true;
            PQclear(idr);
        }
        base_buf_addf(&next, "%s%lld", i ? "," : "", (long long)m->ids[i]);
    }
    base_buf_adds(&next, "}");
    m->n = st->n_media;
    m->changed = m->changed || strcmp(PQgetvalue(prev, 0, 0), next.data) != 0;
    base_buf_free(&next);
    PQclear(res);
    PQclear(prev);
    return rc;
}

int ingress_media_edit_apply(db_conn *c, int64_t status_id, int64_t account_id, const ap_status *st,
                             const ingress_media_edit *m, char *err, size_t errlen)
{
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", (long long)status_id);
    base_buf ids;
    base_buf_init(&ids);
    base_buf_adds(&ids, "{");
    int rc = 0;
    for (size_t i = 0; i < m->n && rc == 0; i++) {
        const ap_attachment *a = &st->media[i];
        base_buf_addf(&ids, "%s%lld", i ? "," : "", (long long)m->ids[i]);
        if (m->fresh[i]) {
            rc = ingress_media_insert(c, m->ids[i], account_id, status_id, a, err, errlen);
            continue;
        }
        char mid[24], meta[128];
        snprintf(mid, sizeof mid, "%lld", (long long)m->ids[i]);
        ingress_media_focus(a, meta, sizeof meta);
        const char *params[] = {mid, a->description, a->thumbnail_remote_url, a->blurhash, sid,
                                meta[0] ? meta : NULL};
        /* MediaAttachment#focus= ignores a blank focalPoint; save! writes only changes */
        rc = db_run_params(c, "ingress_media_edit_row",
                           "UPDATE media_attachments SET description = $2, thumbnail_remote_url = $3, "
                           "blurhash = $4, status_id = $5::bigint, file_meta = CASE WHEN $6::jsonb IS NULL "
                           "THEN file_meta ELSE (COALESCE(file_meta::jsonb, '{}'::jsonb) || $6::jsonb)::json "
                           "END, updated_at = " DB_NOW " WHERE id = $1::bigint AND (description IS "
                           "DISTINCT FROM $2 OR thumbnail_remote_url IS DISTINCT FROM $3 OR blurhash IS "
                           "DISTINCT FROM $4 OR status_id IS DISTINCT FROM $5::bigint OR ($6::jsonb IS NOT "
                           "NULL AND (file_meta::jsonb -> 'focus') IS DISTINCT FROM ($6::jsonb -> 'focus')))",
                           6, params, err, errlen);
    }
    base_buf_adds(&ids, "}");
    const char *ps[] = {sid, ids.data};
    if (rc == 0)
        rc = db_run_params(c, "ingress_media_order",
                           "UPDATE statuses SET ordered_media_attachment_ids = $2::bigint[] WHERE id = $1::bigint",
                           2, ps, err, errlen);
    base_buf_free(&ids);
    return rc;
}

void ingress_media_edit_fetch(q_ctx *ctx, services *s, const ap_status *st, const ingress_media_edit *m)
{
    for (size_t i = 0; i < m->n; i++) {
        bool again = false;
        for (size_t k = 0; k < i; k++)
            again = again || m->ids[k] == m->ids[i];
        /* a changed thumbnail alone is fetched with the file again: attach_fetch_ex
         * stores both or neither */
        if (!again && (m->fresh[i] || m->thumb[i]))
            ingress_followup_fetch_media(ctx, s, m->ids[i], st->media[i].media_type, m->thumb[i]);
    }
}
