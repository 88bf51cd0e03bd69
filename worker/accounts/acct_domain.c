/* acct_domain.c -- domain blocks as Mastodon applies them to accounts:
 * DomainBlock.rule_for (the block of the domain itself or of the nearest parent domain,
 * the longest matching name first) and DomainControlHelper#domain_not_allowed?
 * (a suspend rule; in limited federation mode, a domain not in domain_allows). */
#include "acct_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int acct_block_for(db_conn *c, const char *domain, acct_block *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char *d = acct_normalize_domain(domain);
    if (!d)
        return 0;
    const char *params[] = {d};
    PGresult *res = db_exec_idempotent(
        c, "acct_block_for",
        "SELECT coalesce(severity, 0), reject_media, created_at FROM domain_blocks "
        "WHERE domain = $1 OR right($1, length(domain) + 1) = '.' || domain "
        "ORDER BY length(domain) DESC LIMIT 1",
        1, params, err, errlen);
    free(d);
    if (!res)
        return -1;
    if (PQntuples(res) > 0) {
        out->found = true;
        out->severity = atoi(PQgetvalue(res, 0, 0));
        out->reject_media = PQgetvalue(res, 0, 1)[0] == 't';
        snprintf(out->created_at, sizeof out->created_at, "%s", PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    return 0;
}

/* DomainBlock.blocked?: *blocked when a suspend rule applies. */
static int acct_domain_suspended(db_conn *c, const char *host, bool *blocked, char *err, size_t errlen)
{
    acct_block b;
    if (acct_block_for(c, host, &b, err, errlen) != 0)
        return -1;
    *blocked = b.found && b.severity == 1;
    return 0;
}

/* !DomainAllow.allowed?: *blocked unless domain_allows has the (normalized) host itself. */
static int acct_domain_allowed(db_conn *c, const char *host, bool *blocked, char *err, size_t errlen)
{
    char *d = acct_normalize_domain(host);
    if (!d) {
        *blocked = true;
        return 0;
    }
    const char *params[] = {d};
    PGresult *res = db_exec_idempotent(c, "acct_domain_allowed",
                                       "SELECT EXISTS (SELECT 1 FROM domain_allows WHERE domain = $1)", 1, params,
                                       err, errlen);
    free(d);
    if (!res)
        return -1;
    *blocked = PQgetvalue(res, 0, 0)[0] != 't';
    PQclear(res);
    return 0;
}

int acct_domain_blocked(services *s, const char *uri_or_domain, bool *blocked, char *err, size_t errlen)
{
    *blocked = false;
    char *host = strstr(uri_or_domain, "://") ? acct_uri_host(uri_or_domain) : strdup(uri_or_domain);
    if (!host) { /* no host: no block names it, and no allow either */
        *blocked = s->limited_federation;
        return 0;
    }
    db_conn *c = db_pool_acquire(s->db);
    int rc = s->limited_federation ? acct_domain_allowed(c, host, blocked, err, errlen)
                                   : acct_domain_suspended(c, host, blocked, err, errlen);
    db_pool_release(s->db, c);
    free(host);
    return rc;
}
