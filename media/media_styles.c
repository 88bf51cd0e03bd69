/* media_styles.c -- Mastodon's styles for one probed and validated input: the
 * `original` (video/gifv MP4, audio MP3, image kept or resized), the `small`
 * preview or image style, the audio cover thumbnail, the blurhash, and the
 * file_meta JSON with content types and extensions as Mastodon writes them. */
#include "media.h"
#include "media_internal.h"

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

/* The formats a resized style is written in: the input's own, PNG otherwise. */
typedef enum { STILL_PNG = 0, STILL_JPEG, STILL_WEBP } still_fmt;
static const char *const still_ext[] = {"png", "jpeg", "webp"};
static const char *const still_type[] = {"image/png", "image/jpeg", "image/webp"};

static still_fmt still_format_for(const char *content_type)
{
    if (strcmp(content_type, "image/jpeg") == 0)
        return STILL_JPEG;
    if (strcmp(content_type, "image/webp") == 0)
        return STILL_WEBP;
    return STILL_PNG;
}

static int still_write(const media_rgb *img, still_fmt fmt, const char *path, char *err, size_t errlen)
{
    if (fmt == STILL_JPEG)
        return media_write_jpeg(img, path, 90, err, errlen);
    if (fmt == STILL_WEBP)
        return media_write_webp(img, path, err, errlen);
    return media_write_png(img, path, err, errlen);
}

/* Blurhash 4x4 of a style file, from a copy fitted in 100x100 (libvips'
 * thumbnail(100), Mastodon's input for it); with_colors also adds the
 * thumbnail colours to file_meta. */
static void add_blurhash(const char *path, json_t *result, json_t *meta, bool with_colors)
{
    media_rgb hb;
    char hash[64], err[MEDIA_ERRLEN];
    media_colors colors;
    if (media_first_frame(path, 100, 100, 0, 1, &hb, err, sizeof err) == 0) {
        if (media_blurhash(&hb, 4, 4, hash, sizeof hash) == 0)
            json_object_set_new(result, "blurhash", json_string(hash));
        if (with_colors && media_colors_extract(&hb, &colors) == 0)
            json_object_set_new(meta, "colors", json_pack("{s:s, s:s, s:s}", "background", colors.background,
                                                          "foreground", colors.foreground, "accent", colors.accent));
    }
    media_rgb_free(&hb);
}

/* Writes a still (small style or thumbnail) and its blurhash. */
static int write_still(const media_styles_ctx *a, const char *src, int max_w, int max_h, long long max_px,
                       still_fmt fmt, const char *name, json_t *result, const char *key, json_t *meta,
                       char *err, size_t errlen)
{
    media_rgb img;
    if (media_first_frame(src, max_w, max_h, max_px, a->threads, &img, err, errlen) < 0)
        return -1;
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.%s", a->out_dir, name, still_ext[fmt]);
    int rc = still_write(&img, fmt, path, err, errlen);
    if (rc == 0) {
        json_object_set_new(result, key, file_entry(path, still_type[fmt], still_ext[fmt]));
        json_object_set_new(meta, "small", meta_geometry(img.width, img.height));
        add_blurhash(path, result, meta, strcmp(key, "thumbnail") == 0);
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
    return write_still(a, a->in, 640, 640, 0, STILL_PNG, "small", result, "small", meta, err, errlen);
}

static const char *image_ext(const char *content_type)
{
    if (strcmp(content_type, "image/jpeg") == 0)
        return "jpeg";
    if (strcmp(content_type, "image/png") == 0)
        return "png";
    if (strcmp(content_type, "image/gif") == 0)
        return "gif";
    if (strcmp(content_type, "image/webp") == 0)
        return "webp";
    return "bin";
}

static int copy_file(const char *from, const char *to, char *err, size_t errlen)
{
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    char buf[65536];
    size_t n;
    int rc = in && out ? 0 : -1;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    if (rc < 0)
        snprintf(err, errlen, "cannot copy %s to %s", from, to);
    return rc;
}

/* Images: the original is kept when within 8.3 MP (remote media are not
 * re-encoded), else resized; small is 230,400 px in the input's format (JPEG at
 * quality 90), PNG for formats libvips would not write. Static GIFs are kept
 * unchanged for every style, as Mastodon's GifTranscoder does. */
static int process_image(const media_styles_ctx *a, const media_probe *p, json_t *result, json_t *meta,
                         char *err, size_t errlen)
{
    still_fmt fmt = still_format_for(p->content_type);
    char out[1200];
    int w = p->width, h = p->height;
    const char *ext = image_ext(p->content_type);
    if ((long long)w * h <= MEDIA_ORIGINAL_PIXELS) {
        snprintf(out, sizeof out, "%s/original.%s", a->out_dir, ext);
        if (copy_file(a->in, out, err, errlen) < 0)
            return -1;
        json_object_set_new(result, "original", file_entry(out, p->content_type, ext));
    } else {
        media_rgb img;
        if (media_first_frame(a->in, 0, 0, MEDIA_ORIGINAL_PIXELS, a->threads, &img, err, errlen) < 0)
            return -1;
        snprintf(out, sizeof out, "%s/original.%s", a->out_dir, still_ext[fmt]);
        int rc = still_write(&img, fmt, out, err, errlen);
        w = img.width;
        h = img.height;
        media_rgb_free(&img);
        if (rc < 0)
            return -1;
        json_object_set_new(result, "original", file_entry(out, still_type[fmt], still_ext[fmt]));
    }
    json_object_set_new(meta, "original", meta_geometry(w, h));
    if (strcmp(p->content_type, "image/gif") == 0) {
        char small[1200];
        snprintf(small, sizeof small, "%s/small.gif", a->out_dir);
        if (copy_file(a->in, small, err, errlen) < 0)
            return -1;
        json_object_set_new(result, "small", file_entry(small, "image/gif", "gif"));
        json_object_set_new(meta, "small", meta_geometry(w, h));
        add_blurhash(small, result, meta, false);
        return 0;
    }
    return write_still(a, a->in, 0, 0, MEDIA_SMALL_PIXELS, fmt, "small", result, "small", meta, err, errlen);
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
    if (!p->cover_art)
        return 0;
    /* Cover art becomes the attachment's thumbnail (230,400 px, PNG, blurhash, colors). */
    json_t *tmeta = json_object();
    int rc = write_still(a, a->in, 0, 0, MEDIA_SMALL_PIXELS, STILL_PNG, "thumbnail", result, "thumbnail", tmeta,
                         err, errlen);
    json_object_set(meta, "small", json_object_get(tmeta, "small"));
    json_object_set(meta, "colors", json_object_get(tmeta, "colors"));
    json_decref(tmeta);
    return rc;
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
