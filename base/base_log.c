/* base_log.c -- one log line per event on stderr, for journald and humans.
 * Format: ISO-8601 UTC time, pid, level, message. The level is process-wide.
 * Messages carry remote text (URLs, error strings), so control characters in them
 * are escaped: every event is exactly one line. */
#include "base.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <stdatomic.h>

/* Written once at start-up (or by -v), read by every thread: atomic. */
static atomic_int base_log_min = BASE_LOG_INFO;

void base_log_set_level(base_log_level level) { atomic_store(&base_log_min, (int)level); }

bool base_log_enabled(base_log_level level) { return (int)level >= atomic_load(&base_log_min); }

void base_log(base_log_level level, const char *fmt, ...)
{
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if (!base_log_enabled(level))
        return;
    char line[4096];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ pid=%d %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, (int)getpid(), names[level]);
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Control bytes become \xNN: a remote string cannot end the line or forge one. */
    size_t len = (size_t)n;
    for (const unsigned char *m = (const unsigned char *)msg; *m && len + 5 < sizeof line; m++) {
        if (*m < 0x20 || *m == 0x7f)
            len += (size_t)snprintf(line + len, sizeof line - len, "\\x%02x", *m);
        else
            line[len++] = (char)*m;
    }
    line[len] = '\n';
    /* One fwrite per line: glibc locks the stream, so lines never interleave. */
    fwrite(line, 1, len + 1, stderr);
}
