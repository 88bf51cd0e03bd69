/* ingress_undo_rows.c -- the statuses rows Announce, Like and Undo read, and taking a
 * boost or a favourite back with the counters Mastodon's callbacks keep
 * (Status#decrement_counter_caches, Favourite#decrement_cache_counters). */
#include "ingress_undoable.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW_COLS                                                                              \
    "SELECT s.id, s.account_id, coalesce(s.reblog_of_id, 0), s.visibility, a.domain IS NULL " \
    "FROM statuses s JOIN accounts a ON a.id = s.account_id "

static int row_read(PGresult *res, ingress_status_row *out)
{
    if (PQntuples(res) == 0)
        return 1;
    out->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    out->account_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    out->reblog_of_id = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    out->visibility = atoi(PQgetvalue(res, 0, 3));
    out->author_local = PQgetvalue(res, 0, 4)[0] == 't';
    return 0;
}

static int row_query(db_conn *c, const char *name, const char *sql, const char *param,
                     ingress_status_row *out, char *err, size_t errlen)
{
    const char *params[] = {param};
    PGresult *res = db_exec(c, name, sql, 1, params, err, errlen);
    if (!res)
        return -1;
    int rc = row_read(res, out);
    PQclear(res);
    return rc;
}

int ingress_status_row_by_uri(db_conn *c, const char *uri, ingress_status_row *out, char *err,
                              size_t errlen)
{
    return row_query(c, "ingress_status_row_by_uri",
                     ROW_COLS "WHERE s.uri = $1 AND s.deleted_at IS NULL", uri, out, err, errlen);
}

int ingress_status_row_by_id(db_conn *c, int64_t id, ingress_status_row *out, char *err,
                             size_t errlen)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    return row_query(c, "ingress_status_row_by_id",
                     ROW_COLS "WHERE s.id = $1 AND s.deleted_at IS NULL", ids, out, err, errlen);
}

int ingress_reblog_remove(db_conn *c, int64_t reblog_id, char *err, size_t errlen)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%" PRId64, reblog_id);
    const char *params[] = {ids};
    /* one statement, so one transaction: the row and both counters go together */
    return db_run_params(
        c, "ingress_reblog_delete",
        "WITH gone AS (DELETE FROM statuses WHERE id = $1 AND reblog_of_id IS NOT NULL "
        "  RETURNING account_id, reblog_of_id, visibility), "
        "st AS (UPDATE status_stats SET reblogs_count = GREATEST(reblogs_count - 1, 0), "
        "  updated_at = " DB_NOW " WHERE status_id IN (SELECT reblog_of_id FROM gone)) "
        "UPDATE account_stats SET statuses_count = GREATEST(statuses_count - 1, 0), "
        "  updated_at = " DB_NOW " "
        "WHERE account_id IN (SELECT account_id FROM gone WHERE visibility <> 3)",
        1, params, err, errlen);
}

int ingress_favourite_remove(db_conn *c, int64_t account_id, int64_t status_id, bool *removed,
                             char *err, size_t errlen)
{
    char a[24], s[24];
    snprintf(a, sizeof a, "%" PRId64, account_id);
    snprintf(s, sizeof s, "%" PRId64, status_id);
    const char *params[] = {a, s};
    /* one statement, so one transaction: the row and its counter go together */
    PGresult *res = db_exec(
        c, "ingress_favourite_delete",
        "WITH gone AS (DELETE FROM favourites WHERE account_id = $1 AND status_id = $2 "
        "  RETURNING status_id), "
        "st AS (UPDATE status_stats SET favourites_count = GREATEST(favourites_count - 1, 0), "
        "  updated_at = " DB_NOW " WHERE status_id IN (SELECT status_id FROM gone)) "
        "SELECT count(*) FROM gone",
        2, params, err, errlen);
    if (!res)
        return -1;
    *removed = atoi(PQgetvalue(res, 0, 0)) > 0;
    PQclear(res);
    return 0;
}
