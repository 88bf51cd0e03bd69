/* acct_subdomains.c -- Mastodon's limit on accounts from many subdomains of one name
 * (ProcessAccountService::SUBDOMAINS_RATELIMIT, DomainMaterializable): before a new
 * account is created, the HyperLogLog unique_subdomains_for:<registrable name> must
 * count fewer than 10 domains; after an account of a domain the `instances`
 * materialized view does not list yet is committed, the view is refreshed and the
 * domain added to that HyperLogLog, which lives one minute. */
#include "acct_internal.h"
#include "ingress_internal.h"

#include <hiredis/hiredis.h>
#include <stdio.h>

#define ACCT_SUBDOMAINS_RATELIMIT 10   /* ProcessAccountService::SUBDOMAINS_RATELIMIT */
#define ACCT_SUBDOMAINS_TTL_S 60       /* count_unique_subdomains!'s expire */

/* unique_subdomains_for:<PublicSuffix.domain(domain, ignore_private: true)>; a name
 * that is itself a public suffix has the empty name, as Ruby interpolates its nil. */
static void acct_subdomains_key(const char *domain, char *key, size_t len)
{
    char reg[256];
    acct_registrable_domain(domain, reg, sizeof reg);
    snprintf(key, len, "unique_subdomains_for:%s", reg);
}

acct_outcome acct_subdomains_check(q_ctx *ctx, const char *domain, char *err, size_t errlen)
{
    char key[300];
    acct_subdomains_key(domain, key, sizeof key);
    q_conn *r = ingress_app_redis(ctx);
    redisReply *n = q_conn_cmd(r, "PFCOUNT %s", key);
    acct_outcome out = ACCT_RESOLVED;
    if (!n || n->type != REDIS_REPLY_INTEGER) {
        snprintf(err, errlen, "Redis: PFCOUNT %s: %s", key,
                 n && n->type == REDIS_REPLY_ERROR ? n->str : q_conn_error(r));
        out = ACCT_RETRY;
    } else if (n->integer >= ACCT_SUBDOMAINS_RATELIMIT) {
        snprintf(err, errlen, "%lld subdomains of %s got their first account in the last minute "
                 "(Mastodon's limit is %d): no account is created for %s now", (long long)n->integer,
                 key + sizeof "unique_subdomains_for:" - 1, ACCT_SUBDOMAINS_RATELIMIT, domain);
        out = ACCT_NONE;
    }
    q_reply_free(n);
    return out;
}

/* Instance.exists?(domain:) against the view, or -1 with err. A database without the
 * view (scotty db init before it had one) answers 1: nothing to refresh or count. */
static int acct_instance_listed(db_conn *c, const char *domain, char *err, size_t errlen)
{
    bool view;
    if (db_table_exists(c, "instances", &view, err, errlen) != 0)
        return -1;
    if (!view)
        return 1;
    const char *params[] = {domain};
    PGresult *r = db_exec_idempotent(c, "acct_instance_listed", "SELECT EXISTS (SELECT 1 FROM instances WHERE domain = $1)",
                                     1, params, err, errlen);
    if (!r)
        return -1;
    int listed = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return listed;
}

void acct_subdomains_count(q_ctx *ctx, services *s, const char *domain)
{
    char err[512] = "";
    db_conn *c = db_pool_acquire(s->db);
    int listed = acct_instance_listed(c, domain, err, sizeof err);
    PGresult *r = NULL;
    if (listed == 0)
        r = db_exec(c, NULL, "REFRESH MATERIALIZED VIEW CONCURRENTLY instances", 0, NULL, err, sizeof err);
    db_pool_release(s->db, c);
    if (listed < 0 || (listed == 0 && !r)) {
        base_log(BASE_LOG_WARN, "accounts: the instances view was not refreshed for the new domain %s: %s "
                 "(Mastodon's Instance.refresh; the next new domain refreshes it)", domain, err);
        return;
    }
    PQclear(r);
    if (listed)
        return;
    char key[300];
    acct_subdomains_key(domain, key, sizeof key);
    q_conn *rc = ingress_app_redis(ctx);
    redisReply *add = q_conn_cmd(rc, "PFADD %s %s", key, domain);
    redisReply *exp = add && add->type == REDIS_REPLY_INTEGER ? q_conn_cmd(rc, "EXPIRE %s %d", key,
                                                                          ACCT_SUBDOMAINS_TTL_S) : NULL;
    if (!exp || exp->type != REDIS_REPLY_INTEGER)
        base_log(BASE_LOG_WARN, "accounts: %s was not counted in %s: %s", domain, key,
                 add && add->type == REDIS_REPLY_ERROR ? add->str : q_conn_error(rc));
    q_reply_free(add);
    q_reply_free(exp);
}
