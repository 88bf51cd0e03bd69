/* q_dead.c -- trimming Sidekiq's `dead` sorted set the way DeadSet#kill and
 * DeadSet#trim do: first every job that died more than dead_timeout_in_seconds
 * ago (by score), then by rank everything but the newest, with Sidekiq's own
 * bound (ZREMRANGEBYRANK dead 0 -dead_max_jobs). Used when a job dies and by
 * the housekeeping job that trims on a schedule. */
#include "q_internal.h"

#include <hiredis/hiredis.h>
#include <stdio.h>

void q_dead_bounds(double now, long timeout, int max_jobs, char cutoff[40], char rank[24])
{
    base_json_float(now - (double)timeout, cutoff, 40);
    snprintf(rank, 24, "-%d", max_jobs);
}

int q_dead_trim_append(q_conn *c, double now, long timeout, int max_jobs)
{
    char cutoff[40], rank[24];
    q_dead_bounds(now, timeout, max_jobs, cutoff, rank);
    q_conn_appendf(c, "ZREMRANGEBYSCORE dead -inf %s", cutoff);
    q_conn_appendf(c, "ZREMRANGEBYRANK dead 0 %s", rank);
    return 2;
}

int q_dead_trim(q_conn *c, double now, long timeout, int max_jobs, long *by_age, long *by_size,
                char *err, size_t errlen)
{
    if (q_conn_ensure(c) != 0) {
        snprintf(err, errlen, "cannot trim the dead set: %s", q_conn_error(c));
        return -1;
    }
    q_conn_appendf(c, "MULTI");
    int n = 2 + q_dead_trim_append(c, now, timeout, max_jobs);
    q_conn_appendf(c, "EXEC");
    redisReply *last = NULL;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        redisReply *r = q_conn_reply(c);
        if (!r) {
            snprintf(err, errlen, "cannot trim the dead set: %s", q_conn_error(c));
            q_reply_free(last);
            return -1;
        }
        if (r->type == REDIS_REPLY_ERROR && rc == 0) {
            snprintf(err, errlen, "Redis refused to trim the dead set: %s", r->str);
            rc = -1;
        }
        q_reply_free(last);
        last = r;
    }
    if (rc == 0 && (last->type != REDIS_REPLY_ARRAY || last->elements != 2)) {
        snprintf(err, errlen, "Redis did not run the dead set trim (EXEC answered no results)");
        rc = -1;
    }
    if (rc == 0) {
        if (by_age)
            *by_age = last->element[0]->type == REDIS_REPLY_INTEGER ? (long)last->element[0]->integer : 0;
        if (by_size)
            *by_size = last->element[1]->type == REDIS_REPLY_INTEGER ? (long)last->element[1]->integer : 0;
    }
    q_reply_free(last);
    return rc;
}
