/* test_version.c -- reading a process's `info` JSON for the Sidekiq major version
 * it runs (q_version.c): Ruby's versions, their absence, scotty's own entries,
 * and info that is not Sidekiq's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "q_internal.h"

static int major_of(const char *info, char *version)
{
    return q_version_of_info(info, strlen(info), version, 32);
}

static void test_ruby_versions(void **state)
{
    (void)state;
    char v[32];
    assert_int_equal(major_of("{\"hostname\":\"a\",\"version\":\"8.1.7\",\"embedded\":false}", v), 8);
    assert_string_equal(v, "8.1.7");
    assert_int_equal(major_of("{\"version\":\"7.2.4\"}", v), 7);
    assert_string_equal(v, "7.2.4");
    assert_int_equal(major_of("{\"version\":\"9.0.0\"}", v), 8); /* newer: read as 8 */
    assert_int_equal(major_of("{\"version\":\"5.2.10\"}", v), 6);
    /* 6.x and 7.0.0/7.0.1 write no version */
    assert_int_equal(major_of("{\"hostname\":\"a\",\"concurrency\":10,\"queues\":[\"default\"]}", v), 6);
    assert_string_equal(v, "");
    assert_int_equal(major_of("{\"version\":null}", v), 6);
}

static void test_not_ruby_sidekiq(void **state)
{
    (void)state;
    char v[32];
    assert_int_equal(major_of("{\"version\":\"scotty-0.1.0 (Sidekiq 7)\"}", v), 0);
    assert_int_equal(major_of("{\"version\":\"scotty-0.1.0\"}", v), 0); /* older scotty */
    assert_int_equal(major_of("{\"version\":\"v8\"}", v), 0);
    assert_int_equal(major_of("[1,2]", v), 0);
    assert_int_equal(major_of("not json", v), 0);
    assert_int_equal(major_of("", v), 0);
}

static void test_version_text_is_bounded_and_printable(void **state)
{
    (void)state;
    char v[32];
    assert_int_equal(major_of("{\"version\":\"7.1.0\\n\\u0007forged line that goes on and on\"}", v), 7);
    assert_int_equal(strlen(v), 31);
    assert_null(strchr(v, '\n'));
    assert_memory_equal(v, "7.1.0??forged", 13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ruby_versions),
        cmocka_unit_test(test_not_ruby_sidekiq),
        cmocka_unit_test(test_version_text_is_bounded_and_printable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
