/* test_card_parse.c -- the link card parsers (worker/cards/card_parse.h) against what
 * Mastodon's code makes of the same input. Each expectation names the rule of
 * LinkDetailsExtractor, FetchLinkCardService, FetchOEmbedService or Sanitize's
 * MASTODON_OEMBED config it comes from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "card_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static card_page *page_of(const char *html, const char *charset)
{
    char err[256];
    card_page *p = card_page_parse(html, strlen(html), charset, err, sizeof err);
    assert_non_null(p);
    return p;
}

static void extract(const char *html, const char *url, card_attrs *a)
{
    card_page *p = page_of(html, NULL);
    assert_int_equal(card_details_extract(p, url, a), 0);
    card_page_free(p);
}

/* A news article with OpenGraph and JSON-LD: StructuredData wins for headline,
 * description, author, publisher, datePublished and inLanguage; og:image is the only
 * image source (resolved against the page); the canonical link on the page's host is
 * the card URL; NewsArticle makes link_type article. */
static void news_article(void **state)
{
    const char *html =
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title> Site title </title>"
        "<meta property=\"og:title\" content=\"OG title\"><meta property=\"og:type\" content=\"website\">"
        "<meta property=\"og:description\" content=\"OG description\">"
        "<meta property=\"og:image\" content=\"/images/lead.jpg\">"
        "<meta property=\"og:image:alt\" content=\"A harbour at dawn\">"
        "<meta property=\"og:site_name\" content=\"OG Site\"><meta property=\"og:site\" content=\"news.example\">"
        "<link rel=\"Canonical\" href=\"https://news.example/2024/05/harbour\">"
        "<script type=\"application/ld+json\">{\"@type\":\"WebSite\",\"name\":\"ignored\"}</script>"
        "<script type=\"application/ld+json\">\n//<![CDATA[\n[{\"@type\":\"BreadcrumbList\"},"
        "{\"@context\":\"https://schema.org\",\"@type\":\"NewsArticle\",\"headline\":\"Harbour &amp; city\","
        "\"description\":{\"@value\":\"Tagged description\",\"@language\":\"en\"},"
        "\"datePublished\":\"2024-05-01T10:20:30+02:00\",\"inLanguage\":{\"alternateName\":\"en-GB\"},"
        "\"author\":[[{\"@type\":\"Person\",\"name\":[\"Ann\",\"Bo\"],\"url\":\"https://news.example/ann\"}]],"
        "\"publisher\":{\"@type\":\"Organization\",\"name\":\"Daily Harbour\"}}]\n//]]>\n</script>"
        "</head><body><p>text</p></body></html>";
    card_attrs a;
    extract(html, "https://news.example/?p=1", &a);
    assert_string_equal(a.url, "https://news.example/2024/05/harbour");
    assert_string_equal(a.title, "Harbour & city");
    assert_string_equal(a.description, "Tagged description");
    assert_string_equal(a.image_url, "https://news.example/images/lead.jpg");
    assert_string_equal(a.image_description, "A harbour at dawn");
    assert_int_equal(a.type, CARD_TYPE_LINK);
    assert_int_equal(a.link_type, CARD_LINK_ARTICLE);
    assert_string_equal(a.provider_name, "Daily Harbour");
    /* host_to_url then base + "http://news.example": Addressable keeps the empty path */
    assert_string_equal(a.provider_url, "http://news.example");
    assert_string_equal(a.author_name, "Ann, Bo");
    assert_string_equal(a.author_url, "https://news.example/ann");
    assert_string_equal(a.language, "en");
    assert_string_equal(a.published_at, "2024-05-01 08:20:30");
    assert_string_equal(a.html, "");
    assert_string_equal(a.embed_url, "");
    assert_int_equal(a.width, 0);
    assert_null(a.author_account);
    card_attrs_clear(&a);
}

/* Without JSON-LD: og:title, og:description, og:type article, og:locale; a canonical
 * URL on another host is ignored (same_origin_only), og:url likewise. */
static void opengraph_only(void **state)
{
    const char *html =
        "<html><head><meta name=\"og:title\" content=\"Name, not property\">"
        "<meta property=\"OG:DESCRIPTION\" content=\"Caps &lt;b&gt;\"><meta property=\"og:type\" content=\"article\">"
        "<meta property=\"og:locale\" content=\"pt_BR\"><meta property=\"article:published_time\" content=\"2023-12-31\">"
        "<link rel=\"canonical\" href=\"https://elsewhere.example/x\"></head></html>";
    card_attrs a;
    extract(html, "https://blog.example/post", &a);
    assert_string_equal(a.url, "https://blog.example/post");
    assert_string_equal(a.title, "Name, not property");
    assert_string_equal(a.description, "Caps <b>");
    assert_int_equal(a.link_type, CARD_LINK_ARTICLE);
    assert_string_equal(a.language, "pt");
    assert_string_equal(a.published_at, "2023-12-31 00:00:00");
    assert_null(a.image_url);
    assert_string_equal(a.provider_name, "");
    card_attrs_clear(&a);
}

/* Twitter cards only: the title falls back to <title> (stripped), the description to
 * <meta name=description>; twitter:image is not read (only og:image is); a
 * twitter:player makes a video card whose html is content_tag(:iframe, ...). */
static void twitter_cards(void **state)
{
    const char *html =
        "<html lang=\"en\"><head><title>\n  Clip of the day  \n</title>"
        "<meta name=\"description\" content=\"A short clip\">"
        "<meta name=\"twitter:card\" content=\"player\"><meta name=\"twitter:image\" content=\"https://t.example/i.jpg\">"
        "<meta name=\"twitter:player\" content=\"https://t.example/embed?v=1&amp;t=2\">"
        "<meta name=\"twitter:player:width\" content=\"480\"><meta name=\"twitter:player:height\" content=\"270\">"
        "<meta name=\"twitter:player:stream\" content=\"/stream.mp4\"></head></html>";
    card_attrs a;
    extract(html, "https://t.example/clip/1", &a);
    assert_string_equal(a.title, "Clip of the day");
    assert_string_equal(a.description, "A short clip");
    assert_null(a.image_url);
    assert_int_equal(a.type, CARD_TYPE_VIDEO);
    assert_int_equal(a.link_type, CARD_LINK_UNKNOWN);
    assert_int_equal(a.width, 480);
    assert_int_equal(a.height, 270);
    assert_string_equal(a.html, "<iframe src=\"https://t.example/embed?v=1&amp;t=2\" width=\"480\" height=\"270\" "
                                "allowfullscreen=\"true\" allowtransparency=\"true\" scrolling=\"no\" "
                                "frameborder=\"0\"></iframe>");
    assert_string_equal(a.embed_url, "https://t.example/stream.mp4");
    assert_string_equal(a.language, "en");
    card_attrs_clear(&a);
}

/* fediverse:creator is read as written (the author account is resolved elsewhere). */
static void fediverse_creator(void **state)
{
    card_attrs a;
    extract("<html><head><title>Essay</title><meta name=\"fediverse:creator\" content=\"@ann@social.example\">"
            "</head></html>", "https://essays.example/1", &a);
    assert_string_equal(a.author_account, "@ann@social.example");
    assert_string_equal(a.author_name, "");
    card_attrs_clear(&a);
}

/* Charset: the header's wins, then <meta>, then detection. */
static void charsets(void **state)
{
    /* "Café" in ISO-8859-1, declared by meta */
    const char *latin = "<html><head><meta charset=\"iso-8859-1\"><title>Caf\xe9</title></head></html>";
    card_page *p = page_of(latin, NULL);
    assert_string_equal(card_page_title(p), "Caf\xc3\xa9");
    card_page_free(p);
    /* the same bytes with a header charset: the header is used */
    p = page_of(latin, "windows-1252");
    assert_string_equal(card_page_encoding(p), "windows-1252");
    assert_string_equal(card_page_title(p), "Caf\xc3\xa9");
    card_page_free(p);
    /* Shift_JIS declared through http-equiv */
    const char *sjis = "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\">"
                       "<title>\x93\xfa\x96\x7b</title></head></html>";
    p = page_of(sjis, NULL);
    assert_string_equal(card_page_title(p), "\xe6\x97\xa5\xe6\x9c\xac");
    card_page_free(p);
    /* an unknown header charset is ignored (Encoding.find fails in Ruby) */
    p = page_of("<html><head><title>plain</title></head></html>", "x-no-such-charset");
    assert_string_equal(card_page_encoding(p), "UTF-8");
    card_page_free(p);
}

/* Hostile HTML: 100,000 meta tags and very deep nesting still give the title. */
static void hostile_html(void **state)
{
    size_t n = 100000;
    char *html = malloc(n * 24 + 200), *o = html;
    o += sprintf(o, "<html><head>");
    for (size_t i = 0; i < n; i++)
        o += sprintf(o, "<meta name=x content=y>");
    sprintf(o, "<meta property=\"og:title\" content=\"last\"></head></html>");
    card_attrs a;
    extract(html, "https://h.example/", &a);
    assert_string_equal(a.title, "last");
    card_attrs_clear(&a);
    free(html);
    size_t depth = 100000;
    html = malloc(depth * 11 + 200);
    o = html;
    o += sprintf(o, "<html><head><title>deep</title></head><body>");
    for (size_t i = 0; i < depth; i++)
        o += sprintf(o, "<div>");
    for (size_t i = 0; i < depth; i++)
        o += sprintf(o, "</div>");
    sprintf(o, "</body></html>");
    extract(html, "https://h.example/", &a);
    assert_string_equal(a.title, "deep");
    card_attrs_clear(&a);
    free(html);
}

/* parse_urls: mentions (their account URL), hashtags (rel="tag") and microformat
 * links (u-url, h-card) are skipped; links to the web domain and non-HTTP schemes are
 * bad; the first good href is normalized. */
static void link_choice(void **state)
{
    const char *html =
        "<p><span class=\"h-card\"><a href=\"https://social.example/@bob\" class=\"u-url mention\">@bob</a></span> "
        "<a href=\"https://other.example/@carol\">@carol</a> "
        "<a href=\"https://social.example/tags/cats\" rel=\"tag\">#cats</a> "
        "<a href=\"https://scotty.test/@me\">local</a> <a href=\"mailto:x@y.example\">mail</a> "
        "<a href=\"HTTPS://News.Example:443/a b?q=1\">news</a> <a href=\"https://second.example/\">2</a></p>";
    const char *mentions[] = {"https://other.example/@carol"};
    char *url = card_pick_link(html, strlen(html), mentions, 1, "scotty.test");
    assert_string_equal(url, "https://news.example/a%20b?q=1");
    free(url);
    url = card_pick_link("<p>no links</p>", 15, NULL, 0, "scotty.test");
    assert_null(url);
}

/* FetchOEmbedService#discover_endpoint!: JSON link, made https for an https page. */
static void oembed_discovery(void **state)
{
    card_page *p = page_of("<html><head><link rel=\"alternate\" type=\"text/xml+oembed\" href=\"/x.xml\">"
                           "<link rel=\"alternate\" type=\"application/json+oembed\" "
                           "href=\"http://video.example/oembed?url=https%3A%2F%2Fvideo.example%2Fw%2F1\">"
                           "</head></html>", NULL);
    bool xml;
    char *e = card_oembed_endpoint(p, "https://video.example/w/1", &xml);
    assert_string_equal(e, "https://video.example/oembed?url=https%3A%2F%2Fvideo.example%2Fw%2F1");
    assert_false(xml);
    free(e);
    card_page_free(p);
}

/* An XML-only page (Flickr-like): the text/xml+oembed endpoint, and its <oembed>
 * children read as strings; a photo's url is embed_url and image, its size cast. */
static void oembed_xml_photo(void **state)
{
    card_page *p = page_of("<html><head><link rel=\"alternate\" type=\"text/xml+oembed\" href=\"/services/oembed?format=xml\">"
                           "</head></html>", NULL);
    bool xml;
    char *e = card_oembed_endpoint(p, "http://photos.example/p/9", &xml);
    assert_string_equal(e, "http://photos.example/services/oembed?format=xml");
    assert_true(xml);
    free(e);
    card_page_free(p);
    const char *body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<oembed><version>1.0</version><type>photo</type>"
                       "<title>Harbour &amp; boats</title><author_name>Kim</author_name><url>/photos/9_b.jpg</url>"
                       "<width>1024</width><height>683</height><extra><nested>x</nested></extra></oembed>";
    card_attrs a;
    char why[256];
    assert_int_equal(card_oembed_apply(body, strlen(body), true, "http://photos.example/services/oembed", &a, why,
                                       sizeof why), CARD_OEMBED_CARD);
    assert_int_equal(a.type, CARD_TYPE_PHOTO);
    assert_string_equal(a.title, "Harbour & boats");
    assert_string_equal(a.embed_url, "http://photos.example/photos/9_b.jpg");
    assert_string_equal(a.image_url, "http://photos.example/photos/9_b.jpg");
    assert_int_equal(a.width, 1024);
    assert_int_equal(a.height, 683);
    assert_true(a.set & CARD_COL_EMBED_URL);
    card_attrs_clear(&a);
    /* a DTD (entity expansion) is refused */
    const char *laughs = "<?xml version=\"1.0\"?><!DOCTYPE oembed [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>"
                         "<oembed><version>1.0</version><type>link</type><title>&b;</title></oembed>";
    assert_int_equal(card_oembed_apply(laughs, strlen(laughs), true, "http://photos.example/o", &a, why, sizeof why),
                     CARD_OEMBED_NONE);
    const char *notxml = "{\"version\":\"1.0\"}";
    assert_int_equal(card_oembed_apply(notxml, strlen(notxml), true, "http://photos.example/o", &a, why, sizeof why),
                     CARD_OEMBED_NONE);
}

/* attempt_oembed for a YouTube-like video: title, author, provider; thumbnail
 * resolved against the endpoint; html through MASTODON_OEMBED (iframe kept with the
 * allowed attributes and the sandbox, script dropped). */
static void oembed_video(void **state)
{
    const char *json =
        "{\"version\":\"1.0\",\"type\":\"video\",\"title\":\"A video\",\"author_name\":\"Chan\","
        "\"author_url\":\"/@chan\",\"provider_name\":\"VideoSite\",\"provider_url\":\"https://video.example/\","
        "\"width\":\"560\",\"height\":315,\"thumbnail_url\":\"/vi/1/hq.jpg\","
        "\"html\":\"<iframe width=\\\"560\\\" height=\\\"315\\\" src=\\\"https://video.example/embed/1\\\" "
        "frameborder=\\\"0\\\" allow=\\\"autoplay\\\" title=\\\"x\\\" allowfullscreen></iframe>"
        "<script>alert(1)</script>\"}";
    card_attrs a;
    char why[256];
    assert_int_equal(card_oembed_apply(json, strlen(json), false, "https://video.example/oembed?url=x", &a, why, sizeof why),
                     CARD_OEMBED_CARD);
    assert_int_equal(a.type, CARD_TYPE_VIDEO);
    assert_string_equal(a.title, "A video");
    assert_string_equal(a.author_name, "Chan");
    assert_string_equal(a.author_url, "https://video.example/@chan");
    assert_string_equal(a.provider_name, "VideoSite");
    assert_int_equal(a.width, 560);
    assert_int_equal(a.height, 315);
    assert_string_equal(a.image_url, "https://video.example/vi/1/hq.jpg");
    assert_string_equal(a.html, "<iframe width=\"560\" height=\"315\" src=\"https://video.example/embed/1\" "
                                "frameborder=\"0\" allowfullscreen=\"\" sandbox=\"allow-scripts allow-same-origin "
                                "allow-popups allow-popups-to-escape-sandbox allow-forms\"></iframe>");
    assert_true(a.set & CARD_COL_HTML);
    assert_false(a.set & CARD_COL_DESCRIPTION);
    card_attrs_clear(&a);
}

/* validate and the type rules: no version 1.0 -> nil; rich and a photo without url
 * -> OpenGraph; nesting past Ruby's max_nesting -> JSON::ParserError -> nil. */
static void oembed_rules(void **state)
{
    card_attrs a;
    char why[256];
    const char *nov = "{\"type\":\"video\",\"title\":\"t\"}";
    assert_int_equal(card_oembed_apply(nov, strlen(nov), false, "https://e.example/o", &a, why, sizeof why), CARD_OEMBED_NONE);
    const char *rich = "{\"version\":\"1.0\",\"type\":\"rich\",\"html\":\"<blockquote>x</blockquote>\"}";
    assert_int_equal(card_oembed_apply(rich, strlen(rich), false, "https://e.example/o", &a, why, sizeof why),
                     CARD_OEMBED_FALLBACK);
    const char *photo = "{\"version\":\"1.0\",\"type\":\"photo\"}";
    assert_int_equal(card_oembed_apply(photo, strlen(photo), false, "https://e.example/o", &a, why, sizeof why),
                     CARD_OEMBED_FALLBACK);
    char deep[400];
    memset(deep, '[', 101);
    memset(deep + 101, ']', 101);
    deep[202] = '\0';
    assert_int_equal(card_oembed_apply(deep, strlen(deep), false, "https://e.example/o", &a, why, sizeof why), CARD_OEMBED_NONE);
    const char *link = "{\"version\":1.0,\"type\":\"link\",\"thumbnail_url\":\"t.png\"}";
    assert_int_equal(card_oembed_apply(link, strlen(link), false, "https://e.example/o/x", &a, why, sizeof why), CARD_OEMBED_CARD);
    assert_string_equal(a.image_url, "https://e.example/o/t.png");
    assert_string_equal(a.title, "");
    card_attrs_clear(&a);
}

/* MASTODON_OEMBED: relative and javascript: src removed, unknown elements unwrapped,
 * video/source/audio kept with their allowed attributes. */
static void sanitizer(void **state)
{
    char *s = card_sanitize_oembed("<div><iframe src=\"javascript:alert(1)\" width=\"1\"></iframe>"
                                   "<iframe src=\"/rel\"></iframe></div><p>a &amp; b</p>"
                                   "<video controls autoplay src=\"x\"><source src=\"https://m.example/v.mp4\" "
                                   "type=\"video/mp4\" onerror=\"x()\"></video><style>p{}</style>");
    assert_string_equal(s, " <iframe width=\"1\" sandbox=\"allow-scripts allow-same-origin allow-popups "
                           "allow-popups-to-escape-sandbox allow-forms\"></iframe><iframe sandbox=\"allow-scripts "
                           "allow-same-origin allow-popups allow-popups-to-escape-sandbox allow-forms\"></iframe>  "
                           "a &amp; b <video controls=\"\"><source src=\"https://m.example/v.mp4\" "
                           "type=\"video/mp4\"></video>");
    free(s);
}

static void small_rules(void **state)
{
    char out[40];
    assert_true(card_time_utc("2024-02-29T23:30:00.123456789-01:30", out, sizeof out));
    assert_string_equal(out, "2024-03-01 01:00:00.123456");
    assert_true(card_time_utc("2024-05-01 10:00:00Z", out, sizeof out));
    assert_string_equal(out, "2024-05-01 10:00:00");
    assert_false(card_time_utc("yesterday", out, sizeof out));
    /* cut short anywhere: refused, never read past the end (each in its own allocation) */
    const char *full = "2024-05-01T10:20:30.5+02:00";
    for (size_t n = 0; n < strlen(full); n++) {
        char *cut = strndup(full, n);
        bool ok = card_time_utc(cut, out, sizeof out);
        free(cut);
        if (ok != (n == 10 || n == 19 || n == 21 || n == 24))
            fail_msg("a date cut to %zu bytes was %s", n, ok ? "accepted" : "refused");
    }
    assert_string_equal(card_locale("zh-TW"), "zh-TW");
    assert_string_equal(card_locale("en_US"), "en");
    assert_null(card_locale("EN"));
    assert_null(card_locale(""));
    char *d = card_entities_decode("&amp;amp; &#x1F600; &#233; &eacute; &bogus; &amp");
    assert_string_equal(d, "&amp; \xf0\x9f\x98\x80 \xc3\xa9 \xc3\xa9 &bogus; &amp");
    free(d);
    char *n = card_url_normalize("HTTP://Example.COM:80");
    assert_string_equal(n, "http://example.com/");
    free(n);
}

int main(void)
{
    card_parse_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(news_article),     cmocka_unit_test(opengraph_only), cmocka_unit_test(twitter_cards),
        cmocka_unit_test(fediverse_creator), cmocka_unit_test(charsets),      cmocka_unit_test(hostile_html),
        cmocka_unit_test(link_choice),      cmocka_unit_test(oembed_discovery), cmocka_unit_test(oembed_xml_photo),
        cmocka_unit_test(oembed_video),
        cmocka_unit_test(oembed_rules),     cmocka_unit_test(sanitizer),      cmocka_unit_test(small_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
