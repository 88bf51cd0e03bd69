/* test_json.c -- Ruby-canonical JSON: Float#to_s, string escaping, in-place edits; and
 * the fast reader of base_json_loadb. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queues.h"

static void check_json_float(double v, const char *ruby)
{
    char buf[40];
    base_json_float(v, buf, sizeof buf);
    assert_string_equal(buf, ruby);
}

/* Expected strings are what `ruby -e 'puts x.to_s'` prints for each value. */
static void test_float_matches_ruby(void **state)
{
    check_json_float(1.0, "1.0");
    check_json_float(100.0, "100.0");
    check_json_float(-2.5, "-2.5");
    check_json_float(0.1, "0.1");
    check_json_float(1.0 / 3.0, "0.3333333333333333");
    check_json_float(1700000000.1234567, "1700000000.1234567");
    check_json_float(1795537806.5400436, "1795537806.5400436");
    check_json_float(1e14, "100000000000000.0");
    check_json_float(999999999999999.9, "999999999999999.9");
    check_json_float(1e15, "1.0e+15");
    check_json_float(1234567890123456.0, "1.234567890123456e+15");
    check_json_float(0.0001234, "0.0001234");
    check_json_float(1e16, "1.0e+16");
    check_json_float(1.5e300, "1.5e+300");
    check_json_float(0.0001, "0.0001");
    check_json_float(0.00001, "1.0e-05");
    check_json_float(1.25e-7, "1.25e-07");
    check_json_float(123456789.123456789, "123456789.12345679");
    check_json_float(0.0, "0.0");
}

/* Significant digits of a Float#to_s form: those before its exponent, leading and
 * trailing zeros aside. */
static int json_float_digits(const char *s)
{
    int n = 0, zeros = 0;
    bool started = false;
    for (; *s && *s != 'e'; s++) {
        if (*s < '0' || *s > '9')
            continue;
        if (*s == '0' && !started)
            continue;
        started = true;
        zeros = *s == '0' ? zeros + 1 : 0;
        n++;
    }
    return n - zeros;
}

/* Doubles of every magnitude, from a fixed seed: each form reads back to its value,
 * and one digit fewer does not (the form is the shortest, as Ruby's). */
static void test_float_is_shortest_round_trip(void **state)
{
    unsigned long long x = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v = (double)(x >> 11) / 9007199254740992.0 * pow(10.0, (double)(int)(x % 40) - 20);
        if (v == 0)
            continue;
        char buf[40], fewer[40];
        base_json_float(v, buf, sizeof buf);
        assert_true(strtod(buf, NULL) == v);
        int nd = json_float_digits(buf);
        if (nd > 1) {
            snprintf(fewer, sizeof fewer, "%.*e", nd - 2, v);
            assert_true(strtod(fewer, NULL) != v);
        }
    }
}

static void check_json_string(const char *in, size_t n, const char *out)
{
    base_buf b;
    base_buf_init(&b);
    base_json_string(&b, in, n);
    assert_string_equal(b.data, out);
    base_buf_free(&b);
}

static void test_string_escapes_like_ruby(void **state)
{
    check_json_string("plain", 5, "\"plain\"");
    check_json_string("a\"b\\c/d", 7, "\"a\\\"b\\\\c/d\"");
    check_json_string("\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\"");
    check_json_string("\x01\x1f", 2, "\"\\u0001\\u001f\"");
    check_json_string("caf\xc3\xa9 \xe2\x9c\x93", 9, "\"caf\xc3\xa9 \xe2\x9c\x93\"");
    check_json_string("nul\0x", 5, "\"nul\\u0000x\"");
}

/* Ruby's JSON.generate raises JSON::GeneratorError on invalid UTF-8, which in Sidekiq
 * 6.4 loses a failed job whose error message holds such bytes; Sidekiq 6.5+ scrubs the
 * message first (String#scrub). scotty writes what the scrub gives, so the outcome is
 * stored. Expected bytes from Ruby 3.1: p "...".scrub.bytes. */
static void test_invalid_utf8_replaced_as_ruby_scrub_does(void **state)
{
    check_json_string("bad\xff!", 5, "\"bad\xef\xbf\xbd!\"");
    check_json_string("\xff\xfe", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"");         /* one per byte */
    check_json_string("\xe3\x81!", 3, "\"\xef\xbf\xbd!\"");                       /* cut 3-byte: one */
    check_json_string("\xf0\x9f\x98", 3, "\"\xef\xbf\xbd\"");                    /* cut 4-byte: one */
    check_json_string("\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""); /* surrogate */
    check_json_string("\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"");         /* overlong */
    check_json_string("\xf4\x90\x80\x80", 4,                                  /* past U+10FFFF */
                      "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    check_json_string("\xf4\x8f\xbf\xbf", 4, "\"\xf4\x8f\xbf\xbf\"");             /* U+10FFFF kept */
}

static void test_set_replaces_in_place_and_appends(void **state)
{
    const char *raw = "{\"class\":\"A\",\"queue\":\"q\",\"args\":[{\"queue\":\"inner\"},\"}\"]}";
    char *s = q_json_set(raw, strlen(raw), "queue", "\"other\"");
    assert_string_equal(s, "{\"class\":\"A\",\"queue\":\"other\",\"args\":[{\"queue\":\"inner\"},\"}\"]}");
    free(s);
    s = q_json_set(raw, strlen(raw), "retry_count", "0");
    assert_string_equal(s, "{\"class\":\"A\",\"queue\":\"q\",\"args\":[{\"queue\":\"inner\"},\"}\"],\"retry_count\":0}");
    free(s);
    s = q_json_set("{}", 2, "a", "1");
    assert_string_equal(s, "{\"a\":1}");
    free(s);
    s = q_json_set("{ \"a\" : 1 , \"b\":true }", 23, "b", "false");
    assert_string_equal(s, "{ \"a\" : 1 , \"b\":false }");
    free(s);
    assert_null(q_json_set("[1,2]", 5, "a", "1"));
}

static void test_timestamps_both_units(void **state)
{
    char buf[40];
    q_json_timestamp(Q_TS_FLOAT, 1700000000.0, buf, sizeof buf);
    assert_string_equal(buf, "1700000000.0");
    q_json_timestamp(Q_TS_MILLIS, 1700000000.25, buf, sizeof buf);
    assert_string_equal(buf, "1700000000250");
    json_t *ms = json_integer(1700000000250LL), *s = json_real(1700000000.5), *i = json_integer(1700000000);
    assert_true(q_json_read_timestamp(ms) == 1700000000.25);
    assert_true(q_json_read_timestamp(s) == 1700000000.5);
    assert_true(q_json_read_timestamp(i) == 1700000000.0);
    json_decref(ms);
    json_decref(s);
    json_decref(i);
}

static void test_value_reencodes_canonically(void **state)
{
    json_t *v = json_loads("{ \"b\": [1, 2.0, \"x\"], \"a\": {\"n\": null, \"t\": true} }", 0, NULL);
    base_buf b;
    base_buf_init(&b);
    base_json_value(&b, v);
    assert_string_equal(b.data, "{\"b\":[1,2.0,\"x\"],\"a\":{\"n\":null,\"t\":true}}");
    base_buf_free(&b);
    json_decref(v);
}

static void check_jcs(const char *json, const char *want)
{
    json_error_t e;
    json_t *v = json_loads(json, JSON_DECODE_ANY, &e);
    assert_non_null(v);
    base_buf b;
    base_buf_init(&b);
    assert_int_equal(base_json_canonical(&b, v), 0);
    assert_string_equal(b.data, want);
    base_buf_free(&b);
    json_decref(v);
}

/* RFC 8785: keys by UTF-16 code units (U+1F600 is the surrogates D83D DE00, so it
 * sorts before U+E000, where UTF-8's byte order puts it after), nested objects too. */
static void test_jcs_sorts_keys_by_utf16_units(void **state)
{
    (void)state;
    check_jcs("{\"b\": 1, \"a\": {\"z\": 1, \"y\": [3, {\"d\": 0, \"c\": 0}]}, \"\\ue000\": 2, "
              "\"\\ud83d\\ude00\": 3, \"\\u00e9\": 4}",
              "{\"a\":{\"y\":[3,{\"c\":0,\"d\":0}],\"z\":1},\"b\":1,\"\xc3\xa9\":4,"
              "\"\xf0\x9f\x98\x80\":3,\"\xee\x80\x80\":2}");
}

/* Numbers as ECMAScript's Number::toString prints them. */
static void test_jcs_numbers_as_ecmascript(void **state)
{
    (void)state;
    check_jcs("[1.0, -0.0, 0.5, 123.456, 1e20, 1e21, 0.000001, 1e-7, -2.5e-10, 5e-324, 42, -7]",
              "[1,0,0.5,123.456,100000000000000000000,1e+21,0.000001,1e-7,-2.5e-10,5e-324,42,-7]");
}

/* Only what JSON must escape is escaped; U+2028, '/' and non-ASCII stay literal. */
static void test_jcs_string_escapes(void **state)
{
    (void)state;
    check_jcs("\"a\\u001fb\\n\\t\\\"\\\\/\\u2028\\u00fc\\u007f\"",
              "\"a\\u001fb\\n\\t\\\"\\\\/\xe2\x80\xa8\xc3\xbc\x7f\"");
    check_jcs("{\"t\": true, \"f\": false, \"n\": null}", "{\"f\":false,\"n\":null,\"t\":true}");
}

/* The fast reader's value printed, or "fallback" when it hands the text to jansson;
 * what it reads must print as jansson's value does. */
static void check_load(const char *text, size_t flags, const char *want)
{
    json_t *ours = base_json_load_fast(text, strlen(text), flags);
    if (!ours) {
        assert_string_equal("fallback", want);
        return;
    }
    json_t *theirs = json_loadb(text, strlen(text), flags, NULL);
    assert_non_null(theirs);
    char *a = json_dumps(ours, JSON_COMPACT | JSON_ENCODE_ANY), *b = json_dumps(theirs, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_string_equal(a, b);
    assert_string_equal(a, want);
    free(a);
    free(b);
    json_decref(ours);
    json_decref(theirs);
}

static void test_load_reads_jobs_and_activities(void **state)
{
    (void)state;
    check_load("{\"class\":\"ActivityPub::DeliveryWorker\",\"args\":[\"{\\\"type\\\":\\\"Note\\\"}\",1,"
               "\"https://x/inbox\",{}],\"retry\":16,\"created_at\":1733280000.5}",
               0, "{\"class\":\"ActivityPub::DeliveryWorker\",\"args\":[\"{\\\"type\\\":\\\"Note\\\"}\",1,"
               "\"https://x/inbox\",{}],\"retry\":16,\"created_at\":1733280000.5}");
    check_load(" [ 1 , -0 , 2.5e-3 , -0.0 , true , false , null , \"\" , { } , [ ] ] ", 0,
               "[1,0,0.0025000000000000001,-0.0,true,false,null,\"\",{},[]]");
    check_load("[\"caf\xc3\xa9 \\u00e9 \\ud83d\\ude00 \\/\\b\\f\\n\\r\\t\\\"\\\\\"]", 0,
               "[\"caf\xc3\xa9 \xc3\xa9 \xf0\x9f\x98\x80 /\\b\\f\\n\\r\\t\\\"\\\\\"]");
    check_load("[\"a\\u0000b\"]", JSON_ALLOW_NUL, "[\"a\\u0000b\"]");
    check_load("[999999999999999999,-999999999999999999]", 0, "[999999999999999999,-999999999999999999]");
}

/* Everything jansson refuses or reads its own way goes to jansson, so the result
 * (value or error) is always jansson's. */
static void test_load_hands_the_rest_to_jansson(void **state)
{
    (void)state;
    const char *rest[] = {
        "[\"\\ud800\"]", "[\"\\udc00\"]", "[\"\\u0000\"]", "{\"a\\u0000\":1}", "[\"\xff\"]",
        "[\"\xc3\"]", "[\"a\nb\"]", "[\"\\x\"]", "{\"a\":1,\"a\":2}", "[1234567890123456789]", "[01]",
        "[1.]", "[.5]", "[1e]", "[1e400]", "[tru]", "[1,]", "{\"a\":1,}", "[1] x", "\"top\"", "7", "",
        "[1\x00]",
    };
    for (size_t i = 0; i < sizeof rest / sizeof *rest; i++)
        check_load(rest[i], 0, "fallback");
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    json_t *v = base_json_load_fast(deep, sizeof deep, 0);
    assert_null(v);
    json_error_t e;
    v = base_json_loadb(deep, sizeof deep, 0, &e);
    assert_non_null(v); /* jansson reads what is deeper than the fast reader goes */
    json_decref(v);
    v = base_json_loadb("[\"\\ud800\"]", 10, 0, &e);
    assert_null(v);
    assert_non_null(strstr(e.text, "invalid Unicode")); /* jansson's own error */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float_matches_ruby),
        cmocka_unit_test(test_float_is_shortest_round_trip),
        cmocka_unit_test(test_string_escapes_like_ruby),
        cmocka_unit_test(test_invalid_utf8_replaced_as_ruby_scrub_does),
        cmocka_unit_test(test_set_replaces_in_place_and_appends),
        cmocka_unit_test(test_timestamps_both_units),
        cmocka_unit_test(test_value_reencodes_canonically),
        cmocka_unit_test(test_jcs_sorts_keys_by_utf16_units),
        cmocka_unit_test(test_jcs_numbers_as_ecmascript),
        cmocka_unit_test(test_jcs_string_escapes),
        cmocka_unit_test(test_load_reads_jobs_and_activities),
        cmocka_unit_test(test_load_hands_the_rest_to_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
