/* maintenance_media.c -- Scotty::MediaCacheCleanup [{"days": N, "dry_run": true,
 * "batch": N}]: removes cached remote media older than the retention period, as
 * Mastodon's media vacuum and `tootctl media remove` do. Rows are remote
 * (remote_url <> ''), have a stored file, and were created and last updated
 * before the cutoff. For each batch (ordered by id): delete every style's object,
 * then clear the file_* and thumbnail_* columns as Paperclip's destroy does
 * (remote_url stays, so the media can be fetched again), then remember the last
 * id in Redis, so a run that is killed resumes where it stopped. A dry run counts
 * and logs, and changes nothing. Days default to MEDIA_CACHE_RETENTION_PERIOD,
 * else 7. One run at a time cluster-wide (a Redis lock); a summary line at the end. */
#include "maintenance.h"
#include "services.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAINT_MEDIA_CURSOR "scotty:media_cleanup:cursor"
#define MAINT_MEDIA_LOCK "scotty:media_cleanup:lock"
#define MAINT_MEDIA_LOCK_TTL "600" /* seconds; renewed every batch */

typedef struct maint_media_opts {
    long days;
    bool dry_run;
    long batch;
} maint_media_opts;

typedef struct maint_media_run {
    services *s;
    q_conn *redis;
    db_conn *db;
    const char *jid;
    maint_media_opts opts;
    char cutoff[32];          /* UTC, as the timestamp columns hold it */
    int64_t cursor;           /* last id fully processed */
    long rows, objects;
    int64_t bytes;
} maint_media_run;

/* MEDIA_CACHE_RETENTION_PERIOD (days), else 7; -1 if set but not a positive integer. */
static long maint_media_default_days(void)
{
    const char *v = getenv("MEDIA_CACHE_RETENTION_PERIOD");
    if (!v || !*v)
        return 7;
    char *end;
    long d = strtol(v, &end, 10);
    return *end == '\0' && d > 0 ? d : -1;
}

static int maint_media_opts_parse(const q_job *job, maint_media_opts *o, char *err, size_t errlen)
{
    o->days = maint_media_default_days();
    o->dry_run = false;
    o->batch = 100;
    if (o->days < 0) {
        snprintf(err, errlen, "MEDIA_CACHE_RETENTION_PERIOD must be a whole number of days > 0, not \"%s\"",
                 getenv("MEDIA_CACHE_RETENTION_PERIOD"));
        return -1;
    }
    json_t *a = json_array_get(job->args, 0);
    if (json_array_size(job->args) > 1 || (a && !json_is_object(a) && !json_is_null(a))) {
        snprintf(err, errlen, "expected no arguments or one hash like {\"days\": 7, \"dry_run\": true, "
                              "\"batch\": 100}");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(json_is_object(a) ? a : NULL, key, v) {
        if (strcmp(key, "days") == 0 && json_is_integer(v) && json_integer_value(v) > 0 &&
            json_integer_value(v) <= 36500)
            o->days = (long)json_integer_value(v);
        else if (strcmp(key, "dry_run") == 0 && json_is_boolean(v))
            o->dry_run = json_is_true(v);
        else if (strcmp(key, "batch") == 0 && json_is_integer(v) && json_integer_value(v) > 0 &&
                 json_integer_value(v) <= 10000)
            o->batch = (long)json_integer_value(v);
        else {
            snprintf(err, errlen, "argument \"%s\" is not one of days (1..36500), dry_run (true/false), "
                                  "batch (1..10000)", key);
            return -1;
        }
    }
    return 0;
}

static void maint_media_fail_db(maint_media_run *m, q_result *r, const char *what, const char *err)
{
    bool conn = strncmp(db_conn_sqlstate(m->db), "08", 2) == 0;
    q_fail(r, conn ? "ActiveRecord::ConnectionNotEstablished" : "ActiveRecord::StatementInvalid",
           "media cache cleanup: %s: %s (the next run resumes after id %" PRId64 ")", what, err, m->cursor);
}

/* Runs a Redis command whose reply only needs to be "not an error". */
static int maint_media_redis_ok(redisReply *rep, q_conn *c, char *err, size_t errlen)
{
    int rc = rep && rep->type != REDIS_REPLY_ERROR ? 0 : -1;
    if (rc != 0)
        snprintf(err, errlen, "%s", rep ? rep->str : q_conn_error(c));
    q_reply_free(rep);
    return rc;
}

/* The cluster-wide lock: 1 taken, 0 held by another run, -1 Redis error. */
static int maint_media_lock(maint_media_run *m, char *err, size_t errlen)
{
    redisReply *rep = q_conn_cmd(m->redis, "SET " MAINT_MEDIA_LOCK " %s NX EX " MAINT_MEDIA_LOCK_TTL, m->jid);
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "%s", rep ? rep->str : q_conn_error(m->redis));
        q_reply_free(rep);
        return -1;
    }
    int taken = rep->type == REDIS_REPLY_STATUS;
    q_reply_free(rep);
    return taken;
}

static const char *maint_media_lock_lua =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end\n"
    "if ARGV[2] == 'renew' then return redis.call('EXPIRE', KEYS[1], ARGV[3]) end\n"
    "return redis.call('DEL', KEYS[1])\n";

static int maint_media_lock_op(maint_media_run *m, const char *op, char *err, size_t errlen)
{
    const char *argv[] = {MAINT_MEDIA_LOCK, m->jid, op, MAINT_MEDIA_LOCK_TTL};
    return maint_media_redis_ok(q_conn_eval(m->redis, maint_media_lock_lua, 1, 4, argv, NULL), m->redis,
                                err, errlen);
}

static int maint_media_read_cursor(maint_media_run *m, char *err, size_t errlen)
{
    redisReply *rep = q_conn_cmd(m->redis, "GET " MAINT_MEDIA_CURSOR);
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "%s", rep ? rep->str : q_conn_error(m->redis));
        q_reply_free(rep);
        return -1;
    }
    m->cursor = rep->type == REDIS_REPLY_STRING ? strtoll(rep->str, NULL, 10) : 0;
    q_reply_free(rep);
    return 0;
}

static const char *maint_media_select_sql =
    "SELECT id, type, file_file_name, COALESCE(file_storage_schema_version, 0), thumbnail_file_name, "
    "COALESCE(thumbnail_storage_schema_version, 0), "
    "COALESCE(file_file_size, 0)::bigint + COALESCE(thumbnail_file_size, 0)::bigint "
    "FROM media_attachments WHERE id > $1 AND remote_url <> '' AND file_file_name IS NOT NULL "
    "AND created_at < $2 AND updated_at < $2 ORDER BY id LIMIT $3";

/* Paperclip's destroy + save for both attachments; a row whose file changed since
 * it was read (fetched again meanwhile) is left alone. */
static const char *maint_media_clear_sql =
    "UPDATE media_attachments m SET file_file_name = NULL, file_content_type = NULL, "
    "file_file_size = NULL, file_updated_at = NULL, thumbnail_file_name = NULL, "
    "thumbnail_content_type = NULL, thumbnail_file_size = NULL, thumbnail_updated_at = NULL "
    "FROM json_to_recordset($1::json) AS d(id bigint, name text) "
    "WHERE m.id = d.id AND m.file_file_name = d.name";

/* Deletes the objects of one row (or counts them in a dry run). Returns 0 or -1 with err. */
static int maint_media_row_objects(maint_media_run *m, const maint_media_row *row, char *err, size_t errlen)
{
    char keys[MAINT_MEDIA_MAX_KEYS][MAINT_MEDIA_KEY_LEN];
    int n = maint_media_keys(objstore_config(m->s->store)->key_prefix, row, keys, err, errlen);
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        char derr[Q_ERRLEN];
        if (!m->opts.dry_run && objstore_delete(m->s->store, keys[i], derr, sizeof derr) != 0) {
            snprintf(err, errlen, "cannot delete %.200s: %.200s", keys[i], derr);
            return -1;
        }
        base_log(BASE_LOG_DEBUG, "media cache cleanup: %s %s", m->opts.dry_run ? "would delete" : "deleted", keys[i]);
    }
    m->objects += n;
    return 0;
}

/* One batch after m->cursor. Returns the number of rows read (0: done), or -1
 * with the job failed in r. The cursor moves only once the batch is complete. */
static long maint_media_batch(maint_media_run *m, q_result *r)
{
    char after[24], limit[24], err[Q_ERRLEN];
    snprintf(after, sizeof after, "%" PRId64, m->cursor);
    snprintf(limit, sizeof limit, "%ld", m->opts.batch);
    const char *params[] = {after, m->cutoff, limit};
    PGresult *res = db_exec(m->db, "scotty_media_cleanup_batch", maint_media_select_sql, 3, params, err,
                            sizeof err);
    if (!res) {
        maint_media_fail_db(m, r, "cannot read media_attachments", err);
        return -1;
    }
    long n = PQntuples(res);
    json_t *cleared = json_array();
    int64_t last = m->cursor, bytes = 0;
    for (long i = 0; i < n; i++) {
        maint_media_row row = {
            .id = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10),
            .type = atoi(PQgetvalue(res, (int)i, 1)),
            .file_name = PQgetvalue(res, (int)i, 2),
            .file_schema = atoi(PQgetvalue(res, (int)i, 3)),
            .thumb_name = PQgetisnull(res, (int)i, 4) ? NULL : PQgetvalue(res, (int)i, 4),
            .thumb_schema = atoi(PQgetvalue(res, (int)i, 5)),
            .bytes = strtoll(PQgetvalue(res, (int)i, 6), NULL, 10),
        };
        if (maint_media_row_objects(m, &row, err, sizeof err) != 0) {
            q_fail(r, "Scotty::StorageError", "media cache cleanup: media attachment %" PRId64 ": %s (the next "
                   "run resumes after id %" PRId64 ")", row.id, err, m->cursor);
            json_decref(cleared);
            PQclear(res);
            return -1;
        }
        json_array_append_new(cleared, json_pack("{s:I, s:s}", "id", (json_int_t)row.id, "name", row.file_name));
        bytes += row.bytes;
        last = row.id;
    }
    PQclear(res);
    if (n > 0 && !m->opts.dry_run) {
        char *list = json_dumps(cleared, JSON_COMPACT);
        const char *p[] = {list};
        res = db_exec(m->db, "scotty_media_cleanup_clear", maint_media_clear_sql, 1, p, err, sizeof err);
        free(list);
        if (!res) {
            json_decref(cleared);
            maint_media_fail_db(m, r, "cannot clear the file columns", err);
            return -1;
        }
        PQclear(res);
        redisReply *rep = q_conn_cmd(m->redis, "SET " MAINT_MEDIA_CURSOR " %" PRId64, last);
        if (maint_media_redis_ok(rep, m->redis, err, sizeof err) != 0 ||
            maint_media_lock_op(m, "renew", err, sizeof err) != 0) {
            json_decref(cleared);
            q_fail(r, "Redis::CannotConnectError", "media cache cleanup: cannot save the position (id %" PRId64
                   "): %s", last, err);
            return -1;
        }
    }
    json_decref(cleared);
    m->cursor = last;
    m->rows += n;
    m->bytes += bytes;
    return n;
}

static void maint_media_summary(const maint_media_run *m, double elapsed, bool complete)
{
    bool dry = m->opts.dry_run;
    base_log(BASE_LOG_INFO, "media cache cleanup%s %s: %ld rows, %ld objects %s, %" PRId64 " bytes (%.1f MiB) %s, "
          "%.1f s, retention %ld days (created before %s UTC)%s",
          dry ? " (dry run)" : "", complete ? "done" : "stopped early", m->rows, m->objects,
          dry ? "would be deleted" : "deleted", m->bytes, (double)m->bytes / (1024.0 * 1024.0),
          dry ? "would be freed" : "freed", elapsed, m->opts.days, m->cutoff,
          complete ? "" : "; the next run resumes from here");
}

void maint_media_cleanup(q_ctx *ctx, const q_job *job, q_result *r)
{
    maint_media_run m = {.s = q_ctx_user(ctx), .redis = q_ctx_redis(ctx), .jid = job->jid};
    char err[Q_ERRLEN];
    if (maint_media_opts_parse(job, &m.opts, err, sizeof err) != 0) {
        q_fail(r, "ArgumentError", "Scotty::MediaCacheCleanup: %s", err);
        return;
    }
    if (!m.s->db || !m.s->store) {
        q_fail(r, "Scotty::NotConfigured", "media cache cleanup needs the database and object storage: %s",
               m.s->db ? "no object storage" : m.s->db_missing);
        return;
    }
    time_t cut = time(NULL) - (time_t)m.opts.days * 86400;
    struct tm tm;
    gmtime_r(&cut, &tm);
    strftime(m.cutoff, sizeof m.cutoff, "%Y-%m-%d %H:%M:%S", &tm);
    int locked = m.opts.dry_run ? 1 : maint_media_lock(&m, err, sizeof err);
    if (locked == 0) {
        base_log(BASE_LOG_INFO, "media cache cleanup: another run holds " MAINT_MEDIA_LOCK "; nothing to do");
        return;
    }
    if (locked < 0 || maint_media_read_cursor(&m, err, sizeof err) != 0) {
        q_fail(r, "Redis::CannotConnectError", "media cache cleanup: %s", err);
        if (locked > 0 && !m.opts.dry_run)
            maint_media_lock_op(&m, "release", err, sizeof err);
        return;
    }
    base_log(BASE_LOG_INFO, "media cache cleanup%s: cached remote media created before %s UTC (%ld days), "
          "batches of %ld%s", m.opts.dry_run ? " (dry run)" : "", m.cutoff, m.opts.days, m.opts.batch,
          m.cursor > 0 ? ", resuming after a run that stopped early" : "");
    double started = base_monotonic();
    m.db = db_pool_acquire(m.s->db);
    long n = -1;
    bool complete = false;
    while (!q_ctx_stopping(ctx) && (n = maint_media_batch(&m, r)) > 0) {
        if (n < m.opts.batch) {
            complete = true;
            break;
        }
    }
    db_pool_release(m.s->db, m.db);
    complete = complete || n == 0;
    if (complete && !m.opts.dry_run) {
        redisReply *rep = q_conn_cmd(m.redis, "DEL " MAINT_MEDIA_CURSOR);
        if (maint_media_redis_ok(rep, m.redis, err, sizeof err) != 0 && !r->failed)
            q_fail(r, "Redis::CannotConnectError", "media cache cleanup: cannot reset the position: %s", err);
    }
    if (!r->failed)
        maint_media_summary(&m, base_monotonic() - started, complete);
    else
        base_log(BASE_LOG_WARN, "media cache cleanup: failed after %ld rows, %ld objects: %s", m.rows, m.objects,
              r->error_message);
    if (!m.opts.dry_run)
        maint_media_lock_op(&m, "release", err, sizeof err);
}
