/* fuzz_emoji.c -- libFuzzer target for the Emoji tag parser (worker/emoji,
 * scotty_emoji_parse): the input as JSON through emoji_tags_parse, both as a whole
 * `tag` value and, for an object, as its own `tag` member (a Note or an actor).
 *
 * Properties: no crash or leak; at most EMOJI_MAX_PER_OBJECT emoji kept, each with a
 * shortcode that passes emoji_shortcode_valid and holds no ':', shortcodes distinct,
 * an http(s) image URL of at most EMOJI_URL_MAX bytes; refusals counted with a
 * reason. */
#include "emoji_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void fz_check(const emoji_list *l)
{
    if (l->n > EMOJI_MAX_PER_OBJECT || (l->n_over_cap && l->n != EMOJI_MAX_PER_OBJECT))
        abort();
    if (l->n_refused && !l->refused[0])
        abort();
    for (size_t i = 0; i < l->n; i++) {
        const emoji_tag *t = &l->tags[i];
        if (!t->shortcode || !emoji_shortcode_valid(t->shortcode) || strchr(t->shortcode, ':'))
            abort();
        if (!t->url || strlen(t->url) > EMOJI_URL_MAX ||
            (strncmp(t->url, "http://", 7) != 0 && strncmp(t->url, "https://", 8) != 0))
            abort();
        for (size_t j = 0; j < i; j++)
            if (strcmp(l->tags[j].shortcode, t->shortcode) == 0)
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t e;
    json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, &e);
    if (!doc)
        return 0;
    emoji_list l;
    emoji_tags_parse(doc, &l);
    fz_check(&l);
    emoji_list_free(&l);
    if (json_is_object(doc)) {
        emoji_tags_parse(json_object_get(doc, "tag"), &l);
        fz_check(&l);
        emoji_list_free(&l);
    }
    json_decref(doc);
    return 0;
}
