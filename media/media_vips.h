/* media_vips.h -- the media child's libvips side (not public): start-up with
 * limits for hostile input, Mastodon's image styles (LazyThumbnail), blurhash
 * input, and the account, preview-card and custom emoji tasks. Everything here
 * but media_vips_start runs only in a task child, after media_vips_init. */
#ifndef SCOTTY_MEDIA_VIPS_H
#define SCOTTY_MEDIA_VIPS_H

#include "media.h"

#include <stdbool.h>
#include <stddef.h>

/* Starts libvips once per process: operation cache off, untrusted loaders
 * blocked and only the loaders and savers Mastodon allows (nsgif, jpeg, png,
 * webp; png, spng, jpeg, webp savers; no loadable modules, so not heif).
 * libvips starts no thread here (its pools start with the first operation),
 * so the fork server calls it before it forks any task child, which then
 * inherits a started libvips instead of paying its type set-up per task; the
 * server checks afterwards that it is still one thread. Returns 0 or -1 with
 * err. */
int media_vips_start(char *err, size_t errlen);

/* media_vips_start, then `threads` worker threads for this process's
 * operations. The child's image code calls it before its first libvips call,
 * so a child exec'ed per task starts libvips after its limits and sandbox.
 * Returns 0 or -1 with err. */
int media_vips_init(int threads, char *err, size_t errlen);

/* An image file as libvips sees its header: the loader's content type,
 * upright size, pages (frames). */
typedef struct media_vips_info {
    char content_type[32];   /* image/jpeg, image/png, image/gif, image/webp */
    char extension[8];       /* Mastodon's extension for the type: jpeg, png, gif, webp */
    int width, height;       /* after the EXIF orientation, as FastImage reports */
    int pages;               /* frames of an animation, 1 for a still */
} media_vips_info;
/* Reads only the header. Returns 0, or -1 with err (not an image libvips may
 * load here, or a broken header). */
int media_vips_info_read(const char *path, media_vips_info *out, char *err, size_t errlen);

/* The `process` task's probe of a still JPEG, PNG or WebP, from the libvips
 * header alone: content type, upright size, one frame, file size (what
 * media_classify and media_validate read), and the header in *info. libvips makes every style of such
 * a file, so libav's probe, which decodes it once more, is skipped. Returns 1
 * with *p filled, or 0 for anything else (a GIF, an animation, no image
 * libvips may load, a broken header): the caller probes with libav. */
int media_vips_probe_still(const char *path, media_probe *p, media_vips_info *info);

/* One style as Mastodon's LazyThumbnail makes it. */
typedef struct media_vips_style {
    const char *name;        /* output file base name: original, small, static */
    int width, height;       /* geometry "WxH" (0: none) */
    bool crop;               /* geometry ends in '#': fill and crop the centre */
    long long pixels;        /* pixel budget (0: none); only downscales */
    const char *format;      /* output format extension or NULL for the input's */
    bool always;             /* converts even when size and format fit (a `static` style) */
    bool blurhash;           /* adds the 4x4 blurhash of the result */
} media_vips_style;

/* Makes one style of `in` (described by info) into out_dir and returns its
 * result entry {path, content_type, extension, size, width, height
 * [, blurhash]}, or NULL with err. A GIF kept animated goes through libav
 * (palettegen, as Mastodon's ffmpeg call). */
json_t *media_vips_style_make(const char *in, const media_vips_info *info, const media_vips_style *s,
                              const char *out_dir, int threads, char *err, size_t errlen);

/* Mastodon's ffmpeg call for a GIF kept animated (LazyThumbnail): scaled to
 * fit tw x th (0 x 0, or a GIF already within: its own size), with crop
 * filled and cut to a square; 32-colour palette, Bayer dither, at most 60 fps
 * and 3000 frames, metadata dropped. w x h is the input's size. libav
 * (media_gif.c). Returns 0 or -1 with err. */
int media_gif_resize(const char *in, int w, int h, int tw, int th, bool crop, const char *out, int threads,
                     char *err, size_t errlen);

/* Mastodon's blurhash input: a thumbnail of the file fitted in 100x100
 * (upscaled when smaller, as libvips' thumbnail does), sRGB, first 3 bands,
 * as RGB24. Returns 0 or -1 with err. */
int media_vips_blurhash_input(const char *path, media_rgb *out, char *err, size_t errlen);
/* The 4x4 blurhash of a file from that input. Returns 0 or -1 with err. */
int media_vips_blurhash_file(const char *path, char *hash, size_t hashlen, char *err, size_t errlen);

/* ColorExtractor's input: the file loaded whole, thumbnail_image(100), sRGB,
 * first 3 bands, as RGB24. Returns 0 or -1 with err. */
int media_vips_colors_input(const char *path, media_rgb *out, char *err, size_t errlen);
/* file_meta.colors of a thumbnail file, as Mastodon's ColorExtractor
 * (media_colors.c). Returns 0, or -1 with err (a picture too small to have a
 * border). */
int media_colors_file(const char *path, media_colors *out, char *err, size_t errlen);

/* The account, preview-card and custom emoji tasks: "avatar", "header",
 * "preview_card", "emoji". */
bool media_vips_task_known(const char *task);
/* Runs one of them on `in`, writing into out_dir; returns the result object
 * ({"ok":true, "type":"image", "input":{...}, <style>:{...}, "blurhash"} or
 * {"ok":false, "stage", "error"}). */
json_t *media_vips_task_run(const char *task, const char *in, const char *out_dir, int threads);

#endif
