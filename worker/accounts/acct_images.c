/* acct_images.c -- RedownloadAvatarWorker and RedownloadHeaderWorker [account_id]
 * (queue pull, retry 7, ExponentialBackoff) as Mastodon runs them: nothing for a
 * missing or suspended account, a domain under reject_media, a blank remote URL or an
 * image already stored; else the remote URL is downloaded (unsigned, at most 8 MB,
 * AVATAR_LIMIT / HEADER_LIMIT), processed by the media child's "avatar" or "header"
 * task (Account::Avatar 400x400#, Account::Header 750,000 px, a `static` PNG for GIFs)
 * and stored at Mastodon's keys, [S3_KEY_PREFIX/]cache/accounts/<avatars|headers>/
 * <id_partition>/<style>/<16 hex>.<ext>, with the <x>_file_name, _content_type,
 * _file_size, _updated_at and _storage_schema_version 1 columns. A 4xx other than
 * 408/429, an address refused, a file over the limit, or something that is not an image
 * (or a bomb the child's limits stop) gives up with a log line and writes nothing;
 * connection failures and 5xx answers retry. */
#include "acct_internal.h"
#include "attach_cluster.h"
#include "attach_internal.h"
#include "pull_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCT_IMAGE_LIMIT (8L * 1024L * 1024L)

typedef struct acct_image_kind {
    const char *klass;      /* RedownloadAvatarWorker */
    const char *column;     /* avatar */
    const char *task;       /* the media child's task */
    const char *attachment; /* avatars: the key's attachment folder */
} acct_image_kind;

static const acct_image_kind acct_avatar = {"RedownloadAvatarWorker", "avatar", "avatar", "avatars"};
static const acct_image_kind acct_header = {"RedownloadHeaderWorker", "header", "header", "headers"};

/* What the worker needs of the account. Returns 0, 1 when there is nothing to do (why
 * in err), -1 with err. */
static int acct_image_due(services *s, const acct_image_kind *k, int64_t id, char *url, size_t urllen,
                          char *err, size_t errlen)
{
    char sql[512], ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    snprintf(sql, sizeof sql,
             "SELECT suspended_at IS NOT NULL, coalesce(domain, ''), coalesce(%s_remote_url, ''), "
             "coalesce(%s_file_name, '') <> '' FROM accounts WHERE id = $1::bigint", k->column, k->column);
    const char *params[] = {ids};
    db_conn *c = db_pool_acquire(s->db);
    PGresult *res = db_exec_idempotent(c, k->column[0] == 'a' ? "acct_avatar_due" : "acct_header_due", sql, 1,
                                       params, err, errlen);
    int rc = -1;
    if (res && PQntuples(res) == 0) {
        snprintf(err, errlen, "account %s does not exist", ids);
        rc = 1;
    } else if (res) {
        acct_block b;
        snprintf(url, urllen, "%s", PQgetvalue(res, 0, 2));
        if (PQgetvalue(res, 0, 0)[0] == 't') {
            snprintf(err, errlen, "account %s is suspended", ids);
            rc = 1;
        } else if (acct_block_for(c, PQgetvalue(res, 0, 1), &b, err, errlen) != 0) {
            rc = -1;
        } else if (b.found && b.reject_media) {
            snprintf(err, errlen, "media from %s are rejected (domain block)", PQgetvalue(res, 0, 1));
            rc = 1;
        } else if (!url[0] || PQgetvalue(res, 0, 3)[0] == 't') {
            snprintf(err, errlen, "account %s has %s", ids, url[0] ? "its image stored" : "no remote image");
            rc = 1;
        } else {
            rc = 0;
        }
    }
    PQclear(res);
    db_pool_release(s->db, c);
    return rc;
}

/* Uploads the child's styles and records the original in the row (only while the row
 * still names this URL and no file). Returns 0, 1 when the row changed meanwhile, -1. */
static int acct_image_store(services *s, const acct_image_kind *k, int64_t id, const char *url,
                            const json_t *result, char *err, size_t errlen)
{
    const json_t *orig = json_object_get(result, "original"), *stat = json_object_get(result, "static");
    char base[17];
    if (!orig || objstore_random_hex16(base) < 0) {
        snprintf(err, errlen, "%s", orig ? "no random bytes for the file name" : "the media child made no original");
        return -1;
    }
    const char *prefix = objstore_config(s->store)->key_prefix;
    const json_t *styles[2] = {orig, stat};
    const char *names[2] = {"original", "static"};
    char keys[2][1024];
    int stored = 0;
    for (int i = 0; i < 2 && styles[i]; i++) {
        const char *path = json_string_value(json_object_get(styles[i], "path"));
        const char *type = json_string_value(json_object_get(styles[i], "content_type"));
        const char *ext = json_string_value(json_object_get(styles[i], "extension"));
        char why[512] = "its object key is too long";
        if (!path || !type || !ext ||
            objstore_media_key(prefix, true, "accounts", k->attachment, id, names[i], base, ext, keys[i],
                               sizeof keys[i]) < 0 ||
            objstore_put_file(s->store, keys[i], path, type, why, sizeof why) < 0) {
            snprintf(err, errlen, "object storage: cannot store the %s style of account %lld's %s%s%.300s", names[i],
                     (long long)id, k->column, path && type && ext ? ": " : "", path && type && ext ? why : "");
            for (int j = 0; j < stored; j++)
                objstore_delete(s->store, keys[j], why, sizeof why);
            return -1;
        }
        stored++;
    }
    char fname[64], ids[24], size[24], sql[768];
    snprintf(fname, sizeof fname, "%s.%s", base, json_string_value(json_object_get(orig, "extension")));
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    snprintf(size, sizeof size, "%lld", (long long)json_integer_value(json_object_get(orig, "size")));
    snprintf(sql, sizeof sql,
             "UPDATE accounts SET %1$s_file_name = $2, %1$s_content_type = $3, %1$s_file_size = $4::int, "
             "%1$s_updated_at = timezone('UTC', now()), %1$s_storage_schema_version = 1, "
             "updated_at = timezone('UTC', now()) WHERE id = $1::bigint AND %1$s_remote_url = $5 "
             "AND %1$s_file_name IS NULL", k->column);
    const char *params[] = {ids, fname, json_string_value(json_object_get(orig, "content_type")), size, url};
    db_conn *c = db_pool_acquire(s->db);
    PGresult *res = db_exec(c, k->column[0] == 'a' ? "acct_avatar_save" : "acct_header_save", sql, 5, params, err,
                            errlen);
    db_pool_release(s->db, c);
    int rc = !res ? -1 : strcmp(PQcmdTuples(res), "1") == 0 ? 0 : 1;
    PQclear(res);
    if (rc != 0) {
        char why[512];
        for (int j = 0; j < stored; j++)
            objstore_delete(s->store, keys[j], why, sizeof why);
    }
    return rc;
}

static void acct_image_run(q_ctx *ctx, const q_job *job, q_result *r, const acct_image_kind *k)
{
    services *s = pull_services(ctx, r);
    if (!s)
        return;
    json_t *idv = json_array_get(job->args, 0);
    if (!json_is_integer(idv)) {
        q_fail(r, "ArgumentError", "%s expects [account_id (Integer)]", k->klass);
        return;
    }
    int64_t id = json_integer_value(idv);
    char url[2100], err[Q_ERRLEN];
    int rc = acct_image_due(s, k, id, url, sizeof url, err, sizeof err);
    if (rc != 0) {
        if (rc < 0)
            q_fail(r, "ActiveRecord::ConnectionNotEstablished", "%s", err);
        else
            base_log(BASE_LOG_INFO, "class=%s jid=%s: nothing to do: %s", k->klass, job->jid, err);
        return;
    }
    if (!s->media || !s->store) {
        q_fail(r, "Scotty::NotConfigured", "%s needs %s", k->klass,
               !s->media ? "the media child (scotty-media next to scotty, or --media-exe PATH)"
                         : "object storage (PAPERCLIP_ROOT_PATH or S3_*)");
        return;
    }
    char dir[512], in[600], out[600];
    if (attach_tmpdir(dir, sizeof dir, err, sizeof err) != 0) {
        q_fail(r, "Errno::ENOSPC", "%s", err);
        return;
    }
    snprintf(in, sizeof in, "%s/in", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    int64_t bytes;
    attach_result dl = attach_download(s, url, ACCT_IMAGE_LIMIT, in, &bytes, err, sizeof err);
    if (dl == ATTACH_RETRY) {
        q_fail(r, "HTTP::ConnectionError", "%s of account %lld: %s", k->column, (long long)id, err);
    } else if (dl != ATTACH_DONE) {
        base_log(BASE_LOG_INFO, "class=%s jid=%s: %s %s of account %lld not stored: %s", k->klass, job->jid,
                 k->column, url, (long long)id, err);
    } else {
        media_outcome o;
        if (attach_cluster_run(s->media_cluster, s->media, k->task, in, out, NULL, NULL, &o, err, sizeof err) != 0) {
            if (o.cancelled)
                q_fail(r, "Scotty::Stopping", "%s", err);
            else
                base_log(BASE_LOG_INFO, "class=%s jid=%s: %s %s of account %lld is not an image scotty "
                         "keeps: %s", k->klass, job->jid, k->column, url, (long long)id, err);
        } else {
            rc = acct_image_store(s, k, id, url, o.result, err, sizeof err);
            if (rc < 0)
                q_fail(r, "Seahorse::Client::NetworkingError", "%s", err);
            else if (rc > 0)
                base_log(BASE_LOG_INFO, "class=%s jid=%s: account %lld's %s changed meanwhile; the new "
                         "file was dropped", k->klass, job->jid, (long long)id, k->column);
        }
        json_decref(o.result);
    }
    attach_rmtree(dir);
}

void acct_delete_old_image(services *s, const char *attachment, int64_t id, const acct_old_image *old)
{
    if (!old->file_name[0] || !s->store)
        return;
    char base[256], key[1024], why[512];
    snprintf(base, sizeof base, "%s", old->file_name);
    char *dot = strrchr(base, '.');
    const char *ext = dot ? dot + 1 : "";
    if (dot)
        *dot = '\0';
    const char *prefix = objstore_config(s->store)->key_prefix;
    const char *styles[2] = {"original", old->gif ? "static" : NULL};
    for (int i = 0; i < 2 && styles[i]; i++) {
        if (objstore_media_key(prefix, old->cached, "accounts", attachment, id, styles[i], base,
                               i ? "png" : ext, key, sizeof key) < 0)
            continue;
        if (objstore_delete(s->store, key, why, sizeof why) < 0)
            base_log(BASE_LOG_WARN, "accounts: cannot delete the replaced %s (left behind): %s", key, why);
    }
}

void acct_avatar_run(q_ctx *ctx, const q_job *job, q_result *r)
{
    acct_image_run(ctx, job, r, &acct_avatar);
}

void acct_header_run(q_ctx *ctx, const q_job *job, q_result *r)
{
    acct_image_run(ctx, job, r, &acct_header);
}
