/* emoji_internal.h -- what the worker/emoji service files share: one emoji image
 * fetched, processed and stored. Private to worker/emoji. */
#ifndef SCOTTY_EMOJI_INTERNAL_H
#define SCOTTY_EMOJI_INTERNAL_H

#include "emoji.h"

/* An image downloaded and processed, in its own temp directory. */
typedef struct emoji_image {
    char dir[512];            /* "" until created */
    char original[600];       /* the file as downloaded: the original style, unchanged */
    char static_png[1200];    /* the media child's static style */
    char content_type[32];    /* image/png, image/gif or image/webp (from the bytes) */
    const char *ext;          /* png, gif, webp */
    int64_t size;
} emoji_image;

/* Downloads url and has the media child check it and make the static PNG.
 * Returns 0; 1 when Mastodon would not keep it (why in err); -1 with err when the
 * worker is stopping. emoji_image_done releases img in every case. */
int emoji_image_fetch(services *s, const char *url, emoji_image *img, char *err, size_t errlen);
void emoji_image_done(emoji_image *img);

/* Uploads both styles of emoji `id` under base (16 hex). Returns 0, or -1 with err
 * (nothing left behind). */
int emoji_image_store(services *s, int64_t id, const emoji_image *img, const char *base, char *err,
                      size_t errlen);
/* Deletes both styles of the stored file_name (storage schema >= 1: cached), logging
 * what cannot be deleted. */
void emoji_image_delete(services *s, int64_t id, bool cached, const char *file_name);

#endif
