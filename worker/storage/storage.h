/* storage.h -- the one public header of scotty's storage layer.
 *
 * db_*: PostgreSQL through libpq, configured from Mastodon's env: connections
 * (one per caller, or a pool), reconnect on loss, a transaction helper, and
 * Mastodon's schema (the subset scotty touches): `db init` creates it, `db check`
 * verifies a real Mastodon database has what scotty needs.
 *
 * objstore_*: object storage with Mastodon's layout, on the local filesystem
 * (PAPERCLIP_ROOT_PATH) or S3 (S3_* env, SigV4 via libcurl). */
#ifndef SCOTTY_STORAGE_H
#define SCOTTY_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "queues.h"

/* ======================= PostgreSQL ======================= */

typedef struct db_settings {
    /* libpq keyword/value pairs, NULL-terminated; "dbname" may hold a URL. */
    char keys[12][32];
    char values[12][1024];
    int n;
    bool prepared_statements;   /* PREPARED_STATEMENTS (default true) */
    int statement_timeout_ms;   /* SCOTTY_DB_STATEMENT_TIMEOUT (ms, default 60000; 0 = none):
                                 * per session, or per db_tx when prepared statements are off */
    char describe[512];         /* where we connect, without the password, for messages */
} db_settings;

/* Reads DATABASE_URL, or DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASS/DB_SSLMODE, and
 * PREPARED_STATEMENTS and SCOTTY_DB_STATEMENT_TIMEOUT from the environment.
 * Returns 0, or -1 with err. */
int db_settings_from_env(db_settings *s, char *err, size_t errlen);

typedef struct db_conn db_conn;

/* A connection, opened lazily by the first statement; `s` must outlive it. Not
 * thread-safe: one caller thread at a time (take one from a db_pool, or own one
 * per thread). */
db_conn *db_conn_new(const db_settings *s);
void db_conn_free(db_conn *c);
/* Connects, or reconnects a broken connection. Returns 0 or -1 with err. */
int db_conn_ensure(db_conn *c, char *err, size_t errlen);
/* The libpq handle (NULL before the first connect), for PQescape* and the like. */
PGconn *db_conn_pg(db_conn *c);
/* Times this connection has (re)connected successfully. */
unsigned db_conn_connects(const db_conn *c);

/* Runs one statement with text parameters (a NULL entry is SQL NULL).
 * `name` identifies the statement: with PREPARED_STATEMENTS on it becomes a named
 * prepared statement on this connection (prepared once); with it off, or name NULL,
 * the statement is sent unnamed, which is safe behind PgBouncer in transaction mode.
 * An idle connection the server has closed is reopened before the statement is
 * sent. The statement is sent once: when the connection breaks after that, the
 * result is NULL with SQLSTATE 08006 and its outcome is unknown (outside a
 * transaction it may have run; a writer checks before writing again).
 * Returns the result (caller PQclear()s it) or NULL with err. */
PGresult *db_exec(db_conn *c, const char *name, const char *sql, int nparams,
                  const char *const *params, char *err, size_t errlen);
/* "Now" in SQL as Rails writes its timestamps: UTC, without a zone. */
#define DB_NOW "timezone('UTC', now())"
/* db_exec for a statement that may run twice with the same effect: a read, or a
 * write of fixed values (UPDATE ... SET col = $1, INSERT ... ON CONFLICT DO
 * NOTHING). Outside a transaction, when the connection is lost under it, it
 * reconnects and runs once more. */
PGresult *db_exec_idempotent(db_conn *c, const char *name, const char *sql, int nparams,
                             const char *const *params, char *err, size_t errlen);
/* Whether a table or view of newer Mastodon (keypairs, instances, tagged_objects,
 * quotes, ...) exists, for statements that may only name it when it does. The
 * connection remembers the answer (a missing table is asked again after a minute);
 * name must outlive it (a string literal). Returns 0 with *exists, or -1 with err. */
int db_table_exists(db_conn *c, const char *name, bool *exists, char *err, size_t errlen);
/* db_exec for statements whose rows are not needed. Returns 0 or -1 with err. */
int db_run_params(db_conn *c, const char *name, const char *sql, int nparams,
                  const char *const *params, char *err, size_t errlen);
/* db_run_params, unnamed and without parameters. */
int db_run(db_conn *c, const char *sql, char *err, size_t errlen);
/* The SQLSTATE of the last failed statement, "" after a success. Connection
 * problems report class 08 ("08001" cannot connect, nothing was sent; "08006"
 * lost after sending), which callers treat as transient: fail the job into
 * Sidekiq's retry path. */
const char *db_conn_sqlstate(const db_conn *c);

/* The body of a transaction: returns 0 to commit, -1 (with err) to roll back. */
typedef int (*db_tx_fn)(db_conn *c, void *user, char *err, size_t errlen);
/* db_tx's result when COMMIT was sent and the connection broke before its reply:
 * the transaction may or may not be written. Check for what it wrote (by a unique
 * key, such as a status's uri) before writing it again. */
#define DB_TX_UNKNOWN (-2)
/* BEGIN, fn, then COMMIT, or ROLLBACK if fn or the commit failed. Returns 0 if
 * committed, -1 with err (fn's message, or why BEGIN/COMMIT failed) if nothing
 * was written, DB_TX_UNKNOWN with err if the COMMIT's reply was lost. */
int db_tx(db_conn *c, db_tx_fn fn, void *user, char *err, size_t errlen);

/* A fixed-size pool: one connection per processor thread; `s` must outlive it. */
typedef struct db_pool db_pool;
db_pool *db_pool_new(const db_settings *s, int size);
void db_pool_free(db_pool *p);
/* Blocks until a connection is free. */
db_conn *db_pool_acquire(db_pool *p);
void db_pool_release(db_pool *p, db_conn *c);

/* ---- Mastodon's schema ---- */

/* Creates the subset schema in an empty database (refuses if any of its tables
 * exist), with timestamp_id() and its sequences. Returns 0, or -1 or DB_TX_UNKNOWN
 * (see db_tx) with err. */
int db_schema_init(db_conn *c, char *err, size_t errlen);
/* Verifies every table and column scotty uses exists with a compatible type,
 * and that timestamp_id() and its sequences exist. Appends one line per problem
 * to `report`. Returns the number of problems (0: compatible), or -1 with err if
 * the check itself could not run. */
int db_schema_check(db_conn *c, base_buf *report, char *err, size_t errlen);

/* Whether the server can be used now, for waiting at start-up. DB_SERVER_DOWN: it
 * does not answer, or is starting or shutting down (worth waiting for; why holds
 * libpq's message). DB_SERVER_REFUSED: it answers but refuses these settings (a
 * wrong password, user or database name), or they are not valid: a configuration
 * error, why says what to check. */
typedef enum { DB_SERVER_UP = 0, DB_SERVER_DOWN, DB_SERVER_REFUSED } db_server_state;
db_server_state db_server_probe(const db_settings *s, char *why, size_t len);

/* What the worker runs before starting: connects, checks the schema, logs each
 * problem (and note). Returns 0 if scotty can run, -1 with err if not. */
int db_startup_check(const db_settings *s, char *err, size_t errlen);

/* `scotty db init|check`: argv[0] is "db". Exit status 0 on success. */
int db_main(int argc, char **argv);

/* ======================= Object storage ======================= */

#define OBJSTORE_NOT_FOUND (-2)

typedef enum { OBJSTORE_FS = 0, OBJSTORE_S3 } objstore_backend;

typedef struct objstore_cfg {
    objstore_backend backend;
    /* filesystem */
    char fs_root[1024];         /* PAPERCLIP_ROOT_PATH (default public/system) */
    char fs_url[512];           /* PAPERCLIP_ROOT_URL (default /system) */
    /* S3 */
    char bucket[256];           /* S3_BUCKET */
    char endpoint[512];         /* S3_ENDPOINT, e.g. http://127.0.0.1:9000 */
    char region[64];            /* S3_REGION (default us-east-1) */
    char protocol[8];           /* S3_PROTOCOL for public URLs (default https) */
    char hostname[256];         /* S3_HOSTNAME for public URLs */
    char alias_host[256];       /* S3_ALIAS_HOST (or the older S3_CLOUDFRONT_HOST) */
    bool path_style;            /* true when S3_ENDPOINT is set, unless S3_OVERRIDE_PATH_STYLE=true */
    char permission[64];        /* S3_PERMISSION (default public-read; empty: no ACL header) */
    char storage_class[64];     /* S3_STORAGE_CLASS */
    size_t multipart_threshold; /* S3_MULTIPART_THRESHOLD bytes (default 15 MiB) */
    size_t part_size;           /* multipart part size (>= 5 MiB, grown for huge files) */
    char key_prefix[256];       /* S3_KEY_PREFIX, without slashes around it */
    char access_key[256];       /* AWS_ACCESS_KEY_ID */
    char secret_key[256];       /* AWS_SECRET_ACCESS_KEY */
    int retries;                /* S3_RETRY_LIMIT: extra attempts on 5xx/network errors (default 3) */
    long open_timeout_ms;       /* S3_OPEN_TIMEOUT seconds (default 5) */
    long read_timeout_ms;       /* S3_READ_TIMEOUT seconds (default 5): no byte for this long fails */
    long backoff_ms;            /* first retry delay, doubled per attempt (default 200) */
    int breaker_threshold;      /* SCOTTY_S3_BREAKER_THRESHOLD: failed requests in a row that
                                 * open the circuit (default 10, as Mastodon's Stoplight; 0: off) */
    long breaker_cooloff_ms;    /* SCOTTY_S3_BREAKER_COOLOFF_MS: how long it stays open (30000) */
} objstore_cfg;

/* Reads S3_ENABLED and the S3_*, AWS_* and PAPERCLIP_* variables. Returns 0 or -1
 * with err (e.g. S3_ENABLED=true without S3_BUCKET). */
int objstore_cfg_from_env(objstore_cfg *cfg, char *err, size_t errlen);

typedef struct objstore objstore;
/* Thread-safe once created: every call may run from any thread. */
objstore *objstore_new(const objstore_cfg *cfg, char *err, size_t errlen);
void objstore_free(objstore *o);
const objstore_cfg *objstore_config(const objstore *o);

/* Stores an object atomically (readers see the old object or the new one whole).
 * Keys are relative ("cache/media_attachments/..."), never absolute, without "..".
 * All return 0, or -1 with err. */
int objstore_put_buf(objstore *o, const char *key, const void *data, size_t len,
                     const char *content_type, char *err, size_t errlen);
int objstore_put_file(objstore *o, const char *key, const char *path,
                      const char *content_type, char *err, size_t errlen);
/* Reads a whole object into out (appended). OBJSTORE_NOT_FOUND if missing. */
int objstore_get(objstore *o, const char *key, base_buf *out, char *err, size_t errlen);
/* Deletes; a missing object is not an error. */
int objstore_delete(objstore *o, const char *key, char *err, size_t errlen);
/* 1 if present, 0 if not, -1 with err. */
int objstore_exists(objstore *o, const char *key, char *err, size_t errlen);
/* The URL a browser fetches the object from (PAPERCLIP_ROOT_URL, S3_ALIAS_HOST,
 * or the bucket's URL). Returns 0, or -1 if it does not fit. */
int objstore_public_url(const objstore *o, const char *key, char *out, size_t len);

/* ---- Mastodon's key layout (mastodon.md §4.7) ---- */

/* kt-paperclip's id_partition: the id zero-padded to 9 digits (12 if >= 1e9),
 * then 18 for snowflake ids, split into groups of three: "109/876/543/210/987/654". */
void objstore_id_partition(int64_t id, char *out, size_t len);
/* 16 random lowercase hex characters (SecureRandom.hex(8)); out needs 17 bytes. */
int objstore_random_hex16(char *out);
/* [prefix/][cache/]<klass>/<attachment>/<id_partition>/<style>/<basename>.<ext>
 * `cached` is true for remote records whose storage_schema_version >= 1.
 * prefix may be NULL or "". Returns 0, or -1 if out is too small. */
int objstore_media_key(const char *prefix, bool cached, const char *klass,
                       const char *attachment, int64_t id, const char *style,
                       const char *basename, const char *ext, char *out, size_t len);

#endif
