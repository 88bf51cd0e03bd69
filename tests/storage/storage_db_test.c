/* storage_db_test.c -- libpq layer and schema against a real PostgreSQL started by
 * run_db_test.sh (DB_* env): init then check, check finding a dropped column and a
 * wrong type, transactions rolled back on error, reconnect after a server restart,
 * PgBouncer-safe statements, statement timeout, an unreachable server, and
 * connections lost under a statement or a COMMIT (outcome unknown, never re-run
 * blindly), terminated from a second connection while the statement sleeps, and a
 * transaction sent as one batch (an implicit transaction, no BEGIN or COMMIT), and
 * db_table_exists' memory, which a statement finding a table missing clears. */
#include "db_batch.h"
#include "storage.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static db_settings settings;

static db_conn *connect_or_fail(const db_settings *s)
{
    char err[512];
    db_conn *c = db_conn_new(s);
    if (db_conn_ensure(c, err, sizeof err) != 0)
        fail_msg("connect: %s", err);
    return c;
}

static void run_ok(db_conn *c, const char *sql)
{
    char err[512];
    if (db_run(c, sql, err, sizeof err) != 0)
        fail_msg("%s: %s", sql, err);
}

static long long query_ll(db_conn *c, const char *sql)
{
    char err[512];
    PGresult *r = db_exec(c, NULL, sql, 0, NULL, err, sizeof err);
    if (!r)
        fail_msg("%s: %s", sql, err);
    assert_int_equal(PQntuples(r), 1);
    long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

static void test_init_then_check(void **state)
{
    (void)state;
    db_conn *c = connect_or_fail(&settings);
    char err[1024];
    if (db_schema_init(c, err, sizeof err) != 0)
        fail_msg("init: %s", err);
    base_buf report;
    base_buf_init(&report);
    int problems = db_schema_check(c, &report, err, sizeof err);
    if (problems != 0)
        fail_msg("check after init found %d problems:\n%s", problems, report.data ? report.data : err);
    assert_null(report.data); /* init creates optional columns too: not even notes */
    base_buf_free(&report);

    /* A second init refuses to touch a non-empty database. */
    assert_int_equal(db_schema_init(c, err, sizeof err), -1);
    assert_non_null(strstr(err, "already has"));
    db_conn_free(c);
    if (db_startup_check(&settings, err, sizeof err) != 0)
        fail_msg("start-up check after init: %s", err);
}

/* timestamp_id(): milliseconds of now() in the high 48 bits; consecutive ids in
 * one transaction share the time part and step the 16-bit tail by one. */
static void test_timestamp_id_layout(void **state)
{
    (void)state;
    db_conn *c = connect_or_fail(&settings);
    run_ok(c, "BEGIN");
    long long now_ms = query_ll(c, "SELECT (date_part('epoch', now()) * 1000)::bigint");
    long long a = query_ll(c, "INSERT INTO accounts (username, domain, created_at, updated_at) "
                              "VALUES ('ts1', 'example.com', now(), now()) RETURNING id");
    long long b = query_ll(c, "INSERT INTO accounts (username, domain, created_at, updated_at) "
                              "VALUES ('ts2', 'example.com', now(), now()) RETURNING id");
    run_ok(c, "ROLLBACK");
    assert_int_equal(a >> 16, now_ms);
    assert_int_equal(b >> 16, now_ms);
    assert_int_equal(b & 0xffff, (a + 1) & 0xffff);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM pg_class WHERE relname = "
                                 "'media_attachments_id_seq' AND relkind = 'S'"), 1);
    db_conn_free(c);
}

static int check_report(db_conn *c, base_buf *report)
{
    char err[512];
    base_buf_init(report);
    int problems = db_schema_check(c, report, err, sizeof err);
    if (problems < 0)
        fail_msg("check: %s", err);
    return problems;
}

static void test_check_reports_what_is_missing(void **state)
{
    (void)state;
    db_conn *c = connect_or_fail(&settings);
    char err[512];
    base_buf report;

    run_ok(c, "ALTER TABLE statuses DROP COLUMN uri"); /* drops its unique index too */
    assert_int_equal(check_report(c, &report), 2);
    assert_non_null(strstr(report.data, "missing column statuses.uri (expected character varying)"));
    assert_non_null(strstr(report.data, "missing unique index index_statuses_on_uri on statuses"));
    base_buf_free(&report);

    run_ok(c, "ALTER TABLE media_attachments ALTER COLUMN file_meta TYPE text");
    run_ok(c, "DROP TABLE tombstones");
    run_ok(c, "ALTER TABLE accounts DROP COLUMN show_media"); /* optional: a note only */
    /* Mastodon before 2026-07 has a plain index on accounts.uri: a note only too */
    run_ok(c, "DROP INDEX index_accounts_on_uri");
    run_ok(c, "CREATE INDEX index_accounts_on_uri ON accounts (uri)");
    assert_int_equal(check_report(c, &report), 4);
    assert_non_null(strstr(report.data, "note: unique index index_accounts_on_uri on accounts (newer Mastodon)"));
    assert_non_null(strstr(report.data, "column media_attachments.file_meta has type text, expected json"));
    assert_non_null(strstr(report.data, "missing table tombstones"));
    assert_non_null(strstr(report.data, "note: optional column accounts.show_media"));
    base_buf_free(&report);

    run_ok(c, "DROP INDEX index_mentions_on_account_id_and_status_id");
    run_ok(c, "ALTER TABLE statuses_tags DROP CONSTRAINT statuses_tags_pkey");
    assert_int_equal(check_report(c, &report), 6);
    assert_non_null(strstr(report.data, "missing unique index index_mentions_on_account_id_and_status_id on mentions"));
    assert_non_null(strstr(report.data, "missing primary key on statuses_tags"));
    base_buf_free(&report);

    assert_int_equal(db_startup_check(&settings, err, sizeof err), -1);
    assert_non_null(strstr(err, "is missing 6 table(s), column(s)"));

    run_ok(c, "DROP FUNCTION timestamp_id(text) CASCADE");
    run_ok(c, "DROP SEQUENCE statuses_id_seq");
    assert_int_equal(check_report(c, &report), 8);
    assert_non_null(strstr(report.data, "missing function timestamp_id(text)"));
    assert_non_null(strstr(report.data, "missing sequence statuses_id_seq"));
    base_buf_free(&report);
    db_conn_free(c);
}

typedef struct tx_case {
    const char *second_sql;  /* NULL: fail from C after the first insert */
} tx_case;

static int tx_body(db_conn *c, void *user, char *err, size_t errlen)
{
    const tx_case *tc = user;
    if (db_run(c, "INSERT INTO tags (name, created_at, updated_at) VALUES ('rolled', now(), now())",
               err, errlen) != 0)
        return -1;
    if (!tc->second_sql) {
        snprintf(err, errlen, "handler gave up");
        return -1;
    }
    return db_run(c, tc->second_sql, err, errlen);
}

static void test_transaction_rolled_back_on_error(void **state)
{
    (void)state;
    db_conn *c = connect_or_fail(&settings);
    char err[512];
    run_ok(c, "DELETE FROM tags");

    tx_case from_c = {NULL};
    assert_int_equal(db_tx(c, tx_body, &from_c, err, sizeof err), -1);
    assert_string_equal(err, "handler gave up");
    assert_int_equal(query_ll(c, "SELECT count(*) FROM tags"), 0);

    /* A failing statement (unique violation on lower(name)) rolls back the first. */
    tx_case dup = {"INSERT INTO tags (name, created_at, updated_at) VALUES ('ROLLED', now(), now())"};
    assert_int_equal(db_tx(c, tx_body, &dup, err, sizeof err), -1);
    assert_non_null(strstr(err, "23505"));
    assert_string_equal(db_conn_sqlstate(c), "23505");
    assert_int_equal(query_ll(c, "SELECT count(*) FROM tags"), 0);

    tx_case ok = {"INSERT INTO tags (name, created_at, updated_at) VALUES ('kept', now(), now())"};
    if (db_tx(c, tx_body, &ok, err, sizeof err) != 0)
        fail_msg("commit: %s", err);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM tags"), 2);
    db_conn_free(c);
}

static void test_table_dropped_while_remembered(void **state)
{
    (void)state;
    db_conn *c = connect_or_fail(&settings);
    char err[512];
    bool exists = false;
    run_ok(c, "CREATE TABLE IF NOT EXISTS scotty_test_later (id bigint)");
    assert_int_equal(db_table_exists(c, "scotty_test_later", &exists, err, sizeof err), 0);
    assert_true(exists);
    run_ok(c, "DROP TABLE scotty_test_later"); /* a migration rolled back */
    assert_int_equal(db_table_exists(c, "scotty_test_later", &exists, err, sizeof err), 0);
    assert_true(exists); /* remembered: no query per call */
    assert_null(db_exec(c, NULL, "SELECT count(*) FROM scotty_test_later", 0, NULL, err, sizeof err));
    assert_string_equal(db_conn_sqlstate(c), "42P01");
    assert_int_equal(db_table_exists(c, "scotty_test_later", &exists, err, sizeof err), 0);
    assert_false(exists);
    db_conn_free(c);
}

static void test_reconnect_after_restart(void **state)
{
    (void)state;
    db_pool *pool = db_pool_new(&settings, 2);
    db_conn *a = db_pool_acquire(pool);
    db_conn *b = db_pool_acquire(pool);
    assert_int_equal(query_ll(a, "SELECT 1"), 1);
    assert_int_equal(query_ll(b, "SELECT 2"), 2);
    long long pid_before = query_ll(a, "SELECT pg_backend_pid()");

    const char *restart = getenv("STORAGE_PG_RESTART_CMD");
    assert_non_null(restart);
    assert_int_equal(system(restart), 0);

    /* The old sessions are gone; the next statement reconnects and runs. */
    long long pid_after = query_ll(a, "SELECT pg_backend_pid()");
    assert_true(pid_after != pid_before);
    assert_int_equal(db_conn_connects(a), 2);
    assert_int_equal(query_ll(b, "SELECT 3"), 3);
    assert_int_equal(db_conn_connects(b), 2);
    db_pool_release(pool, a);
    db_pool_release(pool, b);
    db_pool_free(pool);
}

static int tx_restart_body(db_conn *c, void *user, char *err, size_t errlen)
{
    (void)user;
    if (db_run(c, "INSERT INTO tags (name, created_at, updated_at) VALUES ('before-restart', now(), now())",
               err, errlen) != 0)
        return -1;
    if (system(getenv("STORAGE_PG_RESTART_CMD")) != 0) {
        snprintf(err, errlen, "restart command failed");
        return -1;
    }
    return db_run(c, "INSERT INTO tags (name, created_at, updated_at) VALUES ('after-restart', now(), now())",
                  err, errlen);
}

static int tx_insert_body(db_conn *c, void *user, char *err, size_t errlen)
{
    (void)user;
    return db_run(c, "INSERT INTO tags (name, created_at, updated_at) VALUES ('next-job', now(), now())",
                  err, errlen);
}

/* A restart in the middle of a transaction fails that transaction (the job goes
 * to Sidekiq's retry path) and nothing of it is written; the next one works. */
static void test_restart_during_transaction(void **state)
{
    (void)state;
    db_conn *c = connect_or_fail(&settings);
    char err[512];
    assert_int_equal(db_tx(c, tx_restart_body, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "lost the PostgreSQL connection"));
    assert_string_equal(db_conn_sqlstate(c), "08006");
    if (db_tx(c, tx_insert_body, NULL, err, sizeof err) != 0)
        fail_msg("transaction after restart: %s", err);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM tags WHERE name IN "
                                 "('before-restart', 'after-restart')"), 0);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM tags WHERE name = 'next-job'"), 1);
    db_conn_free(c);
}

/* A second connection that terminates the backend running `query` once it is
 * asleep in it (pg_sleep), so the connection is lost at a known point. */
typedef struct terminator {
    const char *query;
    bool done;
} terminator;

static void *terminator_thread(void *arg)
{
    terminator *t = arg;
    db_conn *c = connect_or_fail(&settings);
    const char *params[] = {t->query};
    for (int i = 0; i < 400 && !t->done; i++) {
        char err[512];
        PGresult *r = db_exec(c, NULL,
                              "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                              "query = $1 AND state = 'active' AND wait_event = 'PgSleep' AND "
                              "pid <> pg_backend_pid()",
                              1, params, err, sizeof err);
        if (!r)
            fail_msg("terminate: %s", err);
        t->done = PQntuples(r) > 0 && PQgetvalue(r, 0, 0)[0] == 't';
        PQclear(r);
        if (!t->done)
            usleep(25 * 1000);
    }
    db_conn_free(c);
    return NULL;
}

#define ONCE_SQL "SELECT nextval('scotty_test_once'), pg_sleep(2)"

/* A statement whose connection is lost after it was sent may have run: db_exec
 * reports 08006 and does not send it again; db_exec_idempotent does. An idle
 * connection the server closed is reopened before sending, so nothing is lost. */
static void test_lost_statement_not_rerun(void **state)
{
    (void)state;
    db_conn *c = connect_or_fail(&settings);
    db_conn *admin = connect_or_fail(&settings);
    char err[512];
    run_ok(admin, "DROP SEQUENCE IF EXISTS scotty_test_once");
    run_ok(admin, "CREATE SEQUENCE scotty_test_once");

    char pid[24];
    snprintf(pid, sizeof pid, "%lld", query_ll(c, "SELECT pg_backend_pid()"));
    const char *pp[] = {pid};
    PGresult *r = db_exec(admin, NULL, "SELECT pg_terminate_backend($1::int)", 1, pp, err, sizeof err);
    assert_non_null(r);
    PQclear(r);
    usleep(200 * 1000); /* the server has closed it by now */
    assert_int_equal(query_ll(c, "SELECT nextval('scotty_test_once')"), 1);
    assert_int_equal(db_conn_connects(c), 2);

    terminator t = {ONCE_SQL, false};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, terminator_thread, &t), 0);
    r = db_exec(c, NULL, ONCE_SQL, 0, NULL, err, sizeof err);
    pthread_join(th, NULL);
    assert_true(t.done);
    if (r)
        fail_msg("the statement ran again after its connection was lost");
    assert_string_equal(db_conn_sqlstate(c), "08006");
    assert_non_null(strstr(err, "may or may not have run"));
    assert_int_equal(query_ll(admin, "SELECT last_value FROM scotty_test_once"), 2);

    t = (terminator){ONCE_SQL, false};
    assert_int_equal(pthread_create(&th, NULL, terminator_thread, &t), 0);
    r = db_exec_idempotent(c, NULL, ONCE_SQL, 0, NULL, err, sizeof err);
    pthread_join(th, NULL);
    assert_true(t.done);
    if (!r)
        fail_msg("idempotent statement not run again: %s", err);
    PQclear(r);
    assert_int_equal(query_ll(admin, "SELECT last_value FROM scotty_test_once"), 4);
    db_conn_free(c);
    db_conn_free(admin);
}

static int tx_slow_commit_body(db_conn *c, void *user, char *err, size_t errlen)
{
    (void)user;
    return db_run(c, "INSERT INTO scotty_test_slow_commit VALUES (1)", err, errlen);
}

/* COMMIT sent, reply never came: db_tx says the outcome is unknown (a deferred
 * trigger sleeps inside the COMMIT, and the backend is terminated there). */
static void test_commit_reply_lost(void **state)
{
    (void)state;
    db_conn *admin = connect_or_fail(&settings);
    run_ok(admin, "DROP TABLE IF EXISTS scotty_test_slow_commit");
    run_ok(admin, "CREATE TABLE scotty_test_slow_commit (v int)");
    run_ok(admin, "CREATE OR REPLACE FUNCTION scotty_test_sleep() RETURNS trigger LANGUAGE plpgsql "
                  "AS $$ BEGIN PERFORM pg_sleep(2); RETURN NULL; END $$");
    run_ok(admin, "CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON scotty_test_slow_commit "
                  "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION scotty_test_sleep()");

    db_conn *c = connect_or_fail(&settings);
    char err[512];
    terminator t = {"COMMIT", false};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, terminator_thread, &t), 0);
    int rc = db_tx(c, tx_slow_commit_body, NULL, err, sizeof err);
    pthread_join(th, NULL);
    assert_true(t.done);
    assert_int_equal(rc, DB_TX_UNKNOWN);
    assert_non_null(strstr(err, "may or may not be written"));
    assert_string_equal(db_conn_sqlstate(c), "08006");
    /* terminated inside the COMMIT: this time nothing was written */
    assert_int_equal(query_ll(admin, "SELECT count(*) FROM scotty_test_slow_commit"), 0);
    assert_int_equal(query_ll(c, "SELECT 1"), 1); /* the connection is usable again */
    run_ok(admin, "DROP TABLE scotty_test_slow_commit");
    run_ok(admin, "DROP FUNCTION scotty_test_sleep()");
    db_conn_free(c);
    db_conn_free(admin);
}

/* Statements sent by tx_batch_body as one batch with its commit. */
typedef struct batch_case {
    const char *sql[2];
} batch_case;

static int tx_batch_body(db_conn *c, void *user, char *err, size_t errlen)
{
    const batch_case *bc = user;
    db_stmt stmts[2] = {{NULL, bc->sql[0], 0, NULL}, {NULL, bc->sql[1], 0, NULL}};
    PGresult *res[2];
    if (db_batch(c, stmts, 2, true, res, err, errlen) != 0)
        return -1;
    PQclear(res[0]);
    PQclear(res[1]);
    return 0;
}

#define BATCH_FIRST "INSERT INTO scotty_test_batch VALUES (1)"

/* A transaction that is one batch runs as the pipeline's implicit transaction: no
 * BEGIN or COMMIT is sent, a failing statement or a failing commit writes nothing,
 * and a connection lost in the commit leaves the outcome unknown. In PgBouncer mode
 * (SET LOCAL statement_timeout) the batch keeps its transaction block. */
static void test_batch_is_one_implicit_transaction(void **state)
{
    (void)state;
    db_conn *admin = connect_or_fail(&settings);
    run_ok(admin, "DROP TABLE IF EXISTS scotty_test_batch");
    run_ok(admin, "CREATE TABLE scotty_test_batch (v int PRIMARY KEY)");
    db_settings on = settings;
    on.prepared_statements = true;
    db_conn *c = connect_or_fail(&on);
    char err[512];

    batch_case two = {{BATCH_FIRST, "INSERT INTO scotty_test_batch VALUES (2)"}};
    unsigned long before = db_conn_statements(c);
    if (db_tx(c, tx_batch_body, &two, err, sizeof err) != 0)
        fail_msg("batch: %s", err);
    assert_int_equal(db_conn_statements(c) - before, 2);
    assert_int_equal(query_ll(admin, "SELECT count(*) FROM scotty_test_batch"), 2);
    run_ok(admin, "DELETE FROM scotty_test_batch");

    batch_case dup = {{BATCH_FIRST, "INSERT INTO scotty_test_batch VALUES (1)"}};
    assert_int_equal(db_tx(c, tx_batch_body, &dup, err, sizeof err), -1);
    assert_string_equal(db_conn_sqlstate(c), "23505");
    assert_int_equal(query_ll(admin, "SELECT count(*) FROM scotty_test_batch"), 0);
    assert_int_equal(query_ll(c, "SELECT 1"), 1);

    /* a deferred trigger that raises fails the commit at the Sync */
    run_ok(admin, "CREATE OR REPLACE FUNCTION scotty_test_refuse() RETURNS trigger LANGUAGE plpgsql "
                  "AS $$ BEGIN IF NEW.v = 3 THEN RAISE EXCEPTION 'refused at commit'; END IF; "
                  "IF NEW.v = 4 THEN PERFORM pg_sleep(2); END IF; RETURN NULL; END $$");
    run_ok(admin, "CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON scotty_test_batch "
                  "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION scotty_test_refuse()");
    batch_case refused = {{BATCH_FIRST, "INSERT INTO scotty_test_batch VALUES (3)"}};
    assert_int_equal(db_tx(c, tx_batch_body, &refused, err, sizeof err), -1);
    assert_non_null(strstr(err, "commit failed, nothing was written"));
    assert_non_null(strstr(err, "refused at commit"));
    assert_int_equal(query_ll(admin, "SELECT count(*) FROM scotty_test_batch"), 0);
    assert_int_equal(query_ll(c, "SELECT 1"), 1);

    batch_case slow = {{BATCH_FIRST, "INSERT INTO scotty_test_batch VALUES (4)"}};
    terminator t = {slow.sql[1], false};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, terminator_thread, &t), 0);
    int rc = db_tx(c, tx_batch_body, &slow, err, sizeof err);
    pthread_join(th, NULL);
    assert_true(t.done);
    assert_int_equal(rc, DB_TX_UNKNOWN);
    assert_non_null(strstr(err, "may or may not be written"));
    assert_int_equal(query_ll(admin, "SELECT count(*) FROM scotty_test_batch"), 0);
    db_conn_free(c);

    db_settings bouncer = settings;
    bouncer.prepared_statements = false;
    bouncer.statement_timeout_ms = 60000;
    c = connect_or_fail(&bouncer);
    before = db_conn_statements(c);
    if (db_tx(c, tx_batch_body, &two, err, sizeof err) != 0)
        fail_msg("batch in PgBouncer mode: %s", err);
    assert_int_equal(db_conn_statements(c) - before, 5); /* BEGIN, SET LOCAL, two, COMMIT */
    assert_int_equal(query_ll(admin, "SELECT count(*) FROM scotty_test_batch"), 2);
    run_ok(admin, "DROP TABLE scotty_test_batch");
    run_ok(admin, "DROP FUNCTION scotty_test_refuse()");
    db_conn_free(c);
    db_conn_free(admin);
}

typedef struct pool_worker {
    db_pool *pool;
    int id, ok;
} pool_worker;

static void *pool_thread(void *arg)
{
    pool_worker *w = arg;
    for (int i = 0; i < 50; i++) {
        db_conn *c = db_pool_acquire(w->pool);
        char err[512], n[32], want[32];
        snprintf(n, sizeof n, "%d", w->id * 1000 + i);
        snprintf(want, sizeof want, "%d", (w->id * 1000 + i) * 2);
        const char *params[1] = {n};
        PGresult *r = db_exec(c, "double", "SELECT $1::int * 2", 1, params, err, sizeof err);
        if (r && strcmp(PQgetvalue(r, 0, 0), want) == 0)
            w->ok++;
        PQclear(r);
        db_pool_release(w->pool, c);
    }
    return NULL;
}

/* Four threads share a pool of two connections. */
static void test_pool_shared_by_threads(void **state)
{
    (void)state;
    db_pool *pool = db_pool_new(&settings, 2);
    pool_worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (pool_worker){pool, i + 1, 0};
        assert_int_equal(pthread_create(&t[i], NULL, pool_thread, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, 50);
    }
    db_conn *a = db_pool_acquire(pool);
    db_conn *b = db_pool_acquire(pool);
    assert_true(a != b);
    assert_int_equal(db_conn_connects(a) + db_conn_connects(b), 2);
    db_pool_release(pool, a);
    db_pool_release(pool, b);
    db_pool_free(pool);
}

static void test_prepared_statements_setting(void **state)
{
    (void)state;
    db_settings off = settings;
    off.prepared_statements = false;
    db_conn *c = connect_or_fail(&off);
    char err[512];
    const char *params[1] = {"7"};
    PGresult *r = db_exec(c, "plus_one", "SELECT $1::int + 1", 1, params, err, sizeof err);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "8");
    PQclear(r);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM pg_prepared_statements"), 0);
    db_conn_free(c);

    db_settings on = settings;
    on.prepared_statements = true;
    c = connect_or_fail(&on);
    for (int i = 0; i < 2; i++) {
        r = db_exec(c, "plus_one", "SELECT $1::int + 1", 1, params, err, sizeof err);
        assert_non_null(r);
        assert_string_equal(PQgetvalue(r, 0, 0), "8");
        PQclear(r);
    }
    assert_int_equal(query_ll(c, "SELECT count(*) FROM pg_prepared_statements "
                                 "WHERE name = 'plus_one'"), 1);
    db_conn_free(c);
}

static int tx_sleep_body(db_conn *c, void *user, char *err, size_t errlen)
{
    (void)user;
    return db_run(c, "SELECT pg_sleep(30)", err, errlen);
}

static void test_statement_timeout(void **state)
{
    (void)state;
    db_settings s = settings;
    s.statement_timeout_ms = 50;
    db_conn *c = connect_or_fail(&s);
    char err[512];
    assert_int_equal(db_run(c, "SELECT pg_sleep(30)", err, sizeof err), -1);
    assert_string_equal(db_conn_sqlstate(c), "57014"); /* query_canceled */
    assert_int_equal(query_ll(c, "SELECT 1"), 1);      /* the connection stays usable */
    db_conn_free(c);

    /* PgBouncer mode: no session setting, the timeout applies inside db_tx. */
    s.prepared_statements = false;
    c = connect_or_fail(&s);
    assert_int_equal(query_ll(c, "SELECT setting::int FROM pg_settings WHERE name = "
                                 "'statement_timeout'"), 0);
    assert_int_equal(db_tx(c, tx_sleep_body, NULL, err, sizeof err), -1);
    assert_string_equal(db_conn_sqlstate(c), "57014");
    db_conn_free(c);
}

static void test_server_unreachable(void **state)
{
    (void)state;
    setenv("DB_PORT", "1", 1);
    db_settings s;
    char err[512];
    assert_int_equal(db_settings_from_env(&s, err, sizeof err), 0);
    db_conn *c = db_conn_new(&s);
    assert_int_equal(db_run(c, "SELECT 1", err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot connect to PostgreSQL at postgresql://postgres@127.0.0.1:1/"));
    assert_string_equal(db_conn_sqlstate(c), "08001");
    db_conn_free(c);
}

static void test_settings_from_env(void **state)
{
    (void)state;
    db_settings s;
    char err[512];
    setenv("DATABASE_URL", "postgresql://u:secret@db.example:6432/m", 1);
    setenv("PREPARED_STATEMENTS", "false", 1);
    assert_int_equal(db_settings_from_env(&s, err, sizeof err), 0);
    assert_false(s.prepared_statements);
    assert_string_equal(s.keys[0], "dbname");
    assert_null(strstr(s.describe, "secret"));
    assert_string_equal(s.describe, "postgresql://u:***@db.example:6432/m");
    unsetenv("DATABASE_URL");
    unsetenv("PREPARED_STATEMENTS");
    setenv("SCOTTY_DB_STATEMENT_TIMEOUT", "soon", 1);
    assert_int_equal(db_settings_from_env(&s, err, sizeof err), -1);
    assert_non_null(strstr(err, "SCOTTY_DB_STATEMENT_TIMEOUT"));
    unsetenv("SCOTTY_DB_STATEMENT_TIMEOUT");
}

int main(void)
{
    char err[512];
    if (db_settings_from_env(&settings, err, sizeof err) != 0) {
        fprintf(stderr, "FAIL: %s\n", err);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_then_check),
        cmocka_unit_test(test_timestamp_id_layout),
        cmocka_unit_test(test_transaction_rolled_back_on_error),
        cmocka_unit_test(test_table_dropped_while_remembered),
        cmocka_unit_test(test_reconnect_after_restart),
        cmocka_unit_test(test_restart_during_transaction),
        cmocka_unit_test(test_lost_statement_not_rerun),
        cmocka_unit_test(test_commit_reply_lost),
        cmocka_unit_test(test_batch_is_one_implicit_transaction),
        cmocka_unit_test(test_pool_shared_by_threads),
        cmocka_unit_test(test_prepared_statements_setting),
        cmocka_unit_test(test_statement_timeout),
        cmocka_unit_test(test_check_reports_what_is_missing),
        cmocka_unit_test(test_settings_from_env),
        cmocka_unit_test(test_server_unreachable),
    };
    return cmocka_run_group_tests_name("storage_db", tests, NULL, NULL);
}
