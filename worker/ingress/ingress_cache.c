/* ingress_cache.c -- Rails.cache.delete for the entries Mastodon's models drop after
 * scotty changed their rows. Mastodon's cache store is Redis with the namespace
 * "cache" (lib/mastodon/redis_configuration.rb), on the application Redis unless
 * CACHE_REDIS_* name another one, which scotty does not connect to: then the entry
 * stays until it expires. */
#include "ingress_internal.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>

void ingress_rails_cache_delete(q_ctx *ctx, const char *key)
{
    const char *own[] = {"CACHE_REDIS_URL", "CACHE_REDIS_HOST", "CACHE_REDIS_SENTINELS"};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        const char *v = getenv(own[i]);
        if (v && *v) {
            base_log(BASE_LOG_DEBUG, "ingress: %s stays in the Rails cache until it expires (%s names a "
                     "cache Redis scotty does not connect to)", key, own[i]);
            return;
        }
    }
    char full[256];
    snprintf(full, sizeof full, "cache:%s", key);
    q_conn *c = ingress_app_redis(ctx);
    redisReply *r = c && q_conn_ensure(c) == 0 ? q_conn_cmd(c, "DEL %s", full) : NULL;
    if (!r || r->type == REDIS_REPLY_ERROR)
        base_log(BASE_LOG_WARN, "ingress: %s not deleted from the Rails cache: Redis: %s", full,
                 r ? r->str : c ? q_conn_error(c) : "no connection");
    q_reply_free(r);
}
