/* fuzz_cron.c -- libFuzzer target for the schedule parsers: cron lines
 * (q_cron_parse, then q_cron_next), durations (q_duration_parse) and
 * q_schedule_set_timing for every timing kind.
 *
 * Input: the first byte picks the kind (cron, every, interval, at, in, or an unknown
 * one), the rest is the value. Properties: no crash or undefined behaviour; an
 * accepted duration or period is finite and positive; a cron line's next firing is 0
 * (never) or strictly after the start and itself a firing of the line. */
#include "queues.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const fz_kinds[] = {"cron", "every", "interval", "at", "in", "weekly"};

static bool fz_cron_matches(const q_cron *c, double t)
{
    time_t local = (time_t)t + q_tz_offset(&c->zone, (int64_t)t);
    struct tm tm;
    gmtime_r(&local, &tm);
    bool md = c->mdays >> tm.tm_mday & 1, wd = c->wdays >> tm.tm_wday & 1;
    bool day = (c->mday_star || c->wday_star) ? md && wd : md || wd;
    return day && (c->months >> (tm.tm_mon + 1) & 1) && (c->hours >> tm.tm_hour & 1) &&
           (c->minutes >> tm.tm_min & 1) && (c->seconds >> tm.tm_sec & 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 300)
        return 0;
    const char *kind = fz_kinds[data[0] % (sizeof fz_kinds / sizeof fz_kinds[0])];
    char *value = strndup((const char *)data + 1, size - 1);
    char err[256];

    double d = q_duration_parse(value);
    if (d != -1 && !(isfinite(d) && d > 0))
        abort(); /* a duration is -1 or a positive number of seconds */

    q_schedule s;
    memset(&s, 0, sizeof s);
    snprintf(s.name, sizeof s.name, "fuzz");
    if (q_schedule_set_timing(&s, kind, value, err, sizeof err) == 0) {
        if (s.kind == Q_SCHED_CRON) {
            double start = 1767225600; /* 2026-01-01 00:00:00 UTC */
            double next = q_cron_next(&s.cron, start);
            if (next != 0 && (next <= start || !fz_cron_matches(&s.cron, next)))
                abort();
        } else if (s.kind != Q_SCHED_AT && !(isfinite(s.period) && s.period > 0)) {
            abort();
        }
    }
    q_schedule_free(&s);
    free(value);
    return 0;
}
