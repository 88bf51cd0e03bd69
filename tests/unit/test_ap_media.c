/* test_ap_media.c -- attachments as Mastodon's MediaAttachmentParser reads them
 * (blurhash, focal point, description, url/icon forms, Links, the 4-media cap), and the
 * helpers ap_same_host, ap_id_of and the URL normalization. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_internal.h"
#include "ap_test_parse.h"

#define BOB "https://remote.example/users/bob"
#define NOTE_HEAD "{\"id\":\"https://remote.example/users/bob/statuses/1\",\"type\":\"Note\",\"attachment\":"

static char err[512];

/* Parses a JSON object text as bob's; returns ap_status_parse's result. */
static int sp(const char *json, ap_status *s)
{
    return ap_test_parse(json, BOB, NULL, s, err, sizeof err);
}

static void test_blurhash(void **state)
{
    assert_true(ap_blurhash_ok("LEHV6nWB2yk8pyo0adR*.7kCMdnj"));            /* 4x3 */
    assert_true(ap_blurhash_ok("UFGIJ.t7t7WB~qofofWB?bfkofayRjayj[of"));    /* 4x4 */
    assert_true(ap_blurhash_ok("00AAAA"));                                  /* 1x1 */
    assert_false(ap_blurhash_ok("LEHV6nWB2yk8pyo0adR*.7kCMdn"));            /* one short */
    assert_false(ap_blurhash_ok("LEHV6nWB2yk8pyo0adR*.7kCMdnjj"));          /* one long */
    assert_false(ap_blurhash_ok("LEHV6nWB2yk8pyo0adR*.7kCMd j"));           /* space */
    assert_false(ap_blurhash_ok("LEHV6nWB2yk8pyo0adR*.7kCMd\"j"));          /* not base83 */
    assert_false(ap_blurhash_ok(""));
    assert_false(ap_blurhash_ok(NULL));
    /* '8' = 8: 9 components across, 1 down: the right length but over 5 */
    char h[4 + 2 * 9 + 1];
    memset(h, 'A', sizeof h - 1);
    h[0] = '8';
    h[sizeof h - 1] = '\0';
    assert_false(ap_blurhash_ok(h));
    /* '4' = 4: 5x1, allowed */
    char h5[4 + 2 * 5 + 1];
    memset(h5, 'A', sizeof h5 - 1);
    h5[0] = '4';
    h5[sizeof h5 - 1] = '\0';
    assert_true(ap_blurhash_ok(h5));
    /* '~' = 82: 2 across, 10 down: over 5 */
    char h10[4 + 2 * 20 + 1];
    memset(h10, 'A', sizeof h10 - 1);
    h10[0] = '~';
    h10[sizeof h10 - 1] = '\0';
    assert_false(ap_blurhash_ok(h10));
}

static void test_fields(void **state)
{
    ap_status s;
    assert_int_equal(sp(NOTE_HEAD "[{\"type\":\"Document\",\"url\":\"https://Remote.Example:443/m/a b.jpg\","
                        "\"icon\":{\"type\":\"Image\",\"url\":\"https://remote.example/m/a_small.jpg\"},"
                        "\"summary\":\"\\t alt text \\n\",\"name\":\"ignored\",\"focalPoint\":[-3,0.5],"
                        "\"blurhash\":\"bad hash\"},"
                        "{\"type\":\"Video\",\"url\":[{\"type\":\"Link\",\"href\":\"https://remote.example/v.mp4\",\"mediaType\":\"video/mp4\"}],"
                        "\"icon\":\"https://remote.example/v.jpg\",\"nameMap\":{\"en\":\"from the map\"},\"focalPoint\":\"0.1,-0.2\"},"
                        "{\"type\":\"Document\",\"url\":[\"https://remote.example/first.png\",\"https://remote.example/second.png\"],"
                        "\"focalPoint\":[0.5],\"name\":\"   \"}"
                        "]}", &s), 0);
    assert_int_equal(s.n_media, 3);
    ap_attachment *m = &s.media[0];
    assert_string_equal(m->remote_url, "https://remote.example/m/a%20b.jpg");
    assert_string_equal(m->thumbnail_remote_url, "https://remote.example/m/a_small.jpg");
    assert_null(m->media_type);
    assert_string_equal(m->description, "alt text");
    assert_null(m->blurhash);
    assert_true(m->has_focus && m->focus_x == -1.0 && m->focus_y == 0.5);
    m = &s.media[1];
    assert_string_equal(m->remote_url, "https://remote.example/v.mp4");
    assert_string_equal(m->media_type, "video/mp4"); /* from the Link */
    assert_string_equal(m->thumbnail_remote_url, "https://remote.example/v.jpg");
    assert_string_equal(m->description, "from the map");
    assert_true(m->has_focus && m->focus_x == 0.1 && m->focus_y == -0.2);
    m = &s.media[2];
    assert_string_equal(m->remote_url, "https://remote.example/first.png");
    assert_false(m->has_focus);
    assert_null(m->description);
    ap_status_free(&s);
}

static void test_description_truncation(void **state)
{
    ap_status s;
    /* 10,001 two-byte characters: truncated to 10,000 characters (20,000 bytes) */
    size_t n = AP_MAX_DESCRIPTION + 1;
    char *json = malloc(n * 2 + 256);
    int o = sprintf(json, NOTE_HEAD "{\"url\":\"https://remote.example/a.png\",\"name\":\"");
    for (size_t i = 0; i < n; i++) {
        json[o++] = '\xc3';
        json[o++] = '\xa9';
    }
    strcpy(json + o, "\"}}");
    assert_int_equal(sp(json, &s), 0);
    assert_int_equal(strlen(s.media[0].description), AP_MAX_DESCRIPTION * 2);
    ap_status_free(&s);
    free(json);
}

static void test_skips_and_refusals(void **state)
{
    ap_status s;
    /* strings skipped, Links collected, blank and non-http skipped, only 4 kept */
    assert_int_equal(sp(NOTE_HEAD "[\"https://remote.example/str.png\","
                        "{\"type\":\"Link\",\"href\":\"\"},"  /* a blank href is not a Link */
                        "{\"href\":\"ftp://remote.example/x\"},"
                        "{\"type\":\"Link\",\"href\":\"https://news.example/a\"},"
                        "{\"type\":\"Link\",\"href\":\"https://news.example/b\"},"
                        "{\"url\":\"\"},{\"url\":null},{},{\"url\":\"data:image/png;base64,AAAA\"},"
                        "{\"url\":\"https://remote.example/1.png\"},{\"url\":\"https://remote.example/2.png\"},"
                        "{\"url\":\"https://remote.example/3.png\"},{\"url\":\"https://remote.example/4.png\"},"
                        "{\"url\":\"https://remote.example/5.png\"}]}", &s), 0);
    assert_int_equal(s.n_media, 4);
    assert_string_equal(s.media[3].remote_url, "https://remote.example/4.png");
    assert_string_equal(s.link_href, "https://news.example/a");
    ap_status_free(&s);
    assert_int_equal(sp(NOTE_HEAD "\"nope\"}", &s), 0);
    assert_int_equal(s.n_media, 0);
    ap_status_free(&s);
    assert_int_equal(sp(NOTE_HEAD "{\"url\":\"https://remote.example/single.png\"}}", &s), 0);
    assert_int_equal(s.n_media, 1);
    ap_status_free(&s);
    /* Ruby would raise: refused */
    assert_int_equal(sp(NOTE_HEAD "[5]}", &s), -1);
    assert_int_equal(sp(NOTE_HEAD "[null]}", &s), -1);
    assert_int_equal(sp(NOTE_HEAD "[{\"url\":5}]}", &s), -1);
    assert_int_equal(sp(NOTE_HEAD "[{\"url\":\"https://remote.example/a.png\",\"icon\":5}]}", &s), -1);
    assert_int_equal(sp(NOTE_HEAD "[{\"url\":\"https://remote.example/a.png\",\"icon\":[\"x\"]}]}", &s), -1);
}

static void test_same_host_and_id(void **state)
{
    assert_true(ap_same_host("https://remote.example/users/bob", "https://REMOTE.EXAMPLE/x"));
    assert_true(ap_same_host("https://remote.example/users/bob", "http://remote.example:8080/x"));
    assert_true(ap_same_host("http://127.0.0.2:4000/users/bob", "http://127.0.0.2:5000/s/1"));
    assert_true(ap_same_host("https://remote.example", "https://remote.example?x#y"));
    assert_true(ap_same_host("https://[::1]:443/a", "http://[::1]/b"));
    assert_true(ap_same_host("https://user:pw@remote.example/a", "https://remote.example/b"));
    assert_false(ap_same_host("https://remote.example/a", "https://remote.example.evil/b"));
    assert_false(ap_same_host("https://remote.example/a", "https://evil.example/remote.example"));
    assert_false(ap_same_host("https://remote.example/a", "https://evil.example@remote.example.x/"));
    assert_false(ap_same_host("https://remote.example/a", "ftp://remote.example/b"));
    assert_false(ap_same_host("https://remote.example/a", "HTTPS://remote.example/b"));
    assert_false(ap_same_host("https://remote.example/a", "https:///b"));
    assert_false(ap_same_host("https://remote.example/a", NULL));
    assert_false(ap_same_host(NULL, NULL));

    json_t *v = json_loads("[\"https://a.example/1\",{\"id\":\"https://a.example/2\"},{\"id\":5},{},5,null]", 0, NULL);
    assert_string_equal(ap_id_of(json_array_get(v, 0)), "https://a.example/1");
    assert_string_equal(ap_id_of(json_array_get(v, 1)), "https://a.example/2");
    assert_null(ap_id_of(json_array_get(v, 2)));
    assert_null(ap_id_of(json_array_get(v, 3)));
    assert_null(ap_id_of(json_array_get(v, 4)));
    assert_null(ap_id_of(json_array_get(v, 5)));
    assert_null(ap_id_of(NULL));
    json_decref(v);
}

static void test_url_normalize(void **state)
{
    struct {
        const char *in, *out;
    } cases[] = {
        {"https://Remote.Example/a", "https://remote.example/a"},
        {"https://remote.example:443/a", "https://remote.example/a"},
        {"http://remote.example:80/a", "http://remote.example/a"},
        {"https://remote.example:8443/a", "https://remote.example:8443/a"},
        {"https://remote.example", "https://remote.example/"},
        {"https://remote.example?q=1", "https://remote.example/?q=1"},
        {"https://remote.example/caf\xc3\xa9 1.png", "https://remote.example/caf%C3%A9%201.png"},
        {"https://remote.example/a%20b?x=<y>", "https://remote.example/a%20b?x=%3Cy%3E"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *n = ap_url_normalize(cases[i].in);
        assert_string_equal(n, cases[i].out);
        free(n);
    }
}

static void test_helpers(void **state)
{
    char *s = ap_unbear("bear:?u=https%3A%2F%2Fremote.example%2Fs%2F1&t=abc");
    assert_string_equal(s, "https://remote.example/s/1");
    free(s);
    s = ap_unbear("bear:?t=abc&u=https://remote.example/s/2");
    assert_string_equal(s, "https://remote.example/s/2");
    free(s);
    s = ap_unbear("bear:?t=abc");
    assert_string_equal(s, "bear:?t=abc");
    free(s);
    s = ap_unbear("https://remote.example/s/3");
    assert_string_equal(s, "https://remote.example/s/3");
    free(s);
    assert_true(ap_blank("  \t\n"));
    assert_true(ap_blank("\xc2\xa0\xe3\x80\x80"));
    assert_false(ap_blank(" x "));
    char t[] = "\xc3\xa9\xc3\xa9\xc3\xa9";
    ap_utf8_truncate(t, 2);
    assert_string_equal(t, "\xc3\xa9\xc3\xa9");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blurhash),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_description_truncation),
        cmocka_unit_test(test_skips_and_refusals),
        cmocka_unit_test(test_same_host_and_id),
        cmocka_unit_test(test_url_normalize),
        cmocka_unit_test(test_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
