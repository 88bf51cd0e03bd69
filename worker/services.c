/* services.c -- opens and closes the objects job handlers share (services.h). */
#include "services.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *services_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* A positive number from the environment, or fallback; -1 if set but invalid. */
static double services_env_number(const char *name, double fallback)
{
    const char *v = services_env(name);
    if (!v)
        return fallback;
    char *end;
    double d = strtod(v, &end);
    return *end == '\0' && d > 0 ? d : -1;
}

static int services_open_db(services *s, int concurrency, char *err, size_t errlen)
{
    if (!services_env("DATABASE_URL") && !services_env("DB_HOST") && !services_env("DB_NAME")) {
        snprintf(s->db_missing, sizeof s->db_missing,
                 "no database configured (set DATABASE_URL, or DB_HOST/DB_NAME/DB_USER/DB_PASS, "
                 "as for Mastodon) and restart scotty");
        return 0;
    }
    if (db_settings_from_env(&s->db_settings, err, errlen) != 0)
        return -1;
    /* DB_POOL as in Mastodon; else one per thread up to 25: jobs hold a connection only
     * for their queries (deliveries not while waiting for an inbox), so hundreds of
     * threads share a few without reaching max_connections */
    double pool = services_env_number("DB_POOL", concurrency < 25 ? concurrency : 25);
    if (pool < 1 || pool > 10000) {
        snprintf(err, errlen, "DB_POOL must be a number of connections between 1 and 10000");
        return -1;
    }
    s->db = db_pool_new(&s->db_settings, (int)pool);
    if (!s->db) {
        snprintf(err, errlen, "cannot create a pool of %d PostgreSQL connections (out of memory)",
                 (int)pool);
        return -1;
    }
    base_log(BASE_LOG_INFO, "database: %s, up to %d connections opened on demand",
             s->db_settings.describe, (int)pool);
    return 0;
}

services *services_open(int concurrency, char *err, size_t errlen)
{
    services *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory opening services");
        return NULL;
    }
    if (concurrency < 1)
        concurrency = 1;
    snprintf(s->local_domain, sizeof s->local_domain, "%s",
             services_env("LOCAL_DOMAIN") ? services_env("LOCAL_DOMAIN") : "localhost");
    /* (ENV['LIMITED_FEDERATION_MODE'] || ENV['WHITELIST_MODE']) == 'true': a set but
     * empty first one wins, as in Ruby */
    const char *limited = getenv("LIMITED_FEDERATION_MODE");
    if (!limited)
        limited = getenv("WHITELIST_MODE");
    s->limited_federation = limited && strcmp(limited, "true") == 0;
    if (s->limited_federation)
        base_log(BASE_LOG_INFO, "limited federation mode: only the domains in domain_allows are fetched from");

    double read_timeout = services_env_number("SCOTTY_HTTP_READ_TIMEOUT", 10);
    double threshold = services_env_number("SCOTTY_DELIVERY_BREAKER_THRESHOLD", 10);
    double cooloff = services_env_number("SCOTTY_DELIVERY_BREAKER_COOLOFF", 60);
    if (read_timeout < 0 || threshold < 0 || cooloff < 0) {
        snprintf(err, errlen, "SCOTTY_HTTP_READ_TIMEOUT, SCOTTY_DELIVERY_BREAKER_THRESHOLD and "
                 "SCOTTY_DELIVERY_BREAKER_COOLOFF must be positive numbers when set");
        goto fail;
    }
    /* the breaker, not the client, decides how many requests may wait on one host;
     * room for every thread's connection in use plus as many idle ones, so keep-alive
     * still works with hundreds of threads across many hosts */
    http_client_opts ho = {.read_timeout_ms = (long)(read_timeout * 1000),
                           .max_per_host = concurrency, .max_idle = 2 * concurrency + 64};
    s->http = http_client_new(&ho, err, errlen);
    if (!s->http)
        goto fail;
    if (services_env("ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY")) {
        s->arenc = arenc_keys_from_env(err, errlen);
        if (!s->arenc)
            goto fail;
    }
    if (services_open_db(s, concurrency, err, errlen) != 0)
        goto fail;
    objstore_cfg sc;
    if (objstore_cfg_from_env(&sc, err, errlen) != 0)
        goto fail;
    s->store = objstore_new(&sc, err, errlen);
    if (!s->store)
        goto fail;
    s->breaker = delivery_breaker_new((int)threshold, cooloff, concurrency);
    s->keys = delivery_keys_new(s->arenc, s->local_domain);
    s->avail = delivery_avail_new(5.0);
    if (!s->breaker || !s->keys || !s->avail) {
        snprintf(err, errlen, "out of memory opening services");
        goto fail;
    }
    return s;
fail:
    services_free(s);
    return NULL;
}

void services_free(services *s)
{
    if (!s)
        return;
    objstore_free(s->store);
    delivery_keys_free(s->keys);
    delivery_avail_free(s->avail);
    delivery_breaker_free(s->breaker);
    db_pool_free(s->db);
    arenc_keys_free(s->arenc);
    http_client_free(s->http);
    free(s);
}
