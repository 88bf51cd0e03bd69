/* attach_row.c -- the media_attachments row of one attachment: read it with the
 * account's domain and its media block, and write the stored file back only if no
 * other worker stored one meanwhile (compare-and-set on the file names). */
#include "attach_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The most specific domain block for the account's domain or a parent domain
 * decides reject_media, as DomainBlock.rule_for does. */
static const char attach_row_sql[] =
    "SELECT m.remote_url, coalesce(m.thumbnail_remote_url, ''), m.file_file_name, "
    "m.thumbnail_file_name, m.type, coalesce(m.file_storage_schema_version, 0), "
    "coalesce(m.thumbnail_storage_schema_version, 0), m.file_meta::text, coalesce(a.domain, ''), "
    "coalesce((SELECT b.reject_media FROM domain_blocks b WHERE a.domain IS NOT NULL AND "
    "(lower(b.domain) = lower(a.domain) OR "
    "right(lower(a.domain), length(b.domain) + 1) = '.' || lower(b.domain)) "
    "ORDER BY length(b.domain) DESC LIMIT 1), false) "
    "FROM media_attachments m LEFT JOIN accounts a ON a.id = m.account_id WHERE m.id = $1";

int attach_row_load(db_conn *c, int64_t id, attach_row *row, char *err, size_t errlen)
{
    memset(row, 0, sizeof *row);
    row->id = id;
    char idbuf[24];
    snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
    const char *params[] = {idbuf};
    PGresult *res = db_exec(c, "attach_row_load", attach_row_sql, 1, params, err, errlen);
    if (!res)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 1;
    }
    snprintf(row->remote_url, sizeof row->remote_url, "%s", PQgetvalue(res, 0, 0));
    snprintf(row->thumbnail_remote_url, sizeof row->thumbnail_remote_url, "%s", PQgetvalue(res, 0, 1));
    row->has_file = !PQgetisnull(res, 0, 2);
    snprintf(row->file_name, sizeof row->file_name, "%s", PQgetvalue(res, 0, 2));
    row->has_thumb = !PQgetisnull(res, 0, 3);
    snprintf(row->thumb_name, sizeof row->thumb_name, "%s", PQgetvalue(res, 0, 3));
    row->type = atoi(PQgetvalue(res, 0, 4));
    row->file_schema = atoi(PQgetvalue(res, 0, 5));
    row->thumb_schema = atoi(PQgetvalue(res, 0, 6));
    if (!PQgetisnull(res, 0, 7))
        row->file_meta = json_loads(PQgetvalue(res, 0, 7), 0, NULL);
    snprintf(row->domain, sizeof row->domain, "%s", PQgetvalue(res, 0, 8));
    row->reject_media = PQgetvalue(res, 0, 9)[0] == 't';
    PQclear(res);
    return 0;
}

/* $1 id, $2 old file name, $3 old thumbnail name (NULL: was NULL), then the new values. */
static const char attach_save_sql[] =
    "UPDATE media_attachments SET type = $4, file_file_name = $5, file_content_type = $6, "
    "file_file_size = $7, file_updated_at = now(), file_meta = $8::json, "
    "blurhash = coalesce($9, blurhash), processing = 2, file_storage_schema_version = 1, "
    "updated_at = now() "
    "WHERE id = $1 AND file_file_name IS NOT DISTINCT FROM $2 "
    "AND thumbnail_file_name IS NOT DISTINCT FROM $3";
static const char attach_save_thumb_sql[] =
    "UPDATE media_attachments SET type = $4, file_file_name = $5, file_content_type = $6, "
    "file_file_size = $7, file_updated_at = now(), file_meta = $8::json, "
    "blurhash = coalesce($9, blurhash), processing = 2, file_storage_schema_version = 1, "
    "thumbnail_file_name = $10, thumbnail_content_type = $11, thumbnail_file_size = $12, "
    "thumbnail_updated_at = now(), thumbnail_storage_schema_version = 1, updated_at = now() "
    "WHERE id = $1 AND file_file_name IS NOT DISTINCT FROM $2 "
    "AND thumbnail_file_name IS NOT DISTINCT FROM $3";

int attach_row_save(db_conn *c, const attach_row *row, const attach_update *u, char *err,
                    size_t errlen)
{
    char idbuf[24], type[8], size[24], tsize[24];
    snprintf(idbuf, sizeof idbuf, "%" PRId64, row->id);
    snprintf(type, sizeof type, "%d", u->type);
    snprintf(size, sizeof size, "%" PRId64, u->file_size);
    snprintf(tsize, sizeof tsize, "%" PRId64, u->thumb_size);
    const char *params[] = {idbuf, row->has_file ? row->file_name : NULL,
                            row->has_thumb ? row->thumb_name : NULL, type, u->file_name,
                            u->content_type, size, u->file_meta, u->blurhash, u->thumb_name,
                            u->thumb_type, tsize};
    bool thumb = u->thumb_name != NULL;
    PGresult *res = db_exec(c, thumb ? "attach_row_save_thumb" : "attach_row_save",
                            thumb ? attach_save_thumb_sql : attach_save_sql, thumb ? 12 : 9, params,
                            err, errlen);
    if (!res)
        return -1;
    int n = atoi(PQcmdTuples(res));
    PQclear(res);
    return n > 0 ? 1 : 0;
}
