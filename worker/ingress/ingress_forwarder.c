/* ingress_forwarder.c -- ActivityPub::Forwarder#forwardable?: an LD-signed activity
 * about a public or unlisted status that a local account boosted, or that replies to
 * a local account's status, is forwarded by Mastodon to those accounts' followers.
 * scotty leaves such Deletes and Updates to Ruby (unhandled), decided before writing. */
#include "ingress_internal.h"

#include <stdio.h>

int ingress_forwardable(db_conn *c, const ap_activity *a, int64_t status_id, bool *out, char *err,
                        size_t errlen)
{
    *out = false;
    if (!json_is_object(json_object_get(a->root, "signature")))
        return 0;
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", (long long)status_id);
    const char *params[] = {sid};
    PGresult *res = db_exec(c, "ingress_forwardable",
                            "SELECT 1 FROM statuses s WHERE s.id = $1::bigint AND s.visibility IN (0, 1) AND "
                            "(EXISTS (SELECT 1 FROM statuses b JOIN accounts ba ON ba.id = b.account_id "
                            "WHERE b.reblog_of_id = s.id AND ba.domain IS NULL) OR EXISTS (SELECT 1 FROM "
                            "statuses p JOIN accounts pa ON pa.id = p.account_id WHERE p.id = s.in_reply_to_id "
                            "AND pa.domain IS NULL))",
                            1, params, err, errlen);
    if (!res)
        return -1;
    *out = PQntuples(res) > 0;
    PQclear(res);
    return 0;
}
