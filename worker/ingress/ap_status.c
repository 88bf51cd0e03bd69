/* ap_status.c -- one ActivityPub object read into an ap_status as Mastodon's
 * ActivityPub::Parser::StatusParser and Activity::Create read it (mastodon.md §3.2):
 * text and spoiler from content/summary or their language maps, Mastodon's converted
 * form for Article/Page/Image/Video/Audio/Event, visibility from to/cc, mentions and
 * hashtags from `tag`, media from `attachment` (ap_media.c), counts from likes/shares.
 *
 * Wrong JSON types follow one rule: where Mastodon's Ruby would raise (the job fails,
 * nothing is stored) or store nonsense, scotty refuses the object (-1): a non-string
 * id/content/summary/published/updated, a number or array as inReplyTo, a number,
 * boolean or array as a to/cc entry, a null or scalar element in `tag` or `attachment`.
 * Where Ruby quietly gets nil or ignores the value, scotty ignores it too: a string
 * where an object belongs ("x"['type'] is nil), a contentMap that is not an object,
 * `sensitive` other than true, non-integer totalItems, a tag without name/href.
 * A Question is stored like a Note, with its poll read by ap_poll.c (whose shapes Ruby
 * raises on leave the activity to Ruby rather than refusing it).
 *
 * What Mastodon does with media of converted types: it reads `attachment` only. A
 * PeerTube Video carries its files in `url` (an array of Links: text/html first, then
 * video/mp4 and HLS playlists) and no `attachment`, so Mastodon stores it as text
 * (title + link) with no media; scotty does the same. An Image/Video/Audio object with
 * an `attachment` list gets those attachments, as in Mastodon. */
#include <stdlib.h>
#include <string.h>

#include "ap_internal.h"
#include "base.h"
#include "emoji_parse.h"

static const char *const ap_converted_types[] = {"Image", "Audio", "Video", "Article", "Page",
                                                 "Event", NULL};

void ap_status_free(ap_status *s)
{
    if (!s)
        return;
    free(s->object_type);
    free(s->uri);
    free(s->url);
    free(s->text);
    free(s->spoiler_text);
    free(s->language);
    free(s->published);
    free(s->updated);
    free(s->in_reply_to);
    free(s->conversation);
    free(s->replies_uri);
    free(s->link_href);
    if (s->emoji) {
        emoji_list_free(s->emoji);
        free(s->emoji);
    }
    for (size_t i = 0; i < s->n_mentions; i++)
        free(s->mentions[i]);
    free(s->mentions);
    for (size_t i = 0; i < s->n_hashtags; i++) {
        free(s->hashtags[i]);
        free(s->hashtag_names[i]);
    }
    free(s->hashtags);
    free(s->hashtag_names);
    for (size_t i = 0; i < s->n_audience; i++)
        free(s->audience[i]);
    free(s->audience);
    for (size_t i = 0; i < s->n_media; i++)
        ap_attachment_free(&s->media[i]);
    free(s->atom_uri);
    free(s->quote_uri);
    free(s->quote_approval_uri);
    json_decref(s->can_quote);
    ap_poll_free(&s->poll);
    memset(s, 0, sizeof *s);
}

/* Appends s to a string list unless already there. Takes ownership of s. */
static void ap_list_add(char ***list, size_t *n, char *s)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*list)[i], s) == 0) {
            free(s);
            return;
        }
    }
    char **grown = realloc(*list, (*n + 1) * sizeof **list);
    if (!grown)
        abort();
    *list = grown;
    (*list)[(*n)++] = s;
}

static bool ap_is_public(const char *s)
{
    return strcmp(s, AP_PUBLIC) == 0 || strcmp(s, "as:Public") == 0 || strcmp(s, "Public") == 0;
}

/* Next UTF-8 code point of s (advanced); invalid bytes come back as U+FFFD. */
static uint32_t ap_utf8_next(const unsigned char **s)
{
    const unsigned char *p = *s;
    uint32_t c = p[0];
    int n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
    if (n < 0) {
        *s = p + 1;
        return 0xfffd;
    }
    c &= n == 0 ? 0x7f : n == 1 ? 0x1f : n == 2 ? 0x0f : 0x07;
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            *s = p + i;
            return 0xfffd;
        }
        c = (c << 6) | (p[i] & 0x3f);
    }
    *s = p + n + 1;
    return c;
}

/* Tag::HASHTAG_INVALID_CHARS_RE keeps [[:alnum:]], Thai U+0E47..0E4E and the
 * separators _ U+00B7 U+30FB U+200C. Without Unicode tables scotty keeps ASCII
 * letters/digits/_, the separators, and non-ASCII characters outside the punctuation,
 * symbol, emoji, private-use and variation-selector blocks. */
static bool ap_hashtag_char(uint32_t c, bool *letter)
{
    *letter = false;
    if (c < 0x80) {
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        *letter = alpha;
        return alpha || (c >= '0' && c <= '9') || c == '_';
    }
    if (c == 0xb7 || c == 0x200c || c == 0x30fb)
        return true;
    bool keep = true;
    if (c < 0xc0)
        keep = c == 0xaa || c == 0xb5 || c == 0xba;
    else if (c == 0xd7 || c == 0xf7 || c == 0xfffd)
        keep = false;
    else if (c >= 0x2000 && c <= 0x2bff)
        keep = false;
    else if (c >= 0x3000 && c <= 0x303f)
        keep = c >= 0x3005 && c <= 0x3007;
    else if ((c >= 0xe000 && c <= 0xf8ff) || (c >= 0xfe00 && c <= 0xfe0f) || (c >= 0xfe30 && c <= 0xfe6f))
        keep = false;
    else if ((c >= 0xff00 && c <= 0xff0f) || (c >= 0xff1a && c <= 0xff20) ||
             (c >= 0xff3b && c <= 0xff40) || (c >= 0xff5b && c <= 0xff65) || c >= 0xffe0)
        keep = c >= 0x10000 && !(c >= 0x1f000 && c <= 0x1faff) && c < 0xe0000;
    *letter = keep;
    return keep;
}

static bool ap_tag_separator(uint32_t c)
{
    return c == 0xb7 || c == 0x200c || c == 0x30fb;
}

/* A Hashtag name with Tag::HASHTAG_INVALID_CHARS_RE applied (leading '#' and every
 * invalid character removed). *valid says whether the result passes HASHTAG_NAME_RE as
 * far as scotty can tell: a letter somewhere ("#123" is not a hashtag) and no separator
 * at either end. Caller frees. */
static char *ap_hashtag_clean(const char *name, bool *valid)
{
    ap_sbuf b = {0};
    bool has_letter = false, sep_first = false, sep_last = false;
    const unsigned char *p = (const unsigned char *)name;
    while (*p) {
        const unsigned char *start = p;
        uint32_t c = ap_utf8_next(&p);
        bool letter;
        if (!ap_hashtag_char(c, &letter))
            continue;
        if (b.len == 0)
            sep_first = ap_tag_separator(c);
        sep_last = ap_tag_separator(c);
        ap_sbuf_add(&b, (const char *)start, (size_t)(p - start));
        has_letter |= letter && !ap_tag_separator(c);
    }
    *valid = has_letter && !sep_first && !sep_last;
    return ap_sbuf_take(&b);
}

static void ap_utf8_put(ap_sbuf *b, uint32_t c)
{
    char u[4];
    ap_sbuf_add(b, u, base_utf8_encode(c, u));
}

/* ASCIIFolding (Lucene's table) of lower-case Latin-1 Supplement and Latin Extended-A
 * letters, 0x00df..0x017f; "" where the letter has no ASCII form. */
static const char *const ap_fold_latin[] = {
    /* df */ "ss",
    /* e0 */ "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    /* f0 */ "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "y",
    /* 100 */ "a", "a", "a", "a", "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d",
    /* 110 */ "d", "d", "e", "e", "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g",
    /* 120 */ "g", "g", "g", "g", "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i",
    /* 130 */ "i", "i", "ij", "ij", "j", "j", "k", "k", "q", "l", "l", "l", "l", "l", "l", "l",
    /* 140 */ "l", "l", "l", "n", "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o",
    /* 150 */ "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s",
    /* 160 */ "s", "s", "t", "t", "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u",
    /* 170 */ "u", "u", "u", "u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s",
};

/* Lower case of c for the scripts hashtags mostly use (ASCII, Latin-1, Latin
 * Extended-A, Greek, Cyrillic); other code points unchanged. */
static uint32_t ap_lower(uint32_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c + 32;
    if (c >= 0xc0 && c <= 0xde && c != 0xd7)
        return c + 32;
    if (c == 0x130)
        return 'i';
    if (c == 0x178)
        return 0xff;
    if ((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
        return c | 1;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
        return (c & 1) ? c + 1 : c;
    if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
        return c + 32;
    if (c >= 0x410 && c <= 0x42f)
        return c + 32;
    if (c >= 0x400 && c <= 0x40f)
        return c + 80;
    return c;
}

/* HashtagNormalizer#normalize as far as scotty can do it without Unicode tables:
 * fullwidth ASCII narrowed (the NFKC step's common case), lower-cased, Latin letters
 * folded to ASCII, then the invalid characters removed. */
static char *ap_hashtag_normalize(const char *name, bool *valid)
{
    ap_sbuf b = {0};
    const unsigned char *p = (const unsigned char *)name;
    while (*p) {
        uint32_t c = ap_utf8_next(&p);
        if (c >= 0xff01 && c <= 0xff5e)
            c -= 0xfee0;
        c = ap_lower(c);
        if (c >= 0xdf && c <= 0x17f && ap_fold_latin[c - 0xdf][0])
            ap_sbuf_adds(&b, ap_fold_latin[c - 0xdf]);
        else if (c == 0x149) /* ŉ folds to 'n; the apostrophe goes with the invalid characters */
            ap_sbuf_adds(&b, "n");
        else
            ap_utf8_put(&b, c);
    }
    char *folded = ap_sbuf_take(&b);
    char *out = ap_hashtag_clean(folded, valid);
    free(folded);
    return out;
}

static bool ap_type_is(const json_t *type, const char *name)
{
    return ap_equals_or_includes(type, name);
}

/* Adds a Hashtag by its display and normalized names, unless invalid or already there
 * under the same normalized name (Tag.find_or_create_by_names' uniq). */
static void ap_hashtag_add(ap_status *st, const char *name)
{
    bool valid, dvalid;
    char *norm = ap_hashtag_normalize(name, &valid);
    char *display = ap_hashtag_clean(name, &dvalid);
    bool dup = false;
    for (size_t i = 0; i < st->n_hashtags && !dup; i++)
        dup = strcmp(st->hashtag_names[i], norm) == 0;
    if (!valid || dup) {
        free(norm);
        free(display);
        return;
    }
    size_t n = st->n_hashtags;
    char **h = realloc(st->hashtags, (n + 1) * sizeof *h);
    if (!h)
        abort();
    st->hashtags = h;
    char **hn = realloc(st->hashtag_names, (n + 1) * sizeof *hn);
    if (!hn)
        abort();
    st->hashtag_names = hn;
    st->hashtags[n] = display;
    st->hashtag_names[n] = norm;
    st->n_hashtags = n + 1;
}

static int ap_tags(const json_t *obj, ap_status *st, char *err, size_t errlen)
{
    const json_t *tags = json_object_get(obj, "tag");
    size_t n = ap_count(tags), counted = 0;
    /* Emoji entries are not counted: Mastodon stores a status with any number of them,
     * and the emoji parser keeps at most EMOJI_MAX_PER_OBJECT (the body's size cap
     * bounds the rest). */
    for (size_t i = 0; i < n; i++)
        counted += !ap_type_is(json_object_get(ap_elem(tags, i), "type"), "Emoji");
    if (counted > AP_MAX_TAGS)
        return ap_fail(err, errlen, "%zu tag entries, more than scotty accepts (%d)", counted, AP_MAX_TAGS);
    for (size_t i = 0; i < n; i++) {
        const json_t *t = ap_elem(tags, i);
        if (json_is_string(t))
            continue;
        if (!json_is_object(t))
            return ap_fail(err, errlen, "tag %zu is not an object", i);
        const json_t *type = json_object_get(t, "type");
        if (ap_type_is(type, "Hashtag")) {
            const char *name = ap_present(json_object_get(t, "name"));
            if (name)
                ap_hashtag_add(st, name);
        } else if (ap_type_is(type, "Mention")) {
            const char *href = ap_present(json_object_get(t, "href"));
            if (href && ap_is_http(href))
                ap_list_add(&st->mentions, &st->n_mentions, ap_strdup(href));
        } else if (ap_type_is(type, "FeaturedCollection") && ap_present(json_object_get(t, "id"))) {
            st->tags_collection = true;
        }
        /* Emoji are read below (worker/emoji); other tag types are counted only. */
    }
    emoji_list *emoji = malloc(sizeof *emoji);
    if (!emoji)
        abort();
    emoji_tags_parse(tags, emoji);
    if (emoji->n || emoji->n_refused || emoji->n_over_cap)
        st->emoji = emoji;
    else
        free(emoji);
    return 0;
}

/* Audience: the object's to/cc, or the activity's when the object has none (Mastodon's
 * `@object['to'] || @json['to']`). */
static int ap_audience(const json_t *obj, const json_t *activity, const char *followers_url,
                       ap_status *st, char *err, size_t errlen)
{
    const json_t *to = json_object_get(obj, "to");
    const json_t *cc = json_object_get(obj, "cc");
    if ((!to || json_is_null(to)) && activity)
        to = json_object_get(activity, "to");
    if ((!cc || json_is_null(cc)) && activity)
        cc = json_object_get(activity, "cc");
    size_t nto = ap_count(to), ncc = ap_count(cc);
    if (nto + ncc > AP_MAX_AUDIENCE)
        return ap_fail(err, errlen, "%zu to/cc entries, more than scotty accepts (%d)", nto + ncc,
                       AP_MAX_AUDIENCE);
    bool pub_to = false, pub_cc = false, followers_to = false;
    for (size_t k = 0; k < nto + ncc; k++) {
        bool in_to = k < nto;
        const json_t *e = in_to ? ap_elem(to, k) : ap_elem(cc, k - nto);
        if (json_is_null(e))
            continue;
        if (!json_is_string(e) && !json_is_object(e))
            return ap_fail(err, errlen, "%s entry %zu is not a string or object", in_to ? "to" : "cc",
                           in_to ? k : k - nto);
        const char *u = ap_id_of(e);
        if (!u)
            continue;
        if (ap_is_public(u)) {
            pub_to |= in_to;
            pub_cc |= !in_to;
            continue;
        }
        if (followers_url && strcmp(u, followers_url) == 0) {
            followers_to |= in_to;
            continue;
        }
        ap_list_add(&st->audience, &st->n_audience, ap_strdup(u));
    }
    st->visibility = pub_to ? AP_VIS_PUBLIC : pub_cc ? AP_VIS_UNLISTED
                   : followers_to ? AP_VIS_PRIVATE : AP_VIS_DIRECT;
    return 0;
}

/* A string field that must be a string when present: 0 with *out (NULL when absent),
 * or -1 for another JSON type. */
static int ap_string_field(const json_t *obj, const char *key, const char **out, char *err,
                           size_t errlen)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return ap_fail(err, errlen, "`%s` is not a string", key);
    *out = json_string_value(v);
    return 0;
}

/* content/summary/name, else the first value of the *Map (Mastodon's text,
 * spoiler_text, title). */
static int ap_text_field(const json_t *obj, const char *key, const char *mapkey, const char **out,
                         char *err, size_t errlen)
{
    const char *s;
    if (ap_string_field(obj, key, &s, err, errlen) < 0)
        return -1;
    if (!ap_blank(s)) {
        *out = s;
        return 0;
    }
    *out = ap_map_first(json_object_get(obj, mapkey), NULL);
    return 0;
}

/* First key of a non-empty language map, whatever its value. */
static const char *ap_map_key(const json_t *map)
{
    if (!json_is_object(map) || json_object_size(map) == 0)
        return NULL;
    return json_object_iter_key(json_object_iter((json_t *)map));
}

/* Mastodon's converted text: [<h2>title</h2>, summary, linkify(url || uri)] joined by
 * blank lines. linkify is TextFormatter: the URL as a shortened link (prefix and the
 * rest past 30 characters in invisible spans), wrapped in <p> by simple_format. The
 * title is not escaped: Mastodon interpolates it as is. */
static char *ap_converted_text(const char *title, const char *summary, const char *link)
{
    ap_sbuf b = {0};
    if (!ap_blank(title)) {
        ap_sbuf_adds(&b, "<h2>");
        ap_sbuf_adds(&b, title);
        ap_sbuf_adds(&b, "</h2>");
    }
    if (!ap_blank(summary)) {
        if (b.len)
            ap_sbuf_adds(&b, "\n\n");
        ap_sbuf_adds(&b, summary);
    }
    if (!ap_blank(link)) {
        if (b.len)
            ap_sbuf_adds(&b, "\n\n");
        size_t pre = 0;
        if (strncmp(link, "https://", 8) == 0)
            pre = 8;
        else if (strncmp(link, "http://", 7) == 0)
            pre = 7;
        if (pre && strncmp(link + pre, "www.", 4) == 0)
            pre += 4;
        /* display_url = url[prefix.length, 30]: 30 characters, not bytes */
        const char *rest = link + pre, *cut = rest;
        size_t chars = 0;
        while (*cut && chars < 30) {
            cut++;
            while ((*cut & 0xc0) == 0x80)
                cut++;
            chars++;
        }
        ap_sbuf_adds(&b, "<p><a href=\"");
        ap_sbuf_add_html(&b, link, strlen(link));
        ap_sbuf_adds(&b, "\" target=\"_blank\" rel=\"nofollow noopener noreferrer\" translate=\"no\">"
                         "<span class=\"invisible\">");
        ap_sbuf_add_html(&b, link, pre);
        ap_sbuf_adds(&b, *cut ? "</span><span class=\"ellipsis\">" : "</span><span class=\"\">");
        ap_sbuf_add_html(&b, rest, (size_t)(cut - rest));
        ap_sbuf_adds(&b, "</span><span class=\"invisible\">");
        ap_sbuf_add_html(&b, cut, strlen(cut));
        ap_sbuf_adds(&b, "</span></a></p>");
    }
    return ap_sbuf_take(&b);
}

static int64_t ap_total_items(const json_t *coll)
{
    if (!json_is_object(coll))
        return -1;
    const json_t *t = json_object_get(coll, "totalItems");
    if (!json_is_integer(t) || json_integer_value(t) < 0)
        return -1;
    return (int64_t)json_integer_value(t);
}

/* The object's type Mastodon would act on: 0 Note or Question (its poll is read
 * apart, ap_poll.c), 1 converted, -1 not stored by scotty. *name gets the matching type. */
static int ap_object_class(const json_t *type, const char **name)
{
    *name = NULL;
    /* converted_object_type? wins over Note when both are listed, as in StatusParser */
    for (const char *const *t = ap_converted_types; *t; t++) {
        if (ap_type_is(type, *t)) {
            *name = *t;
            return 1;
        }
    }
    if (ap_type_is(type, "Question") || ap_type_is(type, "Note")) {
        *name = ap_type_is(type, "Question") ? "Question" : "Note";
        return 0;
    }
    if (json_is_string(type))
        *name = json_string_value(type);
    else if (json_is_array(type) && json_is_string(json_array_get(type, 0)))
        *name = json_string_value(json_array_get(type, 0));
    return -1;
}

/* Object#present? of a JSON value: not null, false, a blank string, nor an empty
 * array or object. */
static bool ap_status_rb_present(const json_t *v)
{
    if (json_is_string(v))
        return !ap_blank(json_string_value(v));
    if (json_is_array(v))
        return json_array_size(v) > 0;
    if (json_is_object(v))
        return json_object_size(v) > 0;
    return v && !json_is_null(v) && !json_is_false(v);
}

int ap_status_parse_in(const json_t *obj, const json_t *activity, const char *actor_uri,
                       const char *followers_url, ap_status *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->likes_total = out->shares_total = -1;
    if (!json_is_object(obj))
        return ap_fail(err, errlen, "the object is not a JSON object");

    const char *type_name;
    int cls = ap_object_class(json_object_get(obj, "type"), &type_name);
    if (cls < 0) {
        ap_fail(err, errlen, "object type %s is not one scotty stores", type_name ? type_name : "(none)");
        return 1;
    }

    const char *id, *s;
    if (ap_string_field(obj, "id", &id, err, errlen) < 0)
        return -1;
    if (!id)
        return ap_fail(err, errlen, "the %s has no id", type_name);
    out->object_type = ap_strdup(type_name);
    out->uri = ap_unbear(id);
    if (!ap_is_http(out->uri)) {
        ap_fail(err, errlen, "object id %.200s is not http(s)", id);
        goto fail;
    }
    if (actor_uri && !ap_same_host(actor_uri, out->uri)) {
        ap_fail(err, errlen, "object %.200s is not on the host of actor %.200s", out->uri, actor_uri);
        goto fail;
    }
    const json_t *attributed = json_object_get(obj, "attributedTo");
    if (attributed && !json_is_null(attributed)) {
        const json_t *first = json_is_array(attributed) ? json_array_get(attributed, 0) : attributed;
        const char *who = ap_id_of(first);
        if (first && !json_is_null(first) && !who) {
            ap_fail(err, errlen, "attributedTo is not a string or object with an id");
            goto fail;
        }
        if (who && actor_uri && strcmp(who, actor_uri) != 0) {
            ap_fail(err, errlen, "attributedTo %.200s is not the actor %.200s", who, actor_uri);
            goto fail;
        }
    }

    /* url: the first text/html href, http(s) only, else the uri */
    bool bad = false;
    const json_t *url = json_object_get(obj, "url");
    const char *href = ap_url_to_href(url, "text/html", &bad);
    if (bad) {
        ap_fail(err, errlen, "url is not a string, Link or array of them");
        goto fail;
    }
    out->url = ap_strdup(href && ap_is_http(href) ? href : out->uri);

    const char *text, *summary, *title;
    if (ap_text_field(obj, "content", "contentMap", &text, err, errlen) < 0 ||
        ap_text_field(obj, "summary", "summaryMap", &summary, err, errlen) < 0 ||
        ap_text_field(obj, "name", "nameMap", &title, err, errlen) < 0)
        goto fail;
    out->converted = cls == 1;
    if (out->converted) {
        out->text = ap_converted_text(title, summary, href && ap_is_http(href) ? href : out->uri);
        out->spoiler_text = ap_strdup("");
    } else {
        out->text = ap_strdup(text ? text : "");
        out->spoiler_text = ap_strdup(summary ? summary : "");
    }
    const char *lang = ap_map_key(json_object_get(obj, "contentMap"));
    if (!lang)
        lang = ap_map_key(json_object_get(obj, "nameMap"));
    if (!lang)
        lang = ap_map_key(json_object_get(obj, "summaryMap"));
    out->language = ap_language(lang);

    const char *updated;
    if (ap_string_field(obj, "published", &s, err, errlen) < 0 ||
        ap_string_field(obj, "updated", &updated, err, errlen) < 0)
        goto fail;
    int32_t pns = 0, uns = 0;
    if (s && base_time_parse(s, &out->published_ms, &pns))
        out->published = ap_strdup(s);
    if (updated && base_time_parse(updated, &out->updated_ms, &uns) &&
        !(out->published && out->published_ms == out->updated_ms && pns == uns))
        out->updated = ap_strdup(updated);

    /* inReplyTo: a URI or an object's id; else inReplyToAtomUri. Only http(s) URIs are
     * kept: anything else could not be looked up or fetched (ThreadResolveWorker needs
     * Request.valid_url?), and the handler fetches what is here. */
    const json_t *irt = json_object_get(obj, "inReplyTo");
    if (irt && !json_is_null(irt) && !json_is_string(irt) && !json_is_object(irt)) {
        ap_fail(err, errlen, "inReplyTo is not a string or object");
        goto fail;
    }
    const char *parent = ap_id_of(irt);
    if (ap_blank(parent))
        parent = ap_present(json_object_get(obj, "inReplyToAtomUri"));
    if (parent && ap_is_http(parent))
        out->in_reply_to = ap_strdup(parent);

    /* conversation (an OStatus tag: URI or a URL, stored as conversations.uri as sent),
     * else `context` (FEP-7888, a URL or an object with an id) */
    const char *conv = ap_present(json_object_get(obj, "conversation"));
    if (!conv) {
        conv = ap_id_of(json_object_get(obj, "context"));
        if (conv && !ap_is_http(conv))
            conv = NULL;
    }
    out->conversation = ap_strdup(conv);

    const char *replies = ap_id_of(json_object_get(obj, "replies"));
    if (replies && ap_is_http(replies))
        out->replies_uri = ap_strdup(replies);

    out->sensitive = json_is_true(json_object_get(obj, "sensitive"));
    out->direct_message = json_is_true(json_object_get(obj, "directMessage"));
    out->atom_uri = ap_strdup(ap_present(json_object_get(obj, "atomUri")));
    static const char *const quote_keys[] = {"quote", "_misskey_quote", "quoteUrl", "quoteUri", NULL};
    for (const char *const *k = quote_keys; *k && !out->quote_uri; k++) {
        const json_t *q = json_object_get(obj, *k);
        const char *qu = ap_id_of(json_is_array(q) ? json_array_get(q, 0) : q);
        if (qu && ap_is_http(qu))
            out->quote_uri = ap_strdup(qu);
    }
    for (const char *const *k = quote_keys; *k; k++)
        out->quote_present |= ap_status_rb_present(json_object_get(obj, *k));
    const json_t *quote = json_object_get(obj, "quote");
    out->quote_legacy = quote == NULL;
    out->quote_deleted = json_is_object(quote) &&
                         json_is_string(json_object_get(quote, "type")) &&
                         strcmp(json_string_value(json_object_get(quote, "type")), "Tombstone") == 0;
    out->policy_unread = ap_quote_policy_unread(obj);
    out->can_quote = json_incref(json_object_get(json_object_get(obj, "interactionPolicy"), "canQuote"));
    const json_t *auth = json_object_get(obj, "quoteAuthorization");
    auth = json_is_array(auth) ? json_array_get(auth, 0) : auth;
    if (json_is_string(auth) && ap_is_http(json_string_value(auth)))
        out->quote_approval_uri = ap_strdup(json_string_value(auth));

    if (ap_audience(obj, activity, followers_url, out, err, errlen) < 0 ||
        ap_tags(obj, out, err, errlen) < 0 || ap_media_parse(obj, out, err, errlen) < 0)
        goto fail;

    out->likes_total = ap_total_items(json_object_get(obj, "likes"));
    out->shares_total = ap_total_items(json_object_get(obj, "shares"));
    ap_poll_parse(obj, &out->poll);
    return 0;

fail:
    ap_status_free(out);
    out->likes_total = out->shares_total = -1;
    return -1;
}

int ap_status_parse(const json_t *obj, const char *actor_uri, const char *followers_url,
                    ap_status *out, char *err, size_t errlen)
{
    return ap_status_parse_in(obj, NULL, actor_uri, followers_url, out, err, errlen);
}
