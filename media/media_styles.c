/* media_styles.c -- Mastodon's styles for one probed and validated input: the
 * `original` (video/gifv MP4, audio MP3, image kept or resized), the `small`
 * preview or image style, the audio cover thumbnail, the blurhash, and the
 * file_meta JSON with content types and extensions as Mastodon writes them.
 * Images, the audio cover thumbnail and every blurhash and colour input go
 * through libvips (media_vips.c), as in Mastodon 4.3+; video frames through
 * libav, as Mastodon's ffmpeg calls. */
#include "media.h"
#include "media_internal.h"
#include "media_vips.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* {width, height, size: "WxH", aspect} as Mastodon writes for images and `small`. */
static json_t *meta_geometry(int w, int h)
{
    char size[48];
    snprintf(size, sizeof size, "%dx%d", w, h);
    json_t *o = json_object();
    json_object_set_new(o, "width", json_integer(w));
    json_object_set_new(o, "height", json_integer(h));
    json_object_set_new(o, "size", json_string(size));
    json_object_set_new(o, "aspect", json_real((double)w / h));
    return o;
}

/* {width, height, frame_rate, duration, bitrate} of a processed video/audio file. */
static json_t *meta_av(const media_probe *p)
{
    json_t *o = json_object();
    if (p->has_video && !p->cover_art) {
        char fr[32];
        snprintf(fr, sizeof fr, "%d/%d", p->fps_num, p->fps_den);
        json_object_set_new(o, "width", json_integer(p->width));
        json_object_set_new(o, "height", json_integer(p->height));
        json_object_set_new(o, "frame_rate", json_string(fr));
    }
    if (p->duration > 0)
        json_object_set_new(o, "duration", json_real(p->duration));
    if (p->bitrate > 0)
        json_object_set_new(o, "bitrate", json_integer(p->bitrate));
    return o;
}

static json_t *file_entry(const char *path, const char *content_type, const char *ext)
{
    struct stat st;
    json_t *o = json_object();
    json_object_set_new(o, "path", json_string(path));
    json_object_set_new(o, "content_type", json_string(content_type));
    json_object_set_new(o, "extension", json_string(ext));
    json_object_set_new(o, "size", json_integer(stat(path, &st) == 0 ? (json_int_t)st.st_size : 0));
    return o;
}

/* Blurhash 4x4 of a style file from libvips' thumbnail(100) (Mastodon's
 * BlurhashTranscoder); with_colors also adds the thumbnail colours to
 * file_meta (ColorExtractor), or says in the result why there are none (a
 * picture too thin for a border: Mastodon's extractor fails there too). */
static int add_blurhash(const char *path, json_t *result, json_t *meta, bool with_colors, char *err, size_t errlen)
{
    char hash[64];
    if (media_vips_blurhash_file(path, hash, sizeof hash, err, errlen) < 0)
        return -1;
    json_object_set_new(result, "blurhash", json_string(hash));
    media_colors colors;
    char why[MEDIA_ERRLEN];
    if (with_colors && media_colors_file(path, &colors, why, sizeof why) == 0)
        json_object_set_new(meta, "colors", json_pack("{s:s, s:s, s:s}", "background", colors.background,
                                                      "foreground", colors.foreground, "accent", colors.accent));
    else if (with_colors)
        json_object_set_new(result, "colors_error", json_string(why));
    return 0;
}

/* The video preview: the first frame fitted in 640x640 as PNG (Mastodon's
 * ffmpeg call), and its blurhash. */
static int write_preview(const media_styles_ctx *a, json_t *result, json_t *meta, char *err, size_t errlen)
{
    media_rgb img;
    if (media_first_frame(a->in, 640, 640, 0, a->threads, &img, err, errlen) < 0)
        return -1;
    char path[1200];
    snprintf(path, sizeof path, "%s/small.png", a->out_dir);
    int rc = media_write_png(&img, path, err, errlen);
    if (rc == 0) {
        json_object_set_new(result, "small", file_entry(path, "image/png", "png"));
        json_object_set_new(meta, "small", meta_geometry(img.width, img.height));
        rc = add_blurhash(path, result, meta, false, err, errlen);
    }
    media_rgb_free(&img);
    return rc;
}

static int process_video(const media_styles_ctx *a, const media_probe *p, json_t *result,
                         json_t *meta, char *err, size_t errlen)
{
    char out[1200];
    snprintf(out, sizeof out, "%s/original.mp4", a->out_dir);
    media_video_opts o = {a->threads, a->progress, a->progress_ud};
    bool passthrough = false;
    if (media_video_process(a->in, out, p, &o, &passthrough, err, errlen) < 0)
        return -1;
    media_probe op;
    if (media_probe_file(out, &op, err, errlen) < 0)
        return -1;
    json_t *orig = file_entry(out, "video/mp4", "mp4");
    json_object_set_new(orig, "passthrough", json_boolean(passthrough));
    json_object_set_new(result, "original", orig);
    json_object_set_new(meta, "original", meta_av(&op));
    return write_preview(a, result, meta, err, errlen);
}

/* A style made by media_vips_style_make, as the result's entry and its
 * file_meta geometry; the blurhash (if any) goes to the result. */
static json_t *vips_style(const media_styles_ctx *a, const media_vips_info *info, const media_vips_style *s,
                          json_t *result, const char *key, json_t *meta, const char *meta_key, char *err,
                          size_t errlen)
{
    json_t *o = media_vips_style_make(a->in, info, s, a->out_dir, a->threads, err, errlen);
    if (!o)
        return NULL;
    json_t *hash = json_object_get(o, "blurhash");
    if (hash)
        json_object_set(result, "blurhash", hash);
    json_object_set_new(meta, meta_key, meta_geometry((int)json_integer_value(json_object_get(o, "width")),
                                                      (int)json_integer_value(json_object_get(o, "height"))));
    json_object_set_new(result, key, o);
    return o;
}

/* Images (Mastodon's IMAGE_STYLES through LazyThumbnail): original at most
 * 8,294,400 px, small at most 230,400 px with the blurhash, each the input
 * file itself when it fits (remote media are not re-encoded), else libvips'
 * thumbnail in the input's format; HEIC/AVIF become JPEG
 * (IMAGE_CONVERTED_STYLES). Static GIFs are kept unchanged for every style,
 * as Mastodon's GifTranscoder does. */
static int process_image(const media_styles_ctx *a, const media_probe *p, json_t *result, json_t *meta,
                         char *err, size_t errlen)
{
    if (media_vips_init(a->threads, err, errlen) < 0)
        return -1;
    media_vips_info info;
    if (a->still)
        info = *a->still;
    else if (media_vips_info_read(a->in, &info, err, errlen) < 0)
        return -1;
    /* The canvas libvips decodes (a WebP's VP8X size, say) against Mastodon's limit. */
    if ((long long)info.width * info.height > MEDIA_MAX_IMAGE_PIXELS) {
        snprintf(err, errlen, "%dx%d images are not supported (over %lld pixels)", info.width, info.height,
                 MEDIA_MAX_IMAGE_PIXELS);
        return -1;
    }
    if (strcmp(info.content_type, "image/gif") == 0) {
        char orig[1200], small[1200];
        snprintf(orig, sizeof orig, "%s/original.gif", a->out_dir);
        snprintf(small, sizeof small, "%s/small.gif", a->out_dir);
        if (media_copy_file(a->in, orig, err, errlen) < 0 || media_copy_file(a->in, small, err, errlen) < 0)
            return -1;
        json_object_set_new(result, "original", file_entry(orig, "image/gif", "gif"));
        json_object_set_new(result, "small", file_entry(small, "image/gif", "gif"));
        json_object_set_new(meta, "original", meta_geometry(info.width, info.height));
        json_object_set_new(meta, "small", meta_geometry(info.width, info.height));
        return add_blurhash(small, result, meta, false, err, errlen);
    }
    media_vips_style original = {"original", 0, 0, false, MEDIA_ORIGINAL_PIXELS, NULL, false, false};
    media_vips_style small = {"small", 0, 0, false, MEDIA_SMALL_PIXELS, NULL, false, true};
    if (!vips_style(a, &info, &original, result, "original", meta, "original", err, errlen))
        return -1;
    return vips_style(a, &info, &small, result, "small", meta, "small", err, errlen) ? 0 : -1;
}

/* Audio cover art becomes the attachment's thumbnail: ffmpeg's extraction to
 * PNG (Mastodon's ImageExtractor), then the thumbnail style (230,400 px,
 * blurhash, colours) through libvips. */
static int cover_thumbnail(const media_styles_ctx *a, json_t *result, json_t *meta, char *err, size_t errlen)
{
    media_rgb img;
    if (media_first_frame(a->in, 0, 0, 0, a->threads, &img, err, errlen) < 0)
        return -1;
    char cover[1200];
    snprintf(cover, sizeof cover, "%s/cover.png", a->out_dir);
    int rc = media_write_png(&img, cover, err, errlen);
    media_rgb_free(&img);
    media_vips_info info;
    if (rc == 0)
        rc = media_vips_init(a->threads, err, errlen);
    if (rc == 0)
        rc = media_vips_info_read(cover, &info, err, errlen);
    media_styles_ctx c = *a;
    c.in = cover;
    c.still = NULL;
    media_vips_style thumb = {"thumbnail", 0, 0, false, MEDIA_SMALL_PIXELS, NULL, false, false};
    json_t *o = rc == 0 ? vips_style(&c, &info, &thumb, result, "thumbnail", meta, "small", err, errlen) : NULL;
    if (o)
        rc = add_blurhash(json_string_value(json_object_get(o, "path")), result, meta, true, err, errlen);
    else
        rc = -1;
    remove(cover);
    return rc;
}

static int process_audio(const media_styles_ctx *a, const media_probe *p, json_t *result, json_t *meta,
                         char *err, size_t errlen)
{
    char out[1200];
    snprintf(out, sizeof out, "%s/original.mp3", a->out_dir);
    media_video_opts o = {a->threads, a->progress, a->progress_ud};
    if (media_audio_process(a->in, out, p, &o, err, errlen) < 0)
        return -1;
    media_probe op;
    if (media_probe_file(out, &op, err, errlen) < 0)
        return -1;
    json_object_set_new(result, "original", file_entry(out, "audio/mpeg", "mp3"));
    json_object_set_new(meta, "original", meta_av(&op));
    return p->cover_art ? cover_thumbnail(a, result, meta, err, errlen) : 0;
}

int media_styles_make(const media_styles_ctx *c, const media_probe *p, media_kind kind, json_t *result,
                      json_t *file_meta, char *err, size_t errlen)
{
    if (kind == MEDIA_KIND_VIDEO || kind == MEDIA_KIND_GIFV)
        return process_video(c, p, result, file_meta, err, errlen);
    if (kind == MEDIA_KIND_AUDIO)
        return process_audio(c, p, result, file_meta, err, errlen);
    return process_image(c, p, result, file_meta, err, errlen);
}
