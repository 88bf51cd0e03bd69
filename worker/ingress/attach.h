/* attach.h -- remote media attachments of ingested statuses (mastodon.md §3.3-3.4,
 * §4): download with Mastodon's limits and the SSRF guard, process in the
 * scotty-media child under the runner's CPU caps, store every style at Mastodon's
 * object keys, and fill the media_attachments row as Paperclip would. Used inline by
 * ActivityPub::ProcessingWorker and by RedownloadMediaWorker. */
#ifndef SCOTTY_ATTACH_H
#define SCOTTY_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media.h"
#include "queues.h"
#include "services.h"

typedef enum {
    ATTACH_DONE = 0,  /* file (and thumbnail) stored, row updated; or already stored */
    ATTACH_SKIPPED,   /* Mastodon keeps only remote_url: local media, reject_media domain,
                       * refused address, invalid or over-limit media, unsalvageable HTTP
                       * status; also a row that no longer exists (nothing to do) */
    ATTACH_RETRY,     /* download or storage failed in a way that may pass: schedule
                       * RedownloadMediaWorker (attach_schedule_redownload) */
    ATTACH_ERROR      /* database unreachable: the job fails */
} attach_result;

/* Downloads and processes the remote media of media_attachments row `id` (its
 * remote_url and thumbnail_remote_url), reporting progress on ctx (may be NULL).
 * Idempotent: a row whose file is already stored is left alone unless `force`;
 * concurrent calls for one row store one set of files (the row is updated only if
 * its file names are still those read at the start; the loser deletes what it
 * wrote), and a forced re-download deletes the files it replaces. For ATTACH_RETRY,
 * *retry_in (when retry_in is not NULL) says in how many seconds Mastodon would run
 * RedownloadMediaWorker: 0 after an object-storage error, rand 30 s..10 min after a
 * failed download or processing that could not run. err says why for any result
 * but ATTACH_DONE. */
attach_result attach_fetch_ex(services *s, q_ctx *ctx, int64_t id, bool force, long *retry_in,
                              char *err, size_t errlen);

/* Whether Mastodon downloads an attachment whose `mediaType` is `mime` (exact match
 * against MediaAttachment's supported types; NULL or "" means not given: true). An
 * unsupported type keeps only remote_url: do not call attach_fetch_ex for it. */
bool attach_media_type_supported(const char *mime);

/* Pushes RedownloadMediaWorker [id] on `pull`, in `delay_s` seconds (0: now), as
 * Mastodon does after a failed download (rand 30 s..10 min) or an S3 error (now). */
int attach_schedule_redownload(q_ctx *ctx, int64_t id, long delay_s, char *err, size_t errlen);

/* Pushes RedownloadMediaWorker [id] on `queue` in `delay_s` seconds (0: now), with
 * the running job's outcome (q_ctx_enqueue): how ingress defers media to the
 * --media-defer queue (services.media_defer_queue). */
int attach_enqueue(q_ctx *ctx, const char *queue, int64_t id, long delay_s, char *err, size_t errlen);

/* ---- Worker lifecycle (attach_runner.c) ---- */

/* Creates the media runner from the --media-* settings. An empty cfg->exe becomes
 * the scotty-media binary next to this executable; a missing or non-executable
 * binary is refused with a message saying what to do. Logs the settings. */
media_runner *attach_runner_start(media_runner_cfg *cfg, char *err, size_t errlen);

/* Shutdown: stops the runner (media_runner_stop) after `seconds` unless
 * attach_stopper_end comes first, so media children die before the engine's
 * deadline abandons the jobs waiting for them. */
typedef struct attach_stopper attach_stopper;
attach_stopper *attach_stopper_start(media_runner *r, double seconds);
/* Ends the timer (stopping the runner if it has not yet) and frees it. */
void attach_stopper_end(attach_stopper *s);

#endif
