/* card_details.c -- LinkDetailsExtractor#to_preview_card_attributes: each column from
 * JSON-LD first, then OpenGraph / Twitter card <meta> tags, then plain HTML, with
 * Mastodon's URL validation (absolute http(s) after resolving against the page URL;
 * the canonical URL only on the page's own host), entity decoding and defaults. */
#include "card_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void card_attrs_clear(card_attrs *a)
{
    char **strs[] = {&a->url, &a->title, &a->description, &a->image_description, &a->html,
                     &a->provider_name, &a->provider_url, &a->author_name, &a->author_url,
                     &a->embed_url, &a->language, &a->published_at, &a->image_url, &a->author_account};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    a->set = 0;
    a->type = a->link_type = a->width = a->height = 0;
}

static const char *card_og(const card_page *p, const char *name)
{
    return card_page_meta(p, name, NULL);
}

/* valid_url_or_nil(str, same_origin_only:) against the page URL. */
static char *card_valid_url(const char *page_url, const char *str, bool same_origin)
{
    if (card_blank(str) || strcmp(str, "null") == 0 || strcmp(str, "undefined") == 0)
        return NULL;
    char *url = card_url_join(page_url, str);
    char scheme[16], host[512], page_scheme[16], page_host[512];
    if (!url || !card_url_parts(url, scheme, sizeof scheme, host, sizeof host) ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) ||
        (same_origin && (!card_url_parts(page_url, page_scheme, sizeof page_scheme, page_host,
                                         sizeof page_host) ||
                         strcmp(host, page_host) != 0))) {
        free(url);
        return NULL;
    }
    return url;
}

/* The first of the candidates that is not NULL, entity-decoded (NULL when none). */
static char *card_decode_first(const char *a, const char *b, const char *c)
{
    const char *v = a ? a : b ? b : c;
    return v ? card_entities_decode(v) : NULL;
}

static char *card_or_empty(char *s)
{
    return s ? s : strdup("");
}

/* ActiveModel's integer cast of a tag's text: its leading integer, 0 without one. */
static int card_int(const char *s)
{
    return s ? (int)strtol(s, NULL, 10) : 0;
}

/* content_tag(:iframe, nil, src:, width:, height:, allowfullscreen: 'true', ...). */
static void card_attr_escaped(char **o, const char *name, const char *v)
{
    if (!v)
        return;
    *o += sprintf(*o, " %s=\"", name);
    for (; *v; v++) {
        switch (*v) {
        case '&': *o += sprintf(*o, "&amp;"); break;
        case '<': *o += sprintf(*o, "&lt;"); break;
        case '>': *o += sprintf(*o, "&gt;"); break;
        case '"': *o += sprintf(*o, "&quot;"); break;
        case '\'': *o += sprintf(*o, "&#39;"); break;
        default: *(*o)++ = *v; break;
        }
    }
    *(*o)++ = '"';
    **o = '\0';
}

static char *card_player_iframe(const char *src, const char *width, const char *height)
{
    size_t n = 6 * (strlen(src) + (width ? strlen(width) : 0) + (height ? strlen(height) : 0)) + 200;
    char *out = malloc(n), *o = out;
    if (!out)
        return NULL;
    o += sprintf(o, "<iframe");
    card_attr_escaped(&o, "src", src);
    card_attr_escaped(&o, "width", width);
    card_attr_escaped(&o, "height", height);
    o += sprintf(o, " allowfullscreen=\"true\" allowtransparency=\"true\" scrolling=\"no\" "
                    "frameborder=\"0\"></iframe>");
    return out;
}

/* host_to_url: "example.com" becomes "http://example.com". */
static char *card_host_to_url(const char *s)
{
    if (card_blank(s))
        return NULL;
    if (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0)
        return strdup(s);
    size_t n = strlen(s) + 8;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "http://%s", s);
    return out;
}

int card_details_extract(const card_page *p, const char *url, card_attrs *out)
{
    memset(out, 0, sizeof *out);
    card_jsonld sd;
    card_jsonld_find(p, &sd);
    char *player = card_valid_url(url, card_og(p, "twitter:player"), false);
    const char *width = card_og(p, "twitter:player:width"), *height = card_og(p, "twitter:player:height");

    out->set = CARD_COL_TITLE | CARD_COL_DESCRIPTION | CARD_COL_IMAGE_DESCRIPTION | CARD_COL_TYPE |
               CARD_COL_LINK_TYPE | CARD_COL_WIDTH | CARD_COL_HEIGHT | CARD_COL_HTML |
               CARD_COL_PROVIDER_NAME | CARD_COL_PROVIDER_URL | CARD_COL_AUTHOR_NAME |
               CARD_COL_AUTHOR_URL | CARD_COL_EMBED_URL | CARD_COL_LANGUAGE | CARD_COL_PUBLISHED_AT;
    out->type = player ? CARD_TYPE_VIDEO : CARD_TYPE_LINK;
    const char *og_type = card_og(p, "og:type");
    out->link_type = (sd.type && strcmp(sd.type, "NewsArticle") == 0) || (og_type && strcmp(og_type, "article") == 0)
                         ? CARD_LINK_ARTICLE : CARD_LINK_UNKNOWN;
    out->width = card_int(width);
    out->height = card_int(height);
    out->html = player ? card_player_iframe(player, width, height) : strdup("");

    char *title = card_decode_first(sd.headline, card_og(p, "og:title"), card_page_title(p));
    out->title = card_or_empty(card_strip(title));
    free(title);
    out->description = card_or_empty(
        card_decode_first(sd.description, card_og(p, "og:description"), card_page_meta_description(p)));
    const char *published = sd.date_published ? sd.date_published : card_og(p, "article:published_time");
    char ts[40];
    if (!card_blank(published) && card_time_utc(published, ts, sizeof ts))
        out->published_at = strdup(ts);
    out->image_url = card_valid_url(url, card_og(p, "og:image"), false);
    out->image_description = card_or_empty(card_og(p, "og:image:alt") ? strdup(card_og(p, "og:image:alt")) : NULL);

    const char *canonical = card_page_canonical(p) ? card_page_canonical(p) : card_og(p, "og:url");
    out->url = card_valid_url(url, canonical, true);
    if (!out->url)
        out->url = strdup(url);
    out->provider_name = card_or_empty(card_decode_first(sd.publisher_name, card_og(p, "og:site_name"), NULL));
    char *site = card_host_to_url(card_og(p, "og:site"));
    out->provider_url = card_or_empty(card_valid_url(url, site, false));
    free(site);
    out->author_name = card_or_empty(
        card_decode_first(sd.author_name, card_og(p, "og:author"), card_og(p, "og:author:username")));
    out->author_url = card_or_empty(sd.author_url ? strdup(sd.author_url) : NULL);
    out->embed_url = card_or_empty(card_valid_url(url, card_og(p, "twitter:player:stream"), false));
    const char *lang = sd.language ? sd.language : card_og(p, "og:locale") ? card_og(p, "og:locale")
                                                                          : card_page_lang(p);
    const char *locale = card_locale(lang);
    out->language = locale ? strdup(locale) : NULL;
    const char *creator = card_og(p, "fediverse:creator");
    out->author_account = creator ? strdup(creator) : NULL;
    free(player);
    card_jsonld_clear(&sd);
    bool oom = !out->url || !out->title || !out->description || !out->image_description || !out->html ||
               !out->provider_name || !out->provider_url || !out->author_name || !out->author_url ||
               !out->embed_url;
    return oom ? -1 : 0;
}
