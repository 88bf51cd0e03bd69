/* db_batch.h -- several statements of one transaction in one round trip (libpq
 * pipeline mode), and the per-connection counts of statements and round trips
 * that tests/bench/ingress.sh reads from the log. Implemented in db_conn.c. */
#ifndef SCOTTY_DB_BATCH_H
#define SCOTTY_DB_BATCH_H

#include "storage.h"

/* One statement of a batch: as db_exec's arguments (name NULL: always unnamed). */
typedef struct db_stmt {
    const char *name;
    const char *sql;
    int nparams;
    const char *const *params;
} db_stmt;

/* Inside db_tx only: sends the n statements (and COMMIT after them when `commit`)
 * without waiting between them, then reads every reply; the BEGIN db_tx deferred goes
 * first. The statements must not need each other's results. Returns 0 with res[i]
 * the result of stmts[i] (caller PQclear()s each), or -1 with err and no results:
 * the first error stops the rest and the transaction is rolled back by db_tx. With
 * `commit`, a connection lost before COMMIT's reply (and no error seen before it)
 * makes db_tx return DB_TX_UNKNOWN. */
int db_batch(db_conn *c, const db_stmt *stmts, int n, bool commit, PGresult **res, char *err,
             size_t errlen);

/* Statements executed and round trips made on this connection since it was created
 * (a round trip: one wait for the server's replies). Read by its holder only. */
unsigned long db_conn_statements(const db_conn *c);
unsigned long db_conn_round_trips(const db_conn *c);

#endif
