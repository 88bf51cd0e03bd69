/* startup_wait.c -- starting during an outage: until PostgreSQL or Redis answers,
 * scotty waits with backoff instead of exiting, logs one line when it starts
 * waiting and one when the server is back, and tells systemd why
 * (STATUS=waiting for PostgreSQL: <reason>), keeping its start timeout and
 * watchdog alive. A server that answers but refuses the settings (password, user,
 * database) is a configuration error and ends the wait at once; TERM or INT ends
 * it cleanly. */
#include "storage.h"
#include "worker.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STARTUP_FIRST_DELAY_S 0.5
#define STARTUP_MAX_DELAY_S 10.0
#define STARTUP_CONNECT_TIMEOUT_MS 5000 /* a probe's connect: q_conn's, libpq's default */

typedef enum { STARTUP_UP, STARTUP_DOWN, STARTUP_REFUSED } startup_state;

/* One look at the server: why says what is wrong when it is not up. */
typedef startup_state (*startup_probe)(const void *arg, char *why, size_t len);

/* Waits for a signal in `set` for up to `seconds`. Returns the signal, or 0. */
static int startup_sleep(const sigset_t *set, double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    int sig = sigtimedwait(set, NULL, &ts);
    return sig > 0 ? sig : 0;
}

static int startup_wait(const char *server, const char *where, startup_probe probe, const void *arg,
                        const sigset_t *signals, double watchdog, char *err, size_t errlen)
{
    double delay = STARTUP_FIRST_DELAY_S, since = base_monotonic();
    bool waiting = false;
    for (;;) {
        char why[600];
        startup_state st = probe(arg, why, sizeof why);
        if (st == STARTUP_UP) {
            if (waiting)
                base_log(BASE_LOG_INFO, "%s at %s is up after %.1f s; starting", server, where,
                      base_monotonic() - since);
            return 0;
        }
        if (st == STARTUP_REFUSED) {
            snprintf(err, errlen, "%s", why);
            return -1;
        }
        if (!waiting)
            base_log(BASE_LOG_WARN, "waiting for %s at %s before starting: %s (retrying with backoff)",
                  server, where, why);
        waiting = true;
        char msg[700];
        snprintf(msg, sizeof msg, "STATUS=waiting for %s: %s", server, why);
        sdnotify_send(msg);
        /* systemd's start timeout would stop a unit that has not sent READY=1 yet */
        snprintf(msg, sizeof msg, "EXTEND_TIMEOUT_USEC=%lld",
                 (long long)((delay + STARTUP_CONNECT_TIMEOUT_MS / 1000.0 + 5.0) * 1e6));
        sdnotify_send(msg);
        for (double end = base_monotonic() + delay, now; (now = base_monotonic()) < end;) {
            if (watchdog > 0)
                sdnotify_send("WATCHDOG=1");
            double step = end - now;
            if (watchdog > 0 && step > watchdog)
                step = watchdog;
            int sig = startup_sleep(signals, step);
            if (sig == SIGTERM || sig == SIGINT) {
                base_log(BASE_LOG_INFO, "received %s while waiting for %s; exiting",
                      sig == SIGTERM ? "TERM" : "INT", server);
                return 1;
            }
        }
        delay = delay * 2 > STARTUP_MAX_DELAY_S ? STARTUP_MAX_DELAY_S : delay * 2;
    }
}

static startup_state startup_probe_db(const void *arg, char *why, size_t len)
{
    switch (db_server_probe(arg, why, len)) {
    case DB_SERVER_UP:
        return STARTUP_UP;
    case DB_SERVER_DOWN:
        return STARTUP_DOWN;
    default:
        return STARTUP_REFUSED;
    }
}

int startup_wait_db(const db_settings *s, const sigset_t *signals, double watchdog, char *err,
                    size_t errlen)
{
    return startup_wait("PostgreSQL", s->describe, startup_probe_db, s, signals, watchdog, err,
                        errlen);
}

/* Down while nothing listens or the server loads its data; refused when it
 * answers but will not take these settings (password, database, TLS). */
static startup_state startup_probe_redis(const void *arg, char *why, size_t len)
{
    q_conn *c = q_conn_new(arg);
    startup_state st = STARTUP_UP;
    if (q_conn_ensure(c) != 0) {
        snprintf(why, len, "%s", q_conn_error(c));
        st = q_conn_refused(c) ? STARTUP_REFUSED : STARTUP_DOWN;
    } else {
        redisReply *r = q_conn_cmd(c, "PING");
        if (!r) {
            snprintf(why, len, "no answer to PING: %s", q_conn_error(c));
            st = STARTUP_DOWN;
        } else if (r->type == REDIS_REPLY_ERROR) {
            snprintf(why, len, "Redis answered PING with: %s", r->str);
            st = strncmp(r->str, "LOADING", 7) == 0 ? STARTUP_DOWN : STARTUP_REFUSED;
        }
        q_reply_free(r);
    }
    q_conn_free(c);
    return st;
}

int startup_wait_redis(const q_redis_opts *o, const sigset_t *signals, double watchdog, char *err,
                       size_t errlen)
{
    char where[600];
    q_redis_describe(o, where, sizeof where);
    return startup_wait("Redis", where, startup_probe_redis, o, signals, watchdog, err, errlen);
}
