/* q_sched.c -- periodic jobs in sidekiq-scheduler's syntax, each firing enqueued
 * exactly once across any number of processes and hosts.
 *
 * Every firing has a time t that all processes compute alike: cron lines from
 * the clock; `every` and `in` from an anchor stored once in Redis (the first
 * process to see the schedule sets it); `interval` from the last firing recorded
 * in Redis. A firing is claimed and enqueued by one Lua script: ZADD NX t into
 * sidekiq-scheduler:pushed:<name> (the key Ruby's sidekiq-scheduler uses for the
 * same purpose), and only if that added a member, push the job and update
 * sidekiq-scheduler:last_times/next_times for its Web tab. Claim and push cannot
 * be separated by a crash, and a process whose clock is off by less than the
 * configured skew computes the same t. Firings found late by more than the skew
 * (an outage) follow the missed policy: skip them, or run the latest one once. */
#include "q_internal.h"

#include <hiredis/hiredis.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define Q_SCHED_DAY 86400.0

struct q_sched {
    q_sched_cfg cfg;
    q_conn *conn;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;                /* mu */
    bool started;             /* the thread runs (set before it starts) */
    double *next_cron;        /* per schedule: next cron firing (thread-owned) */
    double *anchor;           /* every/in: first firing time (thread-owned) */
    double *last_local;       /* last firing handled by this process (thread-owned) */
};

static const char *q_sched_fire_lua =
    "local want = {'zset', 'set', 'list', 'hash', 'hash'}\n"
    "for i = 1, 5 do\n"
    "  local t = redis.call('TYPE', KEYS[i])['ok']\n"
    "  if t ~= 'none' and t ~= want[i] then\n"
    "    return redis.error_reply('WRONGTYPE ' .. KEYS[i] .. ' holds a ' .. t .. ', not a ' ..\n"
    "      want[i] .. '; the firing was not recorded')\n"
    "  end\n"
    "end\n"
    "if redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[1]) == 0 then return 0 end\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[7])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[7]))\n"
    "redis.call('SADD', KEYS[2], ARGV[3])\n"
    "redis.call('LPUSH', KEYS[3], ARGV[2])\n"
    "redis.call('HSET', KEYS[4], ARGV[4], ARGV[5])\n"
    "redis.call('HSET', KEYS[5], ARGV[4], ARGV[6])\n"
    "return 1\n";

int q_schedule_set_timing(q_schedule *s, const char *kind, const char *value, char *err,
                          size_t errlen)
{
    snprintf(s->expr, sizeof s->expr, "%s", value);
    if (strcmp(kind, "cron") == 0) {
        s->kind = Q_SCHED_CRON;
        return q_cron_parse(&s->cron, value, err, errlen);
    }
    if (strcmp(kind, "at") == 0) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(value, "%Y-%m-%d %H:%M:%S", &tm);
        if (!end || (*end && strcmp(end, " UTC") != 0 && strcmp(end, " +0000") != 0)) {
            snprintf(err, errlen, "schedule %s: at '%s' must be 'YYYY-MM-DD HH:MM:SS' (UTC)", s->name, value);
            return -1;
        }
        s->kind = Q_SCHED_AT;
        s->at = (double)timegm(&tm);
        return 0;
    }
    double d = q_duration_parse(value);
    if (d <= 0) {
        snprintf(err, errlen, "schedule %s: %s '%s' is not a duration like 5m, 1h30m or 1 minute",
                 s->name, kind, value);
        return -1;
    }
    if (strcmp(kind, "every") == 0)
        s->kind = Q_SCHED_EVERY;
    else if (strcmp(kind, "interval") == 0)
        s->kind = Q_SCHED_INTERVAL;
    else if (strcmp(kind, "in") == 0)
        s->kind = Q_SCHED_IN;
    else {
        snprintf(err, errlen, "schedule %s: unknown timing '%s' (cron, every, interval, at, in)", s->name, kind);
        return -1;
    }
    s->period = d;
    return 0;
}

void q_schedule_free(q_schedule *s)
{
    free(s->args_json);
    free(s->retry_json);
    q_tz_free(&s->cron.zone);
}

static void q_sched_time_string(double t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%S +0000", &tm);
}

/* How long claimed firings are remembered: covers skew and the longest gap. */
static double q_sched_memory(const q_sched *sc, const q_schedule *s)
{
    double m = Q_SCHED_DAY + sc->cfg.max_skew;
    return s->period * 2 > m ? s->period * 2 : m;
}

/* Claims firing t and enqueues it. Returns 1 if we did, 0 if another process
 * did, -1 on Redis failure. */
static int q_sched_fire(q_sched *sc, const q_schedule *s, double t, double next)
{
    q_push p = {.klass = s->klass, .queue = s->queue, .args_json = s->args_json,
                .retry_json = s->retry_json, .omit_retry = s->retry_json == NULL};
    char *payload = q_client_build(&p, sc->cfg.ts, NULL);
    char key[200], qkey[160], ts[24], last[40], nexts[40], mem[24];
    snprintf(key, sizeof key, "sidekiq-scheduler:pushed:%s", s->name);
    snprintf(qkey, sizeof qkey, "queue:%s", s->queue);
    snprintf(ts, sizeof ts, "%.0f", t);
    snprintf(mem, sizeof mem, "%.0f", q_sched_memory(sc, s));
    q_sched_time_string(t, last, sizeof last);
    q_sched_time_string(next, nexts, sizeof nexts);
    const char *argv[] = {key, "queues", qkey, "sidekiq-scheduler:last_times",
                          "sidekiq-scheduler:next_times", ts, payload, s->queue, s->name, last,
                          nexts, mem};
    redisReply *r = q_conn_eval(sc->conn, q_sched_fire_lua, 5, 12, argv, NULL);
    free(payload);
    int rc = r && r->type == REDIS_REPLY_INTEGER ? (int)r->integer : -1;
    if (rc < 0 && r && r->type == REDIS_REPLY_ERROR)
        base_log(BASE_LOG_ERROR, "schedule %s: Redis refused the firing: %s", s->name, r->str);
    q_reply_free(r);
    return rc;
}

/* The last firing recorded in Redis (0 if none). */
static double q_sched_last_fired(q_sched *sc, const q_schedule *s)
{
    redisReply *r = q_conn_cmd(sc->conn, "ZREVRANGE sidekiq-scheduler:pushed:%s 0 0 WITHSCORES", s->name);
    double last = 0;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2)
        last = atof(r->element[1]->str);
    q_reply_free(r);
    return last;
}

/* The shared anchor of an every/in/interval schedule, set by the first process. */
static double q_sched_anchor(q_sched *sc, const q_schedule *s, double now)
{
    double first = s->kind == Q_SCHED_EVERY && s->first_in > 0 ? s->first_in : s->period;
    char want[32];
    snprintf(want, sizeof want, "%.0f", ceil(now + first));
    long ttl = (long)(q_sched_memory(sc, s) + first);
    redisReply *r = q_conn_cmd(sc->conn, "SET scotty:scheduler:anchor:%s %s NX EX %ld", s->name, want, ttl);
    q_reply_free(r);
    r = q_conn_cmd(sc->conn, "GET scotty:scheduler:anchor:%s", s->name);
    double a = r && r->type == REDIS_REPLY_STRING ? atof(r->str) : 0;
    q_reply_free(r);
    return a;
}

/* The firing due now for schedule i (0 if none) and the one after it. */
static double q_sched_due(q_sched *sc, int i, double now, double *next)
{
    const q_schedule *s = &sc->cfg.schedules[i];
    double t = 0;
    *next = 0;
    switch (s->kind) {
    case Q_SCHED_CRON:
        if (sc->next_cron[i] > 0 && sc->next_cron[i] <= now) {
            t = sc->next_cron[i];
            double n;
            while ((n = q_cron_next(&s->cron, t)) > 0 && n <= now)
                t = n; /* several passed (outage): only the latest one counts */
            sc->next_cron[i] = q_cron_next(&s->cron, t);
        }
        *next = sc->next_cron[i];
        break;
    case Q_SCHED_EVERY:
        if (sc->anchor[i] <= 0)
            sc->anchor[i] = q_sched_anchor(sc, s, now);
        if (sc->anchor[i] > 0 && now >= sc->anchor[i])
            t = sc->anchor[i] + floor((now - sc->anchor[i]) / s->period) * s->period;
        *next = t > 0 ? t + s->period : sc->anchor[i];
        break;
    case Q_SCHED_INTERVAL: {
        double last = q_sched_last_fired(sc, s);
        if (last <= 0 && sc->anchor[i] <= 0)
            sc->anchor[i] = q_sched_anchor(sc, s, now);
        double due = last > 0 ? last + s->period : sc->anchor[i];
        if (due > 0 && due <= now)
            t = floor(due);
        *next = t > 0 ? t + s->period : due;
        break;
    }
    case Q_SCHED_AT:
        t = s->at <= now ? s->at : 0;
        *next = s->at;
        break;
    case Q_SCHED_IN:
        if (sc->anchor[i] <= 0)
            sc->anchor[i] = q_sched_anchor(sc, s, now);
        t = sc->anchor[i] > 0 && sc->anchor[i] <= now ? sc->anchor[i] : 0;
        *next = sc->anchor[i];
        break;
    }
    if (t > 0 && t <= sc->last_local[i])
        t = 0;
    return t;
}

static void q_sched_tick(q_sched *sc)
{
    double now = base_now();
    for (int i = 0; i < sc->cfg.n; i++) {
        const q_schedule *s = &sc->cfg.schedules[i];
        if (!s->enabled)
            continue;
        double next;
        double t = q_sched_due(sc, i, now, &next);
        if (t <= 0)
            continue;
        bool late = now - t > sc->cfg.max_skew + 2;
        sc->last_local[i] = t;
        if (late && s->kind != Q_SCHED_INTERVAL && sc->cfg.missed == Q_MISSED_SKIP) {
            char when[40];
            q_sched_time_string(t, when, sizeof when);
            base_log(BASE_LOG_WARN, "schedule %s: firing due at %s was missed (scotty or Redis was "
                  "down); skipped by the missed-run policy", s->name, when);
            continue;
        }
        int rc = q_sched_fire(sc, s, t, next);
        if (rc == 1)
            base_log(BASE_LOG_INFO, "schedule %s: enqueued %s on %s%s", s->name, s->klass, s->queue,
                  late ? " (late: catching up once)" : "");
        else if (rc < 0)
            sc->last_local[i] = 0; /* Redis down: try this firing again next tick */
    }
}

static void *q_sched_thread(void *arg)
{
    q_sched *sc = arg;
    for (;;) {
        pthread_mutex_lock(&sc->mu);
        if (!sc->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 500 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000)
                ts.tv_sec++, ts.tv_nsec -= 1000000000;
            pthread_cond_timedwait(&sc->cond, &sc->mu, &ts);
        }
        bool stop = sc->stop;
        pthread_mutex_unlock(&sc->mu);
        if (stop)
            break;
        if (q_conn_ensure(sc->conn) == 0)
            q_sched_tick(sc);
    }
    return NULL;
}

q_sched *q_sched_start(const q_sched_cfg *cfg, char *err, size_t errlen)
{
    q_sched *sc = calloc(1, sizeof *sc);
    sc->cfg = *cfg;
    if (sc->cfg.max_skew <= 0)
        sc->cfg.max_skew = 60;
    sc->conn = q_conn_new(&cfg->redis);
    sc->next_cron = calloc((size_t)cfg->n + 1, sizeof(double));
    sc->anchor = calloc((size_t)cfg->n + 1, sizeof(double));
    sc->last_local = calloc((size_t)cfg->n + 1, sizeof(double));
    pthread_mutex_init(&sc->mu, NULL);
    pthread_cond_init(&sc->cond, NULL);
    double now = base_now();
    bool connected = q_conn_ensure(sc->conn) == 0;
    for (int i = 0; i < cfg->n; i++) {
        const q_schedule *s = &cfg->schedules[i];
        if (s->kind != Q_SCHED_CRON)
            continue;
        double from = now - sc->cfg.max_skew - 2;
        if (cfg->missed == Q_MISSED_ONCE && connected) {
            double last = q_sched_last_fired(sc, s);
            if (last > 0 && last < from)
                from = last;
        }
        sc->next_cron[i] = q_cron_next(&s->cron, from);
    }
    sc->started = pthread_create(&sc->thread, NULL, q_sched_thread, sc) == 0;
    if (!sc->started) {
        snprintf(err, errlen, "cannot start the scheduler thread");
        q_sched_stop(sc);
        return NULL;
    }
    base_log(BASE_LOG_INFO, "scheduler: %d schedules, missed firings %s, clock skew tolerated %.0f s",
          cfg->n, cfg->missed == Q_MISSED_ONCE ? "run once" : "skipped", sc->cfg.max_skew);
    return sc;
}

void q_sched_stop(q_sched *sc)
{
    if (!sc)
        return;
    pthread_mutex_lock(&sc->mu);
    sc->stop = true;
    pthread_cond_broadcast(&sc->cond);
    pthread_mutex_unlock(&sc->mu);
    if (sc->started)
        pthread_join(sc->thread, NULL);
    q_conn_free(sc->conn);
    free(sc->next_cron);
    free(sc->anchor);
    free(sc->last_local);
    free(sc);
}
