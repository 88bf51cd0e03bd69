/* q_cron.c -- cron lines as sidekiq-scheduler (fugit) reads them: 5 fields
 * (minute hour day-of-month month day-of-week) or 6 with seconds first, names for
 * months and days, ranges, steps, lists, @hourly-style shortcuts, and an optional
 * time zone name at the end (read from the system's zoneinfo files). When both
 * day fields are restricted, a day matches either, as in Vixie cron. Also the
 * duration strings of `every`/`interval`/`in` ("5m", "1h30m", "1 minute"). */
#include "queues.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *q_cron_months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                      "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *q_cron_days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* Reads a number or a three-letter name (names[i] means i + base). */
static int q_cron_value(const char *s, const char **names, int nnames, int base, int *out)
{
    for (int i = 0; i < nnames; i++)
        if (strncasecmp(s, names[i], 3) == 0 && !isalpha((unsigned char)s[3])) {
            *out = i + base;
            return 3;
        }
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || v < 0 || v > 99) /* no field goes past 59: keeps the cast exact */
        return -1;
    *out = (int)v;
    return (int)(end - s);
}

/* Parses one field into a bit set; returns 0 or -1. *star: field was "*". */
static int q_cron_field(const char *f, int lo, int hi, const char **names, int nnames, int base,
                        uint64_t *bits, bool *star)
{
    *bits = 0;
    *star = strcmp(f, "*") == 0 || strcmp(f, "?") == 0;
    const char *p = f;
    while (*p) {
        int a = lo, b = hi, step = 1, n;
        bool single = false;
        if (*p == '*' || *p == '?') {
            p++;
        } else {
            if ((n = q_cron_value(p, names, nnames, base, &a)) < 0)
                return -1;
            p += n;
            b = a;
            single = true;
            if (*p == '-') {
                if ((n = q_cron_value(p + 1, names, nnames, base, &b)) < 0)
                    return -1;
                p += n + 1;
                single = false;
            }
        }
        if (*p == '/') {
            char *end;
            long st = strtol(p + 1, &end, 10);
            if (end == p + 1 || st <= 0)
                return -1;
            step = st > 64 ? 64 : (int)st; /* a step past the range fires once, at the start */
            p = end;
            if (single)
                b = hi; /* "5/15" means from 5 to the end, every 15 */
        }
        if (hi == 7) { /* day of week: 7 is Sunday too */
            if (a == 7 && b == 7)
                a = b = 0;
            else if (b == 7)
                b = 6, *bits |= 1;
        }
        if (a < lo || b > hi || a > b)
            return -1;
        for (int v = a; v <= b; v += step)
            *bits |= 1ULL << v;
        if (*p == ',')
            p++;
        else if (*p)
            return -1;
    }
    return 0;
}

int q_cron_parse(q_cron *c, const char *line, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    static const struct { const char *alias, *line; } aliases[] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
    };
    char buf[256 + 16]; /* the line, and room for an alias to grow into its fields */
    if (strlen(line) > 255) {
        snprintf(err, errlen, "cron line is longer than 255 bytes");
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", line);
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        size_t n = strlen(aliases[i].alias);
        if (strncmp(buf, aliases[i].alias, n) == 0 && (!buf[n] || buf[n] == ' ')) {
            char rest[256];
            memcpy(rest, buf + n, strlen(buf + n) + 1); /* at most 255 - n bytes and its NUL */
            snprintf(buf, sizeof buf, "%s%s", aliases[i].line, rest);
        }
    }
    char *fields[8];
    int nf = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, " \t", &save); t && nf < 8; t = strtok_r(NULL, " \t", &save))
        fields[nf++] = t;
    /* A last field that is not a cron field is a time zone. */
    if (nf >= 6 && (isalpha((unsigned char)fields[nf - 1][0]) || fields[nf - 1][0] == '+') &&
        strlen(fields[nf - 1]) > 3) {
        snprintf(c->tz, sizeof c->tz, "%s", fields[--nf]);
        if (q_tz_load(&c->zone, c->tz, err, errlen) != 0)
            return -1;
    }
    if (nf != 5 && nf != 6) {
        snprintf(err, errlen, "cron line '%s' must have 5 or 6 fields (got %d)", line, nf);
        goto fail;
    }
    int i = 0;
    bool star;
    c->has_seconds = nf == 6;
    if (c->has_seconds) {
        if (q_cron_field(fields[i++], 0, 59, NULL, 0, 0, &c->seconds, &star))
            goto bad;
    } else {
        c->seconds = 1;
    }
    if (q_cron_field(fields[i++], 0, 59, NULL, 0, 0, &c->minutes, &star) ||
        q_cron_field(fields[i++], 0, 23, NULL, 0, 0, &c->hours, &star) ||
        q_cron_field(fields[i++], 1, 31, NULL, 0, 0, &c->mdays, &c->mday_star) ||
        q_cron_field(fields[i++], 1, 12, q_cron_months, 12, 1, &c->months, &star) ||
        q_cron_field(fields[i++], 0, 7, q_cron_days, 7, 0, &c->wdays, &c->wday_star))
        goto bad;
    return 0;
bad:
    snprintf(err, errlen, "cron line '%s': field %d is not valid cron syntax", line, i);
fail:
    q_tz_free(&c->zone);
    return -1;
}

static bool q_cron_day_matches(const q_cron *c, const struct tm *tm)
{
    bool md = c->mdays >> tm->tm_mday & 1, wd = c->wdays >> tm->tm_wday & 1;
    if (c->mday_star || c->wday_star)
        return md && wd;
    return md || wd;
}

double q_cron_next(const q_cron *c, double after)
{
    time_t t = (time_t)after + 1;
    if (!c->has_seconds && t % 60)
        t += 60 - t % 60;
    for (int guard = 0; guard < 2000000; guard++) {
        long off = q_tz_offset(&c->zone, t);
        time_t local = t + off;
        struct tm tm;
        gmtime_r(&local, &tm);
        time_t next_local;
        if (!(c->months >> (tm.tm_mon + 1) & 1)) {
            tm.tm_mon++, tm.tm_mday = 1, tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        } else if (!q_cron_day_matches(c, &tm)) {
            tm.tm_mday++, tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        } else if (!(c->hours >> tm.tm_hour & 1)) {
            tm.tm_hour++, tm.tm_min = tm.tm_sec = 0;
        } else if (!(c->minutes >> tm.tm_min & 1)) {
            tm.tm_min++, tm.tm_sec = 0;
        } else if (!(c->seconds >> tm.tm_sec & 1)) {
            tm.tm_sec++;
        } else {
            return (double)t;
        }
        next_local = timegm(&tm); /* normalises overflowing fields */
        t = next_local - off;
    }
    return 0; /* never matches (e.g. 30 February) */
}

/* ---- durations ---- */

double q_duration_parse(const char *s)
{
    double total = 0;
    const char *p = s;
    bool any = false;
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        char *end;
        double v = strtod(p, &end);
        if (end == p)
            return -1;
        p = end;
        while (isspace((unsigned char)*p))
            p++;
        char unit[16] = "";
        int n = 0;
        while (isalpha((unsigned char)*p) && n < 15)
            unit[n++] = (char)tolower((unsigned char)*p++);
        unit[n] = '\0';
        double mult;
        if (!*unit || !strcmp(unit, "s") || !strncmp(unit, "sec", 3))
            mult = 1;
        else if (!strcmp(unit, "m") || !strncmp(unit, "min", 3))
            mult = 60;
        else if (!strcmp(unit, "h") || !strncmp(unit, "hour", 4))
            mult = 3600;
        else if (!strcmp(unit, "d") || !strncmp(unit, "day", 3))
            mult = 86400;
        else if (!strcmp(unit, "w") || !strncmp(unit, "week", 4))
            mult = 7 * 86400;
        else
            return -1;
        total += v * mult;
        any = true;
    }
    return any && total > 0 && total <= Q_DURATION_MAX ? total : -1;
}
