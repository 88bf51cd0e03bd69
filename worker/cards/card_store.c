/* card_store.c -- the rows of link cards as ActiveRecord writes them: the status and
 * what FetchLinkCardService checks on it, PreviewCard.find_by(url:), the card saved
 * (INSERT with the id taken first, so the image can be stored under it; or UPDATE of
 * the assigned columns, updated_at moving only when one of them changed), and the
 * preview_cards_statuses row. */
#include "card_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void card_status_free(card_status *st)
{
    free(st->text);
    for (size_t i = 0; i < st->n_mentions; i++)
        free(st->mentions[i]);
    free(st->mentions);
    memset(st, 0, sizeof *st);
}

static bool card_bool(PGresult *res, int row, int col)
{
    return PQgetvalue(res, row, col)[0] == 't';
}

int card_status_load(db_conn *c, int64_t id, card_status *st, char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    char sid[24];
    snprintf(sid, sizeof sid, "%" PRId64, id);
    const char *params[] = {sid};
    PGresult *res = db_exec(
        c, "card_status",
        "SELECT s.text, (coalesce(s.local, false) OR s.uri IS NULL), "
        "EXISTS (SELECT 1 FROM preview_cards_statuses p WHERE p.status_id = s.id), "
        "EXISTS (SELECT 1 FROM media_attachments m WHERE m.status_id = s.id AND "
        "  (s.ordered_media_attachment_ids IS NULL OR m.id = ANY (s.ordered_media_attachment_ids))), "
        "s.account_id, (s.visibility = 0 AND a.silenced_at IS NULL AND s.spoiler_text = '' AND NOT s.sensitive), "
        "to_regclass('quotes') IS NOT NULL "
        "FROM statuses s JOIN accounts a ON a.id = s.account_id "
        "WHERE s.id = $1::bigint AND s.deleted_at IS NULL",
        1, params, err, errlen);
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return 0;
    }
    st->found = true;
    st->text = strdup(PQgetvalue(res, 0, 0));
    st->local = card_bool(res, 0, 1);
    st->has_card = card_bool(res, 0, 2);
    st->has_media = card_bool(res, 0, 3);
    st->account_id = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    st->trend_ok = card_bool(res, 0, 5);
    bool quotes = card_bool(res, 0, 6);
    PQclear(res);
    if (quotes) {
        res = db_exec(c, "card_status_quote", "SELECT 1 FROM quotes WHERE status_id = $1::bigint", 1, params,
                      err, errlen);
        if (!res)
            return -1;
        st->has_quote = PQntuples(res) > 0;
        PQclear(res);
    }
    res = db_exec(c, "card_status_mentions",
                  "SELECT a.url FROM mentions m JOIN accounts a ON a.id = m.account_id "
                  "WHERE m.status_id = $1::bigint AND a.domain IS NOT NULL AND a.url IS NOT NULL",
                  1, params, err, errlen);
    if (!res)
        return -1;
    int n = PQntuples(res);
    st->mentions = calloc((size_t)n + 1, sizeof *st->mentions);
    for (int i = 0; st->mentions && i < n; i++)
        st->mentions[st->n_mentions++] = strdup(PQgetvalue(res, i, 0));
    PQclear(res);
    if (!st->text || !st->mentions) {
        snprintf(err, errlen, "out of memory reading status %" PRId64, id);
        return -1;
    }
    return 0;
}

int card_status_has_card(db_conn *c, int64_t status_id, bool *has, char *err, size_t errlen)
{
    char sid[24];
    snprintf(sid, sizeof sid, "%" PRId64, status_id);
    const char *params[] = {sid};
    PGresult *res = db_exec(c, "card_has_card",
                            "SELECT 1 FROM preview_cards_statuses WHERE status_id = $1::bigint", 1, params,
                            err, errlen);
    if (!res)
        return -1;
    *has = PQntuples(res) > 0;
    PQclear(res);
    return 0;
}

int card_row_find(db_conn *c, const char *url, card_row *row, char *err, size_t errlen)
{
    memset(row, 0, sizeof *row);
    const char *params[] = {url};
    PGresult *res = db_exec(c, "card_find",
                            "SELECT id, updated_at <= " DB_NOW " - interval '14 days', "
                            "coalesce(image_file_name, ''), coalesce(image_content_type, ''), "
                            "coalesce(image_storage_schema_version, 0) FROM preview_cards WHERE url = $1",
                            1, params, err, errlen);
    if (!res)
        return -1;
    if (PQntuples(res) == 1) {
        row->exists = true;
        row->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        row->stale = card_bool(res, 0, 1);
        snprintf(row->image_file_name, sizeof row->image_file_name, "%s", PQgetvalue(res, 0, 2));
        snprintf(row->image_content_type, sizeof row->image_content_type, "%s", PQgetvalue(res, 0, 3));
        row->image_schema = atoi(PQgetvalue(res, 0, 4));
        row->missing_image = row->image_file_name[0] == '\0';
    }
    PQclear(res);
    return 0;
}

int card_next_id(db_conn *c, int64_t *id, char *err, size_t errlen)
{
    PGresult *res = db_exec(c, "card_next_id", "SELECT nextval('preview_cards_id_seq')", 0, NULL, err, errlen);
    if (!res)
        return -1;
    *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

/* One assigned column: its name, the SQL type its parameter is cast to, its value
 * (NULL for SQL NULL). */
typedef struct card_col {
    const char *name, *cast;
    const char *value;
} card_col;

#define CARD_MAX_COLS 24

typedef struct card_cols {
    card_col col[CARD_MAX_COLS];
    int n;
    char nums[8][24];
    int nnums;
} card_cols;

static void card_put(card_cols *cs, const char *name, const char *cast, const char *value)
{
    cs->col[cs->n++] = (card_col){name, cast, value};
}

static void card_put_int(card_cols *cs, const char *name, long long v)
{
    char *buf = cs->nums[cs->nnums++];
    snprintf(buf, sizeof cs->nums[0], "%lld", v);
    card_put(cs, name, "integer", buf);
}

static void card_collect(const card_attrs *a, const card_image *img, bool clear_image, card_cols *cs)
{
    unsigned set = a->set;
    if (set & CARD_COL_TITLE)
        card_put(cs, "title", "varchar", a->title);
    if (set & CARD_COL_DESCRIPTION)
        card_put(cs, "description", "varchar", a->description);
    if (set & CARD_COL_IMAGE_DESCRIPTION)
        card_put(cs, "image_description", "varchar", a->image_description);
    if (set & CARD_COL_TYPE)
        card_put_int(cs, "type", a->type);
    if (set & CARD_COL_LINK_TYPE)
        card_put_int(cs, "link_type", a->link_type);
    if (set & CARD_COL_WIDTH)
        card_put_int(cs, "width", a->width);
    if (set & CARD_COL_HEIGHT)
        card_put_int(cs, "height", a->height);
    if (set & CARD_COL_HTML)
        card_put(cs, "html", "text", a->html);
    if (set & CARD_COL_PROVIDER_NAME)
        card_put(cs, "provider_name", "varchar", a->provider_name);
    if (set & CARD_COL_PROVIDER_URL)
        card_put(cs, "provider_url", "varchar", a->provider_url);
    if (set & CARD_COL_AUTHOR_NAME)
        card_put(cs, "author_name", "varchar", a->author_name);
    if (set & CARD_COL_AUTHOR_URL)
        card_put(cs, "author_url", "varchar", a->author_url);
    if (set & CARD_COL_EMBED_URL)
        card_put(cs, "embed_url", "varchar", a->embed_url);
    if (set & CARD_COL_LANGUAGE)
        card_put(cs, "language", "varchar", a->language);
    if (set & CARD_COL_PUBLISHED_AT)
        card_put(cs, "published_at", "timestamp", a->published_at);
    if (img) {
        card_put(cs, "image_file_name", "varchar", img->file_name);
        card_put(cs, "image_content_type", "varchar", img->content_type);
        card_put_int(cs, "image_file_size", img->file_size);
        card_put_int(cs, "image_storage_schema_version", 1);
        card_put(cs, "blurhash", "varchar", img->blurhash[0] ? img->blurhash : NULL);
    } else if (clear_image) {
        card_put(cs, "image_file_name", "varchar", NULL);
        card_put(cs, "image_content_type", "varchar", NULL);
        card_put(cs, "image_file_size", "integer", NULL);
    }
}

int card_row_save(db_conn *c, const card_attrs *a, const card_row *row, int64_t id,
                  const card_image *img, bool clear_image, char *err, size_t errlen)
{
    card_cols cs = {.n = 0};
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%" PRId64, row->exists ? row->id : id);
    card_put(&cs, "id", "bigint", idtext);
    if (!row->exists)
        card_put(&cs, "url", "varchar", a->url);
    card_collect(a, img, clear_image, &cs);
    const char *params[CARD_MAX_COLS];
    for (int i = 0; i < cs.n; i++)
        params[i] = cs.col[i].value;
    const char *image_ts = img ? DB_NOW : clear_image ? "NULL" : NULL;
    base_buf sql;
    base_buf_init(&sql);
    if (!row->exists) {
        base_buf_adds(&sql, "INSERT INTO preview_cards (");
        for (int i = 0; i < cs.n; i++)
            base_buf_addf(&sql, "%s%s", i ? ", " : "", cs.col[i].name);
        base_buf_addf(&sql, "%s, created_at, updated_at) VALUES (", image_ts ? ", image_updated_at" : "");
        for (int i = 0; i < cs.n; i++)
            base_buf_addf(&sql, "%s$%d::%s", i ? ", " : "", i + 1, cs.col[i].cast);
        if (image_ts)
            base_buf_addf(&sql, ", %s", image_ts);
        base_buf_adds(&sql, ", " DB_NOW ", " DB_NOW ") ON CONFLICT (url) DO NOTHING RETURNING id");
    } else {
        base_buf_adds(&sql, "UPDATE preview_cards SET ");
        for (int i = 1; i < cs.n; i++)
            base_buf_addf(&sql, "%s = $%d::%s, ", cs.col[i].name, i + 1, cs.col[i].cast);
        if (image_ts)
            base_buf_addf(&sql, "image_updated_at = %s, ", image_ts);
        base_buf_adds(&sql, "updated_at = CASE WHEN ROW(");
        for (int i = 1; i < cs.n; i++)
            base_buf_addf(&sql, "%s%s", i > 1 ? ", " : "", cs.col[i].name);
        base_buf_adds(&sql, ") IS DISTINCT FROM ROW(");
        for (int i = 1; i < cs.n; i++)
            base_buf_addf(&sql, "%s$%d::%s", i > 1 ? ", " : "", i + 1, cs.col[i].cast);
        base_buf_addf(&sql, ")%s THEN " DB_NOW " ELSE updated_at END WHERE id = $1::bigint RETURNING id",
                      img ? " OR true" : "");
    }
    PGresult *res = db_exec(c, NULL, sql.data, cs.n, params, err,
                            errlen);
    base_buf_free(&sql);
    if (!res)
        return -1;
    int rows = PQntuples(res);
    PQclear(res);
    return rows == 1 ? 0 : 1;
}

int card_attach_row(db_conn *c, int64_t status_id, int64_t card_id, const char *url, char *err,
                    size_t errlen)
{
    char sid[24], cid[24];
    snprintf(sid, sizeof sid, "%" PRId64, status_id);
    snprintf(cid, sizeof cid, "%" PRId64, card_id);
    const char *params[] = {sid, cid, url};
    return db_run_params(c, "card_attach",
                         "INSERT INTO preview_cards_statuses (status_id, preview_card_id, url) "
                         "VALUES ($1::bigint, $2::bigint, $3) ON CONFLICT DO NOTHING",
                         3, params, err, errlen);
}

int card_trend_ready(db_conn *c, int64_t card_id, bool *ready, char *err, size_t errlen)
{
    char cid[24];
    snprintf(cid, sizeof cid, "%" PRId64, card_id);
    const char *params[] = {cid};
    PGresult *res = db_exec(c, "card_trend_ready",
                            "SELECT type = 0 AND link_type = 1 AND title <> '' AND description <> '' AND "
                            "coalesce(image_file_name, '') <> '' AND provider_name <> '' "
                            "FROM preview_cards WHERE id = $1::bigint",
                            1, params, err, errlen);
    if (!res)
        return -1;
    *ready = PQntuples(res) == 1 && card_bool(res, 0, 0);
    PQclear(res);
    return 0;
}
