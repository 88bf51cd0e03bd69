/* db_conn.c -- one PostgreSQL connection: lazy connect, reconnect after loss,
 * statement timeout, statements with text parameters (named prepared statements
 * only when PREPARED_STATEMENTS allows them), and the transaction helper. A
 * statement is sent once: when the connection breaks after it was sent, its
 * outcome is unknown, and only statements the caller calls idempotent run again.
 * db_tx defers its BEGIN to go with the transaction's first statement, and db_batch
 * sends statements that do not wait for each other in one round trip (pipeline). */
#include "db_batch.h"
#include "base.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_MAX_PREPARED 128
/* Newer tables db_table_exists remembers; a missing one is asked again after
 * DB_TABLE_RECHECK_S, so a migration that adds it is seen while scotty runs, and an
 * existing one once a statement finds some table missing (db_conn_failed_state). */
#define DB_MAX_TABLES 8
#define DB_TABLE_RECHECK_S 60.0

struct db_conn {
    const db_settings *settings; /* owned by the caller; outlives the connection */
    PGconn *pg;
    bool in_tx;
    bool lost_logged;            /* "connection lost" logged since the last success */
    unsigned connects;
    char sqlstate[6];
    char *prepared[DB_MAX_PREPARED]; /* statement names prepared on this session */
    int nprepared;
    bool begin_pending;          /* db_tx's BEGIN is not sent yet: it goes with the first statement */
    bool commit_sent;            /* a db_batch of this transaction carried its COMMIT */
    bool commit_unknown;         /* ... and the connection was lost before COMMIT's reply */
    unsigned long statements, round_trips;
    struct {
        const char *name;        /* a string literal of the caller's */
        bool exists;
        double checked;          /* base_monotonic() of the check */
    } tables[DB_MAX_TABLES];     /* db_table_exists' answers */
    int ntables;
};

db_conn *db_conn_new(const db_settings *s)
{
    db_conn *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->settings = s;
    return c;
}

static void db_conn_forget_prepared(db_conn *c)
{
    for (int i = 0; i < c->nprepared; i++)
        free(c->prepared[i]);
    c->nprepared = 0;
}

/* The SQLSTATE of a failed statement. An undefined table (42P01: a migration rolled
 * back, a table dropped) makes db_table_exists ask again about every table. */
static void db_conn_failed_state(db_conn *c, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    snprintf(c->sqlstate, sizeof c->sqlstate, "%s", state ? state : "");
    if (strcmp(c->sqlstate, "42P01") == 0)
        c->ntables = 0;
}

static void db_conn_close(db_conn *c)
{
    if (c->pg)
        PQfinish(c->pg);
    c->pg = NULL;
    db_conn_forget_prepared(c); /* in_tx stays: db_tx ends the transaction it began */
}

void db_conn_free(db_conn *c)
{
    if (!c)
        return;
    db_conn_close(c);
    free(c);
}

PGconn *db_conn_pg(db_conn *c) { return c->pg; }

unsigned db_conn_connects(const db_conn *c) { return c->connects; }

const char *db_conn_sqlstate(const db_conn *c) { return c->sqlstate; }

unsigned long db_conn_statements(const db_conn *c) { return c->statements; }

unsigned long db_conn_round_trips(const db_conn *c) { return c->round_trips; }

/* libpq messages end with a newline; keep one line. */
static void db_copy_message(const char *msg, char *out, size_t len)
{
    snprintf(out, len, "%s", msg ? msg : "");
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
    for (char *p = out; *p; p++)
        if (*p == '\n')
            *p = ' ';
}

/* The settings as libpq's NULL-terminated keyword and value arrays (16 entries). */
static void db_conn_params(const db_settings *s, const char **keys, const char **values)
{
    for (int i = 0; i < s->n; i++) {
        keys[i] = s->keys[i];
        values[i] = s->values[i];
    }
    keys[s->n] = values[s->n] = NULL;
}

db_server_state db_server_probe(const db_settings *s, char *why, size_t len)
{
    const char *keys[16], *values[16];
    db_conn_params(s, keys, values);
    PGPing ping = PQpingParams(keys, values, 1);
    if (ping == PQPING_NO_ATTEMPT) {
        snprintf(why, len, "the connection settings for %s are not valid (check DATABASE_URL or "
                 "DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASS)", s->describe);
        return DB_SERVER_REFUSED;
    }
    PGconn *pg = PQconnectdbParams(keys, values, 1);
    if (!pg)
        abort(); /* libpq could not allocate: out of memory */
    bool up = PQstatus(pg) == CONNECTION_OK;
    if (!up) {
        char msg[400];
        db_copy_message(PQerrorMessage(pg), msg, sizeof msg);
        if (ping == PQPING_OK)
            snprintf(why, len, "PostgreSQL at %s refused the connection: %s (check DB_USER, "
                     "DB_PASS and DB_NAME, or DATABASE_URL)", s->describe, msg);
        else
            snprintf(why, len, "%s", msg);
    }
    PQfinish(pg);
    if (up)
        return DB_SERVER_UP;
    return ping == PQPING_OK ? DB_SERVER_REFUSED : DB_SERVER_DOWN;
}

/* Server notices (and the FATAL a closing server sends) go to the log as one line
 * rather than to stderr: INFO for NOTICE and below, WARN above. */
static void db_conn_notice(void *arg, const char *message)
{
    const db_conn *c = arg;
    char msg[400];
    db_copy_message(message, msg, sizeof msg);
    static const char *const quiet[] = {"NOTICE:", "INFO:", "LOG:", "DEBUG"};
    base_log_level level = BASE_LOG_WARN;
    for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++)
        if (strncmp(msg, quiet[i], strlen(quiet[i])) == 0)
            level = BASE_LOG_INFO;
    base_log(level, "PostgreSQL at %s: %s", c->settings->describe, msg);
}

/* An idle connection the server has closed (restart, pg_terminate_backend) shows
 * only when read: read what is waiting, so the statement about to be sent goes to
 * a new connection instead of failing with an unknown outcome. */
static void db_conn_check_idle(db_conn *c)
{
    for (int i = 0; i < 4 && PQstatus(c->pg) == CONNECTION_OK; i++) {
        struct pollfd pfd = {.fd = PQsocket(c->pg), .events = POLLIN};
        if (pfd.fd < 0 || poll(&pfd, 1, 0) <= 0)
            return;
        if (!PQconsumeInput(c->pg))
            return;
        (void)PQisBusy(c->pg); /* parses what arrived: notices, or the connection's end */
        PGnotify *n;
        while ((n = PQnotifies(c->pg)) != NULL)
            PQfreemem(n);
    }
}

int db_conn_ensure(db_conn *c, char *err, size_t errlen)
{
    if (c->pg && PQstatus(c->pg) == CONNECTION_OK && !c->in_tx)
        db_conn_check_idle(c);
    if (c->pg && PQstatus(c->pg) == CONNECTION_OK)
        return 0;
    bool was_connected = c->pg != NULL;
    db_conn_close(c);

    const db_settings *s = c->settings;
    const char *keys[16], *values[16];
    db_conn_params(s, keys, values);
    c->pg = PQconnectdbParams(keys, values, 1);
    if (!c->pg)
        abort(); /* libpq could not allocate: out of memory */
    if (PQstatus(c->pg) != CONNECTION_OK) {
        snprintf(c->sqlstate, sizeof c->sqlstate, "08001"); /* unable to establish a connection */
        char msg[400];
        db_copy_message(PQerrorMessage(c->pg), msg, sizeof msg);
        snprintf(err, errlen,
                 "cannot connect to PostgreSQL at %s: %s (check DATABASE_URL or DB_HOST/DB_PORT/"
                 "DB_NAME/DB_USER/DB_PASS, and that the server is up)", s->describe, msg);
        if (!c->lost_logged && c->connects > 0) { /* first connects report through err only */
            base_log(BASE_LOG_WARN, "%s", err);
            c->lost_logged = true;
        }
        db_conn_close(c);
        return -1;
    }
    PQsetNoticeProcessor(c->pg, db_conn_notice, c);
    /* Direct connections get a session-wide timeout; behind PgBouncer in
     * transaction mode (PREPARED_STATEMENTS=false) a session SET would stick to a
     * server connection other clients share, so db_tx sets it per transaction. */
    if (s->statement_timeout_ms > 0 && s->prepared_statements) {
        char sql[64];
        snprintf(sql, sizeof sql, "SET statement_timeout = %d", s->statement_timeout_ms);
        PGresult *r = PQexec(c->pg, sql);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok) {
            char msg[300];
            db_copy_message(PQresultErrorMessage(r), msg, sizeof msg);
            snprintf(err, errlen, "PostgreSQL at %s refused \"%s\": %s", s->describe, sql, msg);
        }
        PQclear(r);
        if (!ok) {
            db_conn_close(c);
            return -1;
        }
    }
    c->connects++;
    if (was_connected || c->lost_logged)
        base_log(BASE_LOG_INFO, "reconnected to PostgreSQL at %s", s->describe);
    c->lost_logged = false;
    return 0;
}

static bool db_is_prepared(const db_conn *c, const char *name)
{
    for (int i = 0; i < c->nprepared; i++)
        if (strcmp(c->prepared[i], name) == 0)
            return true;
    return false;
}

/* One attempt. Sets *lost when the connection broke under the statement. */
static PGresult *db_exec_once(db_conn *c, const char *name, const char *sql, int nparams,
                              const char *const *params, bool *lost, char *err, size_t errlen)
{
    *lost = false;
    PGresult *r;
    bool named = name && c->settings->prepared_statements;
    if (named && !db_is_prepared(c, name) && c->nprepared < DB_MAX_PREPARED) {
        r = PQprepare(c->pg, name, sql, nparams, NULL);
        c->round_trips++;
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            c->prepared[c->nprepared] = strdup(name);
            if (!c->prepared[c->nprepared])
                abort();
            c->nprepared++;
        }
        PQclear(r);
    }
    if (named && db_is_prepared(c, name))
        r = PQexecPrepared(c->pg, name, nparams, params, NULL, NULL, 0);
    else if (nparams == 0)
        r = PQexec(c->pg, sql); /* simple protocol: may hold several statements (db init) */
    else
        r = PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
    c->round_trips++;
    c->statements++;

    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        c->sqlstate[0] = '\0';
        return r;
    }
    db_conn_failed_state(c, r);
    char msg[400];
    db_copy_message(r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg), msg, sizeof msg);
    if (!msg[0])
        db_copy_message(PQerrorMessage(c->pg), msg, sizeof msg);
    *lost = PQstatus(c->pg) != CONNECTION_OK;
    if (*lost) /* whatever the server said last (e.g. 57P01 on shutdown), it is gone */
        snprintf(c->sqlstate, sizeof c->sqlstate, "08006");
    if (*lost)
        snprintf(err, errlen, "lost the PostgreSQL connection to %s%s: %s", c->settings->describe,
                 c->in_tx ? "" : " after the statement was sent (it may or may not have run)", msg);
    else
        snprintf(err, errlen, "PostgreSQL error%s%s: %s", c->sqlstate[0] ? " " : "",
                 c->sqlstate, msg);
    PQclear(r);
    return NULL;
}

/* The BEGIN db_tx deferred, on its own (reconnecting once if the connection was lost:
 * nothing of the transaction has been sent yet). */
static int db_begin_now(db_conn *c, char *err, size_t errlen)
{
    char begin[96] = "BEGIN";
    if (c->settings->statement_timeout_ms > 0 && !c->settings->prepared_statements)
        snprintf(begin, sizeof begin, "BEGIN; SET LOCAL statement_timeout = %d",
                 c->settings->statement_timeout_ms);
    c->in_tx = false;
    PGresult *r = db_exec_idempotent(c, NULL, begin, 0, NULL, err, errlen);
    c->in_tx = true;
    if (!r)
        return -1;
    PQclear(r);
    c->begin_pending = false;
    return 0;
}

typedef enum { DB_BATCH_OK, DB_BATCH_FAILED, DB_BATCH_LOST, DB_BATCH_UNKNOWN } db_batch_result;

/* What a batch sent, in order: a deferred BEGIN (and SET LOCAL), the Parse of a named
 * statement not prepared yet, statement i, or COMMIT. */
typedef enum { DB_ITEM_BEGIN, DB_ITEM_PREPARE, DB_ITEM_STMT, DB_ITEM_COMMIT } db_item_kind;
typedef struct {
    db_item_kind kind;
    int stmt;
} db_item;

static bool db_queued_prepare(const db_item *items, int k, const db_stmt *stmts, const char *name)
{
    for (int j = 0; j < k; j++)
        if (items[j].kind == DB_ITEM_PREPARE && strcmp(stmts[items[j].stmt].name, name) == 0)
            return true;
    return false;
}

/* Queues everything, syncs once and reads every reply. res[] is filled on DB_BATCH_OK. */
static db_batch_result db_batch_once(db_conn *c, const db_stmt *stmts, int n, bool begin, bool commit,
                                     PGresult **res, char *err, size_t errlen)
{
    PGconn *pg = c->pg;
    const db_settings *s = c->settings;
    db_item *items = calloc((size_t)(2 * n + 3), sizeof *items);
    if (!items)
        abort();
    int k = 0, pending = 0;
    /* A whole transaction in one batch needs no BEGIN and COMMIT: what a pipeline
     * sends before its Sync runs as one implicit transaction, committed at the Sync.
     * Not when the statement timeout must be SET LOCAL (PgBouncer mode), which only
     * a transaction block keeps. */
    bool implicit = begin && commit && !(s->statement_timeout_ms > 0 && !s->prepared_statements);
    bool sent = PQenterPipelineMode(pg) == 1, commit_queued = implicit;
    if (sent && begin && !implicit) {
        sent = PQsendQueryParams(pg, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) == 1;
        items[k++] = (db_item){DB_ITEM_BEGIN, -1};
        if (sent && s->statement_timeout_ms > 0 && !s->prepared_statements) {
            char sql[64];
            snprintf(sql, sizeof sql, "SET LOCAL statement_timeout = %d", s->statement_timeout_ms);
            sent = PQsendQueryParams(pg, sql, 0, NULL, NULL, NULL, NULL, 0) == 1;
            items[k++] = (db_item){DB_ITEM_BEGIN, -1};
        }
    }
    for (int i = 0; sent && i < n; i++) {
        const db_stmt *st = &stmts[i];
        bool named = st->name && s->prepared_statements;
        bool ready = named && (db_is_prepared(c, st->name) || db_queued_prepare(items, k, stmts, st->name));
        if (named && !ready && c->nprepared + pending < DB_MAX_PREPARED) {
            sent = PQsendPrepare(pg, st->name, st->sql, st->nparams, NULL) == 1;
            items[k++] = (db_item){DB_ITEM_PREPARE, i};
            pending++;
            ready = true;
        }
        if (sent && ready)
            sent = PQsendQueryPrepared(pg, st->name, st->nparams, st->params, NULL, NULL, 0) == 1;
        else if (sent)
            sent = PQsendQueryParams(pg, st->sql, st->nparams, NULL, st->params, NULL, NULL, 0) == 1;
        items[k++] = (db_item){DB_ITEM_STMT, i};
    }
    if (sent && commit && !implicit) {
        sent = PQsendQueryParams(pg, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) == 1;
        items[k++] = (db_item){DB_ITEM_COMMIT, -1};
        commit_queued = true;
    }
    if (sent)
        sent = PQpipelineSync(pg) == 1;
    c->round_trips++;

    char msg[400] = "";
    bool failed = false, commit_failed = false, committed = false;
    for (int j = 0; sent && j < k && PQstatus(pg) == CONNECTION_OK; j++) {
        PGresult *r = PQgetResult(pg);
        if (!r)
            break;
        ExecStatusType st = PQresultStatus(r);
        bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
        if (items[j].kind != DB_ITEM_PREPARE && st != PGRES_PIPELINE_ABORTED)
            c->statements++;
        if (ok && items[j].kind == DB_ITEM_PREPARE) {
            c->prepared[c->nprepared] = strdup(stmts[items[j].stmt].name);
            if (!c->prepared[c->nprepared])
                abort();
            c->nprepared++;
        }
        committed |= ok && items[j].kind == DB_ITEM_COMMIT;
        if (ok && items[j].kind == DB_ITEM_STMT) {
            res[items[j].stmt] = r;
            r = NULL;
        } else if (!ok && st != PGRES_PIPELINE_ABORTED && !failed && PQstatus(pg) == CONNECTION_OK) {
            failed = true;
            commit_failed = items[j].kind == DB_ITEM_COMMIT;
            db_conn_failed_state(c, r);
            db_copy_message(PQresultErrorMessage(r), msg, sizeof msg);
        } else if (!ok && st != PGRES_PIPELINE_ABORTED && !msg[0]) {
            db_copy_message(PQresultErrorMessage(r), msg, sizeof msg);
        }
        PQclear(r);
        while ((r = PQgetResult(pg)) != NULL) /* the end of this statement's results */
            PQclear(r);
    }
    if (sent && PQstatus(pg) == CONNECTION_OK) {
        PGresult *r = PQgetResult(pg);
        const char *severity = r ? PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED) : NULL;
        if (r && PQresultStatus(r) == PGRES_FATAL_ERROR && implicit && !failed && severity &&
            strcmp(severity, "ERROR") == 0) {
            /* the implicit transaction's commit at the Sync failed; a FATAL (the session
             * ended) leaves the outcome unknown, as a lost COMMIT reply does */
            failed = commit_failed = true;
            db_conn_failed_state(c, r);
            db_copy_message(PQresultErrorMessage(r), msg, sizeof msg);
            PQclear(r);
            r = PQgetResult(pg); /* the NULL that ends the error's results, then the Sync */
            if (!r)
                r = PQgetResult(pg);
        }
        sent = r && PQresultStatus(r) == PGRES_PIPELINE_SYNC;
        committed |= sent && implicit && !failed;
        PQclear(r);
    }
    if (sent)
        sent = PQexitPipelineMode(pg) == 1;
    free(items);
    bool lost = !sent || PQstatus(pg) != CONNECTION_OK;
    if (lost && committed && !failed) {
        /* COMMIT's reply came, then the connection ended: the transaction is written */
        base_log(BASE_LOG_INFO, "the PostgreSQL connection to %s ended after a commit was confirmed",
                 s->describe);
        db_conn_close(c);
        lost = false;
    }
    if (!lost && !failed) {
        c->sqlstate[0] = '\0';
        return DB_BATCH_OK;
    }
    for (int i = 0; i < n; i++) {
        PQclear(res[i]);
        res[i] = NULL;
    }
    if (!lost) {
        snprintf(err, errlen, "%sPostgreSQL error%s%s: %s", commit_failed ? "commit failed, nothing was written: " : "",
                 c->sqlstate[0] ? " " : "", c->sqlstate, msg);
        return DB_BATCH_FAILED;
    }
    if (!msg[0])
        db_copy_message(PQerrorMessage(pg), msg, sizeof msg);
    if (!failed)
        snprintf(c->sqlstate, sizeof c->sqlstate, "08006");
    if (commit_queued && !failed) {
        snprintf(err, errlen, "the connection was lost after COMMIT was sent, so the transaction may or "
                 "may not be written: lost the PostgreSQL connection to %s: %s", s->describe, msg);
        return DB_BATCH_UNKNOWN;
    }
    snprintf(err, errlen, "lost the PostgreSQL connection to %s: %s", s->describe, msg);
    return DB_BATCH_LOST;
}

int db_batch(db_conn *c, const db_stmt *stmts, int n, bool commit, PGresult **res, char *err,
             size_t errlen)
{
    for (int i = 0; i < n; i++)
        res[i] = NULL;
    if (!c->in_tx || c->commit_sent) {
        snprintf(err, errlen, "db_batch: only inside db_tx, before its COMMIT");
        return -1;
    }
    bool begin = c->begin_pending;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!c->pg && !begin) {
            snprintf(c->sqlstate, sizeof c->sqlstate, "08006");
            snprintf(err, errlen, "the PostgreSQL connection to %s was lost earlier in this "
                     "transaction (nothing of it was written)", c->settings->describe);
            return -1;
        }
        c->in_tx = !begin; /* before BEGIN, an idle connection the server closed is reopened */
        int erc = db_conn_ensure(c, err, errlen);
        c->in_tx = true;
        if (erc != 0)
            return -1;
        db_batch_result r = db_batch_once(c, stmts, n, begin, commit, res, err, errlen);
        if (r == DB_BATCH_OK || r == DB_BATCH_FAILED) {
            c->begin_pending = false;
            c->commit_sent = commit;
            return r == DB_BATCH_OK ? 0 : -1;
        }
        base_log(BASE_LOG_WARN, "%s", err);
        c->lost_logged = true;
        db_conn_close(c);
        if (r == DB_BATCH_UNKNOWN) {
            c->commit_sent = c->commit_unknown = true;
            return -1;
        }
        if (!begin || commit)
            return -1; /* the transaction is gone with the connection */
        /* lost with the BEGIN it carried: nothing was written, so once more */
    }
    return -1;
}

/* Sends the statement, on a connection checked just before. `rerun`: the statement
 * may run twice, so a connection lost under it is reopened and it runs once more
 * (outside a transaction only: inside one, the transaction is gone). */
static PGresult *db_exec_mode(db_conn *c, bool rerun, const char *name, const char *sql,
                              int nparams, const char *const *params, char *err, size_t errlen)
{
    if (c->in_tx && c->begin_pending) {
        if (nparams == 0 && db_begin_now(c, err, errlen) != 0)
            return NULL; /* simple protocol (several statements) cannot be pipelined */
        if (c->begin_pending) {
            db_stmt one = {name, sql, nparams, params};
            PGresult *r = NULL;
            return db_batch(c, &one, 1, false, &r, err, errlen) == 0 ? r : NULL;
        }
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        if (c->in_tx && !c->pg) {
            snprintf(c->sqlstate, sizeof c->sqlstate, "08006");
            snprintf(err, errlen, "the PostgreSQL connection to %s was lost earlier in this "
                     "transaction (nothing of it was written)", c->settings->describe);
            return NULL;
        }
        if (db_conn_ensure(c, err, errlen) != 0)
            return NULL;
        bool lost;
        bool was_in_tx = c->in_tx;
        PGresult *r = db_exec_once(c, name, sql, nparams, params, &lost, err, errlen);
        if (r)
            return r;
        if (!lost)
            return NULL;
        base_log(BASE_LOG_WARN, "%s", err);
        c->lost_logged = true;
        db_conn_close(c);
        if (was_in_tx || !rerun)
            return NULL;
    }
    return NULL;
}

PGresult *db_exec(db_conn *c, const char *name, const char *sql, int nparams,
                  const char *const *params, char *err, size_t errlen)
{
    return db_exec_mode(c, false, name, sql, nparams, params, err, errlen);
}

PGresult *db_exec_idempotent(db_conn *c, const char *name, const char *sql, int nparams,
                             const char *const *params, char *err, size_t errlen)
{
    return db_exec_mode(c, true, name, sql, nparams, params, err, errlen);
}

int db_table_exists(db_conn *c, const char *name, bool *exists, char *err, size_t errlen)
{
    double now = base_monotonic();
    int i = 0;
    while (i < c->ntables && strcmp(c->tables[i].name, name) != 0)
        i++;
    if (i < c->ntables && (c->tables[i].exists || now - c->tables[i].checked < DB_TABLE_RECHECK_S)) {
        *exists = c->tables[i].exists;
        return 0;
    }
    const char *params[] = {name};
    PGresult *r = db_exec_idempotent(c, "db_table_exists", "SELECT to_regclass($1) IS NOT NULL", 1, params, err,
                                     errlen);
    if (!r)
        return -1;
    *exists = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (i == c->ntables && i < DB_MAX_TABLES)
        c->tables[c->ntables++].name = name;
    if (i < c->ntables) {
        c->tables[i].exists = *exists;
        c->tables[i].checked = now;
    }
    return 0;
}

int db_run_params(db_conn *c, const char *name, const char *sql, int nparams,
                  const char *const *params, char *err, size_t errlen)
{
    PGresult *r = db_exec(c, name, sql, nparams, params, err, errlen);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

int db_run(db_conn *c, const char *sql, char *err, size_t errlen)
{
    return db_run_params(c, NULL, sql, 0, NULL, err, errlen);
}

int db_tx(db_conn *c, db_tx_fn fn, void *user, char *err, size_t errlen)
{
    if (c->in_tx) {
        snprintf(err, errlen, "db_tx: a transaction is already open on this connection "
                              "(nested transactions are not supported)");
        return -1;
    }
    /* BEGIN goes out with the first statement (db_exec_mode, db_batch) */
    c->in_tx = c->begin_pending = true;
    c->commit_sent = c->commit_unknown = false;
    int rc = fn(c, user, err, errlen);
    bool unknown = c->commit_unknown;
    if (rc == 0 && !c->begin_pending && !c->commit_sent) {
        char cerr[512];
        if (db_run(c, "COMMIT", cerr, sizeof cerr) != 0) {
            unknown = strcmp(c->sqlstate, "08006") == 0;
            snprintf(err, errlen, unknown ? "the connection was lost after COMMIT was sent, so the "
                                            "transaction may or may not be written: %s"
                                          : "commit failed, nothing was written: %s", cerr);
            rc = -1;
        }
    }
    if (rc != 0 && c->pg && PQstatus(c->pg) == CONNECTION_OK &&
        PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
        char rerr[512], failed_state[sizeof c->sqlstate];
        memcpy(failed_state, c->sqlstate, sizeof failed_state);
        if (db_run(c, "ROLLBACK", rerr, sizeof rerr) != 0)
            base_log(BASE_LOG_WARN, "rollback failed (the connection will be reopened): %s", rerr);
        memcpy(c->sqlstate, failed_state, sizeof failed_state); /* report why it failed */
    }
    c->in_tx = c->begin_pending = c->commit_sent = c->commit_unknown = false;
    if (c->pg && PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        db_conn_close(c); /* never hand out a connection stuck inside a transaction */
    return unknown ? DB_TX_UNKNOWN : rc == 0 ? 0 : -1;
}
