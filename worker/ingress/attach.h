/* attach.h -- remote media attachments of ingested statuses (mastodon.md §3.3-3.4,
 * §4): download with Mastodon's limits and the SSRF guard, process in the
 * scotty-media child under the runner's CPU caps, store every style at Mastodon's
 * object keys, and fill the media_attachments row as Paperclip would. Used inline by
 * ActivityPub::ProcessingWorker and by RedownloadMediaWorker. */
#ifndef SCOTTY_ATTACH_H
#define SCOTTY_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#include "queues.h"
#include "services.h"

typedef enum {
    ATTACH_DONE = 0,  /* file (and thumbnail) stored, row updated */
    ATTACH_SKIPPED,   /* Mastodon keeps only remote_url: unsupported mediaType, reject_media
                       * domain, invalid or over-limit media, unsalvageable HTTP status */
    ATTACH_RETRY,     /* download or storage failed in a way that may pass: schedule
                       * RedownloadMediaWorker (attach_schedule_redownload) */
    ATTACH_ERROR      /* database unreachable or the row is gone: the job fails */
} attach_result;

/* Downloads and processes the remote media of media_attachments row `id` (its
 * remote_url and thumbnail_remote_url), reporting progress on ctx. Idempotent: a row
 * whose file is already stored is left alone unless `force`. err says why for any
 * result but ATTACH_DONE. */
attach_result attach_fetch(services *s, q_ctx *ctx, int64_t id, bool force, char *err,
                           size_t errlen);

/* Pushes RedownloadMediaWorker [id] on `pull`, in `delay_s` seconds (0: now), as
 * Mastodon does after a failed download (rand 30 s..10 min) or an S3 error (now). */
int attach_schedule_redownload(q_ctx *ctx, int64_t id, long delay_s, char *err, size_t errlen);

#endif
