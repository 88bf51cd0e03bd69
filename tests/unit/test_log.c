/* test_log.c -- the process log (base/base_log.c): the text line keeps its format and
 * escapes control bytes; the JSON line is one object with the same fields (time, pid,
 * level, message), the message decoding to what was logged (invalid UTF-8 as U+FFFD);
 * the level filter holds in both; lines written by many threads at once never mix.
 * stderr is sent to a temporary file and read back with jansson. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"

static char log_path[] = "/tmp/scotty-test-log.XXXXXX";
static int saved_stderr = -1;

/* Sends stderr to a fresh temporary file. */
static void capture(void)
{
    fflush(stderr);
    int fd = mkstemp(log_path);
    assert_true(fd >= 0);
    saved_stderr = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

/* Restores stderr and returns what was written (malloc'd). */
static char *captured(void)
{
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    FILE *f = fopen(log_path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)size + 1);
    assert_int_equal(fread(buf, 1, (size_t)size, f), size);
    buf[size] = '\0';
    fclose(f);
    unlink(log_path);
    memcpy(log_path + strlen(log_path) - 6, "XXXXXX", 6);
    return buf;
}

static bool matches(const char *pattern, const char *s)
{
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static void test_text_line(void **state)
{
    base_log_set_format(BASE_LOG_TEXT);
    capture();
    base_log(BASE_LOG_WARN, "fetch of %s failed:\nforged line", "https://a.example/x");
    char *out = captured();
    char want[128];
    snprintf(want, sizeof want, " pid=%d WARN: fetch of https://a.example/x failed:\\x0aforged line\n",
             (int)getpid());
    assert_true(matches("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z ", out));
    assert_string_equal(out + 24, want);
    free(out);
}

static void test_json_line_has_the_text_fields(void **state)
{
    base_log_set_format(BASE_LOG_JSON);
    capture();
    base_log(BASE_LOG_INFO, "say \"%s\" \\ tab\there\x01 \xff caf\xc3\xa9 \xf0\x9f\x90\x98\nend", "hi");
    base_log(BASE_LOG_ERROR, "second");
    char *out = captured();
    base_log_set_format(BASE_LOG_TEXT);
    char *nl = strchr(out, '\n');
    assert_non_null(nl);
    *nl = '\0';
    json_error_t e;
    json_t *o = json_loads(out, 0, &e);
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 4);
    assert_true(matches("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
                        json_string_value(json_object_get(o, "time"))));
    assert_int_equal(json_integer_value(json_object_get(o, "pid")), getpid());
    assert_string_equal(json_string_value(json_object_get(o, "level")), "INFO");
    assert_string_equal(json_string_value(json_object_get(o, "message")),
                        "say \"hi\" \\ tab\there\x01 \xef\xbf\xbd caf\xc3\xa9 \xf0\x9f\x90\x98\nend");
    json_decref(o);
    o = json_loads(nl + 1, 0, &e);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "ERROR");
    assert_string_equal(json_string_value(json_object_get(o, "message")), "second");
    json_decref(o);
    free(out);
}

static void test_level_filter_holds_in_json(void **state)
{
    base_log_set_format(BASE_LOG_JSON);
    capture();
    base_log(BASE_LOG_DEBUG, "hidden");
    base_log_set_level(BASE_LOG_DEBUG);
    base_log(BASE_LOG_DEBUG, "shown");
    base_log_set_level(BASE_LOG_INFO);
    char *out = captured();
    base_log_set_format(BASE_LOG_TEXT);
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, "\"level\":\"DEBUG\",\"message\":\"shown\""));
    free(out);
}

#define THREADS 8
#define LINES 500

static void *logger(void *arg)
{
    long t = (long)arg;
    char big[3000];
    memset(big, 'a' + (int)t, sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int i = 0; i < LINES; i++)
        base_log(BASE_LOG_INFO, "thread %ld line %d %s", t, i, big);
    return NULL;
}

static void test_threads_never_mix_lines(void **state)
{
    base_log_set_format(BASE_LOG_JSON);
    capture();
    pthread_t th[THREADS];
    for (long t = 0; t < THREADS; t++)
        pthread_create(&th[t], NULL, logger, (void *)t);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    char *out = captured();
    base_log_set_format(BASE_LOG_TEXT);
    int lines = 0;
    for (char *save = NULL, *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        json_error_t e;
        json_t *o = json_loads(l, 0, &e);
        assert_non_null(o);
        long t;
        int i;
        const char *m = json_string_value(json_object_get(o, "message"));
        assert_int_equal(sscanf(m, "thread %ld line %d", &t, &i), 2);
        const char *tail = strrchr(m, ' ') + 1;
        char letter[2] = {(char)('a' + t), '\0'};
        assert_int_equal(strlen(tail), 2999);
        assert_int_equal(strspn(tail, letter), 2999); /* nothing of another thread's line */
        json_decref(o);
        lines++;
    }
    assert_int_equal(lines, THREADS * LINES);
    free(out);
}

/* Lines in out from thread t, in order; fails on a cut or foreign line. */
static int count_thread_lines(const char *out, long t)
{
    int next = 0;
    char tag[32];
    int n = snprintf(tag, sizeof tag, "thread %ld line ", t);
    for (const char *p = strstr(out, tag); p; p = strstr(p + 1, tag)) {
        assert_int_equal(atoi(p + n), next);
        next++;
    }
    return next;
}

/* Through the writer thread: every line arrives whole and in each thread's order, a
 * WARN line is in the file (after all earlier lines) when base_log returns, and stop
 * writes what is left. */
static void test_writer_thread_keeps_order_and_warn_waits(void **state)
{
    (void)state;
    capture();
    assert_int_equal(base_log_out_start(), 0);
    pthread_t th[THREADS];
    for (long t = 0; t < THREADS; t++)
        pthread_create(&th[t], NULL, logger, (void *)t);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    base_log(BASE_LOG_WARN, "the warning after them");
    /* Read the file while the writer still runs: the WARN line must be there. */
    char *mid = NULL;
    {
        FILE *f = fopen(log_path, "r");
        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        rewind(f);
        mid = malloc((size_t)size + 1);
        assert_int_equal(fread(mid, 1, (size_t)size, f), size);
        mid[size] = '\0';
        fclose(f);
    }
    assert_non_null(strstr(mid, "WARN: the warning after them\n"));
    for (long t = 0; t < THREADS; t++)
        assert_int_equal(count_thread_lines(mid, t), LINES);
    free(mid);
    base_log(BASE_LOG_INFO, "the last line");
    base_log_out_stop();
    char *out = captured();
    assert_non_null(strstr(out, "INFO: the last line\n"));
    assert_true(strstr(out, "the warning after them") < strstr(out, "the last line"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_line),
        cmocka_unit_test(test_json_line_has_the_text_fields),
        cmocka_unit_test(test_level_filter_holds_in_json),
        cmocka_unit_test(test_threads_never_mix_lines),
        cmocka_unit_test(test_writer_thread_keeps_order_and_warn_waits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
