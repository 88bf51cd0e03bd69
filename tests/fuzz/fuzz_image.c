/* fuzz_image.c -- libFuzzer target for the media child's libvips side: the
 * avatar task (media/media_vips_task.c) on the input file, which reads the
 * header through libvips' allowed loaders, checks Mastodon's limits, makes the
 * 400x400# original (libvips' thumbnail with its centre crop, or for a GIF
 * libav's palettegen filter graph, media_gif.c) and the static PNG of a GIF;
 * then the preview card task on the same file, whose 230,400 px budget takes the
 * fitting thumbnail (a JPEG reduced 2x or more decoded shrunk, media_vips.c).
 *
 * Properties: no crash under ASan and UBSan, no leak; a failure names its stage
 * and a reason; a success has an original of at most 400x400 pixels (square),
 * of one of the four types Mastodon accepts for avatars, whose file is there
 * with the size the result says, and a GIF also a 400x400 static PNG; a card
 * converted is within its budget (less a rounding of each side). */
#include "media_vips.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/log.h>

static char fz_in[64], fz_out[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    snprintf(fz_in, sizeof fz_in, "/tmp/scotty-fuzz-image-%d", (int)getpid());
    snprintf(fz_out, sizeof fz_out, "/tmp/scotty-fuzz-image-%d.d", (int)getpid());
    av_log_set_level(AV_LOG_QUIET);
    return 0;
}

/* Checks one style entry and removes its file: each side at most max_side, the
 * area at most max_pixels (0: any). */
static void fz_style(const json_t *o, int max_side, bool square, long long max_pixels)
{
    const char *path = json_string_value(json_object_get(o, "path"));
    const char *type = json_string_value(json_object_get(o, "content_type"));
    json_int_t w = json_integer_value(json_object_get(o, "width"));
    json_int_t h = json_integer_value(json_object_get(o, "height"));
    struct stat st;
    if (!path || !type || stat(path, &st) != 0 || st.st_size != json_integer_value(json_object_get(o, "size")))
        abort();
    if (strcmp(type, "image/jpeg") != 0 && strcmp(type, "image/png") != 0 && strcmp(type, "image/gif") != 0 &&
        strcmp(type, "image/webp") != 0)
        abort();
    if (w < 1 || h < 1 || w > max_side || h > max_side || (square && w != h) ||
        (max_pixels > 0 && (long long)w * h > max_pixels + w + h))
        abort();
    unlink(path);
}

/* A failed task names its stage and a reason. */
static void fz_failure(const json_t *r)
{
    const char *stage = json_string_value(json_object_get(r, "stage"));
    const char *err = json_string_value(json_object_get(r, "error"));
    if (!stage || !err || !err[0])
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(fz_in, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    json_t *r = media_vips_task_run("avatar", fz_in, fz_out, 1);
    if (json_is_true(json_object_get(r, "ok"))) {
        const json_t *orig = json_object_get(r, "original");
        bool converted = json_is_true(json_object_get(orig, "converted"));
        /* Kept as it is only when one side is already 400 (LazyThumbnail's test). */
        fz_style(orig, converted ? 400 : 1 << 30, converted, 0);
        const json_t *st = json_object_get(r, "static");
        if (st)
            fz_style(st, 400, true, 0);
    } else {
        fz_failure(r);
    }
    json_decref(r);
    r = media_vips_task_run("preview_card", fz_in, fz_out, 1);
    if (json_is_true(json_object_get(r, "ok"))) {
        const json_t *orig = json_object_get(r, "original");
        bool converted = json_is_true(json_object_get(orig, "converted"));
        fz_style(orig, 1 << 30, false, converted ? 230400 : 0);
    } else {
        fz_failure(r);
    }
    json_decref(r);
    return 0;
}
