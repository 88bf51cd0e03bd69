/* emoji_tag.c -- reads an object's `tag` entries of type Emoji the way Mastodon's
 * CustomEmojiParser does (shortcode: `name` without its colons; image: icon.url;
 * uri: `id`; `updated`), then applies what CustomEmoji would refuse at save time
 * (SHORTCODE_ONLY_RE, 2 to 2048 characters; an http(s) image URL), so no download is
 * spent on an emoji Mastodon would not keep. */
#include "emoji_parse.h"
#include "base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool emoji_type_is(const json_t *type)
{
    if (json_is_string(type))
        return strcmp(json_string_value(type), "Emoji") == 0;
    size_t i;
    const json_t *v;
    json_array_foreach(type, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), "Emoji") == 0)
            return true;
    return false;
}

/* Ruby's blank? for a string: empty or only white space. */
static bool emoji_blank(const char *s)
{
    for (; *s; s++)
        if (!strchr(" \t\n\v\f\r", *s))
            return false;
    return true;
}

bool emoji_shortcode_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return n >= EMOJI_SHORTCODE_MIN && n <= EMOJI_SHORTCODE_MAX;
}

/* Remotable's check before a download: http or https, and a host. */
static bool emoji_url_fetchable(const char *u)
{
    size_t skip = strncmp(u, "https://", 8) == 0 ? 8 : strncmp(u, "http://", 7) == 0 ? 7 : 0;
    if (!skip || strlen(u) > EMOJI_URL_MAX)
        return false;
    const char *host = u + skip;
    size_t len = strcspn(host, "/?#");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)host[i] <= ' ')
            return false;
    return len > 0 && host[0] != ':' && host[0] != '@';
}

static void emoji_refuse(emoji_list *out, const char *why)
{
    if (out->n_refused++ == 0)
        snprintf(out->refused, sizeof out->refused, "%s", why);
}

static char *emoji_strip_colons(const char *name)
{
    char *s = malloc(strlen(name) + 1);
    if (!s)
        abort();
    size_t n = 0;
    for (const char *p = name; *p; p++)
        if (*p != ':')
            s[n++] = *p;
    s[n] = '\0';
    return s;
}

static char *emoji_strdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

static void emoji_tag_free(emoji_tag *t)
{
    free(t->shortcode);
    free(t->url);
    free(t->uri);
    memset(t, 0, sizeof *t);
}

/* One Emoji entry: kept (replacing an earlier one with its shortcode), refused,
 * skipped or over the cap. */
static void emoji_take(const json_t *t, emoji_list *out)
{
    const json_t *name = json_object_get(t, "name"), *icon = json_object_get(t, "icon");
    const json_t *url = json_object_get(icon, "url");
    if (!json_is_string(name) || emoji_blank(json_string_value(name)))
        return;
    if (!json_is_object(icon) || !url || json_is_null(url) ||
        (json_is_string(url) && emoji_blank(json_string_value(url))))
        return;
    char *code = emoji_strip_colons(json_string_value(name));
    if (emoji_blank(code)) {
        free(code);
        return;
    }
    if (!emoji_shortcode_valid(code)) {
        char why[200];
        snprintf(why, sizeof why, "shortcode \"%.60s%s\" breaks Mastodon's rule (2 to 2048 of a-z, A-Z, 0-9, _)",
                 code, strlen(code) > 60 ? "..." : "");
        emoji_refuse(out, why);
        free(code);
        return;
    }
    if (!json_is_string(url) || !emoji_url_fetchable(json_string_value(url))) {
        char why[200];
        snprintf(why, sizeof why, "emoji :%.60s: has no http(s) image URL Mastodon would fetch", code);
        emoji_refuse(out, why);
        free(code);
        return;
    }
    size_t i = 0;
    while (i < out->n && strcmp(out->tags[i].shortcode, code) != 0)
        i++;
    if (i == out->n && out->n == EMOJI_MAX_PER_OBJECT) {
        out->n_over_cap++;
        free(code);
        return;
    }
    emoji_tag *e = &out->tags[i];
    emoji_tag_free(e);
    e->shortcode = code;
    e->url = emoji_strdup(json_string_value(url));
    const json_t *id = json_object_get(t, "id"), *updated = json_object_get(t, "updated");
    e->uri = json_is_string(id) ? emoji_strdup(json_string_value(id)) : NULL;
    e->has_updated = json_is_string(updated) && base_time_parse(json_string_value(updated), &e->updated_ms, NULL);
    if (i == out->n)
        out->n++;
}

void emoji_tags_parse(const json_t *tag, emoji_list *out)
{
    memset(out, 0, sizeof *out);
    if (json_is_object(tag)) {
        if (emoji_type_is(json_object_get(tag, "type")))
            emoji_take(tag, out);
        return;
    }
    size_t i;
    const json_t *t;
    json_array_foreach(tag, i, t)
        if (json_is_object(t) && emoji_type_is(json_object_get(t, "type")))
            emoji_take(t, out);
}

void emoji_list_free(emoji_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        emoji_tag_free(&l->tags[i]);
    l->n = 0;
}
