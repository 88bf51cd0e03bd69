/* q_tz.c -- UTC offsets of a named time zone, read from the system's zoneinfo
 * (TZif) files, for cron lines that name a zone. glibc's own zone handling goes
 * through the process-wide TZ variable, which threads cannot share safely.
 * Times after the file's last transition keep its last offset (Debian ships
 * files with transitions listed up to 2037). */
#include "queues.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t q_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    if (n == 4)
        return (int32_t)(uint32_t)v;
    return (int64_t)v;
}

int q_tz_load(q_tz *z, const char *name, char *err, size_t errlen)
{
    memset(z, 0, sizeof *z);
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0 || strcmp(name, "GMT") == 0)
        return 0;
    if (strstr(name, "..") || name[0] == '/') {
        snprintf(err, errlen, "time zone '%s' is not a zone name", name);
        return -1;
    }
    char path[512];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", name);
    FILE *f = fopen(path, "rb");
    unsigned char *d = malloc(1 << 20);
    size_t n = f ? fread(d, 1, 1 << 20, f) : 0;
    if (f)
        fclose(f);
    int rc = -1;
    if (n < 44 || memcmp(d, "TZif", 4) != 0 || d[4] < '2') {
        snprintf(err, errlen, "time zone '%s' not found or unreadable in /usr/share/zoneinfo "
                 "(install tzdata)", name);
        goto out;
    }
    /* Skip the 32-bit block to the 64-bit one. */
    size_t cnt[6];
    for (int i = 0; i < 6; i++)
        cnt[i] = (size_t)q_be(d + 20 + 4 * i, 4);
    size_t off = 44 + cnt[3] * 5 + cnt[4] * 6 + cnt[5] + cnt[2] * 8 + cnt[1] + cnt[0];
    if (off + 44 > n || memcmp(d + off, "TZif", 4) != 0)
        goto bad;
    for (int i = 0; i < 6; i++)
        cnt[i] = (size_t)q_be(d + off + 20 + 4 * i, 4);
    size_t timecnt = cnt[3], typecnt = cnt[4];
    const unsigned char *p = d + off + 44;
    if (p + timecnt * 9 + typecnt * 6 > d + n || typecnt == 0)
        goto bad;
    z->n = timecnt;
    z->when = calloc(timecnt ? timecnt : 1, sizeof(int64_t));
    z->offset = calloc(timecnt ? timecnt : 1, sizeof(int32_t));
    const unsigned char *idx = p + timecnt * 8, *types = idx + timecnt;
    for (size_t i = 0; i < timecnt; i++) {
        z->when[i] = q_be(p + i * 8, 8);
        size_t t = idx[i] < typecnt ? idx[i] : 0;
        z->offset[i] = (int32_t)q_be(types + t * 6, 4);
    }
    z->initial = (int32_t)q_be(types, 4);
    rc = 0;
    goto out;
bad:
    snprintf(err, errlen, "time zone file %s is damaged", path);
out:
    free(d);
    return rc;
}

long q_tz_offset(const q_tz *z, int64_t t)
{
    if (z->n == 0 || t < z->when[0])
        return z->initial;
    size_t lo = 0, hi = z->n; /* last transition <= t */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (z->when[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->offset[lo];
}

void q_tz_free(q_tz *z)
{
    free(z->when);
    free(z->offset);
    memset(z, 0, sizeof *z);
}
