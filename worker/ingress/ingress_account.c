/* ingress_account.c -- the accounts and statuses rows ingress decisions start from:
 * an account by id, by its ActivityPub URI (or profile URL), a local account named by
 * one of this server's actor URIs, and a live status by URI (ActivityPub::TagManager's
 * uri_to_resource: statuses by uri only). */
#include "ingress_internal.h"

#include "acct.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Columns in the order ingress_account_row reads them. The local uri is computed as
 * Mastodon serialises it (id_scheme numeric_ap_id 1: /ap/users/ID, else /users/NAME);
 * id_scheme is read through to_jsonb so databases without the column still work (for
 * local accounts only: the whole row as JSON is dear, and a remote one has its uri). The
 * last is Account#needs_background_refresh? (remote, and last fully fetched over a
 * week ago, never, or under an invalidated username), as acct_schedule_refresh_if_stale
 * asks it. */
#define INGRESS_ACCOUNT_COLS                                                                  \
    "a.id, a.uri, coalesce(a.domain, ''), a.followers_url, a.suspended_at IS NOT NULL, "      \
    "a.silenced_at IS NOT NULL, a.sensitized_at IS NOT NULL, a.username, "                    \
    "CASE WHEN a.domain IS NULL THEN coalesce(to_jsonb(a)->>'id_scheme', '0') END, "          \
    ACCT_NEEDS_REFRESH_SQL("a.")

static int ingress_account_row(PGresult *res, const char *local_domain, ingress_account *out,
                               char *err, size_t errlen)
{
    if (PQntuples(res) == 0)
        return 1;
    memset(out, 0, sizeof *out);
    out->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(out->uri, sizeof out->uri, "%s", PQgetvalue(res, 0, 1));
    snprintf(out->domain, sizeof out->domain, "%s", PQgetvalue(res, 0, 2));
    snprintf(out->followers_url, sizeof out->followers_url, "%s", PQgetvalue(res, 0, 3));
    out->suspended = PQgetvalue(res, 0, 4)[0] == 't';
    out->silenced = PQgetvalue(res, 0, 5)[0] == 't';
    out->sensitized = PQgetvalue(res, 0, 6)[0] == 't';
    out->refresh_known = true;
    out->stale = PQgetvalue(res, 0, 9)[0] == 't';
    if (!out->domain[0] && !out->uri[0] && local_domain) {
        if (strcmp(PQgetvalue(res, 0, 8), "1") == 0)
            snprintf(out->uri, sizeof out->uri, "https://%s/ap/users/%lld", local_domain,
                     (long long)out->id);
        else
            snprintf(out->uri, sizeof out->uri, "https://%s/users/%s", local_domain,
                     PQgetvalue(res, 0, 7));
    }
    (void)err;
    (void)errlen;
    return 0;
}

static int ingress_account_query(db_conn *c, const char *name, const char *sql, const char *param,
                                 const char *local_domain, ingress_account *out, char *err,
                                 size_t errlen)
{
    const char *params[] = {param};
    PGresult *res = db_exec(c, name, sql, 1, params, err, errlen);
    if (!res)
        return -1;
    int rc = ingress_account_row(res, local_domain, out, err, errlen);
    PQclear(res);
    return rc;
}

int ingress_account_by_id(db_conn *c, int64_t id, ingress_account *out, char *err, size_t errlen)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    return ingress_account_query(c, "ingress_account_by_id",
                                 "SELECT " INGRESS_ACCOUNT_COLS " FROM accounts a WHERE a.id = $1",
                                 ids, NULL, out, err, errlen);
}

int ingress_account_by_uri(db_conn *c, const char *uri, ingress_account *out, char *err,
                           size_t errlen)
{
    int rc = ingress_account_query(c, "ingress_account_by_uri",
                                   "SELECT " INGRESS_ACCOUNT_COLS " FROM accounts a "
                                   "WHERE a.uri = $1 AND a.uri <> '' LIMIT 1",
                                   uri, NULL, out, err, errlen);
    if (rc != 1)
        return rc;
    return ingress_account_query(c, "ingress_account_by_url",
                                 "SELECT " INGRESS_ACCOUNT_COLS " FROM accounts a "
                                 "WHERE a.url = $1 AND a.domain IS NOT NULL LIMIT 1",
                                 uri, NULL, out, err, errlen);
}

int ingress_account_resolve(db_conn *c, const char *local_domain, const char *uri,
                            ingress_account *out, char *err, size_t errlen)
{
    size_t dl = strlen(local_domain);
    const char *rest = NULL;
    if (dl && strncmp(uri, "https://", 8) == 0 && strncasecmp(uri + 8, local_domain, dl) == 0 &&
        uri[8 + dl] == '/')
        rest = uri + 8 + dl;
    if (!rest)
        return ingress_account_by_uri(c, uri, out, err, errlen);
    char name[256];
    const char *sql, *stmt;
    if (sscanf(rest, "/ap/users/%255[0-9]", name) == 1 && strlen(rest) == 10 + strlen(name)) {
        stmt = "ingress_local_by_id";
        sql = "SELECT " INGRESS_ACCOUNT_COLS " FROM accounts a WHERE a.id = $1::bigint "
              "AND a.domain IS NULL";
    } else if ((sscanf(rest, "/users/%255[A-Za-z0-9_]", name) == 1 && strlen(rest) == 7 + strlen(name)) ||
               (sscanf(rest, "/@%255[A-Za-z0-9_]", name) == 1 && strlen(rest) == 2 + strlen(name))) {
        stmt = "ingress_local_by_name";
        sql = "SELECT " INGRESS_ACCOUNT_COLS " FROM accounts a WHERE lower(a.username) = lower($1) "
              "AND a.domain IS NULL";
    } else {
        return 1;
    }
    return ingress_account_query(c, stmt, sql, name, local_domain, out, err, errlen);
}

int ingress_status_by_uri(db_conn *c, const char *uri, int64_t *id, int64_t *account_id,
                          char *err, size_t errlen)
{
    const char *params[] = {uri};
    PGresult *res = db_exec(c, "ingress_status_by_uri",
                            "SELECT id, account_id FROM statuses WHERE uri = $1 AND deleted_at IS NULL",
                            1, params, err, errlen);
    if (!res)
        return -1;
    int rc = 1;
    if (PQntuples(res) > 0) {
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        if (account_id)
            *account_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        rc = 0;
    }
    PQclear(res);
    return rc;
}
