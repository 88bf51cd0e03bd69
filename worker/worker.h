/* worker.h -- the scotty process: entry point, process title, systemd notify. */
#ifndef SCOTTY_WORKER_H
#define SCOTTY_WORKER_H

#include "queues.h"

int worker_main(int argc, char **argv);

/* proctitle.c: call once from main before any thread starts. */
void proctitle_init(int argc, char **argv);
void proctitle_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* sdnotify.c */
void sdnotify_send(const char *msg);
/* Seconds between WATCHDOG=1 pings (half of WATCHDOG_USEC), 0 if none wanted. */
double sdnotify_watchdog_interval(void);

#endif
