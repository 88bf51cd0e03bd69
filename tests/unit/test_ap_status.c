/* test_ap_status.c -- ap_status_parse field by field against Mastodon's StatusParser
 * rules: url choice, text/summary/language maps, times, inReplyTo, visibility, tags,
 * converted types, counts, wrong JSON types. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_test_parse.h"
#include "emoji_parse.h"

#define BOB "https://remote.example/users/bob"
#define FOLLOWERS "https://remote.example/users/bob/followers"
#define NOTE_HEAD "{\"id\":\"https://remote.example/users/bob/statuses/1\",\"type\":\"Note\","

static char err[512];

/* Parses a JSON object text with ap_status_parse as bob; returns its result. */
static int sp(const char *json, ap_status *s)
{
    return ap_test_parse(json, BOB, FOLLOWERS, s, err, sizeof err);
}

/* The same without an actor: no host or author check. */
static int sp_any(const char *json, ap_status *s)
{
    return ap_test_parse(json, NULL, NULL, s, err, sizeof err);
}

static void test_url_choice(void **state)
{
    ap_status s;
    assert_int_equal(sp(NOTE_HEAD "\"url\":\"https://remote.example/@bob/1\"}", &s), 0);
    assert_string_equal(s.url, "https://remote.example/@bob/1");
    ap_status_free(&s);
    /* array of strings: the first */
    assert_int_equal(sp(NOTE_HEAD "\"url\":[\"https://remote.example/a\",\"https://remote.example/b\"]}", &s), 0);
    assert_string_equal(s.url, "https://remote.example/a");
    ap_status_free(&s);
    /* Links: the first whose mimeType is text/html, a missing one counting as text/html.
     * Mastodon reads `mimeType`, not `mediaType`. */
    assert_int_equal(sp(NOTE_HEAD "\"url\":[{\"type\":\"Link\",\"mimeType\":\"video/mp4\",\"href\":\"https://remote.example/v.mp4\"},"
                        "{\"type\":\"Link\",\"mediaType\":\"text/html\",\"href\":\"https://remote.example/watch\"}]}", &s), 0);
    assert_string_equal(s.url, "https://remote.example/watch");
    ap_status_free(&s);
    assert_int_equal(sp(NOTE_HEAD "\"url\":{\"type\":\"Link\",\"href\":\"https://remote.example/one\"}}", &s), 0);
    assert_string_equal(s.url, "https://remote.example/one");
    ap_status_free(&s);
    /* no text/html Link: the uri */
    assert_int_equal(sp(NOTE_HEAD "\"url\":{\"type\":\"Link\",\"mimeType\":\"image/png\",\"href\":\"https://remote.example/p.png\"}}", &s), 0);
    assert_string_equal(s.url, "https://remote.example/users/bob/statuses/1");
    ap_status_free(&s);
    /* non-http(s): the uri */
    assert_int_equal(sp(NOTE_HEAD "\"url\":\"javascript:alert(1)\"}", &s), 0);
    assert_string_equal(s.url, s.uri);
    ap_status_free(&s);
    /* a number: refused (Ruby raises) */
    assert_int_equal(sp(NOTE_HEAD "\"url\":5}", &s), -1);
    assert_int_equal(sp(NOTE_HEAD "\"url\":[{\"href\":\"https://remote.example/a\"},5]}", &s), 0);
    ap_status_free(&s);
    assert_int_equal(sp(NOTE_HEAD "\"url\":[{\"mimeType\":\"x/y\",\"href\":\"https://remote.example/a\"},5]}", &s), -1);
}

static void test_text_summary_language(void **state)
{
    ap_status s;
    assert_int_equal(sp(NOTE_HEAD "\"content\":\"<p>hi</p>\",\"contentMap\":{\"de\":\"<p>hallo</p>\"},"
                        "\"summary\":\"cw\"}", &s), 0);
    assert_string_equal(s.text, "<p>hi</p>");
    assert_string_equal(s.spoiler_text, "cw");
    assert_string_equal(s.language, "de");
    ap_status_free(&s);
    /* blank content: the first contentMap value */
    assert_int_equal(sp(NOTE_HEAD "\"content\":\" \\n\",\"contentMap\":{\"pt-br\":\"<p>oi</p>\",\"en\":\"<p>hi</p>\"},"
                        "\"summaryMap\":{\"pt-br\":\"aviso\"}}", &s), 0);
    assert_string_equal(s.text, "<p>oi</p>");
    assert_string_equal(s.spoiler_text, "aviso");
    assert_string_equal(s.language, "pt-BR");
    ap_status_free(&s);
    /* language from nameMap, then summaryMap; script subtag title-cased */
    assert_int_equal(sp(NOTE_HEAD "\"nameMap\":{\"ZH-hant\":\"x\"},\"summaryMap\":{\"en\":\"y\"}}", &s), 0);
    assert_string_equal(s.language, "zh-Hant");
    assert_string_equal(s.text, "");
    ap_status_free(&s);
    assert_int_equal(sp(NOTE_HEAD "\"summaryMap\":{\"en\":\"y\"}}", &s), 0);
    assert_string_equal(s.language, "en");
    ap_status_free(&s);
    /* not BCP 47-like: no language */
    const char *bad[] = {"e", "english", "en_US", "12", "en--us", "en-", "x-toolongsubtag"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, NOTE_HEAD "\"contentMap\":{\"%s\":\"x\"}}", bad[i]);
        assert_int_equal(sp(buf, &s), 0);
        if (s.language)
            fail_msg("language %s accepted as %s", bad[i], s.language);
        ap_status_free(&s);
    }
    /* wrong types: content 5 refused; contentMap 5 ignored; a non-string map value ignored */
    assert_int_equal(sp(NOTE_HEAD "\"content\":5}", &s), -1);
    assert_int_equal(sp(NOTE_HEAD "\"content\":[\"a\"]}", &s), -1);
    assert_int_equal(sp(NOTE_HEAD "\"summary\":true}", &s), -1);
    assert_int_equal(sp(NOTE_HEAD "\"contentMap\":5}", &s), 0);
    assert_string_equal(s.text, "");
    ap_status_free(&s);
    assert_int_equal(sp(NOTE_HEAD "\"contentMap\":{\"en\":5}}", &s), 0);
    assert_string_equal(s.text, "");
    assert_string_equal(s.language, "en");
    ap_status_free(&s);
}

static void test_times(void **state)
{
    ap_status s;
    struct {
        const char *in;
        long long ms; /* -1: refused */
    } cases[] = {
        {"2026-11-24T18:00:00Z", 1795543200000LL},
        {"2026-11-24T18:00:00.5Z", 1795543200500LL},
        {"2026-11-24T19:30:00+01:30", 1795543200000LL},
        {"2026-11-24T16:00:00-0200", 1795543200000LL},
        {"2026-11-24 18:00:00Z", 1795543200000LL},
        {"2026-11-24T18:00Z", 1795543200000LL},
        {"2026-11-24", 1795478400000LL},
        {"1970-01-01T00:00:00Z", 0},
        {"0000-01-01T00:00:00Z", -62167219200000LL},
        {"9999-12-31T23:59:59Z", 253402300799000LL},
        {"2024-02-29T00:00:00Z", 1709164800000LL},
        {"10000-01-01T00:00:00Z", -1},
        {"-0001-01-01T00:00:00Z", -1},
        {"2023-02-29T00:00:00Z", -1},
        {"2026-13-01T00:00:00Z", -1},
        {"2026-11-24T25:00:00Z", -1},
        {"2026-11-24T18:00:00Zjunk", -1},
        {"yesterday", -1},
        {"", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, NOTE_HEAD "\"published\":\"%s\"}", cases[i].in);
        assert_int_equal(sp(buf, &s), 0);
        if (cases[i].ms == -1) {
            if (s.published)
                fail_msg("%s accepted", cases[i].in);
        } else {
            if (!s.published)
                fail_msg("%s refused", cases[i].in);
            assert_string_equal(s.published, cases[i].in);
            if (s.published_ms != cases[i].ms)
                fail_msg("%s: %lld ms, want %lld", cases[i].in, (long long)s.published_ms, cases[i].ms);
        }
        ap_status_free(&s);
    }
    /* updated equal to published (written differently): not an edit */
    assert_int_equal(sp(NOTE_HEAD "\"published\":\"2026-11-24T18:00:00Z\",\"updated\":\"2026-11-24T18:00:00.000Z\"}", &s), 0);
    assert_null(s.updated);
    ap_status_free(&s);
    assert_int_equal(sp(NOTE_HEAD "\"published\":\"2026-11-24T18:00:00Z\",\"updated\":\"2026-11-24T18:00:00.0004Z\"}", &s), 0);
    assert_string_equal(s.updated, "2026-11-24T18:00:00.0004Z");
    ap_status_free(&s);
    /* updated without published */
    assert_int_equal(sp(NOTE_HEAD "\"updated\":\"2026-11-24T18:00:00Z\"}", &s), 0);
    assert_string_equal(s.updated, "2026-11-24T18:00:00Z");
    assert_int_equal(s.updated_ms, 1795543200000LL);
    ap_status_free(&s);
    assert_int_equal(sp(NOTE_HEAD "\"published\":1795543200}", &s), -1);
}

static void test_reply_conversation_replies(void **state)
{
    ap_status s;
    assert_int_equal(sp(NOTE_HEAD "\"inReplyTo\":{\"id\":\"https://scotty.test/s/1\",\"type\":\"Note\"}}", &s), 0);
    assert_string_equal(s.in_reply_to, "https://scotty.test/s/1");
    ap_status_free(&s);
    assert_int_equal(sp(NOTE_HEAD "\"inReplyTo\":null,\"inReplyToAtomUri\":\"https://scotty.test/s/2\"}", &s), 0);
    assert_string_equal(s.in_reply_to, "https://scotty.test/s/2");
    ap_status_free(&s);
    assert_int_equal(sp(NOTE_HEAD "\"inReplyTo\":5}", &s), -1);
    assert_int_equal(sp(NOTE_HEAD "\"inReplyTo\":[\"https://scotty.test/s/1\"]}", &s), -1);
    /* conversation first, else context (a URL or an object's id) */
    assert_int_equal(sp(NOTE_HEAD "\"conversation\":\"tag:x,2020:objectId=1:objectType=Conversation\","
                        "\"context\":\"https://remote.example/ctx/1\"}", &s), 0);
    assert_string_equal(s.conversation, "tag:x,2020:objectId=1:objectType=Conversation");
    ap_status_free(&s);
    assert_int_equal(sp(NOTE_HEAD "\"context\":{\"id\":\"https://remote.example/ctx/1\",\"type\":\"Collection\"}}", &s), 0);
    assert_string_equal(s.conversation, "https://remote.example/ctx/1");
    ap_status_free(&s);
    assert_int_equal(sp(NOTE_HEAD "\"replies\":\"https://remote.example/users/bob/statuses/1/replies\"}", &s), 0);
    assert_string_equal(s.replies_uri, "https://remote.example/users/bob/statuses/1/replies");
    ap_status_free(&s);
}

static void test_visibility(void **state)
{
    struct {
        const char *tocc;
        ap_visibility v;
        size_t n_audience;
    } cases[] = {
        {"\"to\":[\"https://www.w3.org/ns/activitystreams#Public\"]", AP_VIS_PUBLIC, 0},
        {"\"to\":\"as:Public\"", AP_VIS_PUBLIC, 0},
        {"\"to\":[\"Public\",\"" FOLLOWERS "\"]", AP_VIS_PUBLIC, 0},
        {"\"to\":[{\"id\":\"https://www.w3.org/ns/activitystreams#Public\"}]", AP_VIS_PUBLIC, 0},
        {"\"to\":[\"" FOLLOWERS "\"],\"cc\":[\"as:Public\"]", AP_VIS_UNLISTED, 0},
        {"\"to\":[\"" FOLLOWERS "\"],\"cc\":[\"https://scotty.test/users/alice\"]", AP_VIS_PRIVATE, 1},
        {"\"cc\":[\"" FOLLOWERS "\"]", AP_VIS_DIRECT, 0},
        {"\"to\":[\"https://scotty.test/users/alice\",\"https://scotty.test/users/alice\"]", AP_VIS_DIRECT, 1},
        {"\"to\":[null,{}]", AP_VIS_DIRECT, 0},
        {"", AP_VIS_DIRECT, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[512];
        ap_status s;
        snprintf(buf, sizeof buf, NOTE_HEAD "%s%s\"content\":\"x\"}", cases[i].tocc, cases[i].tocc[0] ? "," : "");
        assert_int_equal(sp(buf, &s), 0);
        if (s.visibility != cases[i].v || s.n_audience != cases[i].n_audience)
            fail_msg("%s: visibility %d audience %zu", cases[i].tocc, s.visibility, s.n_audience);
        ap_status_free(&s);
    }
    ap_status s;
    assert_int_equal(sp(NOTE_HEAD "\"to\":[5]}", &s), -1);
    assert_int_equal(sp(NOTE_HEAD "\"cc\":[[\"as:Public\"]]}", &s), -1);
    assert_int_equal(sp(NOTE_HEAD "\"directMessage\":true}", &s), 0);
    assert_true(s.direct_message);
    ap_status_free(&s);

    /* the activity's to/cc count when the object has none */
    json_t *act = json_loads("{\"type\":\"Create\",\"to\":[\"" FOLLOWERS "\"],\"cc\":[\"as:Public\"]}", 0, NULL);
    json_t *obj = json_loads(NOTE_HEAD "\"content\":\"x\"}", 0, NULL);
    assert_int_equal(ap_status_parse_in(obj, act, BOB, FOLLOWERS, &s, err, sizeof err), 0);
    assert_int_equal(s.visibility, AP_VIS_UNLISTED);
    ap_status_free(&s);
    json_object_set_new(obj, "to", json_string("as:Public"));
    assert_int_equal(ap_status_parse_in(obj, act, BOB, FOLLOWERS, &s, err, sizeof err), 0);
    assert_int_equal(s.visibility, AP_VIS_PUBLIC);
    ap_status_free(&s);
    json_decref(act);
    json_decref(obj);
}

static void test_tags(void **state)
{
    ap_status s;
    assert_int_equal(sp(NOTE_HEAD "\"tag\":["
                        "{\"type\":\"Hashtag\",\"name\":\"#Caf\xc3\xa9\"},"
                        "{\"type\":\"Hashtag\",\"name\":\"#caf\xc3\xa9\"},"
                        "{\"type\":\"Hashtag\",\"name\":\"#CAF\xc3\xa9\"},"
                        "{\"type\":\"Hashtag\",\"name\":\"#123\"},"
                        "{\"type\":\"Hashtag\",\"name\":\"#1st_place\"},"
                        "{\"type\":\"Hashtag\",\"name\":\"#hello-world!\"},"
                        "{\"type\":\"Hashtag\",\"name\":\"#\xf0\x9f\x8e\x89party\"},"
                        "{\"type\":\"Hashtag\",\"name\":\"#\xe6\x97\xa5\xe6\x9c\xac\xe3\x83\xbb\xe8\xaa\x9e\"},"
                        "{\"type\":\"Hashtag\",\"name\":\"#\"},"
                        "{\"type\":\"Hashtag\",\"name\":\"   \"},"
                        "{\"type\":\"Hashtag\",\"name\":5},"
                        "{\"type\":\"Hashtag\"},"
                        "{\"type\":[\"Hashtag\"],\"name\":\"arraytype\"},"
                        "{\"type\":\"Mention\",\"href\":\"https://scotty.test/users/alice\"},"
                        "{\"type\":\"Mention\",\"href\":\"https://scotty.test/users/alice\"},"
                        "{\"type\":\"Mention\",\"href\":\"mailto:alice@scotty.test\"},"
                        "{\"type\":\"Mention\",\"name\":\"@nohref\"},"
                        "{\"type\":\"Emoji\",\"name\":\":blob:\",\"icon\":{\"url\":\"https://remote.example/e.png\"}},"
                        "\"a string is ignored\""
                        "]}", &s), 0);
    const char *want[] = {"Caf\xc3\xa9", "1st_place", "helloworld", "party",
                          "\xe6\x97\xa5\xe6\x9c\xac\xe3\x83\xbb\xe8\xaa\x9e", "arraytype"};
    const char *names[] = {"cafe", "1st_place", "helloworld", "party",
                           "\xe6\x97\xa5\xe6\x9c\xac\xe3\x83\xbb\xe8\xaa\x9e", "arraytype"};
    if (s.n_hashtags != sizeof want / sizeof *want) {
        for (size_t i = 0; i < s.n_hashtags; i++)
            print_message("hashtag %s\n", s.hashtags[i]);
        fail_msg("%zu hashtags", s.n_hashtags);
    }
    for (size_t i = 0; i < s.n_hashtags; i++) {
        assert_string_equal(s.hashtags[i], want[i]);
        assert_string_equal(s.hashtag_names[i], names[i]);
    }
    assert_int_equal(s.n_mentions, 1);
    assert_string_equal(s.mentions[0], "https://scotty.test/users/alice");
    ap_status_free(&s);
    /* normalization: case, Latin folding, fullwidth ASCII; dedup on the normalized name */
    assert_int_equal(sp(NOTE_HEAD "\"tag\":["
                        "{\"type\":\"Hashtag\",\"name\":\"#Stra\xc3\x9f\x65\"},"
                        "{\"type\":\"Hashtag\",\"name\":\"#STRASSE\"},"
                        "{\"type\":\"Hashtag\",\"name\":\"#\xc5\x81\xc3\xb3\x64\xc5\xba\"},"
                        "{\"type\":\"Hashtag\",\"name\":\"#\xef\xbc\xa6\xef\xbd\x95\xef\xbd\x8c\xef\xbd\x8c\"},"
                        "{\"type\":\"Hashtag\",\"name\":\"#\xd0\x9c\xd0\xb8\xd1\x80\"},"
                        "{\"type\":\"Hashtag\",\"name\":\"#\xc2\xb7" "dot\"},"
                        "{\"type\":\"Hashtag\",\"name\":\"#a\xc2\xb7\x62\"}"
                        "]}", &s), 0);
    const char *disp2[] = {"Stra\xc3\x9f\x65", "\xc5\x81\xc3\xb3\x64\xc5\xba",
                           "\xef\xbc\xa6\xef\xbd\x95\xef\xbd\x8c\xef\xbd\x8c", "\xd0\x9c\xd0\xb8\xd1\x80",
                           "a\xc2\xb7\x62"};
    const char *norm2[] = {"strasse", "lodz", "full", "\xd0\xbc\xd0\xb8\xd1\x80", "a\xc2\xb7\x62"};
    assert_int_equal(s.n_hashtags, 5);
    for (size_t i = 0; i < s.n_hashtags; i++) {
        assert_string_equal(s.hashtags[i], disp2[i]);
        assert_string_equal(s.hashtag_names[i], norm2[i]);
    }
    ap_status_free(&s);
    /* tag: "x" ignored; [null] and [5] refused (Ruby raises) */
    assert_int_equal(sp(NOTE_HEAD "\"tag\":\"x\"}", &s), 0);
    ap_status_free(&s);
    assert_int_equal(sp(NOTE_HEAD "\"tag\":[null]}", &s), -1);
    assert_int_equal(sp(NOTE_HEAD "\"tag\":[5]}", &s), -1);
}

static void test_tag_limit(void **state)
{
    ap_status s;
    char *b = malloc(100000);
    size_t o = (size_t)sprintf(b, NOTE_HEAD "\"tag\":[");
    for (int i = 0; i < AP_MAX_TAGS; i++)
        o += (size_t)sprintf(b + o, "%s{\"type\":\"Link\"}", i ? "," : "");
    strcpy(b + o, "]}");
    assert_int_equal(sp(b, &s), 0);
    ap_status_free(&s);
    strcpy(b + o, ",{}]}");
    assert_int_equal(sp(b, &s), -1);
    assert_non_null(strstr(err, "tag entries"));
    free(b);
    /* Emoji entries are not counted (Mastodon stores the status); the emoji parser
     * keeps at most EMOJI_MAX_PER_OBJECT of them */
    b = malloc(200000);
    o = (size_t)sprintf(b, NOTE_HEAD "\"tag\":[");
    for (int i = 0; i < 2000; i++)
        o += (size_t)sprintf(b + o, "%s{\"type\":\"Emoji\",\"name\":\":e%d:\",\"icon\":{\"url\":\"https://r.example/e\"}}",
                             i ? "," : "", i);
    strcpy(b + o, "]}");
    assert_int_equal(sp(b, &s), 0);
    assert_non_null(s.emoji);
    assert_int_equal(s.emoji->n, EMOJI_MAX_PER_OBJECT);
    assert_int_equal(s.emoji->n_over_cap, 2000 - EMOJI_MAX_PER_OBJECT);
    ap_status_free(&s);
    free(b);
}

static void test_types_and_identity(void **state)
{
    ap_status s;
    /* a Question is stored as a status; without anyOf/oneOf it has no poll */
    assert_int_equal(sp("{\"id\":\"https://remote.example/q/1\",\"type\":\"Question\"}", &s), 0);
    assert_string_equal(s.object_type, "Question");
    assert_false(s.poll.present);
    ap_status_free(&s);
    assert_int_equal(sp("{\"id\":\"https://remote.example/q/1\",\"type\":[\"Note\",\"Question\"]}", &s), 0);
    assert_string_equal(s.object_type, "Question");
    ap_status_free(&s);
    /* not stored: 1 */
    assert_int_equal(sp("{\"id\":\"https://remote.example/q/1\",\"type\":\"ChatMessage\"}", &s), 1);
    assert_int_equal(sp("{\"id\":\"https://remote.example/q/1\"}", &s), 1);
    /* type arrays */
    assert_int_equal(sp("{\"id\":\"https://remote.example/n/1\",\"type\":[\"x:Post\",\"Note\"]}", &s), 0);
    assert_string_equal(s.object_type, "Note");
    ap_status_free(&s);
    /* identity */
    assert_int_equal(sp("{\"type\":\"Note\"}", &s), -1);
    assert_int_equal(sp("{\"id\":5,\"type\":\"Note\"}", &s), -1);
    assert_int_equal(sp("{\"id\":\"ftp://remote.example/n/1\",\"type\":\"Note\"}", &s), -1);
    assert_int_equal(sp("{\"id\":\"https://elsewhere.example/n/1\",\"type\":\"Note\"}", &s), -1);
    assert_int_equal(sp(NOTE_HEAD "\"attributedTo\":[{\"id\":\"" BOB "\",\"type\":\"Person\"},\"https://remote.example/g\"]}", &s), 0);
    ap_status_free(&s);
    assert_int_equal(sp(NOTE_HEAD "\"attributedTo\":[\"https://remote.example/g\",\"" BOB "\"]}", &s), -1);
    assert_int_equal(sp(NOTE_HEAD "\"attributedTo\":5}", &s), -1);
    assert_int_equal(sp(NOTE_HEAD "\"attributedTo\":null}", &s), 0);
    ap_status_free(&s);
    /* ap_status_parse with no actor skips the host and author checks */
    json_t *o = json_loads("{\"id\":\"https://elsewhere.example/n/1\",\"type\":\"Note\"}", 0, NULL);
    assert_int_equal(ap_status_parse(o, NULL, NULL, &s, err, sizeof err), 0);
    ap_status_free(&s);
    json_decref(o);
    assert_int_equal(ap_status_parse(NULL, BOB, NULL, &s, err, sizeof err), -1);
}

static void test_converted(void **state)
{
    ap_status s;
    /* no name, no summary, no url: just the link to the uri */
    assert_int_equal(sp("{\"id\":\"https://remote.example/p/1\",\"type\":\"Page\",\"content\":\"ignored\","
                        "\"summary\":\"\"}", &s), 0);
    assert_true(s.converted);
    assert_string_equal(s.text,
        "<p><a href=\"https://remote.example/p/1\" target=\"_blank\" rel=\"nofollow noopener noreferrer\" translate=\"no\">"
        "<span class=\"invisible\">https://</span><span class=\"\">remote.example/p/1</span><span class=\"invisible\"></span></a></p>");
    ap_status_free(&s);
    /* www. is part of the invisible prefix; & escaped in the link; nameMap as title */
    assert_int_equal(sp_any("{\"id\":\"https://www.remote.example/e/1?a=1&b=2\",\"type\":\"Event\",\"nameMap\":{\"fr\":\"F\xc3\xaate\"}}", &s), 0);
    assert_string_equal(s.text,
        "<h2>F\xc3\xaate</h2>\n\n"
        "<p><a href=\"https://www.remote.example/e/1?a=1&amp;b=2\" target=\"_blank\" rel=\"nofollow noopener noreferrer\" translate=\"no\">"
        "<span class=\"invisible\">https://www.</span><span class=\"\">remote.example/e/1?a=1&amp;b=2</span><span class=\"invisible\"></span></a></p>");
    assert_string_equal(s.language, "fr");
    ap_status_free(&s);
    /* exactly 30 characters after the prefix: no ellipsis; multibyte counted as one */
    assert_int_equal(sp("{\"id\":\"https://remote.example/\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\",\"type\":\"Image\"}", &s), 0);
    assert_non_null(strstr(s.text, "<span class=\"\">remote.example/\xc3\xa9"));
    ap_status_free(&s);
    assert_int_equal(sp("{\"id\":\"https://remote.example/\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\",\"type\":\"Audio\"}", &s), 0);
    assert_non_null(strstr(s.text, "<span class=\"ellipsis\">remote.example/"));
    assert_non_null(strstr(s.text, "<span class=\"invisible\">\xc3\xa9</span>"));
    ap_status_free(&s);
    /* an Image with `attachment` gets its media, as in Mastodon */
    assert_int_equal(sp("{\"id\":\"https://remote.example/i/1\",\"type\":\"Image\",\"name\":\"pic\","
                        "\"attachment\":[{\"type\":\"Document\",\"url\":\"https://remote.example/i/1.png\",\"mediaType\":\"image/png\"}]}", &s), 0);
    assert_int_equal(s.n_media, 1);
    assert_string_equal(s.spoiler_text, "");
    ap_status_free(&s);
}

static void test_counts_and_flags(void **state)
{
    ap_status s;
    assert_int_equal(sp(NOTE_HEAD "\"likes\":{\"totalItems\":0},\"shares\":{\"totalItems\":9007199254740993},"
                        "\"sensitive\":true}", &s), 0);
    assert_int_equal(s.likes_total, 0);
    assert_int_equal(s.shares_total, 9007199254740993LL);
    assert_true(s.sensitive);
    ap_status_free(&s);
    assert_int_equal(sp(NOTE_HEAD "\"likes\":{\"totalItems\":-1},\"shares\":{\"totalItems\":2.5},"
                        "\"sensitive\":\"true\"}", &s), 0);
    assert_int_equal(s.likes_total, -1);
    assert_int_equal(s.shares_total, -1);
    assert_false(s.sensitive);
    ap_status_free(&s);
    /* quotes: the first of quote, _misskey_quote, quoteUrl, quoteUri */
    assert_int_equal(sp(NOTE_HEAD "\"quoteUri\":\"https://a.example/1\",\"quote\":{\"id\":\"https://b.example/2\"}}", &s), 0);
    assert_string_equal(s.quote_uri, "https://b.example/2");
    ap_status_free(&s);
}

/* legacy_quote?, deleted_quote?, quoteAuthorization and quote_policy's bitmap */
static void test_quotes(void **state)
{
    (void)state;
    ap_status s;
    assert_int_equal(sp(NOTE_HEAD "\"_misskey_quote\":\"https://a.example/1\",\"quoteUrl\":\"https://a.example/1\"}", &s), 0);
    assert_true(s.quote_present);
    assert_true(s.quote_legacy);
    assert_false(s.quote_deleted);
    assert_null(s.quote_approval_uri);
    ap_status_free(&s);
    assert_int_equal(sp(NOTE_HEAD "\"quote\":{\"type\":\"Tombstone\",\"id\":\"https://a.example/1\"},"
                        "\"quoteAuthorization\":[\"https://a.example/auth/1\"]}", &s), 0);
    assert_false(s.quote_legacy);
    assert_true(s.quote_deleted);
    assert_string_equal(s.quote_approval_uri, "https://a.example/auth/1");
    ap_status_free(&s);
    /* present? but no http URI: Ruby's */
    assert_int_equal(sp(NOTE_HEAD "\"quote\":{\"type\":\"Tombstone\"}}", &s), 0);
    assert_true(s.quote_present);
    assert_null(s.quote_uri);
    ap_status_free(&s);
    /* canQuote: public (as:Public taken out; the long spelling left over is unsupported),
     * followers, the author ignored, a stranger unsupported */
    assert_int_equal(sp(NOTE_HEAD "\"interactionPolicy\":{\"canQuote\":{\"automaticApproval\":[\"as:Public\","
                        "\"" BOB "\"],\"manualApproval\":[\"" FOLLOWERS "\",\"https://c.example/u\"]}}}", &s), 0);
    assert_null(s.policy_unread);
    assert_int_equal(ap_quote_policy(s.can_quote, FOLLOWERS, BOB "/following", BOB), (2 << 16) | 4 | 1);
    ap_status_free(&s);
    assert_int_equal(sp(NOTE_HEAD "\"interactionPolicy\":{\"canQuote\":{\"automaticApproval\":[\"as:Public\","
                        "\"https://www.w3.org/ns/activitystreams#Public\"],\"manualApproval\":\"" BOB "/following\"}}}",
                        &s), 0);
    assert_int_equal(ap_quote_policy(s.can_quote, FOLLOWERS, BOB "/following", BOB), ((2 | 1) << 16) | 8);
    ap_status_free(&s);
    assert_int_equal(sp(NOTE_HEAD "\"interactionPolicy\":{\"canQuote\":[1]}}", &s), 0);
    assert_non_null(s.policy_unread);
    ap_status_free(&s);
    assert_int_equal(sp(NOTE_HEAD "\"interactionPolicy\":\"x\"}", &s), 0);
    assert_non_null(s.policy_unread);
    ap_status_free(&s);
    assert_int_equal(ap_quote_policy(NULL, FOLLOWERS, "", BOB), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_choice),
        cmocka_unit_test(test_text_summary_language),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_reply_conversation_replies),
        cmocka_unit_test(test_visibility),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_tag_limit),
        cmocka_unit_test(test_types_and_identity),
        cmocka_unit_test(test_converted),
        cmocka_unit_test(test_counts_and_flags),
        cmocka_unit_test(test_quotes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
