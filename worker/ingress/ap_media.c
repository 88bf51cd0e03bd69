/* ap_media.c -- an object's `attachment` list read as Mastodon's Create#process_attachments
 * and ActivityPub::Parser::MediaAttachmentParser read it (mastodon.md §3.3): Links
 * (elements with an `href`) are not media, the first one is the link card candidate;
 * at most AP_MAX_MEDIA media with an http(s) url are kept, in order; description,
 * focal point, blurhash and thumbnail checked as Mastodon checks them.
 *
 * Wrong JSON types: where Ruby would raise (Mastodon's job fails and nothing is
 * stored) the object is refused: a number, boolean, null or array as an element of
 * `attachment`, or as an element's `url`/`icon`. Where Ruby quietly gets nil (a
 * string element: "x"['url'] is nil) the element is skipped, as Mastodon skips it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ap_internal.h"

void ap_attachment_free(ap_attachment *m)
{
    free(m->remote_url);
    free(m->thumbnail_remote_url);
    free(m->media_type);
    free(m->description);
    free(m->blurhash);
    memset(m, 0, sizeof *m);
}

static const char ap_b83[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

/* supported_blurhash?: every character in /[\w#$%*+,-.:;=?@\[\]^{|}~]/ (exactly the base83
 * alphabet), then Blurhash.components: the first character's value v gives
 * y = v / 9 + 1 and x = v % 9 + 1 components, the length must be 4 + 2*x*y, and
 * Mastodon refuses more than 5 on either axis. */
bool ap_blurhash_ok(const char *s)
{
    if (!s || !*s)
        return false;
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        if (!strchr(ap_b83, s[i]))
            return false;
    }
    int v = (int)(strchr(ap_b83, s[0]) - ap_b83);
    int y = v / 9 + 1, x = v % 9 + 1;
    if (n != (size_t)(4 + 2 * x * y))
        return false;
    return x <= 5 && y <= 5;
}

/* A non-blank description string, or the first value of the matching *Map. */
static const char *ap_description_src(const json_t *a)
{
    const char *s;
    if ((s = ap_present(json_object_get(a, "summary"))))
        return s;
    if ((s = ap_present(json_object_get(a, "name"))))
        return s;
    /* The *Map variants (mastodon.md §3.3) only when the plain forms are absent. */
    if ((s = ap_map_first(json_object_get(a, "summaryMap"), NULL)) && !ap_blank(s))
        return s;
    if ((s = ap_map_first(json_object_get(a, "nameMap"), NULL)) && !ap_blank(s))
        return s;
    return NULL;
}

/* MediaAttachment#focus= takes [x, y] (or "x,y") as floats. Mastodon stores them as
 * sent; scotty clamps them to -1..1, the range the focus has a meaning in (ap.h). */
static void ap_focus(const json_t *fp, ap_attachment *m)
{
    double xy[2];
    if (json_is_array(fp) && json_array_size(fp) >= 2) {
        for (int i = 0; i < 2; i++) {
            const json_t *v = json_array_get(fp, (size_t)i);
            if (!json_is_number(v))
                return;
            xy[i] = json_number_value(v);
        }
    } else if (json_is_string(fp)) {
        char *end;
        const char *s = json_string_value(fp);
        xy[0] = strtod(s, &end);
        if (end == s || *end != ',')
            return;
        s = end + 1;
        xy[1] = strtod(s, &end);
        if (end == s || *end)
            return;
    } else {
        return;
    }
    for (int i = 0; i < 2; i++) {
        if (!isfinite(xy[i]))
            return;
        xy[i] = xy[i] < -1.0 ? -1.0 : xy[i] > 1.0 ? 1.0 : xy[i];
    }
    m->has_focus = true;
    m->focus_x = xy[0];
    m->focus_y = xy[1];
}

/* url_to_media_type(url): the first Link's mediaType when url is a Link or array of them. */
static const char *ap_link_media_type(const json_t *url)
{
    const json_t *first = json_is_array(url) ? json_array_get(url, 0) : url;
    if (!json_is_object(first))
        return NULL;
    const json_t *mt = json_object_get(first, "mediaType");
    return json_is_string(mt) ? json_string_value(mt) : NULL;
}

int ap_media_parse(const json_t *obj, ap_status *st, char *err, size_t errlen)
{
    const json_t *list = json_object_get(obj, "attachment");
    size_t n = ap_count(list);
    for (size_t i = 0; i < n; i++) {
        const json_t *a = ap_elem(list, i);
        if (json_is_string(a))
            continue;
        if (!json_is_object(a))
            return ap_fail(err, errlen, "attachment %zu is a %s, not an object", i,
                           json_is_null(a) ? "null" : json_is_array(a) ? "array" : "scalar");

        const json_t *href = json_object_get(a, "href");
        if (href && !json_is_null(href) && !(json_is_string(href) && ap_blank(json_string_value(href)))) {
            /* A Link: feeds the link card (LinkCrawlWorker), never media. */
            if (!st->link_href && json_is_string(href) && ap_is_http(json_string_value(href)))
                st->link_href = ap_strdup(json_string_value(href));
            continue;
        }

        bool bad = false;
        const json_t *url = json_object_get(a, "url");
        const char *u = ap_url_to_href(url, NULL, &bad);
        if (bad)
            return ap_fail(err, errlen, "attachment %zu: url is not a string or Link", i);
        const json_t *icon = json_object_get(a, "icon");
        const json_t *icon_url = json_is_object(icon) ? json_object_get(icon, "url") : icon;
        if (icon_url && !json_is_null(icon_url) && !json_is_string(icon_url))
            return ap_fail(err, errlen, "attachment %zu: icon is not a string or Image", i);

        if (!u || ap_blank(u) || !ap_is_http(u) || st->n_media >= AP_MAX_MEDIA)
            continue;

        ap_attachment *m = &st->media[st->n_media++];
        m->remote_url = ap_url_normalize(u);
        if (json_is_string(icon_url) && ap_is_http(json_string_value(icon_url)))
            m->thumbnail_remote_url = ap_url_normalize(json_string_value(icon_url));
        const json_t *mt = json_object_get(a, "mediaType");
        if (json_is_string(mt))
            m->media_type = ap_strdup(json_string_value(mt));
        else if (ap_link_media_type(url))
            m->media_type = ap_strdup(ap_link_media_type(url));
        const char *d = ap_description_src(a);
        if (d) {
            m->description = ap_strip(d);
            ap_utf8_truncate(m->description, AP_MAX_DESCRIPTION);
        }
        const json_t *bh = json_object_get(a, "blurhash");
        if (json_is_string(bh) && ap_blurhash_ok(json_string_value(bh)))
            m->blurhash = ap_strdup(json_string_value(bh));
        ap_focus(json_object_get(a, "focalPoint"), m);
    }
    return 0;
}
