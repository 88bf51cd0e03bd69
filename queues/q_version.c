/* q_version.c -- which Sidekiq major version this process follows: the one the
 * operator gave (--sidekiq-version), else the one the Ruby Sidekiq processes in the
 * `processes` set report (scotty's own entries are skipped), else 8; and the job
 * timestamp format that goes with it unless one was given (8: milliseconds, as
 * Sidekiq 8 writes; 6 and 7: float seconds). Logs one line saying what and why. */
#include "q_internal.h"

#include <ctype.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define Q_VERSION_KINDS 8    /* distinct versions named in the log line */
#define Q_VERSION_LEN 32
#define Q_VERSION_SCAN 500   /* processes read per SSCAN step */

/* One version the Ruby processes report, and how many report it. */
typedef struct q_version_kind {
    char version[Q_VERSION_LEN];   /* "" = no version in the info */
    int major;
    int n;
} q_version_kind;

typedef struct q_version_tally {
    q_version_kind kinds[Q_VERSION_KINDS];
    int nkinds;
    int unnamed;                   /* processes of versions past Q_VERSION_KINDS */
    int total;
    int lowest, highest;           /* majors, 0 = no Ruby process */
} q_version_tally;

int q_version_of_info(const char *info, size_t len, char *version, size_t vlen)
{
    version[0] = '\0';
    json_t *doc = json_loadb(info, len, 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return 0;
    }
    json_t *v = json_object_get(doc, "version");
    int major = 6; /* no version: 6.x, or 7.0.0/7.0.1, which wrote the same info */
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strncmp(s, "scotty", 6) == 0 || !isdigit((unsigned char)s[0])) {
            json_decref(doc);
            return 0;
        }
        long m = strtol(s, NULL, 10);
        major = m < 6 ? 6 : m > 8 ? 8 : (int)m; /* older read as 6 does; newer as 8 */
        size_t i = 0;
        for (; s[i] && i + 1 < vlen; i++) /* for the log: printable ASCII only */
            version[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
        version[i] = '\0';
    }
    json_decref(doc);
    return major;
}

static void q_version_count(q_version_tally *t, int major, const char *version)
{
    t->total++;
    t->lowest = t->lowest == 0 || major < t->lowest ? major : t->lowest;
    t->highest = major > t->highest ? major : t->highest;
    for (int i = 0; i < t->nkinds; i++)
        if (strcmp(t->kinds[i].version, version) == 0) {
            t->kinds[i].n++;
            return;
        }
    if (t->nkinds == Q_VERSION_KINDS) {
        t->unnamed++;
        return;
    }
    snprintf(t->kinds[t->nkinds].version, Q_VERSION_LEN, "%s", version);
    t->kinds[t->nkinds].major = major;
    t->kinds[t->nkinds].n = 1;
    t->nkinds++;
}

/* Reads the info of one SSCAN step's members and counts the live Ruby ones. */
static int q_version_read_infos(q_conn *c, redisReply *members, q_version_tally *t, char *err,
                                size_t errlen)
{
    for (size_t i = 0; i < members->elements; i++) {
        const char *argv[3] = {"HGET", members->element[i]->str, "info"};
        size_t lens[3] = {4, members->element[i]->len, 4};
        q_conn_append(c, 3, argv, lens);
    }
    int rc = 0;
    for (size_t i = 0; i < members->elements; i++) {
        redisReply *r = q_conn_reply(c);
        if (!r) {
            snprintf(err, errlen, "%s", q_conn_error(c));
            return -1;
        }
        if (r->type == REDIS_REPLY_ERROR && rc == 0) {
            snprintf(err, errlen, "Redis refused HGET info of a process: %s", r->str);
            rc = -1;
        }
        char version[Q_VERSION_LEN];
        int major = r->type == REDIS_REPLY_STRING ? q_version_of_info(r->str, r->len, version,
                                                                      sizeof version) : 0;
        if (major) /* no info: its heartbeat expired (a dead process) */
            q_version_count(t, major, version);
        q_reply_free(r);
    }
    return rc;
}

static int q_version_scan(q_conn *c, q_version_tally *t, char *err, size_t errlen)
{
    char cursor[32] = "0";
    do {
        redisReply *r = q_conn_cmd(c, "SSCAN processes %s COUNT %d", cursor, Q_VERSION_SCAN);
        if (!r) {
            snprintf(err, errlen, "%s", q_conn_error(c));
            return -1;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
            snprintf(err, errlen, "Redis refused SSCAN processes: %s",
                     r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            q_reply_free(r);
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        int rc = q_version_read_infos(c, r->element[1], t, err, errlen);
        q_reply_free(r);
        if (rc != 0)
            return -1;
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

/* Oldest major first, then by version text: the same line whatever SSCAN's order. */
static int q_version_cmp(const void *a, const void *b)
{
    const q_version_kind *x = a, *y = b;
    return x->major != y->major ? x->major - y->major : strcmp(x->version, y->version);
}

/* "3 Ruby processes report 7.2.4" or "3 Ruby processes report 7.2.4 (2), 8.1.7 (1)". */
static void q_version_describe(q_version_tally *t, base_buf *b)
{
    qsort(t->kinds, (size_t)t->nkinds, sizeof t->kinds[0], q_version_cmp);
    base_buf_addf(b, "%d Ruby process%s report%s ", t->total, t->total == 1 ? "" : "es",
                  t->total == 1 ? "s" : "");
    for (int i = 0; i < t->nkinds; i++) {
        const char *v = t->kinds[i].version[0] ? t->kinds[i].version
                                               : "no version (6.x or 7.0.0-7.0.1)";
        base_buf_addf(b, "%s%s", i ? ", " : "", v);
        if (t->nkinds > 1)
            base_buf_addf(b, " (%d)", t->kinds[i].n);
    }
    if (t->unnamed)
        base_buf_addf(b, ", other versions (%d)", t->unnamed);
}

int q_version_choose(q_engine *e, q_conn *c, char *err, size_t errlen)
{
    q_retry_cfg *rc = &e->cfg.retry;
    base_buf why;
    base_buf_init(&why);
    bool mixed = false;
    if (rc->sidekiq_major != 0) {
        base_buf_adds(&why, "--sidekiq-version");
    } else {
        q_version_tally t = {0};
        char scan_err[Q_ERRLEN];
        if (q_version_scan(c, &t, scan_err, sizeof scan_err) != 0) {
            snprintf(err, errlen, "cannot read the processes set to choose the Sidekiq version to "
                     "follow (%s); start with --sidekiq-version 6|7|8", scan_err);
            base_buf_free(&why);
            return -1;
        }
        if (t.total == 0) {
            rc->sidekiq_major = 8;
            base_buf_adds(&why, "no Ruby Sidekiq process in Redis");
        } else {
            /* Mixed majors (a rolling upgrade): the oldest, because what scotty writes
             * must stay readable by every process; 8.x reads 7.x's float timestamps,
             * 6.x and 7.x misread 8.x's milliseconds. */
            rc->sidekiq_major = t.lowest;
            mixed = t.lowest != t.highest;
            q_version_describe(&t, &why);
            if (mixed)
                base_buf_addf(&why, "; following the oldest, which cannot read what Sidekiq %d "
                              "writes; pass --sidekiq-version to choose", t.highest);
        }
    }
    const char *ts_why = "";
    bool misread = false;
    if (!rc->ts_given) {
        rc->ts = rc->sidekiq_major >= 8 ? Q_TS_MILLIS : Q_TS_FLOAT;
    } else {
        misread = rc->ts == Q_TS_MILLIS && rc->sidekiq_major < 8;
        ts_why = misread ? " (--timestamps; Sidekiq 6 and 7 misread them as seconds)"
                         : " (--timestamps)";
    }
    base_log(mixed || misread ? BASE_LOG_WARN : BASE_LOG_INFO,
             "following Sidekiq %d (%s): its retry rules and Metrics keys, job timestamps in %s%s",
             rc->sidekiq_major, why.data, rc->ts == Q_TS_MILLIS ? "milliseconds" : "float seconds",
             ts_why);
    base_buf_free(&why);
    return 0;
}
