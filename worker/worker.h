/* worker.h -- the scotty process: entry point, process title, systemd notify. */
#ifndef SCOTTY_WORKER_H
#define SCOTTY_WORKER_H

#include "queues.h"

#include <signal.h>

int worker_main(int argc, char **argv);

/* proctitle.c: call once from main before any thread starts. */
void proctitle_init(int argc, char **argv);
void proctitle_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* sdnotify.c */
void sdnotify_send(const char *msg);
/* Seconds between WATCHDOG=1 pings (half of WATCHDOG_USEC), 0 if none wanted. */
double sdnotify_watchdog_interval(void);

/* startup_wait.c: wait, with backoff, until the server answers. `signals` are
 * blocked and taken with sigwait (TERM/INT end the wait); `watchdog` is
 * sdnotify_watchdog_interval(). Return 0 when it is up, 1 when TERM or INT came
 * first (exit cleanly), -1 with err when it refuses the settings (exit). */
struct db_settings;
int startup_wait_db(const struct db_settings *s, const sigset_t *signals, double watchdog, char *err,
                    size_t errlen);
int startup_wait_redis(const q_redis_opts *o, const sigset_t *signals, double watchdog, char *err,
                       size_t errlen);

#endif
