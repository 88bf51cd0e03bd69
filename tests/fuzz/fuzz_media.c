/* fuzz_media.c -- libFuzzer target for the media probe (media/media_probe.c and the
 * demuxers it opens through media_open_input), then media_classify and media_validate,
 * as the scotty-media child runs them before any transcode.
 *
 * Input: the file. The child's own limits are the run's: run.sh passes
 * -rss_limit_mb=2048 (the child's default --media-memory-mb) and a per-input
 * -timeout. Properties: no crash under ASan and UBSan, no leak, and a file that
 * passes media_validate is within Mastodon's limits (file size, pixels, GIF and video
 * pixels, frame rate) for the kind it was classified as. */
#include "media.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/log.h>

static char fz_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    snprintf(fz_path, sizeof fz_path, "/tmp/scotty-fuzz-media-%d", (int)getpid());
    av_log_set_level(AV_LOG_QUIET);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(fz_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    media_probe p;
    char err[MEDIA_ERRLEN];
    if (media_probe_file(fz_path, &p, err, sizeof err) != 0)
        return 0;
    if (p.size != (int64_t)size)
        abort();
    json_decref(media_probe_json(&p));
    media_kind kind = media_classify(&p);
    if (media_validate(&p, kind, err, sizeof err) == 0) {
        bool image = strncmp(p.content_type, "image/", 6) == 0;
        if (kind == MEDIA_KIND_UNKNOWN || p.size > (image ? MEDIA_MAX_IMAGE_BYTES : MEDIA_MAX_FILE_BYTES))
            abort();
        if (kind != MEDIA_KIND_AUDIO) {
            long long px = (long long)p.width * p.height;
            if (!p.has_video || p.width <= 0 || p.height <= 0 || px > MEDIA_MAX_IMAGE_PIXELS)
                abort();
            if (strcmp(p.content_type, "image/gif") == 0 && px > MEDIA_MAX_GIF_PIXELS)
                abort();
            if (kind != MEDIA_KIND_IMAGE &&
                (px > MEDIA_MAX_VIDEO_PIXELS || p.fps_num <= 0 || p.fps_den <= 0 ||
                 p.fps_num / p.fps_den > MEDIA_MAX_VIDEO_FPS))
                abort();
        }
    }
    return 0;
}
