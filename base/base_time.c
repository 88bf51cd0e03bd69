/* base_time.c -- ISO 8601 timestamps as ActivityPub documents carry them
 * (published, updated, endTime, a proof's expires, an emoji's updated), read the way
 * Ruby's String#to_datetime reads the forms servers send. */
#include "base.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

static bool base_time_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t base_time_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool base_time_parse(const char *s, int64_t *ms, int32_t *frac_ns)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0;
    int64_t ns = 0;
    if (!s || strlen(s) < 10 || !base_time_digits(s, 4, &y) || s[4] != '-' || !base_time_digits(s + 5, 2, &mo) ||
        s[7] != '-' || !base_time_digits(s + 8, 2, &d))
        return false;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        return false;
    const char *p = s + 10;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!base_time_digits(p, 2, &h) || p[2] != ':' || !base_time_digits(p + 3, 2, &mi))
            return false;
        p += 5;
        if (*p == ':') {
            if (!base_time_digits(p + 1, 2, &sec))
                return false;
            p += 3;
            if (*p == '.') {
                p++;
                if (!isdigit((unsigned char)*p))
                    return false;
                int64_t scale = 100000000;
                while (isdigit((unsigned char)*p)) {
                    ns += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                }
            }
        }
        if (h > 24 || mi > 59 || sec > 60 || (h == 24 && (mi || sec || ns)))
            return false;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1;
            p++;
            if (!base_time_digits(p, 2, &oh))
                return false;
            p += 2;
            if (*p == ':')
                p++;
            if (isdigit((unsigned char)*p)) {
                if (!base_time_digits(p, 2, &om))
                    return false;
                p += 2;
            }
            if (oh > 23 || om > 59)
                return false;
            oh *= sign;
            om *= sign;
        }
    }
    if (*p != '\0')
        return false;
    int64_t secs = base_time_days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + mi * 60 + sec -
                   ((int64_t)oh * 3600 + (int64_t)om * 60);
    if (ms)
        *ms = secs * 1000 + ns / 1000000;
    if (frac_ns)
        *frac_ns = (int32_t)ns;
    return true;
}

