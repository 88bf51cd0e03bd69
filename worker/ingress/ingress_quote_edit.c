/* ingress_quote_edit.c -- the rows ProcessStatusUpdateService#update_quote! changes
 * when an explicit Update adds a quote, removes it, or points it at another post:
 * Quote#destroy (its notification with it, ingress_notifications.c;
 * quotes_count of the quoted status taken back when the quote was accepted, as
 * Quote#decrement_counter_caches! after the commit) and Quote.create
 * (pending, or deleted for a Tombstone when it replaces one; approval_uri NULL, legacy
 * as the Update says). Verifying the new quote after the commit is ingress_quote.c's. */
#include "ingress_quote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* @status.quote.destroy: its notification, its row, then the count its accepted state
 * held. */
static int quote_edit_destroy(db_conn *c, int64_t quote_id, char *err, size_t errlen)
{
    char qid[24];
    snprintf(qid, sizeof qid, "%lld", (long long)quote_id);
    const char *params[] = {qid};
    if (ingress_notifications_destroy(c, "Quote", qid, err, errlen) != 0)
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
