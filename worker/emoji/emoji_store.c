/* emoji_store.c -- ActivityPub::Activity::Create#process_emoji (also
 * ProcessStatusUpdateService#update_emojis! and ProcessAccountService#process_emoji):
 * per Emoji tag, the custom_emojis row of (shortcode, the account's domain) is looked
 * up; a new emoji, or one whose image URL changed, has its image fetched (or, with
 * the same URL, only when the row has no file and `updated` is not older than the
 * row: Remotable skips a URL it already holds a file for) and the row inserted or
 * updated with Paperclip's image_* columns (storage schema 1) in one statement;
 * files it replaces are deleted after. What cannot be kept (download, type, size,
 * pixels, storage) is logged and skipped, the object still processed, as Mastodon
 * rescues or fails validation there. Two jobs storing one emoji at once: the row
 * written first wins and the other drops its files. */
#include "emoji_internal.h"
#include "acct_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seconds one object may spend on its emoji (downloads and the media child), under
 * the create lock: 50 hostile URLs that each answer just before the client's 30 s
 * limit must not hold a status for 25 minutes. The rest stay text, with a log line. */
#define EMOJI_BUDGET_S 120.0

bool emoji_can_store(const services *s)
{
    return s->media && s->store;
}

/* The stored row of (shortcode, domain), as the decision needs it. */
typedef struct emoji_row {
    bool found;
    int64_t id;
    char url[EMOJI_URL_MAX + 1];
    char file_name[256];
    bool cached;               /* image_storage_schema_version >= 1 */
    int64_t updated_ms;        /* updated_at */
} emoji_row;

static int emoji_row_load(db_conn *c, const char *shortcode, const char *domain, emoji_row *r, char *err,
                          size_t errlen)
{
    memset(r, 0, sizeof *r);
    const char *params[] = {shortcode, domain};
    PGresult *res = db_exec_idempotent(c, "emoji_row",
                                       "SELECT id, coalesce(image_remote_url, ''), coalesce(image_file_name, ''), "
                                       "coalesce(image_storage_schema_version, 0) >= 1, "
                                       "floor(extract(epoch FROM updated_at) * 1000)::bigint "
                                       "FROM custom_emojis WHERE shortcode = $1 AND domain = $2",
                                       2, params, err, errlen);
    if (!res)
        return -1;
    if (PQntuples(res) > 0) {
        r->found = true;
        r->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(r->url, sizeof r->url, "%s", PQgetvalue(res, 0, 1));
        snprintf(r->file_name, sizeof r->file_name, "%s", PQgetvalue(res, 0, 2));
        r->cached = PQgetvalue(res, 0, 3)[0] == 't';
        r->updated_ms = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    }
    PQclear(res);
    return 0;
}

/* Whether Mastodon would download the image for this tag. */
static bool emoji_due(const emoji_tag *t, const emoji_row *r)
{
    if (!r->found || strcmp(t->url, r->url) != 0)
        return true;
    /* same URL: process_emoji goes on only for an `updated` not older than the row,
     * and Remotable's image_remote_url= then downloads only when no file is kept */
    return !r->file_name[0] && t->has_updated && t->updated_ms >= r->updated_ms;
}

static int emoji_next_id(db_conn *c, int64_t *id, char *err, size_t errlen)
{
    PGresult *res = db_exec(c, "emoji_next_id", "SELECT nextval(pg_get_serial_sequence('custom_emojis', 'id'))", 0,
                            NULL, err, errlen);
    if (!res)
        return -1;
    *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

/* Writes the row: a new one with id (unless (shortcode, domain) appeared
 * meanwhile), or row->id if it still holds the URL and file read before. Returns 1
 * when written, 0 when the row changed meanwhile, -1 with err. */
static int emoji_row_write(db_conn *c, const emoji_tag *t, const char *domain, const emoji_row *row, int64_t id,
                           const emoji_image *img, const char *file_name, char *err, size_t errlen)
{
    char ids[24], size[24];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    snprintf(size, sizeof size, "%" PRId64, img->size);
    PGresult *res;
    if (!row->found) {
        const char *params[] = {ids, t->shortcode, domain, t->uri, t->url, file_name, img->content_type, size};
        res = db_exec(c, "emoji_insert",
                      "INSERT INTO custom_emojis (id, shortcode, domain, uri, image_remote_url, image_file_name, "
                      "image_content_type, image_file_size, image_updated_at, image_storage_schema_version, "
                      "disabled, visible_in_picker, created_at, updated_at) "
                      "VALUES ($1::bigint, $2, $3, $4, $5, $6, $7, $8::int, " DB_NOW ", 1, false, true, "
                      DB_NOW ", " DB_NOW ") ON CONFLICT (shortcode, domain) DO NOTHING",
                      8, params, err, errlen);
    } else {
        const char *params[] = {ids, t->url, file_name, img->content_type, size, row->url, row->file_name};
        res = db_exec(c, "emoji_update",
                      "UPDATE custom_emojis SET image_remote_url = $2, image_file_name = $3, "
                      "image_content_type = $4, image_file_size = $5::int, image_updated_at = " DB_NOW ", "
                      "image_storage_schema_version = 1, updated_at = " DB_NOW " "
                      "WHERE id = $1::bigint AND coalesce(image_remote_url, '') = $6 "
                      "AND coalesce(image_file_name, '') = $7",
                      7, params, err, errlen);
    }
    if (!res)
        return -1;
    int rc = strcmp(PQcmdTuples(res), "1") == 0 ? 1 : 0;
    PQclear(res);
    return rc;
}

/* One tag. *cp goes back to the pool while the image is downloaded and processed, so
 * no connection waits on a remote server, and is taken again for the row (*cp may
 * then be another connection). Returns 0 (stored, unchanged or skipped with a log
 * line) or -1 with err. */
static int emoji_one(services *s, db_conn **cp, const char *domain, const emoji_tag *t, const char *what,
                     char *err, size_t errlen)
{
    emoji_row row;
    if (emoji_row_load(*cp, t->shortcode, domain, &row, err, errlen) != 0)
        return -1;
    if (!emoji_due(t, &row))
        return 0;
    int64_t id = row.id;
    if (!row.found && emoji_next_id(*cp, &id, err, errlen) != 0)
        return -1;
    db_pool_release(s->db, *cp);
    emoji_image img;
    char why[Q_ERRLEN], base[17], file_name[32];
    int rc = emoji_image_fetch(s, t->url, &img, why, sizeof why);
    if (rc < 0)
        snprintf(err, errlen, "emoji :%s: of %s: %s", t->shortcode, what, why);
    else if (rc > 0)
        base_log(BASE_LOG_INFO, "emoji: :%s: of %s (%s) not stored: %s", t->shortcode, domain, what, why);
    else if (objstore_random_hex16(base) < 0) {
        snprintf(why, sizeof why, "no random bytes for the file name");
        rc = 2;
    } else if (emoji_image_store(s, id, &img, base, why, sizeof why) != 0) {
        rc = 2;
    }
    if (rc == 2) /* fetched but not kept */
        base_log(BASE_LOG_WARN, "emoji: :%s: of %s (%s) not stored: %s", t->shortcode, domain, what, why);
    *cp = db_pool_acquire(s->db);
    if (rc != 0) {
        emoji_image_done(&img);
        return rc < 0 ? -1 : 0;
    }
    snprintf(file_name, sizeof file_name, "%s.%s", base, img.ext);
    int w = emoji_row_write(*cp, t, domain, &row, id, &img, file_name, err, errlen);
    emoji_image_done(&img);
    if (w != 1) {
        emoji_image_delete(s, id, true, file_name);
        if (w == 0)
            base_log(BASE_LOG_INFO, "emoji: :%s: of %s (%s) was stored by another job meanwhile; its copy dropped",
                     t->shortcode, domain, what);
        return w < 0 ? -1 : 0;
    }
    if (row.found && row.file_name[0])
        emoji_image_delete(s, id, row.cached, row.file_name);
    base_log(BASE_LOG_INFO, "emoji: :%s: of %s %s (custom emoji %" PRId64 ", %s, %" PRId64 " bytes) for %s",
             t->shortcode, domain, row.found ? "updated" : "stored", id, img.content_type, img.size, what);
    return 0;
}

int emoji_process(services *s, db_conn **c, const char *domain, const emoji_list *l, bool check_block,
                  const char *what, char *err, size_t errlen)
{
    if (l->n_refused)
        base_log(BASE_LOG_INFO, "emoji: %zu Emoji tag%s of %s not stored (Mastodon would not save them): %s",
                 l->n_refused, l->n_refused == 1 ? "" : "s", what, l->refused);
    if (l->n_over_cap)
        base_log(BASE_LOG_INFO, "emoji: %s has more than %d distinct emoji; %zu more left as text", what,
                 EMOJI_MAX_PER_OBJECT, l->n_over_cap);
    if (l->n == 0 || !domain || !domain[0])
        return 0;
    if (check_block) {
        acct_block b;
        if (acct_block_for(*c, domain, &b, err, errlen) != 0)
            return -1;
        if (b.found && b.reject_media) {
            base_log(BASE_LOG_INFO, "emoji: %zu emoji of %s not fetched: media from %s are rejected (domain block)",
                     l->n, what, domain);
            return 0;
        }
    }
    if (!emoji_can_store(s)) {
        snprintf(err, errlen, "emoji need %s", !s->media ? "the media child" : "object storage");
        return -1;
    }
    double start = base_monotonic();
    for (size_t i = 0; i < l->n; i++) {
        if (base_monotonic() - start > EMOJI_BUDGET_S) {
            base_log(BASE_LOG_WARN, "emoji: %s spent over %.0f s on its emoji; %zu more left as text", what,
                     EMOJI_BUDGET_S, l->n - i);
            break;
        }
        if (emoji_one(s, c, domain, &l->tags[i], what, err, errlen) != 0)
            return -1;
    }
    return 0;
}
