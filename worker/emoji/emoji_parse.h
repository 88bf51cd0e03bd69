/* emoji_parse.h -- the Emoji entries of an object's or actor's `tag`, read as
 * Mastodon's ActivityPub::Parser::CustomEmojiParser and CustomEmoji's validations
 * see them: a pure function of the JSON, shared by scotty, the unit tests and the
 * fuzz target (no database, no network). */
#ifndef SCOTTY_EMOJI_PARSE_H
#define SCOTTY_EMOJI_PARSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EMOJI_SHORTCODE_MIN 2      /* CustomEmoji::MINIMUM_SHORTCODE_SIZE */
#define EMOJI_SHORTCODE_MAX 2048   /* CustomEmoji::MAX_FEDERATED_SHORTCODE_SIZE */
#define EMOJI_URL_MAX 2048         /* longer image URLs are refused */
/* Distinct emoji processed per object or actor. Mastodon has no cap (each tag may
 * cost a download); past this many the rest stay text, with a log line. */
#define EMOJI_MAX_PER_OBJECT 50

/* One emoji to process. */
typedef struct emoji_tag {
    char *shortcode;          /* `name` with every ':' removed; [a-zA-Z0-9_]{2,2048} */
    char *url;                /* icon.url, http(s) with a host */
    char *uri;                /* `id`, or NULL */
    bool has_updated;         /* `updated` was a time scotty reads */
    int64_t updated_ms;       /* `updated` as Unix milliseconds (UTC) */
} emoji_tag;

typedef struct emoji_list {
    emoji_tag tags[EMOJI_MAX_PER_OBJECT]; /* one per shortcode; a later tag replaces
                                           * an earlier one, as Mastodon's last save wins */
    size_t n;
    size_t n_refused;         /* Emoji tags that break CustomEmoji's rules */
    char refused[320];        /* why the first of them was refused */
    size_t n_over_cap;        /* valid Emoji tags past EMOJI_MAX_PER_OBJECT */
} emoji_list;

/* Fills out from `tag` (an array, one object, or NULL). Entries whose type is not
 * (or does not include) Emoji are ignored; an Emoji without a name or an icon URL
 * is skipped silently, as Mastodon skips it; one whose shortcode or URL breaks the
 * rules is counted in n_refused. Never fails; emoji_list_free releases out. */
void emoji_tags_parse(const json_t *tag, emoji_list *out);
void emoji_list_free(emoji_list *l);

/* CustomEmoji::SHORTCODE_ONLY_RE with the federated length limits. */
bool emoji_shortcode_valid(const char *shortcode);

#endif
