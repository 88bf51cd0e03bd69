/* acct_store.c -- the rows ActivityPub::ProcessAccountService saves, in one
 * transaction: a new accounts row (create_account: protocol activitypub, the handle,
 * silenced_at under a silence block, an id from a past `published` as
 * Mastodon::Snowflake backdates it) or the existing one, then every column
 * update_account sets (immediate protocol attributes, the key, the profile unless the
 * account is suspended, the fetched attributes unless only_key), the keypairs (upsert
 * by uri, others of the account deleted, accounts.public_key emptied; on databases
 * without keypairs the first key goes to accounts.public_key) and account_stats for the
 * collection counts that were read. */
#include "acct_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* A PostgreSQL array literal of strings. Caller frees. */
static char *acct_pg_array(char *const *v, size_t n)
{
    base_buf b;
    base_buf_init(&b);
    base_buf_adds(&b, "{");
    for (size_t i = 0; i < n; i++) {
        base_buf_adds(&b, i ? ",\"" : "\"");
        for (const char *p = v[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                base_buf_adds(&b, "\\");
            base_buf_addf(&b, "%c", *p);
        }
        base_buf_adds(&b, "\"");
    }
    base_buf_adds(&b, "}");
    return b.data;
}

/* Another account holding this handle (Account.find_remote). Returns 0 when free, 1 with
 * err when taken, -1 with err. */
static int acct_handle_free(db_conn *c, const acct_write *w, char *err, size_t errlen)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)w->account_id);
    const char *params[] = {w->a->username, w->a->domain, id};
    PGresult *res = db_exec(c, "acct_handle_taken",
                            "SELECT id, coalesce(uri, '') FROM accounts WHERE lower(username) = lower($1) "
                            "AND coalesce(lower(domain), '') = lower($2) AND id <> $3::bigint LIMIT 1",
                            3, params, err, errlen);
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples(res) > 0) {
        snprintf(err, errlen, "username collision: @%s@%s is already account %s (uri %s), not %s; "
                 "nothing written", w->a->username, w->a->domain, PQgetvalue(res, 0, 0),
                 PQgetvalue(res, 0, 1), w->a->uri);
        rc = 1;
    }
    PQclear(res);
    return rc;
}

static int acct_insert(db_conn *c, acct_write *w, char *err, size_t errlen)
{
    const acct_actor *a = w->a;
    char published[24];
    if (a->has_published)
        snprintf(published, sizeof published, "%lld", (long long)a->published_ms);
    const char *params[] = {a->username, a->domain, a->uri, a->has_published ? published : NULL,
                            w->silence ? w->silenced_at : NULL};
    PGresult *res = db_exec(
        c, "acct_insert",
        "INSERT INTO accounts (id, username, domain, uri, protocol, private_key, created_at, updated_at, "
        "silenced_at) VALUES (CASE WHEN $4::bigint IS NOT NULL AND to_timestamp($4::bigint / 1000.0) < now() "
        "THEN ((($4::bigint / 1000) * 1000 + floor(random() * 1000)::bigint) << 16) + "
        "floor(random() * 65536)::bigint ELSE timestamp_id('accounts') END, $1, $2, $3, 1, NULL, "
        "coalesce(timezone('UTC', to_timestamp($4::bigint / 1000.0)), " DB_NOW "), " DB_NOW ", "
        "$5::timestamp) RETURNING id",
        5, params, err, errlen);
    if (!res)
        return -1;
    w->account_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

static int acct_update_row(db_conn *c, const acct_write *w, char *err, size_t errlen)
{
    const acct_actor *a = w->a;
    char id[24], published[24], policy[16], moved[24];
    snprintf(id, sizeof id, "%lld", (long long)w->account_id);
    snprintf(published, sizeof published, "%lld", (long long)a->published_ms);
    snprintf(policy, sizeof policy, "%d", a->feature_approval_policy);
    snprintf(moved, sizeof moved, "%lld", (long long)w->moved_to_account_id);
    char *aka = acct_pg_array(a->also_known_as, a->n_also_known_as);
    char *attr = acct_pg_array(a->attribution_domains, a->n_attribution_domains);
    /* without a keypairs table (Mastodon before it) the first legacy RSA key */
    const char *pem = "";
    for (size_t i = 0; !w->keypairs_table && i < a->n_keys && !pem[0]; i++)
        if (!a->keys[i].multikey && a->keys[i].pem)
            pem = a->keys[i].pem;
    bool immediate = !w->suspended, fetchable = !w->only_key && !w->suspended;
    static const char *const flag[] = {NULL, "f", "t"};
    const char *avatar = w->skip_download ? NULL : (a->avatar.url ? a->avatar.url : "");
    const char *header = w->skip_download ? NULL : (a->header.url ? a->header.url : "");
    const char *params[] = {
        id, a->username, a->domain, a->inbox, a->outbox, a->shared_inbox, a->followers, a->following,
        a->url, a->uri, a->actor_type, a->has_published ? published : NULL, policy,
        w->only_key ? "t" : "f", pem, immediate ? "t" : "f",
        a->featured, a->collections, a->display_name, a->note, a->locked ? "t" : "f", a->fields_json, aka,
        a->discoverable ? "t" : "f", a->indexable ? "t" : "f", a->memorial ? "t" : "f",
        flag[a->show_featured + 1], flag[a->show_media + 1], flag[a->show_media_replies + 1], attr,
        fetchable ? "t" : "f", avatar, a->avatar.description ? a->avatar.description : "", header,
        a->header.description ? a->header.description : "", w->hide_collections ? "t" : "f",
        w->moved_to_account_id ? moved : NULL, w->avatar_changed ? "t" : "f", w->header_changed ? "t" : "f"};
    int rc = db_run_params(
        c, "acct_update_row",
        "UPDATE accounts SET username = $2, domain = $3, protocol = 1, inbox_url = $4, outbox_url = $5, "
        "shared_inbox_url = $6, followers_url = $7, following_url = $8, url = $9, uri = $10, "
        "actor_type = $11, created_at = coalesce(timezone('UTC', to_timestamp($12::bigint / 1000.0)), "
        "created_at), feature_approval_policy = $13::int, last_webfingered_at = CASE WHEN $14::boolean "
        "THEN last_webfingered_at ELSE " DB_NOW " END, public_key = $15, "
        "featured_collection_url = CASE WHEN $16::boolean THEN $17 ELSE featured_collection_url END, "
        "collections_url = CASE WHEN $16::boolean THEN $18 ELSE collections_url END, "
        "display_name = CASE WHEN $16::boolean THEN $19 ELSE display_name END, "
        "note = CASE WHEN $16::boolean THEN $20 ELSE note END, "
        "locked = CASE WHEN $16::boolean THEN $21::boolean ELSE locked END, "
        "fields = CASE WHEN $16::boolean THEN $22::jsonb ELSE fields END, "
        "also_known_as = CASE WHEN $16::boolean THEN $23::varchar[] ELSE also_known_as END, "
        "discoverable = CASE WHEN $16::boolean THEN $24::boolean ELSE discoverable END, "
        "indexable = CASE WHEN $16::boolean THEN $25::boolean ELSE indexable END, "
        "memorial = CASE WHEN $16::boolean THEN $26::boolean ELSE memorial END, "
        "show_featured = CASE WHEN $16::boolean THEN coalesce($27::boolean, show_featured) ELSE show_featured END, "
        "show_media = CASE WHEN $16::boolean THEN coalesce($28::boolean, show_media) ELSE show_media END, "
        "show_media_replies = CASE WHEN $16::boolean THEN coalesce($29::boolean, show_media_replies) "
        "ELSE show_media_replies END, "
        "attribution_domains = CASE WHEN $16::boolean THEN $30::varchar[] ELSE attribution_domains END, "
        "avatar_remote_url = CASE WHEN $31::boolean THEN coalesce($32, avatar_remote_url) "
        "ELSE avatar_remote_url END, "
        "avatar_description = CASE WHEN $31::boolean THEN $33 ELSE avatar_description END, "
        "header_remote_url = CASE WHEN $31::boolean THEN coalesce($34, header_remote_url) "
        "ELSE header_remote_url END, "
        "header_description = CASE WHEN $31::boolean THEN $35 ELSE header_description END, "
        "hide_collections = CASE WHEN $31::boolean THEN $36::boolean ELSE hide_collections END, "
        "moved_to_account_id = CASE WHEN $31::boolean THEN $37::bigint ELSE moved_to_account_id END, "
        "updated_at = " DB_NOW " WHERE id = $1::bigint",
        37, params, err, errlen);
    free(aka);
    free(attr);
    if (rc != 0)
        return -1;
    /* Account#avatar = nil when the remote URL is blank; a new URL drops the old file
     * so that the avatar is downloaded again (Remotable on assignment). */
    const char *p2[] = {id, w->avatar_changed ? "t" : "f", w->header_changed ? "t" : "f"};
    return db_run_params(
        c, "acct_clear_images",
        "UPDATE accounts SET "
        "avatar_file_name = CASE WHEN coalesce(avatar_remote_url, '') = '' OR $2::boolean THEN NULL "
        "ELSE avatar_file_name END, "
        "avatar_content_type = CASE WHEN coalesce(avatar_remote_url, '') = '' OR $2::boolean THEN NULL "
        "ELSE avatar_content_type END, "
        "avatar_file_size = CASE WHEN coalesce(avatar_remote_url, '') = '' OR $2::boolean THEN NULL "
        "ELSE avatar_file_size END, "
        "avatar_updated_at = CASE WHEN coalesce(avatar_remote_url, '') = '' OR $2::boolean THEN NULL "
        "ELSE avatar_updated_at END, "
        "header_file_name = CASE WHEN header_remote_url = '' OR $3::boolean THEN NULL ELSE header_file_name END, "
        "header_content_type = CASE WHEN header_remote_url = '' OR $3::boolean THEN NULL "
        "ELSE header_content_type END, "
        "header_file_size = CASE WHEN header_remote_url = '' OR $3::boolean THEN NULL ELSE header_file_size END, "
        "header_updated_at = CASE WHEN header_remote_url = '' OR $3::boolean THEN NULL "
        "ELSE header_updated_at END WHERE id = $1::bigint",
        3, p2, err, errlen);
}

static int acct_keys_write(db_conn *c, const acct_write *w, char *err, size_t errlen)
{
    const acct_actor *a = w->a;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)w->account_id);
    char *uris[sizeof a->keys / sizeof a->keys[0]];
    size_t n = 0;
    for (size_t i = 0; i < a->n_keys; i++) {
        if (!a->keys[i].pem)
            continue;
        uris[n++] = a->keys[i].uri;
        char type[4];
        snprintf(type, sizeof type, "%d", a->keys[i].type);
        const char *params[] = {id, a->keys[i].pem, a->keys[i].uri, type};
        if (db_run_params(c, "acct_key_upsert",
                          "INSERT INTO keypairs (account_id, type, public_key, uri, created_at, updated_at) "
                          "VALUES ($1::bigint, $4::integer, $2, $3, " DB_NOW ", " DB_NOW ") ON CONFLICT (uri) "
                          "WHERE uri IS NOT NULL DO UPDATE SET account_id = EXCLUDED.account_id, type = EXCLUDED.type, "
                          "public_key = EXCLUDED.public_key, updated_at = EXCLUDED.updated_at",
                          4, params, err, errlen) != 0)
            return -1;
    }
    char *list = acct_pg_array(uris, n);
    const char *params[] = {id, list};
    int rc = db_run_params(c, "acct_key_prune",
                           "DELETE FROM keypairs WHERE account_id = $1::bigint AND NOT (uri = ANY ($2::varchar[]))",
                           2, params, err, errlen);
    free(list);
    return rc;
}

static int acct_stats_write(db_conn *c, const acct_write *w, char *err, size_t errlen)
{
    if (w->statuses_count < 0 && w->following_count < 0 && w->followers_count < 0)
        return 0;
    char id[24], st[24], fg[24], fr[24];
    snprintf(id, sizeof id, "%lld", (long long)w->account_id);
    snprintf(st, sizeof st, "%lld", w->statuses_count);
    snprintf(fg, sizeof fg, "%lld", w->following_count);
    snprintf(fr, sizeof fr, "%lld", w->followers_count);
    const char *params[] = {id, w->statuses_count >= 0 ? st : NULL, w->following_count >= 0 ? fg : NULL,
                            w->followers_count >= 0 ? fr : NULL};
    return db_run_params(
        c, "acct_stats_upsert",
        "INSERT INTO account_stats (account_id, statuses_count, following_count, followers_count, "
        "created_at, updated_at) VALUES ($1::bigint, coalesce($2::bigint, 0), coalesce($3::bigint, 0), "
        "coalesce($4::bigint, 0), " DB_NOW ", " DB_NOW ") ON CONFLICT (account_id) DO UPDATE SET "
        "statuses_count = coalesce($2::bigint, account_stats.statuses_count), "
        "following_count = coalesce($3::bigint, account_stats.following_count), "
        "followers_count = coalesce($4::bigint, account_stats.followers_count), updated_at = " DB_NOW,
        4, params, err, errlen);
}

/* A collision found inside the transaction rolls it back; acct_store reports it. */
typedef struct acct_tx {
    acct_write *w;
    bool collision;
} acct_tx;

static int acct_store_tx(db_conn *c, void *user, char *err, size_t errlen)
{
    acct_tx *tx = user;
    acct_write *w = tx->w;
    if (!w->account_id || w->rename) {
        int rc = acct_handle_free(c, w, err, errlen);
        if (rc != 0) {
            tx->collision = rc == 1;
            return -1;
        }
    }
    if (!w->account_id && acct_insert(c, w, err, errlen) != 0)
        return -1;
    if (acct_update_row(c, w, err, errlen) != 0)
        return -1;
    if (w->keypairs_table && !(w->suspended && w->only_key) && acct_keys_write(c, w, err, errlen) != 0)
        return -1;
    return w->only_key || w->suspended ? 0 : acct_stats_write(c, w, err, errlen);
}

int acct_store(db_conn *c, acct_write *w, char *err, size_t errlen)
{
    int64_t before = w->account_id;
    acct_tx tx = {.w = w};
    int rc = db_tx(c, acct_store_tx, &tx, err, errlen);
    if (rc != 0 && !before)
        w->account_id = 0;
    if (rc != 0 && tx.collision)
        return 1;
    return rc;
}
