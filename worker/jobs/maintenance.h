/* maintenance.h -- the built-in housekeeping jobs' shared declarations:
 * Scotty::MediaCacheCleanup (maintenance_media*.c) and Scotty::DeadSetTrim
 * (maintenance_dead.c), registered by jobs_register_maintenance (jobs.h). */
#ifndef SCOTTY_MAINTENANCE_H
#define SCOTTY_MAINTENANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queues.h"

/* One cached remote media_attachments row, as the cleanup reads it. */
typedef struct maint_media_row {
    int64_t id;
    int type;                /* image 0, gifv 1, video 2, unknown 3, audio 4 */
    const char *file_name;   /* file_file_name */
    int file_schema;         /* file_storage_schema_version, 0 when NULL */
    const char *thumb_name;  /* thumbnail_file_name, NULL when there is none */
    int thumb_schema;        /* thumbnail_storage_schema_version, 0 when NULL */
    int64_t bytes;           /* file_file_size + thumbnail_file_size as recorded */
} maint_media_row;

#define MAINT_MEDIA_MAX_KEYS 3
#define MAINT_MEDIA_KEY_LEN 768

/* The extension of the `small` style of a file of `type` named file_name: "png"
 * for video and gifv previews, the original's own for images (the child writes
 * an image's small in the original's format), NULL for audio, which has none. */
const char *maint_media_small_ext(int type, const char *file_name);

/* The object keys of every stored style of row (mastodon.md §4.7): files/original,
 * files/small (PNG for video and gifv previews, the original's extension for
 * images, none for audio) and thumbnails/original, under cache/ when the
 * attachment's storage_schema_version >= 1, after `prefix` (S3_KEY_PREFIX).
 * Returns how many keys were written, or -1 with err if one does not fit. */
int maint_media_keys(const char *prefix, const maint_media_row *row,
                     char keys[MAINT_MEDIA_MAX_KEYS][MAINT_MEDIA_KEY_LEN], char *err, size_t errlen);

/* The handlers (the engine's user pointer must be a services). */
void maint_media_cleanup(q_ctx *ctx, const q_job *job, q_result *r);
void maint_dead_trim(q_ctx *ctx, const q_job *job, q_result *r);

#endif
