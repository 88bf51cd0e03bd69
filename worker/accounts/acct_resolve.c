/* acct_resolve.c -- ResolveAccountService#call for a handle ("user@domain", a leading
 * '@' allowed) or a known account: this server's handles are local accounts; a known
 * remote account fetched within the last day is returned as is; otherwise WebFinger
 * (one redirect to another handle followed) names the actor, which is fetched under
 * the Redis lock resolve:<user>@<domain> (acct_fetch). A WebFinger 410 for a known
 * account means it is gone: suspending it and queueing its deletion is Ruby's. An
 * account under an invalidated username is refetched by its URI. */
#include "acct_jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The remote account with this handle (Account.find_remote): its id, uri and whether it
 * is stale (possibly_stale?: last fully fetched over a day ago, never, or invalidated).
 * Returns 0, 1 when none, -1 with err. */
static int acct_by_handle(services *s, const char *user, const char *domain, int64_t *id, char *uri,
                          size_t urilen, bool *stale, char *err, size_t errlen)
{
    const char *params[] = {user, domain};
    db_conn *c = db_pool_acquire(s->db);
    PGresult *res = db_exec_idempotent(
        c, "acct_by_handle",
        "SELECT id, coalesce(uri, ''), last_webfingered_at IS NULL OR last_webfingered_at <= "
        "timezone('UTC', now()) - interval '1 day' OR username LIKE '! %' FROM accounts "
        "WHERE lower(username) = lower($1) AND lower(domain) = lower($2) ORDER BY id LIMIT 1",
        2, params, err, errlen);
    db_pool_release(s->db, c);
    if (!res)
        return -1;
    int rc = 1;
    if (PQntuples(res) > 0) {
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(uri, urilen, "%s", PQgetvalue(res, 0, 1));
        *stale = PQgetvalue(res, 0, 2)[0] == 't';
        rc = 0;
    }
    PQclear(res);
    return rc;
}

static bool acct_is_local(const services *s, const char *domain)
{
    if (!domain)
        return true;
    size_t n = strlen(domain);
    if (n && domain[n - 1] == '/')
        n--;
    return strlen(s->local_domain) == n && strncasecmp(domain, s->local_domain, n) == 0;
}

/* Whether a resolve may go on past the domain's block check; if not, *res and err say
 * why (a suspended domain, or the database could not say). */
static bool acct_resolve_domain_ok(services *s, const char *domain, acct_outcome *res, char *err, size_t errlen)
{
    bool blocked;
    if (acct_domain_blocked(s, domain, &blocked, err, errlen) != 0) {
        *res = ACCT_RETRY;
        return false;
    }
    if (blocked)
        snprintf(err, errlen, "%s is a suspended domain (domain block)", domain);
    return !blocked;
}

acct_outcome acct_resolve(q_ctx *ctx, services *s, const char *handle, int64_t account_id,
                          const char *request_id, ingress_account *out, char *err, size_t errlen)
{
    char *user = NULL, *domain = NULL, uri[1024] = "";
    acct_outcome res = ACCT_NONE;
    bool stale = true;
    int64_t id = 0;
    if (account_id) {
        const char *params[1];
        char ids[24];
        snprintf(ids, sizeof ids, "%lld", (long long)account_id);
        params[0] = ids;
        db_conn *c = db_pool_acquire(s->db);
        PGresult *r = db_exec_idempotent(c, "acct_resolve_account",
                                         "SELECT username, coalesce(domain, ''), coalesce(uri, '') FROM accounts "
                                         "WHERE id = $1::bigint", 1, params, err, errlen);
        db_pool_release(s->db, c);
        if (!r)
            return ACCT_RETRY;
        if (PQntuples(r) == 0 || !PQgetvalue(r, 0, 1)[0]) {
            snprintf(err, errlen, "account %s is %s", ids, PQntuples(r) ? "local" : "gone");
            PQclear(r);
            return ACCT_NONE;
        }
        user = strdup(PQgetvalue(r, 0, 0));
        domain = strdup(PQgetvalue(r, 0, 1));
        snprintf(uri, sizeof uri, "%s", PQgetvalue(r, 0, 2));
        PQclear(r);
        id = account_id;
        if (strncmp(user, "! ", 2) == 0) { /* invalidated_username?: refetch by URI */
            free(user);
            free(domain);
            return acct_fetch(ctx, s, uri, request_id, out, err, errlen);
        }
    } else {
        const char *h = handle;
        while (*h == ' ' || (*h >= '\t' && *h <= '\r'))
            h++;
        char *d = NULL;
        if (!acct_split_handle(h, true, &user, &d)) {
            snprintf(err, errlen, "%.300s is not a user@domain handle scotty resolves (a local handle, or "
                     "malformed)", handle);
            return ACCT_NONE;
        }
        size_t n = strlen(d);
        while (n && (d[n - 1] == ' ' || (d[n - 1] >= '\t' && d[n - 1] <= '\r')))
            d[--n] = '\0';
        domain = acct_is_local(s, d) ? NULL : acct_normalize_domain(d);
        free(d);
        if (!domain) {
            snprintf(err, errlen, "%.300s is a local handle or has an unusable domain", handle);
            free(user);
            return ACCT_NONE;
        }
    }
    int rc;
    acct_jrd j = {0}, j2 = {0};
    bool gone = false;
    char why[768];
    if (!acct_resolve_domain_ok(s, domain, &res, err, errlen))
        goto done;
    if (!account_id) {
        rc = acct_by_handle(s, user, domain, &id, uri, sizeof uri, &stale, err, errlen);
        if (rc < 0) {
            res = ACCT_RETRY;
            goto done;
        }
        if (rc == 0 && !stale) {
            db_conn *c = db_pool_acquire(s->db);
            rc = ingress_account_by_id(c, id, out, err, errlen);
            db_pool_release(s->db, c);
            res = rc == 0 ? ACCT_RESOLVED : rc < 0 ? ACCT_RETRY : ACCT_NONE;
            goto done;
        }
    }
    /* process_webfinger! */
    if (acct_webfinger(s, user, domain, &j, &gone, why, sizeof why) != 0 && !gone) {
        snprintf(err, errlen, "Webfinger query for %s@%s failed: %s", user, domain, why);
        goto done;
    }
    if (!gone && (strcasecmp(j.username, user) || strcasecmp(j.domain, domain))) {
        if (acct_webfinger(s, j.username, j.domain, &j2, &gone, why, sizeof why) != 0 && !gone) {
            snprintf(err, errlen, "Webfinger query for %s@%s failed: %s", j.username, j.domain, why);
            goto done;
        }
        if (!gone && (strcasecmp(j2.username, j.username) || strcasecmp(j2.domain, j.domain))) {
            snprintf(err, errlen, "Too many webfinger redirects for URI %s@%s (stopped at %s@%s)", user, domain,
                     j2.username, j2.domain);
            goto done;
        }
    }
    const acct_jrd *final = j2.self_href ? &j2 : &j;
    if (!gone) {
        free(user);
        free(domain);
        user = strdup(final->username);
        domain = acct_is_local(s, final->domain) ? NULL : acct_normalize_domain(final->domain);
        if (!domain) {
            snprintf(err, errlen, "WebFinger for %s named a local or unusable domain", final->self_href);
            goto done;
        }
        if (!acct_resolve_domain_ok(s, domain, &res, err, errlen))
            goto done;
        if (!id) {
            rc = acct_by_handle(s, user, domain, &id, uri, sizeof uri, &stale, err, errlen);
            if (rc < 0) {
                res = ACCT_RETRY;
                goto done;
            }
        }
    }
    if (gone) {
        if (id) {
            snprintf(err, errlen, "@%s@%s is gone (WebFinger 410): suspending account %lld and queueing its "
                     "deletion is Ruby's", user, domain ? domain : "", (long long)id);
            res = ACCT_UNHANDLED;
        } else {
            snprintf(err, errlen, "@%s@%s is gone (WebFinger 410)", user, domain ? domain : "");
        }
        goto done;
    }
    if (id && !stale && !account_id) {
        db_conn *c = db_pool_acquire(s->db);
        rc = ingress_account_by_id(c, id, out, err, errlen);
        db_pool_release(s->db, c);
        res = rc == 0 ? ACCT_RESOLVED : rc < 0 ? ACCT_RETRY : ACCT_NONE;
        goto done;
    }
    char name[700];
    snprintf(name, sizeof name, "%.300s@%.300s", user, domain);
    ingress_lock lock;
    if (ingress_lock_or_retry(ctx, "resolve", name, &lock, err, errlen) != 0) {
        res = ACCT_RETRY;
        goto done;
    }
    res = acct_fetch(ctx, s, final->self_href, request_id, out, err, errlen);
    ingress_lock_release(ctx, &lock);
done:
    acct_jrd_free(&j);
    acct_jrd_free(&j2);
    free(user);
    free(domain);
    return res;
}
