/* ingress_announce_row.c -- the boost row of an Announce, as Status.create!(account:,
 * reblog:, uri:, created_at:, visibility:) leaves the database (callbacks included:
 * an owned conversation, reblogs_count, statuses_count and last_status_at), and the
 * jobs Announce#distribute pushes. */
#include "ingress_announce.h"
#include "ingress_create.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool announce_is_public(const char *v)
{
    return strcmp(v, AP_PUBLIC) == 0 || strcmp(v, "as:Public") == 0 || strcmp(v, "Public") == 0;
}

/* whether the to/cc value v names something announce_is_public or equal to `uri` */
static bool announce_audience_has(const json_t *v, const char *uri)
{
    size_t n = json_is_array(v) ? json_array_size(v) : (v ? 1 : 0);
    for (size_t i = 0; i < n; i++) {
        const char *id = ap_id_of(json_is_array(v) ? json_array_get(v, i) : v);
        if (id && (uri ? strcmp(id, uri) == 0 : announce_is_public(id)))
            return true;
    }
    return false;
}

int ingress_announce_visibility(const json_t *activity, const char *followers_url)
{
    const json_t *to = json_object_get(activity, "to"), *cc = json_object_get(activity, "cc");
    if (announce_audience_has(to, NULL))
        return AP_VIS_PUBLIC;
    if (announce_audience_has(cc, NULL))
        return AP_VIS_UNLISTED;
    if (followers_url && *followers_url && announce_audience_has(to, followers_url))
        return AP_VIS_PRIVATE;
    return AP_VIS_DIRECT;
}

/* `published` as "YYYY-MM-DD HH:MM:SS" UTC when it is a valid ISO 8601 date-time
 * (Rails would cast anything else to nil, leaving created_at to now). */
static bool announce_published(const json_t *activity, char *out, size_t len)
{
    const char *p = json_string_value(json_object_get(activity, "published"));
    struct tm tm = {0};
    int n = 0, sec = 0;
    if (!p || sscanf(p, "%4d-%2d-%2dT%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                     &tm.tm_min, &n) != 5 || n != 16)
        return false;
    const char *r = p + n;
    if (r[0] == ':' && sscanf(r, ":%2d%n", &sec, &n) == 1 && n == 3)
        r += 3;
    if (*r == '.')
        for (r++; *r >= '0' && *r <= '9'; r++)
            ;
    long off = 0;
    int oh, om, m;
    if (*r == 'Z')
        r++;
    else if ((*r == '+' || *r == '-') && sscanf(r + 1, "%2d:%2d%n", &oh, &om, &m) == 2 && m == 5) {
        off = (oh * 3600L + om * 60L) * (*r == '-' ? -1 : 1);
        r += 6;
    }
    if (*r || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || sec > 59)
        return false;
    tm.tm_sec = sec;
    int mday = tm.tm_mday;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (tm.tm_mday != mday)        /* 31 February and the like */
        return false;
    t -= off;
    struct tm u;
    gmtime_r(&t, &u);
    return strftime(out, len, "%Y-%m-%d %H:%M:%S", &u) > 0;
}

/* 1 when actor already boosted orig or the activity id is taken, 0 if not, -1. */
static int announce_exists(db_conn *c, const char *acct, const char *orig, const char *uri,
                           char *err, size_t errlen)
{
    const char *params[] = {acct, orig, uri};
    PGresult *res = db_exec(c, "ingress_announce_exists",
                            "SELECT EXISTS (SELECT 1 FROM statuses WHERE account_id = $1 AND "
                            "reblog_of_id = $2) OR EXISTS (SELECT 1 FROM statuses WHERE uri = $3)",
                            3, params, err, errlen);
    if (!res)
        return -1;
    int rc = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return rc;
}

/* After the insert's reply was lost (err says so): 0 if the boost row with id `ids`
 * is there, -1 with err if it is not (nothing was written) or cannot be checked. */
static int announce_written(db_conn *c, const char *uri, const char *ids, char *err,
                            size_t errlen)
{
    char why[512], cerr[512];
    snprintf(why, sizeof why, "%s", err);
    const char *params[] = {uri, ids};
    PGresult *res = db_exec_idempotent(c, "ingress_announce_written",
                                       "SELECT 1 FROM statuses WHERE uri = $1 AND id = $2::bigint",
                                       2, params, cerr, sizeof cerr);
    if (!res) {
        snprintf(err, errlen, "%s; checking for %s failed too: %s", why, uri, cerr);
        return -1;
    }
    bool written = PQntuples(res) > 0;
    PQclear(res);
    if (!written)
        snprintf(err, errlen, "%s; %s is not in the database, so it was not written", why, uri);
    return written ? 0 : -1;
}

static int announce_insert(db_conn *c, const char *const params[5], int64_t *id, char *err,
                           size_t errlen)
{
    PGresult *res = db_exec(c, "ingress_announce_id", "SELECT timestamp_id('statuses')", 0, NULL,
                            err, errlen);
    if (!res)
        return -1;
    char ids[24];
    snprintf(ids, sizeof ids, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    const char *p[] = {ids, params[0], params[1], params[2], params[3], params[4]};
    res = db_exec(
        c, "ingress_announce_insert",
        "WITH conv AS (INSERT INTO conversations (parent_status_id, parent_account_id, created_at, "
        "  updated_at) VALUES ($1, $2, " DB_NOW ", " DB_NOW ") RETURNING id), "
        "st AS (INSERT INTO statuses (id, account_id, reblog_of_id, uri, created_at, updated_at, "
        "  visibility, local, conversation_id) "
        "  SELECT $1, $2, $3, $4, coalesce($5::timestamp, " DB_NOW "), " DB_NOW ", "
        "  $6::integer, false, conv.id FROM conv RETURNING id), "
        "ss AS (INSERT INTO status_stats (status_id, reblogs_count, created_at, updated_at) "
        "  SELECT $3, 1, " DB_NOW ", " DB_NOW " FROM st "
        "  ON CONFLICT (status_id) DO UPDATE SET "
        "  reblogs_count = status_stats.reblogs_count + 1, updated_at = EXCLUDED.updated_at) "
        "INSERT INTO account_stats (account_id, statuses_count, created_at, updated_at, "
        "  last_status_at) "
        "SELECT $2, 1, " DB_NOW ", " DB_NOW ", " DB_NOW " FROM st "
        "  WHERE $6::integer <> 3 "
        "ON CONFLICT (account_id) DO UPDATE SET statuses_count = account_stats.statuses_count + 1, "
        "  last_status_at = EXCLUDED.last_status_at, updated_at = EXCLUDED.updated_at",
        6, p, err, errlen);
    if (!res && (strcmp(db_conn_sqlstate(c), "08006") != 0 ||
                 announce_written(c, params[2], ids, err, errlen) != 0))
        return -1;
    PQclear(res);
    *id = strtoll(ids, NULL, 10);
    return 0;
}

/* reblog_of_local_account? && !reblog_by_following_group_account? */
static int announce_notifies(db_conn *c, const char *acct, const ingress_status_row *orig,
                             bool *yes, char *err, size_t errlen)
{
    *yes = false;
    if (!orig->author_local)
        return 0;
    char author[24];
    snprintf(author, sizeof author, "%" PRId64, orig->account_id);
    const char *params[] = {acct, author};
    PGresult *res = db_exec(c, "ingress_announce_group",
                            "SELECT coalesce(a.actor_type = 'Group', false) AND EXISTS (SELECT 1 "
                            "FROM follows WHERE account_id = $2 AND target_account_id = $1) "
                            "FROM accounts a WHERE a.id = $1",
                            2, params, err, errlen);
    if (!res)
        return -1;
    *yes = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] != 't';
    PQclear(res);
    return 0;
}

ingress_outcome ingress_announce_store(q_ctx *ctx, services *s, const ingress_account *actor,
                                       const ap_activity *a, const ingress_status_row *orig,
                                       char *err, size_t errlen)
{
    char acct[24], origs[24], vis[8], published[32];
    snprintf(acct, sizeof acct, "%" PRId64, actor->id);
    snprintf(origs, sizeof origs, "%" PRId64, orig->id);
    snprintf(vis, sizeof vis, "%d", ingress_announce_visibility(a->root, actor->followers_url));
    bool has_published = announce_published(a->root, published, sizeof published);
    const char *params[] = {acct, origs, a->id, has_published ? published : NULL, vis};

    db_conn *c = db_pool_acquire(s->db);
    ingress_outcome out = INGRESS_FAILED;
    int64_t id = 0;
    bool notify = false;
    int rc = announce_exists(c, acct, origs, a->id, err, errlen);
    if (rc == 1) {
        out = INGRESS_STORED;
    } else if (rc == 0 && announce_insert(c, params, &id, err, errlen) == 0) {
        out = INGRESS_STORED;
        if (announce_notifies(c, acct, orig, &notify, err, errlen) != 0)
            base_log(BASE_LOG_WARN, "ingress: no reblog notification for status %" PRId64 ": %s", id,
                  err);
    }
    db_pool_release(s->db, c);
    if (!id)
        return out;
    char args[160];
    if (notify) {
        snprintf(args, sizeof args, "[%" PRId64 ",%" PRId64 ",\"Status\",\"reblog\"]",
                 orig->account_id, id);
        ingress_push(ctx, "LocalNotificationWorker", "default", "true", args, 0);
    }
    snprintf(args, sizeof args, "[%" PRId64 "]", id);
    ingress_push(ctx, "DistributionWorker", "default", "true", args, 0);
    return INGRESS_STORED;
}
