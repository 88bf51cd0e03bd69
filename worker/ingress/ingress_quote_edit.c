/* ingress_quote_edit.c -- the rows ProcessStatusUpdateService#update_quote! changes
 * when an explicit Update adds a quote, removes it, or points it at another post:
 * Quote#destroy (its notification with it, the notification request reconsidered;
 * quotes_count of the quoted status taken back when the quote was accepted, as
 * Quote#decrement_counter_caches! after the commit) and Quote.create
 * (pending, or deleted for a Tombstone when it replaces one; approval_uri NULL, legacy
 * as the Update says). Verifying the new quote after the commit is ingress_quote.c's. */
#include "ingress_quote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* NotificationRequest#reconsider_existence! for the notifications account_id got from
 * from_account_id (params): recounted (filtered mentions and quotes, at most
 * MAX_MEANINGFUL_COUNT 100), the request saved when the count changed, destroyed at 0. */
static int quote_edit_reconsider(db_conn *c, const char *const params[2], char *err, size_t errlen)
{
    PGresult *res = db_exec(c, "ingress_quote_request_count",
                            "SELECT count(*) FROM (SELECT 1 FROM notifications WHERE account_id = $1::bigint AND "
                            "from_account_id = $2::bigint AND type IN ('mention', 'quote') AND filtered LIMIT 100) n",
                            2, params, err, errlen);
    if (!res)
        return -1;
    char n[24];
    snprintf(n, sizeof n, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    const char *p3[] = {params[0], params[1], n};
    if (strcmp(n, "0") == 0)
        return db_run_params(c, "ingress_quote_request_delete",
                             "DELETE FROM notification_requests WHERE account_id = $1::bigint AND "
                             "from_account_id = $2::bigint",
                             2, params, err, errlen);
    return db_run_params(c, "ingress_quote_request_save",
                         "UPDATE notification_requests SET notifications_count = $3::bigint, updated_at = " DB_NOW
                         " WHERE account_id = $1::bigint AND from_account_id = $2::bigint AND notifications_count "
                         "<> $3::bigint",
                         3, p3, err, errlen);
}

/* Quote has_one :notification, dependent: :destroy; Notification's after_destroy
 * (remove_from_notification_request) reconsiders the request it may belong to. */
static int quote_edit_notifications(db_conn *c, const char *qid, char *err, size_t errlen)
{
    const char *params[] = {qid};
    PGresult *res = db_exec(c, "ingress_quote_notifications_delete",
                            "DELETE FROM notifications WHERE activity_type = 'Quote' AND activity_id = $1::bigint "
                            "RETURNING account_id, from_account_id",
                            1, params, err, errlen);
    if (!res)
        return -1;
    bool requests = false;
    int rc = PQntuples(res) ? db_table_exists(c, "notification_requests", &requests, err, errlen) : 0;
    for (int i = 0; rc == 0 && requests && i < PQntuples(res); i++) {
        const char *pair[] = {PQgetvalue(res, i, 0), PQgetvalue(res, i, 1)};
        rc = quote_edit_reconsider(c, pair, err, errlen);
    }
    PQclear(res);
    return rc;
}

/* @status.quote.destroy: its notification, its row, then the count its accepted state
 * held. */
static int quote_edit_destroy(db_conn *c, int64_t quote_id, char *err, size_t errlen)
{
    char qid[24];
    snprintf(qid, sizeof qid, "%lld", (long long)quote_id);
    const char *params[] = {qid};
    if (quote_edit_notifications(c, qid, err, errlen) != 0)
        return -1;
    /* quoted_status&.decrement_count! when accepted (legacy or not); a discarded
     * quoted status is none to the association */
    PGresult *res = db_exec(c, "ingress_quote_destroy",
                            "WITH gone AS (DELETE FROM quotes WHERE id = $1::bigint RETURNING state, "
                            "quoted_status_id) SELECT s.id FROM gone g JOIN statuses s ON s.id = "
                            "g.quoted_status_id AND s.deleted_at IS NULL WHERE g.state = 1",
                            1, params, err, errlen);
    if (!res)
        return -1;
    char quoted[24] = "";
    if (PQntuples(res))
        snprintf(quoted, sizeof quoted, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return quoted[0] ? ingress_quote_count_add(c, quoted, -1, err, errlen) : 0;
}

int ingress_quote_edit(db_conn *c, int64_t status_id, int64_t account_id, const ap_status *st,
                       const ingress_quote_stored *old, int64_t *new_id, char *err, size_t errlen)
{
    *new_id = 0;
    if (old->id && quote_edit_destroy(c, old->id, err, errlen) != 0)
        return -1;
    if (!st->quote_uri)
        return 0;
    /* a replaced quote takes the Tombstone's deleted state; an added one is pending */
    return ingress_quote_row_insert(c, status_id, account_id, st->quote_legacy, old->id && st->quote_deleted,
                                    new_id, err, errlen);
}
