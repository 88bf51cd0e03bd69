/* config_redis.h -- the Redis endpoints from Mastodon's variables, with the precedence of
 * its lib/mastodon/redis_configuration.rb, for the Sidekiq connection (SIDEKIQ_REDIS_*)
 * and the application Redis (REDIS_*). The one place scotty reads them. */
#ifndef SCOTTY_CONFIG_REDIS_H
#define SCOTTY_CONFIG_REDIS_H

#include <stdbool.h>
#include <stddef.h>

#include "queues.h"

#define CONFIG_REDIS_FROM 512

typedef struct config_redis {
    q_redis_opts opts;
    char from[CONFIG_REDIS_FROM]; /* the variables that decided it, for the start log */
    bool base;                    /* from the REDIS_ variables (or their defaults): a
                                   * SIDEKIQ_ connection that set none of its own */
} config_redis;

/* Reads the connection named by prefix: "" for the application Redis (REDIS_*),
 * "SIDEKIQ_" for Sidekiq's (SIDEKIQ_REDIS_*, falling back to REDIS_* as a whole when
 * none of its URL, host or sentinels are set). In order:
 *   <P>REDIS_URL: used alone; <P>REDIS_USER and _PASSWORD are ignored, as by Mastodon;
 *   <P>REDIS_SENTINELS (host[:port],...; the port defaults to <P>REDIS_SENTINEL_PORT,
 *     else 26379) with <P>REDIS_SENTINEL_MASTER, both needed: the master of that name,
 *     authenticated as <P>REDIS_USER/_PASSWORD, its sentinels as
 *     <P>REDIS_SENTINEL_USERNAME/_PASSWORD (default: the user and password);
 *   <P>REDIS_HOST (REDIS_ defaults to localhost), _PORT (6379), _DB (0), _USER, _PASSWORD.
 * REDIS_TLS_CA_FILE, scotty's own, applies to both. Empty variables count as unset,
 * but for SENTINEL_USERNAME/_PASSWORD (set empty: none, as in Mastodon).
 * Returns 0, or -1 with err naming the variable. */
int config_redis_env(const char *prefix, config_redis *out, char *err, size_t errlen);

/* Whether a and b are one server, database and user (one connection serves both). */
bool config_redis_same(const q_redis_opts *a, const q_redis_opts *b);

/* The start log line "<what> Redis is <endpoint> (from <variables>)", without the
 * password. */
void config_redis_log(const char *what, const q_redis_opts *o, const char *from);

#endif
