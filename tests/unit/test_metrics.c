/* test_metrics.c -- Sidekiq Web "Metrics" tab: histogram buckets, key names per
 * Sidekiq version, and what one run adds to a class's counters. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "q_internal.h"

static void test_buckets_have_exclusive_upper_bounds(void **state)
{
    (void)state;
    assert_int_equal(q_metrics_bucket(0), 0);
    assert_int_equal(q_metrics_bucket(19), 0);
    assert_int_equal(q_metrics_bucket(20), 1);
    assert_int_equal(q_metrics_bucket(29), 1);
    assert_int_equal(q_metrics_bucket(280), 7);
    assert_int_equal(q_metrics_bucket(334), 7);
    assert_int_equal(q_metrics_bucket(335), 8);
    assert_int_equal(q_metrics_bucket(1200), 11);
    assert_int_equal(q_metrics_bucket(334999), 24);
    assert_int_equal(q_metrics_bucket(335000), 25);
    assert_int_equal(q_metrics_bucket(86400000), 25);
}

static void test_elapsed_truncates_each_reading(void **state)
{
    (void)state;
    assert_int_equal(q_metrics_elapsed_ms(100.0009, 100.0021), 2); /* 100002 - 100000 */
    assert_int_equal(q_metrics_elapsed_ms(5.0, 6.2345), 1234);
    assert_int_equal(q_metrics_elapsed_ms(7.5, 7.5), 0);
}

static void expect_keys(int major, time_t t, int n, const char *k0, long ttl0, const char *k1,
                        long ttl1)
{
    char keys[2][32];
    long ttls[2];
    assert_int_equal(q_metrics_counter_keys(major, t, keys, ttls), n);
    if (n > 0) {
        assert_string_equal(keys[0], k0);
        assert_int_equal(ttls[0], ttl0);
    }
    if (n > 1) {
        assert_string_equal(keys[1], k1);
        assert_int_equal(ttls[1], ttl1);
    }
}

static void expect_hist(int major, time_t t, const char *klass, const char *want)
{
    char *key = q_metrics_hist_key(major, t, klass);
    assert_string_equal(key, want);
    free(key);
}

static void test_keys_per_version(void **state)
{
    (void)state;
    time_t feb = 1739522585; /* 2025-02-14 08:43:05 UTC */
    time_t mar = 1741158240; /* 2025-03-05 07:04:00 UTC */
    time_t eoy = 1956527999; /* 2031-12-31 23:59:59 UTC */

    /* 7.x: j|YYYYMMDD|H:M (hour and minute unpadded), 8 h; Class-DD-HH:M. */
    expect_keys(7, feb, 1, "j|20250214|8:43", 28800, NULL, 0);
    expect_keys(7, mar, 1, "j|20250305|7:4", 28800, NULL, 0);
    expect_keys(7, eoy, 1, "j|20311231|23:59", 28800, NULL, 0);
    expect_hist(7, feb, "Foo::Bar", "Foo::Bar-14-08:43");
    expect_hist(7, mar, "Foo::Bar", "Foo::Bar-05-07:4");

    /* 8.x: j|yymmdd|H:M (10 minutes, 3 days) and j|yymmdd|H:MM (minute, 8 h);
     * h|Class-D-H:M all unpadded. */
    expect_keys(8, feb, 2, "j|250214|8:4", 259200, "j|250214|8:43", 28800);
    expect_keys(8, mar, 2, "j|250305|7:0", 259200, "j|250305|7:04", 28800);
    expect_keys(8, eoy, 2, "j|311231|23:5", 259200, "j|311231|23:59", 28800);
    expect_hist(8, feb, "Foo::Bar", "h|Foo::Bar-14-8:43");
    expect_hist(8, mar, "Foo::Bar", "h|Foo::Bar-5-7:4");

    /* 6.x: no metrics keys. */
    expect_keys(6, feb, 0, NULL, 0, NULL, 0);
}

static void test_record_counts_failures_without_time(void **state)
{
    (void)state;
    q_metrics_table t = {0};
    q_metrics_record(&t, "Ok", 25, false);
    q_metrics_record(&t, "Ok", 1200, false);
    q_metrics_record(&t, "Bad", 5000, true);
    for (int i = 0; i < 40; i++) /* grows the table */
        q_metrics_record(&t, i % 2 ? "Ok" : "Bad", 3, i % 4 == 0);
    assert_int_equal(t.used, 2);
    int seen = 0;
    for (size_t i = 0; i < t.cap; i++) {
        const q_metrics_entry *m = &t.items[i];
        if (!m->klass)
            continue;
        seen++;
        if (strcmp(m->klass, "Ok") == 0) {
            assert_int_equal(m->processed, 22);
            assert_int_equal(m->failed, 0);
            assert_int_equal(m->ms, 25 + 1200 + 20 * 3);
            assert_true(m->timed);
            assert_int_equal(m->hist[0], 20);
            assert_int_equal(m->hist[1], 1);
            assert_int_equal(m->hist[11], 1);
        } else {
            assert_string_equal(m->klass, "Bad");
            assert_int_equal(m->processed, 21);
            assert_int_equal(m->failed, 11);
            assert_int_equal(m->ms, 10 * 3); /* the failed runs add no time */
            assert_true(m->timed);
            assert_int_equal(m->hist[0], 10);
            assert_int_equal(m->hist[13], 0);
        }
    }
    assert_int_equal(seen, 2);
    q_metrics_free(&t);

    q_metrics_record(&t, "OnlyFails", 10, true);
    assert_int_equal(t.used, 1);
    for (size_t i = 0; i < t.cap; i++)
        if (t.items[i].klass) {
            assert_false(t.items[i].timed); /* no "|ms" field, no histogram */
            assert_int_equal(t.items[i].hist[0], 0);
        }
    q_metrics_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets_have_exclusive_upper_bounds),
        cmocka_unit_test(test_elapsed_truncates_each_reading),
        cmocka_unit_test(test_keys_per_version),
        cmocka_unit_test(test_record_counts_failures_without_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
