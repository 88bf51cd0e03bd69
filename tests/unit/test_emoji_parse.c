/* test_emoji_parse.c -- the Emoji tag parser (worker/emoji/emoji_tag.c): the three
 * servers' shapes, CustomEmoji's shortcode and URL rules, one emoji per shortcode
 * (the last wins), `updated`, and the per-object cap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emoji_parse.h"

static void parse(const char *text, emoji_list *l)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    assert_non_null(v);
    emoji_tags_parse(v, l);
    json_decref(v);
}

static void test_server_shapes(void **state)
{
    (void)state;
    emoji_list l;
    parse("[{\"id\":\"https://m.example/emojis/1\",\"type\":\"Emoji\",\"name\":\":blobcat:\","
          "\"updated\":\"2026-01-01T00:00:00Z\",\"icon\":{\"type\":\"Image\",\"mediaType\":\"image/png\","
          "\"url\":\"https://m.example/a.png\"}},"
          "{\"type\":\"Emoji\",\"name\":\":party_parrot:\",\"updated\":\"2026-01-01T00:00:00.500Z\","
          "\"icon\":{\"type\":\"Image\",\"mediaType\":\"image/gif\",\"url\":\"https://k.example/p.gif\"}},"
          "{\"icon\":{\"type\":\"Image\",\"url\":\"https://p.example/f.webp\"},\"name\":\":fox_:\","
          "\"type\":[\"Emoji\"],\"updated\":\"1970-01-01T01:30:00+01:30\"},"
          "{\"type\":\"Hashtag\",\"name\":\"#cats\"}]",
          &l);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.tags[0].shortcode, "blobcat");
    assert_string_equal(l.tags[0].url, "https://m.example/a.png");
    assert_string_equal(l.tags[0].uri, "https://m.example/emojis/1");
    assert_true(l.tags[0].has_updated);
    assert_int_equal(l.tags[0].updated_ms, 1767225600000LL);
    assert_string_equal(l.tags[1].shortcode, "party_parrot");
    assert_null(l.tags[1].uri);
    assert_int_equal(l.tags[1].updated_ms, 1767225600500LL);
    assert_string_equal(l.tags[2].shortcode, "fox_");
    assert_true(l.tags[2].has_updated);
    assert_int_equal(l.tags[2].updated_ms, 0);
    assert_int_equal(l.n_refused, 0);
    emoji_list_free(&l);
}

static void test_rules(void **state)
{
    (void)state;
    emoji_list l;
    parse("[{\"type\":\"Emoji\",\"name\":\":a:\",\"icon\":{\"url\":\"https://x.example/a.png\"}},"
          "{\"type\":\"Emoji\",\"name\":\":bad-code:\",\"icon\":{\"url\":\"https://x.example/a.png\"}},"
          "{\"type\":\"Emoji\",\"name\":\":ftp_one:\",\"icon\":{\"url\":\"ftp://x.example/a.png\"}},"
          "{\"type\":\"Emoji\",\"name\":\"   \",\"icon\":{\"url\":\"https://x.example/a.png\"}},"
          "{\"type\":\"Emoji\",\"name\":\":no_icon:\"},"
          "{\"type\":\"Emoji\",\"name\":\":blob:cat:\",\"icon\":{\"url\":\"https://x.example/1.png\"},"
          "\"updated\":\"yesterday\"},"
          "{\"type\":\"Emoji\",\"name\":\"blobcat\",\"icon\":{\"url\":\"https://x.example/2.png\"}}]",
          &l);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.tags[0].shortcode, "blobcat");
    assert_string_equal(l.tags[0].url, "https://x.example/2.png");
    assert_false(l.tags[0].has_updated);
    assert_int_equal(l.n_refused, 3);
    assert_non_null(strstr(l.refused, "shortcode \"a\""));
    emoji_list_free(&l);
    assert_true(emoji_shortcode_valid("ab"));
    assert_false(emoji_shortcode_valid("a"));
    assert_false(emoji_shortcode_valid("caf\xc3\xa9"));
    char *longest = malloc(EMOJI_SHORTCODE_MAX + 2);
    memset(longest, 'x', EMOJI_SHORTCODE_MAX + 1);
    longest[EMOJI_SHORTCODE_MAX + 1] = '\0';
    assert_false(emoji_shortcode_valid(longest));
    longest[EMOJI_SHORTCODE_MAX] = '\0';
    assert_true(emoji_shortcode_valid(longest));
    free(longest);
}

static void test_cap(void **state)
{
    (void)state;
    json_t *tags = json_array();
    for (int i = 0; i < 300; i++) {
        char name[32];
        snprintf(name, sizeof name, ":e%d:", i);
        json_array_append_new(tags, json_pack("{s:s, s:s, s:{s:s}}", "type", "Emoji", "name", name, "icon", "url",
                                              "https://x.example/e.png"));
    }
    emoji_list l;
    emoji_tags_parse(tags, &l);
    assert_int_equal(l.n, EMOJI_MAX_PER_OBJECT);
    assert_int_equal(l.n_over_cap, 300 - EMOJI_MAX_PER_OBJECT);
    emoji_list_free(&l);
    emoji_tags_parse(json_array_get(tags, 0), &l);
    assert_int_equal(l.n, 1);
    emoji_list_free(&l);
    emoji_tags_parse(NULL, &l);
    assert_int_equal(l.n, 0);
    json_decref(tags);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_shapes),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
