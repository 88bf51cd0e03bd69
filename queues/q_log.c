/* q_log.c -- one log line per event on stderr, for journald and humans.
 * Format: ISO-8601 UTC time, pid, level, message. The level is process-wide. */
#include "queues.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <stdatomic.h>

/* Written once at start-up (or by -v), read by every thread: atomic. */
static atomic_int q_log_min = Q_LOG_INFO;

void q_log_set_level(q_log_level level) { atomic_store(&q_log_min, (int)level); }

bool q_log_enabled(q_log_level level) { return (int)level >= atomic_load(&q_log_min); }

void q_log(q_log_level level, const char *fmt, ...)
{
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if (!q_log_enabled(level))
        return;
    char line[4096];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ pid=%d %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, (int)getpid(), names[level]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    /* One fputs per line: glibc locks the stream, so lines never interleave. */
    size_t len = 0;
    while (line[len])
        len++;
    line[len] = '\n';
    fwrite(line, 1, len + 1, stderr);
}
