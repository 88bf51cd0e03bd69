/* redis_conn.h -- a connection to the unit tests' private redis-server. */
#ifndef SCOTTY_TEST_REDIS_CONN_H
#define SCOTTY_TEST_REDIS_CONN_H

#include "queues.h"

/* Connected to REDIS_SOCKET, or NULL (not run under run_with_redis.sh, or no Redis). */
q_conn *test_redis_conn(void);

#endif
