/* ingress_notifications.c -- the notifications destroyed with their activity (Poll's
 * has_many and Quote's has_one :notification, dependent: :destroy), and what each
 * one's after_destroy does (Notification#remove_from_notification_request): the
 * notification request of its (account, from_account) pair reconsidered. */
#include "ingress_internal.h"

#include <stdio.h>
#include <string.h>

/* NotificationRequest#reconsider_existence! for the notifications account_id got from
 * from_account_id (params): recounted (filtered mentions and quotes, at most
 * MAX_MEANINGFUL_COUNT 100), the request saved when the count changed, destroyed at 0. */
static int ingress_request_reconsider(db_conn *c, const char *const params[2], char *err, size_t errlen)
{
    PGresult *res = db_exec(c, "ingress_request_count",
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
        return db_run_params(c, "ingress_request_delete",
                             "DELETE FROM notification_requests WHERE account_id = $1::bigint AND "
                             "from_account_id = $2::bigint",
                             2, params, err, errlen);
    return db_run_params(c, "ingress_request_save",
                         "UPDATE notification_requests SET notifications_count = $3::bigint, updated_at = " DB_NOW
                         " WHERE account_id = $1::bigint AND from_account_id = $2::bigint AND notifications_count "
                         "<> $3::bigint",
                         3, p3, err, errlen);
}

int ingress_notifications_destroy(db_conn *c, const char *activity_type, const char *activity_id, char *err,
                                  size_t errlen)
{
    const char *params[] = {activity_type, activity_id};
    PGresult *res = db_exec(c, "ingress_notifications_destroy",
                            "DELETE FROM notifications WHERE activity_type = $1 AND activity_id = $2::bigint "
                            "RETURNING account_id, from_account_id",
                            2, params, err, errlen);
    if (!res)
        return -1;
    bool requests = false;
    int rc = PQntuples(res) ? db_table_exists(c, "notification_requests", &requests, err, errlen) : 0;
    for (int i = 0; rc == 0 && requests && i < PQntuples(res); i++) {
        const char *pair[] = {PQgetvalue(res, i, 0), PQgetvalue(res, i, 1)};
        rc = ingress_request_reconsider(c, pair, err, errlen);
    }
    PQclear(res);
    return rc;
}
