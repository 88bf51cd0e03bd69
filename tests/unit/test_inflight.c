/* test_inflight.c -- the in-flight table of a private list (queues/q_inflight.c):
 * identical jobs are counted, and the table's size follows the jobs in flight, not
 * the number of jobs ever fetched (a process runs for months). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "q_internal.h"

static uint64_t job_hash(unsigned long i)
{
    char raw[64];
    int n = snprintf(raw, sizeof raw, "{\"class\":\"Noop\",\"jid\":\"%024lx\"}", i);
    return q_inflight_hash(raw, (size_t)n);
}

static void test_table_stays_small_over_a_million_jobs(void **state)
{
    (void)state;
    q_inflight t;
    q_inflight_init(&t);
    /* 25 jobs in flight at any time, a million in all. */
    for (unsigned long i = 0; i < 1000000; i++) {
        q_inflight_add(&t, job_hash(i));
        if (i >= 25)
            q_inflight_remove(&t, job_hash(i - 25));
    }
    assert_true(t.cap <= 256);
    q_inflight_free(&t);
}

static void test_identical_jobs_are_counted_each(void **state)
{
    (void)state;
    q_inflight t;
    q_inflight_init(&t);
    uint64_t h = job_hash(7);
    q_inflight_add(&t, h);
    q_inflight_add(&t, h);
    q_inflight_remove(&t, h);
    /* One copy is still counted: after many other jobs come and go, it still is. */
    for (unsigned long i = 100; i < 10100; i++) {
        q_inflight_add(&t, job_hash(i));
        q_inflight_remove(&t, job_hash(i));
    }
    size_t live = 0;
    int count = 0;
    for (size_t i = 0; i < t.cap; i++)
        if (t.slots[i].count > 0) {
            live++;
            count = t.slots[i].hash == h ? t.slots[i].count : count;
        }
    assert_int_equal(live, 1);
    assert_int_equal(count, 1);
    q_inflight_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_stays_small_over_a_million_jobs),
        cmocka_unit_test(test_identical_jobs_are_counted_each),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
