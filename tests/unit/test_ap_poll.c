/* test_ap_poll.c -- ap_poll_parse against Mastodon's ActivityPub::Parser::PollParser
 * and the casts Rails applies to the polls row: where the items come from, the 500
 * cut, option titles, tallies, votersCount, the expiry forms, and the shapes left to
 * Ruby (unread) because Ruby raises on them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap.h"

/* Parses the poll of a JSON object text (a Question unless it names its own type). */
static void pp(const char *fields, ap_poll *p)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "{\"type\":\"Question\",%s}", fields);
    json_t *o = json_loads(buf, 0, NULL);
    assert_non_null(o);
    ap_poll_parse(o, p);
    json_decref(o);
}

#define OPT(n, t) "{\"type\":\"Note\",\"name\":\"" n "\",\"replies\":{\"type\":\"Collection\",\"totalItems\":" t "}}"

static void test_mastodon_shapes(void **state)
{
    (void)state;
    ap_poll p;
    pp("\"oneOf\":[" OPT("Tea", "3") "," OPT("Coffee", "4") "],\"votersCount\":7,\"endTime\":\"2026-11-25T18:00:00.123456Z\"", &p);
    assert_true(p.present);
    assert_false(p.multiple);
    assert_null(p.unread);
    assert_int_equal(p.n_options, 2);
    assert_string_equal(p.options[0], "Tea");
    assert_int_equal(p.n_tallies, 2);
    assert_int_equal(p.tallies[1], 4);
    assert_int_equal(p.votes_count, 7);
    assert_true(p.has_voters);
    assert_int_equal(p.voters_count, 7);
    assert_int_equal(p.expiry, AP_POLL_AT);
    assert_int_equal(p.expires_us, 1795629600123456LL);
    ap_poll_free(&p);
    /* anyOf: multiple; `closed` as a time wins over endTime */
    pp("\"anyOf\":[" OPT("a", "1") "],\"closed\":\"2026-11-25T19:00:00Z\",\"endTime\":\"2026-11-25T18:00:00Z\"", &p);
    assert_true(p.multiple);
    assert_int_equal(p.expires_us, 1795633200000000LL);
    assert_false(p.has_voters);
    ap_poll_free(&p);
    /* closed: true is "closed now"; closed: false falls to endTime */
    pp("\"oneOf\":[" OPT("a", "1") "],\"closed\":true,\"endTime\":\"2026-11-25T18:00:00Z\"", &p);
    assert_int_equal(p.expiry, AP_POLL_NOW);
    ap_poll_free(&p);
    pp("\"oneOf\":[" OPT("a", "1") "],\"closed\":false,\"endTime\":\"2026-11-25T18:00:00Z\"", &p);
    assert_int_equal(p.expiry, AP_POLL_AT);
    ap_poll_free(&p);
    /* a null or false anyOf falls to oneOf (Ruby's ||); an empty anyOf does not */
    pp("\"anyOf\":null,\"oneOf\":[" OPT("a", "1") "]", &p);
    assert_false(p.multiple);
    assert_int_equal(p.n_options, 1);
    ap_poll_free(&p);
    pp("\"anyOf\":[],\"oneOf\":[" OPT("a", "1") "]", &p);
    assert_true(p.present);
    assert_true(p.multiple);
    assert_int_equal(p.n_options, 0);
    ap_poll_free(&p);
}

static void test_not_a_poll(void **state)
{
    (void)state;
    ap_poll p;
    pp("\"content\":\"no options\"", &p);
    assert_false(p.present);
    assert_null(p.unread);
    ap_poll_free(&p);
    json_t *o = json_loads("{\"type\":\"Note\",\"oneOf\":[{\"name\":\"a\"}]}", 0, NULL);
    ap_poll_parse(o, &p);
    json_decref(o);
    assert_false(p.present);
    ap_poll_free(&p);
}

static void test_titles_and_tallies(void **state)
{
    (void)state;
    ap_poll p;
    /* name.presence || content; items with neither are left out of options only */
    pp("\"oneOf\":[{\"name\":\"  \",\"content\":\"c\"},{\"replies\":{\"totalItems\":2}},{\"name\":\"n\",\"content\":\"x\"},"
       "{\"content\":\"\"}]", &p);
    assert_int_equal(p.n_options, 3);
    assert_string_equal(p.options[0], "c");
    assert_string_equal(p.options[1], "n");
    assert_string_equal(p.options[2], "");
    assert_int_equal(p.n_tallies, 4);
    assert_int_equal(p.votes_count, 2);
    ap_poll_free(&p);
    /* Rails' integer cast: "12abc" 12, "abc" 0, 2.9 2, true 1, "1_000" 1000 */
    pp("\"oneOf\":[" OPT("a", "\"12abc\"") "," OPT("b", "\"abc\"") "," OPT("c", "2.9") "," OPT("d", "true") ","
       OPT("e", "\"1_000\"") "],\"votersCount\":\"5\"", &p);
    assert_null(p.unread);
    assert_int_equal(p.tallies[0], 12);
    assert_int_equal(p.tallies[1], 0);
    assert_int_equal(p.tallies[2], 2);
    assert_int_equal(p.tallies[3], 1);
    assert_int_equal(p.tallies[4], 1000);
    assert_int_equal(p.votes_count, 1015);
    assert_int_equal(p.voters_count, 5);
    ap_poll_free(&p);
    /* votersCount an object: Rails casts it to nil */
    pp("\"oneOf\":[" OPT("a", "1") "],\"votersCount\":{}", &p);
    assert_null(p.unread);
    assert_false(p.has_voters);
    ap_poll_free(&p);
}

static void test_cut_to_500(void **state)
{
    (void)state;
    size_t cap = 10000 * 64 + 64;
    char *b = malloc(cap);
    size_t o = (size_t)snprintf(b, cap, "{\"type\":\"Question\",\"oneOf\":[");
    for (int i = 0; i < 10000; i++)
        o += (size_t)snprintf(b + o, cap - o, "%s{\"name\":\"o%d\",\"replies\":{\"totalItems\":1}}", i ? "," : "", i);
    snprintf(b + o, cap - o, "]}");
    json_t *doc = json_loads(b, 0, NULL);
    free(b);
    ap_poll p;
    ap_poll_parse(doc, &p);
    json_decref(doc);
    assert_null(p.unread);
    assert_int_equal(p.n_options, AP_MAX_POLL_ITEMS);
    assert_string_equal(p.options[499], "o499");
    assert_int_equal(p.votes_count, 500);
    ap_poll_free(&p);
}

static void test_left_to_ruby(void **state)
{
    (void)state;
    static const char *const unread[] = {
        "\"oneOf\":\"Tea\"",
        "\"oneOf\":{\"name\":\"Tea\"}",
        "\"oneOf\":[\"Tea\"]",
        "\"oneOf\":[null]",
        "\"oneOf\":[{\"name\":\"a\",\"replies\":\"https://remote.example/r\"}]",
        "\"oneOf\":[{\"name\":\"a\",\"replies\":{\"totalItems\":\"   \"}}]",
        "\"oneOf\":[{\"name\":\"a\",\"replies\":{\"totalItems\":[1]}}]",
        "\"oneOf\":[{\"name\":\"a\",\"replies\":{\"totalItems\":\"99999999999999999999\"}}]",
        ("\"oneOf\":[{\"name\":\"a\",\"replies\":{\"totalItems\":9223372036854775807}},"
         "{\"name\":\"b\",\"replies\":{\"totalItems\":1}}]"),
        "\"oneOf\":[{\"name\":5}]",
        "\"oneOf\":[{\"content\":{\"en\":\"x\"}}]",
        "\"oneOf\":[{\"name\":\"a\"}],\"endTime\":1795543200",
        "\"oneOf\":[{\"name\":\"a\"}],\"endTime\":\"2026-13-45T99:00:00Z\"",
        "\"oneOf\":[{\"name\":\"a\"}],\"endTime\":\"Dec 5\"",
        "\"oneOf\":[{\"name\":\"a\"}],\"closed\":\"25/11/2026\"",
        "\"oneOf\":false",
    };
    for (size_t i = 0; i < sizeof unread / sizeof unread[0]; i++) {
        ap_poll p;
        pp(unread[i], &p);
        if (!p.unread)
            fail_msg("not left to Ruby: %s", unread[i]);
        ap_poll_free(&p);
    }
}

static void test_times_ruby_refuses(void **state)
{
    (void)state;
    ap_poll p;
    /* DateTime.parse raises Date::Error, which PollParser rescues: no expiry */
    pp("\"oneOf\":[{\"name\":\"a\"}],\"endTime\":\"not a date\"", &p);
    assert_null(p.unread);
    assert_non_null(p.note);
    assert_int_equal(p.expiry, AP_POLL_OPEN);
    ap_poll_free(&p);
    pp("\"oneOf\":[{\"name\":\"a\"}],\"endTime\":\"\"", &p);
    assert_null(p.unread);
    assert_null(p.note);
    assert_int_equal(p.expiry, AP_POLL_OPEN);
    ap_poll_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mastodon_shapes),   cmocka_unit_test(test_not_a_poll),
        cmocka_unit_test(test_titles_and_tallies), cmocka_unit_test(test_cut_to_500),
        cmocka_unit_test(test_left_to_ruby),      cmocka_unit_test(test_times_ruby_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
