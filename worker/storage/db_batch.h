/* db_batch.h -- the per-connection counts of statements and round trips that
 * tests/bench/ingress.sh reads from the log. Implemented in db_conn.c. */
#ifndef SCOTTY_DB_BATCH_H
#define SCOTTY_DB_BATCH_H

#include "storage.h"

/* Statements executed and round trips made on this connection since it was created
 * (a round trip: one wait for the server's replies). Read by its holder only. */
unsigned long db_conn_statements(const db_conn *c);
unsigned long db_conn_round_trips(const db_conn *c);

#endif
