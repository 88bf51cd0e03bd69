/* redis_conn.c -- the connection unit tests that need a Redis open to the private
 * redis-server tests/lib/run_with_redis.sh starts (its socket in REDIS_SOCKET). */
#include "redis_conn.h"

#include <stdio.h>
#include <stdlib.h>

q_conn *test_redis_conn(void)
{
    q_redis_opts o;
    char err[Q_ERRLEN], url[600];
    const char *sock = getenv("REDIS_SOCKET");
    if (!sock)
        return NULL;
    snprintf(url, sizeof url, "unix://%s", sock);
    if (q_redis_parse_url(url, &o, err, sizeof err) != 0)
        return NULL;
    q_conn *c = q_conn_new(&o);
    if (c && q_conn_ensure(c) != 0) {
        q_conn_free(c);
        return NULL;
    }
    return c;
}
