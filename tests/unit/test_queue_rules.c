/* test_queue_rules.c -- queue order, retry decisions and backoff, URLs, backtraces. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "queues.h"

static void test_order_strict_and_weighted(void **state)
{
    q_order o;
    char err[256];
    memset(&o, 0, sizeof o);
    assert_int_equal(q_order_add(&o, "critical", err, sizeof err), 0);
    assert_int_equal(q_order_add(&o, "default", err, sizeof err), 0);
    assert_true(o.strict);
    int out[Q_MAX_QUEUES];
    unsigned seed = 1;
    assert_int_equal(q_order_pick(&o, &seed, out), 2);
    assert_int_equal(out[0], 0);
    assert_int_equal(q_order_add(&o, "default", err, sizeof err), -1);
    assert_non_null(strstr(err, "listed twice"));
    assert_int_equal(q_order_add(&o, "x,abc", err, sizeof err), -1);

    memset(&o, 0, sizeof o);
    q_order_add(&o, "a,3", err, sizeof err);
    q_order_add(&o, "b,1", err, sizeof err);
    q_order_add(&o, "c", err, sizeof err); /* unweighted among weighted counts once */
    assert_false(o.strict);
    int first[3] = {0};
    for (int i = 0; i < 50000; i++) {
        int n = q_order_pick(&o, &seed, out);
        assert_int_equal(n, 3);
        first[out[0]]++;
    }
    /* a leads with probability 3/5, b and c with 1/5 each */
    assert_in_range(first[0], 28500, 31500);
    assert_in_range(first[1], 9000, 11000);
    assert_in_range(first[2], 9000, 11000);
}

static q_job *job(const char *raw) { return q_job_new(raw, strlen(raw), "default"); }

static q_retry_cfg cfg7 = {25, 10000, 15552000, 7, Q_TS_FLOAT, true};

static void test_retry_fates(void **state)
{
    q_result r = {0};
    q_fail(&r, "RuntimeError", "boom");
    unsigned seed = 7;
    q_failure f;

    q_job *j = job("{\"class\":\"A\",\"args\":[],\"retry\":false}");
    q_retry_decide(&cfg7, j, NULL, &r, 1000.0, &seed, &f);
    assert_int_equal(f.fate, Q_FATE_DISCARD);
    q_job_free(j);

    j = job("{\"class\":\"A\",\"args\":[],\"retry\":0}");
    q_retry_decide(&cfg7, j, NULL, &r, 1000.0, &seed, &f);
    assert_int_equal(f.fate, Q_FATE_DEAD);
    assert_string_equal(f.payload, "{\"class\":\"A\",\"args\":[],\"retry\":0,\"queue\":\"default\","
                                   "\"error_message\":\"boom\",\"error_class\":\"RuntimeError\","
                                   "\"failed_at\":1000.0,\"retry_count\":0}");
    free(f.payload);
    q_job_free(j);

    j = job("{\"class\":\"A\",\"args\":[],\"retry\":0,\"dead\":false}");
    q_retry_decide(&cfg7, j, NULL, &r, 1000.0, &seed, &f);
    assert_int_equal(f.fate, Q_FATE_DISCARD);
    q_job_free(j);

    j = job("{\"retry\":true,\"queue\":\"q\",\"class\":\"A\",\"args\":[],\"retry_queue\":\"low\","
            "\"error_message\":\"old\",\"error_class\":\"X\",\"failed_at\":900.0,\"retry_count\":3}");
    q_retry_decide(&cfg7, j, NULL, &r, 1000.0, &seed, &f);
    assert_int_equal(f.fate, Q_FATE_RETRY);
    assert_string_equal(f.payload, "{\"retry\":true,\"queue\":\"low\",\"class\":\"A\",\"args\":[],"
                                   "\"retry_queue\":\"low\",\"error_message\":\"boom\",\"error_class\":"
                                   "\"RuntimeError\",\"failed_at\":900.0,\"retry_count\":4,"
                                   "\"retried_at\":1000.0}");
    /* count 4: 4^4 + 15 = 271 s, jitter 0..9 x 5 */
    assert_true(f.score >= 1000.0 + 271 && f.score <= 1000.0 + 271 + 45);
    free(f.payload);
    q_job_free(j);

    j = job("{\"class\":\"A\",\"args\":[],\"retry\":true,\"retry_count\":24}");
    q_retry_decide(&cfg7, j, NULL, &r, 1000.0, &seed, &f);
    assert_int_equal(f.fate, Q_FATE_DEAD); /* 25th retry used up: dies on the 26th failure */
    free(f.payload);
    q_job_free(j);

    /* retry_for (7.x: either rule; 8.x: time only) */
    j = job("{\"class\":\"A\",\"args\":[],\"retry\":true,\"retry_count\":0,\"failed_at\":100.0,\"retry_for\":60}");
    q_retry_decide(&cfg7, j, NULL, &r, 1000.0, &seed, &f);
    assert_int_equal(f.fate, Q_FATE_DEAD);
    free(f.payload);
    q_job_free(j);
}

static long always_discard(int count, const q_result *r, const q_job *j) { return Q_BACKOFF_DISCARD; }
static long fixed_delay(int count, const q_result *r, const q_job *j) { return 1000; }

static void test_handler_backoff_hooks(void **state)
{
    q_result r = {0};
    q_fail(&r, "E", "x");
    unsigned seed = 3;
    q_failure f;
    q_handler h = {.klass = "A", .retry = -1, .backoff = always_discard};
    q_job *j = job("{\"class\":\"A\",\"args\":[],\"retry\":true}");
    q_retry_decide(&cfg7, j, &h, &r, 0.0, &seed, &f);
    assert_int_equal(f.fate, Q_FATE_DISCARD);
    h.backoff = fixed_delay;
    q_retry_decide(&cfg7, j, &h, &r, 0.0, &seed, &f);
    assert_int_equal(f.fate, Q_FATE_RETRY);
    assert_true(f.score >= 1000 && f.score < 1010);
    free(f.payload);
    q_job_free(j);

    /* class option dead: false drops an exhausted job; the payload's "dead" wins */
    h.backoff = NULL;
    h.no_dead = true;
    j = job("{\"class\":\"A\",\"args\":[],\"retry\":0}");
    q_retry_decide(&cfg7, j, &h, &r, 0.0, &seed, &f);
    assert_int_equal(f.fate, Q_FATE_DISCARD);
    q_job_free(j);
    j = job("{\"class\":\"A\",\"args\":[],\"retry\":0,\"dead\":true}");
    q_retry_decide(&cfg7, j, &h, &r, 0.0, &seed, &f);
    assert_int_equal(f.fate, Q_FATE_DEAD);
    free(f.payload);
    q_job_free(j);
    h.no_dead = false;

    /* no "retry" key: the handler's default (here: 8 retries max) */
    h.backoff = NULL;
    h.retry = 8;
    j = job("{\"class\":\"A\",\"args\":[],\"retry_count\":7}");
    q_retry_decide(&cfg7, j, &h, &r, 0.0, &seed, &f);
    assert_int_equal(f.fate, Q_FATE_DEAD);
    free(f.payload);
    q_job_free(j);
}

static void test_delay_jitter_by_version(void **state)
{
    unsigned seed = 11;
    for (int i = 0; i < 2000; i++) {
        long d6 = q_retry_delay(6, 2, &seed);
        assert_true(d6 >= 31 && d6 <= 31 + 27 && (d6 - 31) % 3 == 0); /* rand(10) * 3 */
        long d8 = q_retry_delay(8, 2, &seed);
        assert_true(d8 >= 31 && d8 < 31 + 30);
    }
}

static void test_backtrace_is_zlib_base64_json(void **state)
{
    const char *lines[] = {"a.c:1:in `f'", "b.c:2"};
    char *enc = q_backtrace_encode(lines, 2);
    assert_null(strchr(enc, '\n'));
    unsigned char z[512];
    int zlen = EVP_DecodeBlock(z, (const unsigned char *)enc, (int)strlen(enc));
    assert_true(zlen > 0);
    while (zlen > 0 && enc[strlen(enc) - 1] == '=' && z[zlen - 1] == 0) /* strip padding bytes */
        zlen--, enc[strlen(enc) - 1] = '\0';
    char out[512];
    uLongf outlen = sizeof out;
    assert_int_equal(uncompress((Bytef *)out, &outlen, z, (uLong)zlen), Z_OK);
    out[outlen] = '\0';
    assert_string_equal(out, "[\"a.c:1:in `f'\",\"b.c:2\"]");
    free(enc);
}

static void test_redis_urls(void **state)
{
    q_redis_opts o;
    char err[256];
    assert_int_equal(q_redis_parse_url("redis://:s%40cret@cache.example:6380/2", &o, err, sizeof err), 0);
    assert_string_equal(o.host, "cache.example");
    assert_int_equal(o.port, 6380);
    assert_string_equal(o.password, "s@cret");
    assert_int_equal(o.db, 2);
    assert_false(o.tls);
    assert_int_equal(q_redis_parse_url("rediss://default:pw@[::1]:25061?ssl_cert_reqs=none", &o, err, sizeof err), 0);
    assert_true(o.tls);
    assert_false(o.tls_verify);
    assert_string_equal(o.username, "default");
    assert_string_equal(o.host, "::1");
    assert_int_equal(o.port, 25061);
    assert_int_equal(q_redis_parse_url("unix:///run/redis.sock?db=3", &o, err, sizeof err), 0);
    assert_string_equal(o.unix_path, "/run/redis.sock");
    assert_int_equal(o.db, 3);
    assert_int_equal(q_redis_parse_url("http://x", &o, err, sizeof err), -1);
    assert_int_equal(q_redis_parse_url("redis://h:99999", &o, err, sizeof err), -1);
}

static void test_durations(void **state)
{
    assert_true(q_duration_parse("5m") == 300);
    assert_true(q_duration_parse("1h30m") == 5400);
    assert_true(q_duration_parse("1 minute") == 60);
    assert_true(q_duration_parse("30") == 30);
    assert_true(q_duration_parse("0") == -1);
    assert_true(q_duration_parse("1e999") == -1);  /* infinite */
    assert_true(q_duration_parse("1e300") == -1);  /* finite, but no TTL can hold it */
    assert_true(q_duration_parse("100y") == -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_order_strict_and_weighted),
        cmocka_unit_test(test_retry_fates),
        cmocka_unit_test(test_handler_backoff_hooks),
        cmocka_unit_test(test_delay_jitter_by_version),
        cmocka_unit_test(test_backtrace_is_zlib_base64_json),
        cmocka_unit_test(test_redis_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
