/* q_sched_view.c -- a schedule's last and next firing for operators: what
 * sidekiq-scheduler's Web tab reads (sidekiq-scheduler:last_times/next_times),
 * and where those say nothing yet, the time the scheduler (q_sched.c) will pick
 * from the clock, the shared anchor or the last claimed firing. */
#include "queues.h"

#include <hiredis/hiredis.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* "2026-11-24 04:17:00 +0000" (q_sched.c) or Ruby's Time#to_s with any offset. */
static double q_sched_view_parse(const redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_STRING)
        return 0;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(r->str, "%Y-%m-%d %H:%M:%S", &tm);
    if (!end)
        return 0;
    double t = (double)timegm(&tm);
    int sign, hh, mm;
    char c;
    if (sscanf(end, " %c%2d%2d", &c, &hh, &mm) == 3 && (c == '+' || c == '-')) {
        sign = c == '-' ? -1 : 1;
        t -= sign * (hh * 3600 + mm * 60);
    }
    return t;
}

/* The next firing computed as q_sched_due does, from the anchor and last firing. */
static double q_sched_view_next(const q_schedule *s, double now, double anchor, double last)
{
    switch (s->kind) {
    case Q_SCHED_CRON:
        return q_cron_next(&s->cron, now);
    case Q_SCHED_AT:
        return s->at > now ? s->at : 0;
    case Q_SCHED_IN:
        return anchor > now ? anchor : 0;
    case Q_SCHED_EVERY:
        if (anchor <= 0)
            return 0;
        return anchor > now ? anchor : anchor + (floor((now - anchor) / s->period) + 1) * s->period;
    case Q_SCHED_INTERVAL:
        return last > 0 ? last + s->period : anchor;
    }
    return 0;
}

int q_schedule_times(q_conn *c, const q_schedule *s, double now, double *last, double *next,
                     char *err, size_t errlen)
{
    *last = *next = 0;
    if (q_conn_ensure(c) != 0) {
        snprintf(err, errlen, "cannot read schedule %s from Redis: %s", s->name, q_conn_error(c));
        return -1;
    }
    q_conn_appendf(c, "HGET sidekiq-scheduler:last_times %s", s->name);
    q_conn_appendf(c, "HGET sidekiq-scheduler:next_times %s", s->name);
    q_conn_appendf(c, "ZREVRANGE sidekiq-scheduler:pushed:%s 0 0 WITHSCORES", s->name);
    q_conn_appendf(c, "GET scotty:scheduler:anchor:%s", s->name);
    redisReply *r[4] = {NULL, NULL, NULL, NULL};
    int rc = 0;
    for (int i = 0; i < 4; i++) {
        r[i] = q_conn_reply(c);
        if (!r[i]) {
            snprintf(err, errlen, "cannot read schedule %s from Redis: %s", s->name, q_conn_error(c));
            rc = -1;
            break;
        }
    }
    if (rc == 0) {
        double claimed = r[2]->type == REDIS_REPLY_ARRAY && r[2]->elements == 2
                             ? atof(r[2]->element[1]->str) : 0;
        double anchor = r[3]->type == REDIS_REPLY_STRING ? atof(r[3]->str) : 0;
        *last = q_sched_view_parse(r[0]);
        if (*last <= 0)
            *last = claimed;
        double recorded = q_sched_view_parse(r[1]);
        if (!s->enabled)
            *next = 0;
        else if (recorded >= floor(now))
            *next = recorded;
        else
            *next = q_sched_view_next(s, now, anchor, claimed);
    }
    for (int i = 0; i < 4; i++)
        q_reply_free(r[i]);
    return rc;
}
