/* db_conn.c -- one PostgreSQL connection: lazy connect, reconnect after loss,
 * statement timeout, statements with text parameters (named prepared statements
 * only when PREPARED_STATEMENTS allows them), and the transaction helper. A
 * statement is sent once: when the connection breaks after it was sent, its
 * outcome is unknown, and only statements the caller calls idempotent run again. */
#include "db_batch.h"
#include "base.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_MAX_PREPARED 128
/* Newer tables db_table_exists remembers; a missing one is asked again after
 * DB_TABLE_RECHECK_S, so a migration that adds it is seen while scotty runs. */
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
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    snprintf(c->sqlstate, sizeof c->sqlstate, "%s", state ? state : "");
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

/* Sends the statement, on a connection checked just before. `rerun`: the statement
 * may run twice, so a connection lost under it is reopened and it runs once more
 * (outside a transaction only: inside one, the transaction is gone). */
static PGresult *db_exec_mode(db_conn *c, bool rerun, const char *name, const char *sql,
                              int nparams, const char *const *params, char *err, size_t errlen)
{
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
    char begin[96] = "BEGIN";
    if (c->settings->statement_timeout_ms > 0 && !c->settings->prepared_statements)
        snprintf(begin, sizeof begin, "BEGIN; SET LOCAL statement_timeout = %d",
                 c->settings->statement_timeout_ms);
    PGresult *br = db_exec_idempotent(c, NULL, begin, 0, NULL, err, errlen);
    if (!br)
        return -1;
    PQclear(br);
    c->in_tx = true;
    bool unknown = false;
    int rc = fn(c, user, err, errlen);
    if (rc == 0) {
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
    c->in_tx = false;
    if (c->pg && PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        db_conn_close(c); /* never hand out a connection stuck inside a transaction */
    return unknown ? DB_TX_UNKNOWN : rc == 0 ? 0 : -1;
}
