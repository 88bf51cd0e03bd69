/* emoji.h -- remote custom emoji as Mastodon keeps them (custom_emojis rows and
 * their original and static files), for every path that meets Emoji tags: a status
 * Create, a status Update, a remote account's profile. The tag parser is in
 * emoji_parse.h. */
#ifndef SCOTTY_EMOJI_H
#define SCOTTY_EMOJI_H

#include "emoji_parse.h"
#include "services.h"
#include "storage.h"

#define EMOJI_LIMIT (256L * 1024L)   /* CustomEmoji::LIMIT; a file must be smaller */

/* Whether s can store emoji (a media runner and object storage). Without them an
 * object with emoji is left to Ruby rather than stored without them. */
bool emoji_can_store(const services *s);

/* Mastodon's process_emoji for every tag of l, for an account of `domain` (the
 * emoji's domain): the row of (shortcode, domain) is created, or updated when the
 * image URL changed (or the row has no file and `updated` is not older than the
 * row), after the image was downloaded (unsigned, SSRF-guarded, under EMOJI_LIMIT),
 * checked to be a PNG, GIF or WebP within Attachmentable's pixel limits, given its
 * static PNG by the media child, and stored at [prefix/]cache/custom_emojis/images/
 * <id_partition>/<original|static>/<16 hex>.<ext>. An emoji that cannot be kept is
 * logged and skipped, as Mastodon does; with check_block, nothing is done for a
 * domain whose block rejects media (no row either). `what` names the object in log
 * lines. Uses *c (no transaction open) for its queries and gives it back to s->db's
 * pool while an image is downloaded and processed, taking one again after: *c may
 * be another connection on return. Returns 0, or -1 with err when
 * the database failed or the worker is stopping (the job should be retried). */
int emoji_process(services *s, db_conn **c, const char *domain, const emoji_list *l, bool check_block,
                  const char *what, char *err, size_t errlen);

#endif
