/* test_ap_parse.c -- ap_parse on the payload fixtures in tests/ingress/fixtures (real
 * shapes from Mastodon, Misskey, Pleroma/Akkoma, GoToSocial, PeerTube, blogs, and
 * hostile ones) and on generated edge cases: limits, origin and actor checks, dispatch. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap.h"

#define BOB "https://remote.example/users/bob"
#define FOLLOWERS "https://remote.example/users/bob/followers"
#define ALICE "https://scotty.test/users/alice"
#define ALICE_POST "https://scotty.test/users/alice/statuses/113400000000000000"

static char *load_fixture(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", AP_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open fixture %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Parses a fixture as delivered by bob; returns ap_parse's result. */
static int parse_fixture(const char *name, ap_activity *a, char *err, size_t errlen)
{
    size_t len;
    char *body = load_fixture(name, &len);
    int rc = ap_parse(body, len, BOB, FOLLOWERS, a, err, errlen);
    free(body);
    return rc;
}

static int parse_str(const char *body, ap_activity *a, char *err, size_t errlen)
{
    return ap_parse(body, strlen(body), BOB, FOLLOWERS, a, err, errlen);
}

static void expect_refused(const char *name, const char *reason)
{
    ap_activity a;
    char err[512];
    assert_int_equal(parse_fixture(name, &a, err, sizeof err), -1);
    if (!strstr(err, reason))
        fail_msg("%s: err \"%s\" does not mention \"%s\"", name, err, reason);
    assert_null(a.root);
    assert_null(a.status);
}

static void test_mastodon_create_note(void **state)
{
    ap_activity a;
    char err[512];
    assert_int_equal(parse_fixture("create_note_mastodon.json", &a, err, sizeof err), 0);
    assert_int_equal(a.kind, AP_CREATE);
    assert_string_equal(a.type, "Create");
    assert_string_equal(a.id, "https://remote.example/users/bob/statuses/113500000000000001/activity");
    assert_string_equal(a.actor, BOB);
    assert_string_equal(a.object_id, "https://remote.example/users/bob/statuses/113500000000000001");
    assert_string_equal(a.object_type, "Note");
    assert_non_null(a.root);
    assert_null(a.inner);
    ap_status *s = a.status;
    assert_non_null(s);
    assert_string_equal(s->object_type, "Note");
    assert_string_equal(s->uri, "https://remote.example/users/bob/statuses/113500000000000001");
    assert_string_equal(s->url, "https://remote.example/@bob/113500000000000001");
    assert_true(strncmp(s->text, "<p><span class=\"h-card\"", 23) == 0);
    assert_string_equal(s->spoiler_text, "");
    assert_string_equal(s->language, "en");
    assert_string_equal(s->published, "2026-11-24T18:00:00Z");
    assert_int_equal(s->published_ms, 1795543200000LL);
    assert_null(s->updated);
    assert_string_equal(s->in_reply_to, ALICE_POST);
    assert_string_equal(s->conversation, "tag:remote.example,2026-11-24:objectId=4242:objectType=Conversation");
    assert_string_equal(s->replies_uri, "https://remote.example/users/bob/statuses/113500000000000001/replies");
    assert_string_equal(s->link_href, "https://news.example/story");
    assert_string_equal(s->atom_uri, "https://remote.example/users/bob/statuses/113500000000000001");
    assert_false(s->sensitive);
    assert_false(s->converted);
    assert_int_equal(s->visibility, AP_VIS_PUBLIC);
    assert_int_equal(s->n_mentions, 1);
    assert_string_equal(s->mentions[0], ALICE);
    assert_int_equal(s->n_hashtags, 2);
    assert_string_equal(s->hashtags[0], "Harbour");
    assert_string_equal(s->hashtags[1], "photography");
    assert_int_equal(s->n_audience, 1);
    assert_string_equal(s->audience[0], ALICE);
    assert_int_equal(s->likes_total, 3);
    assert_int_equal(s->shares_total, 1);

    assert_int_equal(s->n_media, 2);
    ap_attachment *m = &s->media[0];
    assert_string_equal(m->remote_url, "https://remote.example/system/media_attachments/files/113/500/000/000/000/001/original/a1b2c3d4e5f60718.jpg");
    assert_null(m->thumbnail_remote_url);
    assert_string_equal(m->media_type, "image/jpeg");
    assert_string_equal(m->description, "A red lighthouse at the end of a stone pier, gulls overhead.");
    assert_string_equal(m->blurhash, "UFGIJ.t7t7WB~qofofWB?bfkofayRjayj[of");
    assert_true(m->has_focus);
    assert_true(m->focus_x == 0.25 && m->focus_y == -0.5);
    m = &s->media[1];
    assert_string_equal(m->media_type, "image/png");
    assert_string_equal(m->blurhash, "LEHV6nWB2yk8pyo0adR*.7kCMdnj");
    assert_true(m->focus_x == 1.0 && m->focus_y == 0.0); /* 1.5 clamped */
    ap_activity_free(&a);
    assert_null(a.root);
}

static void test_misskey_note(void **state)
{
    ap_activity a;
    char err[512];
    assert_int_equal(parse_fixture("create_note_misskey.json", &a, err, sizeof err), 0);
    ap_status *s = a.status;
    assert_non_null(s);
    /* content, not _misskey_content, is the text (as in Mastodon) */
    assert_true(strncmp(s->text, "<p>look at this <a href=", 24) == 0);
    assert_string_equal(s->url, s->uri); /* no url: the uri */
    assert_string_equal(s->quote_uri, "https://other.example/notes/9xjzzzzz01");
    assert_string_equal(s->published, "2026-11-24T18:05:00.123Z");
    assert_int_equal(s->published_ms, 1795543500123LL);
    assert_null(s->in_reply_to); /* inReplyTo: null */
    assert_null(s->language);
    assert_int_equal(s->n_mentions, 1);
    assert_int_equal(s->n_hashtags, 1);
    assert_string_equal(s->hashtags[0], "misskey");
    assert_int_equal(s->n_media, 1);
    assert_string_equal(s->media[0].media_type, "image/webp");
    assert_null(s->media[0].description); /* name: null */
    assert_int_equal(s->visibility, AP_VIS_PUBLIC);
    ap_activity_free(&a);
}

static void test_pleroma_note(void **state)
{
    ap_activity a;
    char err[512];
    assert_int_equal(parse_fixture("create_note_pleroma.json", &a, err, sizeof err), 0);
    ap_status *s = a.status;
    assert_non_null(s);
    assert_string_equal(s->conversation, "https://remote.example/contexts/5f1c3b2a-8e6d-4c1b-9a6e-2f0d7b3c4a55");
    assert_false(s->sensitive); /* sensitive: null */
    assert_false(s->direct_message);
    assert_string_equal(s->spoiler_text, ""); /* summary: "" */
    assert_string_equal(s->published_ms == 1795543800451LL ? "ok" : "bad", "ok");
    assert_int_equal(s->n_media, 1);
    /* url is an array of Links: the first href, with the Link's mediaType */
    assert_string_equal(s->media[0].remote_url,
        "https://remote.example/media/8c2f1e0d9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d.jpg?name=boat.jpg");
    assert_string_equal(s->media[0].media_type, "image/jpeg");
    assert_null(s->media[0].description); /* name: "" */
    assert_string_equal(s->media[0].blurhash, "LIIE|gRj00WB-;j[t7j[4nWBj[Rj");
    assert_int_equal(s->visibility, AP_VIS_PUBLIC);
    assert_int_equal(s->n_audience, 1); /* alice; followers and Public are not audience */
    ap_activity_free(&a);
}

static void test_gotosocial_single_values(void **state)
{
    ap_activity a;
    char err[512];
    assert_int_equal(parse_fixture("create_note_gotosocial.json", &a, err, sizeof err), 0);
    ap_status *s = a.status;
    assert_non_null(s);
    assert_string_equal(s->language, "en-GB"); /* en-gb normalized */
    assert_int_equal(s->n_mentions, 1);        /* tag: a single object */
    assert_int_equal(s->n_media, 1);           /* attachment: a single object */
    assert_string_equal(s->media[0].description, "A dog asleep on a rug.");
    assert_string_equal(s->url, "https://remote.example/@bob/statuses/01JDQ8Z3K4M5N6P7Q8R9S0T1V2");
    assert_string_equal(s->replies_uri, "https://remote.example/users/bob/statuses/01JDQ8Z3K4M5N6P7Q8R9S0T1V2/replies");
    ap_activity_free(&a);
}

static void test_peertube_video_converted(void **state)
{
    ap_activity a;
    char err[512];
    assert_int_equal(parse_fixture("create_video_peertube.json", &a, err, sizeof err), 0);
    ap_status *s = a.status;
    assert_non_null(s);
    assert_true(s->converted);
    assert_string_equal(s->object_type, "Video");
    const char *watch = "https://remote.example/videos/watch/9c9de5e8-0a1e-484a-b099-e80766180a6d";
    assert_string_equal(s->url, watch); /* the text/html Link */
    assert_string_equal(s->text,
        "<h2>Harbour timelapse</h2>\n\n"
        "<p><a href=\"https://remote.example/videos/watch/9c9de5e8-0a1e-484a-b099-e80766180a6d\" target=\"_blank\" "
        "rel=\"nofollow noopener noreferrer\" translate=\"no\"><span class=\"invisible\">https://</span>"
        "<span class=\"ellipsis\">remote.example/videos/watch/9c</span><span class=\"invisible\">"
        "9de5e8-0a1e-484a-b099-e80766180a6d</span></a></p>");
    assert_string_equal(s->spoiler_text, "");
    /* Mastodon reads only `attachment`: the mp4 in `url` is not media */
    assert_int_equal(s->n_media, 0);
    assert_string_equal(s->updated, "2026-11-24T17:30:00.000Z");
    assert_int_equal(s->likes_total, -1); /* likes is a URI string */
    assert_int_equal(s->n_hashtags, 2);
    ap_activity_free(&a);
}

static void test_article_converted(void **state)
{
    ap_activity a;
    char err[512];
    assert_int_equal(parse_fixture("create_article.json", &a, err, sizeof err), 0);
    ap_status *s = a.status;
    assert_non_null(s);
    assert_true(s->converted);
    assert_string_equal(s->text,
        "<h2>On <em>scotty</em> & workers</h2>\n\n<p>Why the jobs moved.</p>\n\n"
        "<p><a href=\"https://remote.example/@bob/on-scotty-and-workers-a-long-title\" target=\"_blank\" "
        "rel=\"nofollow noopener noreferrer\" translate=\"no\"><span class=\"invisible\">https://</span>"
        "<span class=\"ellipsis\">remote.example/@bob/on-scotty-</span><span class=\"invisible\">"
        "and-workers-a-long-title</span></a></p>");
    assert_string_equal(s->spoiler_text, "");
    assert_string_equal(s->published_ms == 1795518000000LL ? "ok" : "bad", "ok"); /* +01:00 */
    ap_activity_free(&a);
}

static void test_question_and_bare_object(void **state)
{
    ap_activity a;
    char err[512];
    assert_int_equal(parse_fixture("create_question.json", &a, err, sizeof err), 0);
    assert_int_equal(a.kind, AP_CREATE);
    assert_non_null(a.status);
    assert_string_equal(a.status->object_type, "Question");
    assert_true(a.status->poll.present);
    assert_int_equal(a.status->poll.n_options, 2);
    assert_string_equal(a.status->poll.options[1], "Coffee");
    assert_string_equal(a.object_id, "https://remote.example/users/bob/statuses/113500000000000003");
    ap_activity_free(&a);

    assert_int_equal(parse_fixture("create_note_bare.json", &a, err, sizeof err), 0);
    assert_int_equal(a.kind, AP_CREATE);
    assert_null(a.status);
    assert_null(a.object_type);
    assert_string_equal(a.object_id, "https://remote.example/users/bob/statuses/113500000000000002");
    ap_activity_free(&a);
}

static void test_update_note(void **state)
{
    ap_activity a;
    char err[512];
    assert_int_equal(parse_fixture("update_note.json", &a, err, sizeof err), 0);
    assert_int_equal(a.kind, AP_UPDATE);
    assert_non_null(a.status);
    assert_string_equal(a.status->text, "<p>Two photos from the harbour (edited)</p>");
    assert_string_equal(a.status->updated, "2026-11-24T18:30:00Z");
    assert_int_equal(a.status->updated_ms, 1795545000000LL);
    ap_activity_free(&a);
}

static void test_announce_like_delete_follow(void **state)
{
    ap_activity a;
    char err[512];
    assert_int_equal(parse_fixture("announce.json", &a, err, sizeof err), 0);
    assert_int_equal(a.kind, AP_ANNOUNCE);
    assert_string_equal(a.object_id, ALICE_POST);
    assert_null(a.status);
    ap_activity_free(&a);

    assert_int_equal(parse_fixture("like.json", &a, err, sizeof err), 0);
    assert_int_equal(a.kind, AP_LIKE);
    assert_string_equal(a.id, "https://remote.example/users/bob#likes/42");
    assert_string_equal(a.object_id, ALICE_POST);
    ap_activity_free(&a);

    assert_int_equal(parse_fixture("delete_string.json", &a, err, sizeof err), 0);
    assert_int_equal(a.kind, AP_DELETE);
    assert_string_equal(a.object_id, "https://remote.example/users/bob/statuses/113500000000000001");
    assert_null(a.object_type);
    ap_activity_free(&a);

    assert_int_equal(parse_fixture("delete_tombstone.json", &a, err, sizeof err), 0);
    assert_int_equal(a.kind, AP_DELETE);
    assert_string_equal(a.object_id, "https://remote.example/users/bob/statuses/113500000000000001");
    assert_string_equal(a.object_type, "Tombstone");
    assert_null(a.status);
    ap_activity_free(&a);

    assert_int_equal(parse_fixture("follow.json", &a, err, sizeof err), 0);
    assert_int_equal(a.kind, AP_OTHER);
    assert_string_equal(a.type, "Follow");
    assert_string_equal(a.object_id, ALICE);
    ap_activity_free(&a);
}

static void test_undo(void **state)
{
    ap_activity a;
    char err[512];
    assert_int_equal(parse_fixture("undo_announce.json", &a, err, sizeof err), 0);
    assert_int_equal(a.kind, AP_UNDO);
    assert_string_equal(a.object_id, "https://remote.example/users/bob/statuses/113500000000000009/activity");
    assert_string_equal(a.object_type, "Announce");
    assert_non_null(a.inner);
    assert_int_equal(a.inner->kind, AP_ANNOUNCE);
    assert_string_equal(a.inner->id, "https://remote.example/users/bob/statuses/113500000000000009/activity");
    assert_string_equal(a.inner->actor, BOB);
    assert_string_equal(a.inner->object_id, ALICE_POST);
    assert_null(a.inner->root);
    ap_activity_free(&a);

    assert_int_equal(parse_fixture("undo_like.json", &a, err, sizeof err), 0);
    assert_int_equal(a.kind, AP_UNDO);
    assert_non_null(a.inner);
    assert_int_equal(a.inner->kind, AP_LIKE);
    assert_string_equal(a.inner->object_id, ALICE_POST);
    ap_activity_free(&a);

    /* a bare URI: no inner */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Undo\","
                               "\"actor\":\"" BOB "\",\"object\":\"" BOB "#likes/42\"}", &a, err, sizeof err), 0);
    assert_int_equal(a.kind, AP_UNDO);
    assert_null(a.inner);
    assert_null(a.id);
    assert_string_equal(a.object_id, BOB "#likes/42");
    ap_activity_free(&a);

    /* Undo{Follow}: inner is AP_OTHER */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Undo\","
                               "\"actor\":\"" BOB "\",\"object\":{\"id\":\"https://remote.example/f/1\","
                               "\"type\":\"Follow\",\"actor\":{\"id\":\"" BOB "\"},\"object\":\"" ALICE "\"}}",
                               &a, err, sizeof err), 0);
    assert_int_equal(a.inner->kind, AP_OTHER);
    assert_string_equal(a.inner->type, "Follow");
    assert_string_equal(a.inner->object_id, ALICE);
    ap_activity_free(&a);

    /* the undone activity's actor must be the Undo's */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Undo\","
                               "\"actor\":\"" BOB "\",\"object\":{\"id\":\"https://remote.example/users/mallory#likes/1\","
                               "\"type\":\"Like\",\"actor\":\"https://remote.example/users/mallory\",\"object\":\"" ALICE_POST "\"}}",
                               &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "undone activity's actor"));
    /* no actor on the undone activity: it is the Undo's (Mastodon scopes by the signer) */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Undo\","
                               "\"actor\":\"" BOB "\",\"object\":{\"id\":\"" BOB "#likes/1\","
                               "\"type\":\"Like\",\"object\":\"" ALICE_POST "\"}}", &a, err, sizeof err), 0);
    assert_string_equal(a.inner->actor, BOB);
    ap_activity_free(&a);
    /* Undo of an Undo is refused */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Undo\","
                               "\"actor\":\"" BOB "\",\"object\":{\"id\":\"" BOB "#u\",\"type\":\"Undo\","
                               "\"object\":{\"id\":\"" BOB "#l\",\"type\":\"Like\",\"object\":\"" ALICE_POST "\"}}}",
                               &a, err, sizeof err), -1);
}

static void test_hostile_fixtures(void **state)
{
    expect_refused("hostile_spoofed_origin.json", "is not on the host of actor");
    expect_refused("hostile_actor_mismatch.json", "is not the signer");
    expect_refused("hostile_actor_mismatch.json", "LD signatures");
    expect_refused("hostile_attributed_mismatch.json", "attributedTo");
    expect_refused("hostile_no_context.json", "@context");
    expect_refused("hostile_wrong_types_refused.json", "`content` is not a string");
    expect_refused("hostile_nul.json", "\\u0000");
    expect_refused("hostile_mentions_10000.json", "10000 tag entries");
    expect_refused("hostile_oversized.json", "over the 1048576-byte limit");
    expect_refused("hostile_deep_nesting.json", "nested deeper than 32");
}

static void test_hostile_tolerated(void **state)
{
    ap_activity a;
    char err[512];
    /* tag: "x", to: {}, cc: a string, sensitive: "yes", contentMap: 5, likes: "lots",
     * shares.totalItems: -4, attachment: "nope", conversation: 7, replies: 5,
     * published: "yesterday", url: [] -- all ignored as Mastodon ignores them */
    assert_int_equal(parse_fixture("hostile_wrong_types_tolerated.json", &a, err, sizeof err), 0);
    ap_status *s = a.status;
    assert_non_null(s);
    assert_string_equal(s->text, "");
    assert_false(s->sensitive);
    assert_int_equal(s->likes_total, -1);
    assert_int_equal(s->shares_total, -1);
    assert_int_equal(s->n_media, 0);
    assert_int_equal(s->n_hashtags + s->n_mentions, 0);
    assert_null(s->conversation);
    assert_null(s->replies_uri);
    assert_null(s->published);
    assert_string_equal(s->url, s->uri);
    assert_int_equal(s->visibility, AP_VIS_DIRECT); /* followers only in cc */
    ap_activity_free(&a);
}

static void test_bad_schemes(void **state)
{
    ap_activity a;
    char err[512];
    assert_int_equal(parse_fixture("hostile_bad_schemes.json", &a, err, sizeof err), 0);
    ap_status *s = a.status;
    assert_non_null(s);
    assert_string_equal(s->url, s->uri);                     /* javascript: url -> the uri */
    assert_null(s->in_reply_to);                             /* file: */
    assert_int_equal(s->n_mentions, 1);                      /* javascript: mention dropped */
    assert_string_equal(s->mentions[0], ALICE);
    assert_string_equal(s->link_href, "https://news.example/ok"); /* javascript: Link skipped */
    assert_int_equal(s->n_media, 1);                         /* file:, javascript:, blank skipped */
    assert_string_equal(s->media[0].remote_url, "https://remote.example/media/ok.png");
    assert_null(s->media[0].thumbnail_remote_url);           /* javascript: icon dropped */
    ap_activity_free(&a);
}

static void test_six_attachments(void **state)
{
    ap_activity a;
    char err[512];
    assert_int_equal(parse_fixture("hostile_six_attachments.json", &a, err, sizeof err), 0);
    ap_status *s = a.status;
    assert_int_equal(s->n_media, AP_MAX_MEDIA);
    for (size_t i = 0; i < AP_MAX_MEDIA; i++) {
        char want[128];
        snprintf(want, sizeof want, "https://remote.example/media/%zu.jpg", i + 1);
        assert_string_equal(s->media[i].remote_url, want);
    }
    assert_string_equal(s->link_href, "https://news.example/first-link");
    ap_activity_free(&a);
}

/* A body of n nested arrays around an otherwise valid activity's content. */
static char *deep_body(size_t n, char open, char close)
{
    const char *head = "{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Like\",\"actor\":\""
                       BOB "\",\"object\":\"" ALICE_POST "\",\"x\":";
    size_t hl = strlen(head);
    char *b = malloc(hl + 2 * n + 2);
    memcpy(b, head, hl);
    memset(b + hl, open, n);
    memset(b + hl + n, close, n);
    b[hl + 2 * n] = '}';
    b[hl + 2 * n + 1] = '\0';
    return b;
}

static void test_depth_limit(void **state)
{
    ap_activity a;
    char err[512];
    /* depth 1 (the activity) + 31 arrays = 32: accepted */
    char *b = deep_body(31, '[', ']');
    assert_int_equal(parse_str(b, &a, err, sizeof err), 0);
    ap_activity_free(&a);
    free(b);
    b = deep_body(32, '[', ']');
    assert_int_equal(parse_str(b, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "nested deeper"));
    free(b);
    /* a 100,000-deep array with no closing brackets, and brackets inside strings */
    b = deep_body(100000, '[', ' ');
    assert_int_equal(parse_str(b, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "nested deeper"));
    free(b);
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Like\","
                               "\"actor\":\"" BOB "\",\"object\":\"" ALICE_POST "\","
                               "\"x\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[[[[[\"}", &a, err, sizeof err), 0);
    ap_activity_free(&a);
}

static void test_size_limit(void **state)
{
    ap_activity a;
    char err[512];
    const char *head = "{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Like\",\"actor\":\""
                       BOB "\",\"object\":\"" ALICE_POST "\",\"pad\":\"";
    size_t hl = strlen(head);
    char *b = malloc(AP_MAX_JSON_SIZE + 2);
    memcpy(b, head, hl);
    memset(b + hl, 'a', AP_MAX_JSON_SIZE - hl - 2);
    memcpy(b + AP_MAX_JSON_SIZE - 2, "\"}", 2);
    assert_int_equal(ap_parse(b, AP_MAX_JSON_SIZE, BOB, FOLLOWERS, &a, err, sizeof err), 0);
    ap_activity_free(&a);
    memcpy(b + AP_MAX_JSON_SIZE - 2, "a\"}", 3);
    assert_int_equal(ap_parse(b, AP_MAX_JSON_SIZE + 1, BOB, FOLLOWERS, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "over the"));
    free(b);
}

static void test_json_and_context(void **state)
{
    ap_activity a;
    char err[512];
    assert_int_equal(parse_str("{\"type\":", &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "invalid JSON"));
    assert_int_equal(parse_str("[1,2]", &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a JSON object"));
    assert_int_equal(parse_str("\"str\"", &a, err, sizeof err), -1);
    /* a raw NUL byte in the body */
    const char raw[] = "{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Like\",\"actor\":\"" BOB
                       "\",\"object\":\"a\0b\"}";
    assert_int_equal(ap_parse(raw, sizeof raw - 1, BOB, FOLLOWERS, &a, err, sizeof err), -1);
    /* @context as an array including AS, or as the AS string: fine; another: refused */
    assert_int_equal(parse_str("{\"@context\":[\"https://w3id.org/security/v1\",\"https://www.w3.org/ns/activitystreams\"],"
                               "\"type\":\"Like\",\"actor\":\"" BOB "\",\"object\":\"" ALICE_POST "\"}", &a, err, sizeof err), 0);
    ap_activity_free(&a);
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams#\",\"type\":\"Like\","
                               "\"actor\":\"" BOB "\",\"object\":\"" ALICE_POST "\"}", &a, err, sizeof err), -1);
    assert_int_equal(parse_str("{\"@context\":{\"@vocab\":\"https://www.w3.org/ns/activitystreams\"},\"type\":\"Like\","
                               "\"actor\":\"" BOB "\",\"object\":\"" ALICE_POST "\"}", &a, err, sizeof err), -1);
    /* duplicate keys: the last wins, as in Ruby */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Like\","
                               "\"actor\":\"" BOB "\",\"object\":\"x\",\"object\":\"" ALICE_POST "\"}", &a, err, sizeof err), 0);
    assert_string_equal(a.object_id, ALICE_POST);
    ap_activity_free(&a);
}

static void test_actor_and_type(void **state)
{
    ap_activity a;
    char err[512];
    /* actor as an object */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Like\","
                               "\"actor\":{\"id\":\"" BOB "\",\"type\":\"Person\"},\"object\":\"" ALICE_POST "\"}", &a, err, sizeof err), 0);
    assert_string_equal(a.actor, BOB);
    ap_activity_free(&a);
    /* missing actor */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Like\","
                               "\"object\":\"" ALICE_POST "\"}", &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "no actor"));
    /* type as an array: the first known type */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":[\"x:Foo\",\"Like\"],"
                               "\"actor\":\"" BOB "\",\"object\":\"" ALICE_POST "\"}", &a, err, sizeof err), 0);
    assert_int_equal(a.kind, AP_LIKE);
    assert_string_equal(a.type, "Like");
    ap_activity_free(&a);
    /* unknown type: AP_OTHER, whatever the object */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Dislike\","
                               "\"actor\":\"" BOB "\",\"object\":[1,2]}", &a, err, sizeof err), 0);
    assert_int_equal(a.kind, AP_OTHER);
    assert_string_equal(a.type, "Dislike");
    ap_activity_free(&a);
    /* no type */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\","
                               "\"actor\":\"" BOB "\",\"object\":\"" ALICE_POST "\"}", &a, err, sizeof err), -1);
    /* Like/Announce/Delete need an object */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Like\","
                               "\"actor\":\"" BOB "\"}", &a, err, sizeof err), -1);
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Create\","
                               "\"actor\":\"" BOB "\",\"object\":[{\"id\":\"" BOB "/s/1\"}]}", &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "array"));
}

/* A Create by carol on other.example (not the signer, bob), with `extra` members. */
static int parse_relayed(const char *extra, ap_activity *a, char *err, size_t errlen)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Create\","
             "\"id\":\"https://other.example/users/carol/statuses/1/activity\","
             "\"actor\":\"https://other.example/users/carol\",\"object\":{\"id\":"
             "\"https://other.example/users/carol/statuses/1\",\"type\":\"Note\"}%s}", extra);
    return parse_str(body, a, err, errlen);
}

/* actor != signer: relayed (left to Ruby) when an RsaSignature2017 signature or a proof
 * may vouch for the actor, refused otherwise */
static void test_relayed(void **state)
{
    ap_activity a;
    char err[512];
    const char *vouched[] = {
        ",\"signature\":{\"type\":\"RsaSignature2017\",\"creator\":\"https://other.example/users/carol#main-key\"}",
        ",\"proof\":{\"type\":\"DataIntegrityProof\",\"cryptosuite\":\"eddsa-jcs-2022\"}",
        ",\"proof\":[{\"type\":\"DataIntegrityProof\"}]",
    };
    for (size_t i = 0; i < sizeof vouched / sizeof vouched[0]; i++) {
        assert_int_equal(parse_relayed(vouched[i], &a, err, sizeof err), 0);
        assert_true(a.relayed);
        assert_int_equal(a.kind, AP_CREATE);
        assert_string_equal(a.actor, "https://other.example/users/carol");
        assert_null(a.status);
        ap_activity_free(&a);
    }
    const char *unvouched[] = {
        "",
        ",\"signature\":{\"type\":\"Ed25519Signature2018\"}",
        ",\"signature\":\"RsaSignature2017\"",
        ",\"proof\":[\"x\"]",
    };
    for (size_t i = 0; i < sizeof unvouched / sizeof unvouched[0]; i++) {
        assert_int_equal(parse_relayed(unvouched[i], &a, err, sizeof err), -1);
        assert_non_null(strstr(err, "is not the signer"));
    }
    /* the signer's own activity is never relayed, signed or not */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Like\","
                               "\"actor\":\"" BOB "\",\"object\":\"" ALICE_POST "\","
                               "\"signature\":{\"type\":\"RsaSignature2017\"}}", &a, err, sizeof err), 0);
    assert_false(a.relayed);
    ap_activity_free(&a);
}

static void test_origin_rules(void **state)
{
    ap_activity a;
    char err[512];
    /* Announce of a post embedded from another host: fine (it is boosted, not authored) */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Announce\","
                               "\"actor\":\"" BOB "\",\"object\":{\"id\":\"https://other.example/s/1\",\"type\":\"Note\"}}",
                               &a, err, sizeof err), 0);
    assert_string_equal(a.object_id, "https://other.example/s/1");
    assert_string_equal(a.object_type, "Note");
    assert_null(a.status);
    ap_activity_free(&a);
    /* Create with an embedded object without id: refused */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Create\","
                               "\"actor\":\"" BOB "\",\"object\":{\"type\":\"Note\",\"content\":\"x\"}}", &a, err, sizeof err), -1);
    /* Create with a non-http(s) object id */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Create\","
                               "\"actor\":\"" BOB "\",\"object\":{\"id\":\"urn:uuid:1\",\"type\":\"Note\"}}", &a, err, sizeof err), -1);
    /* same host, other port and case: fine (ports are ignored, as in Mastodon) */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Create\","
                               "\"actor\":\"" BOB "\",\"object\":{\"id\":\"https://REMOTE.example:8443/s/1\",\"type\":\"Note\","
                               "\"content\":\"hi\",\"to\":\"as:Public\"}}", &a, err, sizeof err), 0);
    assert_int_equal(a.status->visibility, AP_VIS_PUBLIC);
    ap_activity_free(&a);
    /* Delete of a Tombstone on another host: refused */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Delete\","
                               "\"actor\":\"" BOB "\",\"object\":{\"id\":\"https://other.example/s/1\",\"type\":\"Tombstone\"}}",
                               &a, err, sizeof err), -1);
    /* Update of the actor itself: object_type Person, no status */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Update\","
                               "\"actor\":\"" BOB "\",\"object\":{\"id\":\"" BOB "\",\"type\":\"Person\",\"name\":\"Bob\"}}",
                               &a, err, sizeof err), 0);
    assert_int_equal(a.kind, AP_UPDATE);
    assert_null(a.status);
    assert_string_equal(a.object_type, "Person");
    assert_string_equal(err, "");
    ap_activity_free(&a);
    /* attributedTo is checked for object types scotty does not parse too */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Create\","
                               "\"actor\":\"" BOB "\",\"object\":{\"id\":\"" BOB "/q/1\",\"type\":\"Question\","
                               "\"attributedTo\":[\"https://remote.example/users/mallory\"]}}", &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "attributedTo"));
    /* bear: ids are unwrapped */
    assert_int_equal(parse_str("{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Create\","
                               "\"actor\":\"" BOB "\",\"object\":{\"id\":\"bear:?t=tok3n&u=https%3A%2F%2Fremote.example%2Fs%2F9\","
                               "\"type\":\"Note\",\"content\":\"hi\"}}", &a, err, sizeof err), 0);
    assert_string_equal(a.object_id, "https://remote.example/s/9");
    assert_string_equal(a.status->uri, "https://remote.example/s/9");
    ap_activity_free(&a);
}

static void test_audience_limit(void **state)
{
    ap_activity a;
    char err[512];
    char *b = malloc(200000);
    size_t o = (size_t)sprintf(b, "{\"@context\":\"https://www.w3.org/ns/activitystreams\",\"type\":\"Create\","
                                  "\"actor\":\"" BOB "\",\"object\":{\"id\":\"" BOB "/s/1\",\"type\":\"Note\","
                                  "\"content\":\"hi\",\"to\":[");
    for (int i = 0; i < AP_MAX_AUDIENCE + 1; i++)
        o += (size_t)sprintf(b + o, "%s\"https://remote.example/users/u%d\"", i ? "," : "", i);
    strcpy(b + o, "]}}");
    assert_int_equal(parse_str(b, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "to/cc entries"));
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mastodon_create_note),
        cmocka_unit_test(test_misskey_note),
        cmocka_unit_test(test_pleroma_note),
        cmocka_unit_test(test_gotosocial_single_values),
        cmocka_unit_test(test_peertube_video_converted),
        cmocka_unit_test(test_article_converted),
        cmocka_unit_test(test_question_and_bare_object),
        cmocka_unit_test(test_update_note),
        cmocka_unit_test(test_announce_like_delete_follow),
        cmocka_unit_test(test_undo),
        cmocka_unit_test(test_hostile_fixtures),
        cmocka_unit_test(test_hostile_tolerated),
        cmocka_unit_test(test_bad_schemes),
        cmocka_unit_test(test_six_attachments),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_json_and_context),
        cmocka_unit_test(test_actor_and_type),
        cmocka_unit_test(test_relayed),
        cmocka_unit_test(test_origin_rules),
        cmocka_unit_test(test_audience_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
