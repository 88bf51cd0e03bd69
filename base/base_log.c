/* base_log.c -- one log line per event on stderr (base_log_out.c), for journald and humans.
 * Text format: ISO-8601 UTC time, pid, level, message. JSON format: the same fields
 * as one JSON object per line. Level and format are process-wide.
 * Messages carry remote text (URLs, error strings), so control characters in them
 * are escaped (text: \xNN; JSON: as JSON escapes them, invalid UTF-8 replaced): every
 * event is exactly one line. */
#include "base.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <stdatomic.h>

/* Written once at start-up (or by -v, --log-format), read by every thread: atomic. */
static atomic_int base_log_min = BASE_LOG_INFO;
static atomic_int base_log_fmt = BASE_LOG_TEXT;
/* This process's pid, read once (getpid is a system call) and again after a fork. */
static atomic_int base_log_pid_cached;
static pthread_once_t base_log_pid_once = PTHREAD_ONCE_INIT;

static void base_log_pid_forget(void) { atomic_store(&base_log_pid_cached, 0); }
static void base_log_pid_hook(void) { pthread_atfork(NULL, NULL, base_log_pid_forget); }

static int base_log_pid(void)
{
    pthread_once(&base_log_pid_once, base_log_pid_hook);
    int pid = atomic_load(&base_log_pid_cached);
    if (!pid) {
        pid = (int)getpid();
        atomic_store(&base_log_pid_cached, pid);
    }
    return pid;
}

void base_log_set_level(base_log_level level) { atomic_store(&base_log_min, (int)level); }

void base_log_set_format(base_log_format format) { atomic_store(&base_log_fmt, (int)format); }

bool base_log_enabled(base_log_level level) { return (int)level >= atomic_load(&base_log_min); }

/* The text line: control bytes become \xNN, so a remote string cannot end the line
 * or forge one. Returns its length, newline included. */
static size_t base_log_text(char *line, size_t size, const char *stamp, const char *level,
                            const char *msg)
{
    int n = snprintf(line, size, "%s pid=%d %s: ", stamp, base_log_pid(), level);
    size_t len = (size_t)n;
    for (const unsigned char *m = (const unsigned char *)msg; *m && len + 5 < size; m++) {
        if (*m < 0x20 || *m == 0x7f)
            len += (size_t)snprintf(line + len, size - len, "\\x%02x", *m);
        else
            line[len++] = (char)*m;
    }
    line[len++] = '\n';
    return len;
}

/* The JSON line, in b. */
static void base_log_json(base_buf *b, const char *stamp, const char *level, const char *msg)
{
    base_buf_addf(b, "{\"time\":\"%s\",\"pid\":%d,\"level\":\"%s\",\"message\":", stamp, base_log_pid(),
                  level);
    base_json_string(b, msg, strlen(msg));
    base_buf_add(b, "}\n", 2);
}

void base_log(base_log_level level, const char *fmt, ...)
{
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if (!base_log_enabled(level))
        return;
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[80]; /* 24 bytes used; sized for the widest values -Wformat-truncation assumes */
    snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Whole lines only, so lines never interleave; WARN and above are written before
     * this returns. */
    bool wait = level >= BASE_LOG_WARN;
    if (atomic_load(&base_log_fmt) == BASE_LOG_JSON) {
        base_buf b;
        base_buf_init(&b);
        base_log_json(&b, stamp, names[level], msg);
        base_log_out_write(b.data, b.len, wait);
        base_buf_free(&b);
        return;
    }
    char line[4096 + 64];
    size_t len = base_log_text(line, sizeof line, stamp, names[level], msg);
    base_log_out_write(line, len, wait);
}
