/* media_vips.c -- libvips in the media child: start-up with the limits for
 * hostile input, header reading, Mastodon's LazyThumbnail styles (thumbnail
 * with shrink-on-load, crop or pixel budget, metadata stripped but the ICC
 * profile, the saver picked by extension) and the blurhash input. */
#include "media_vips.h"
#include "media_internal.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vips/vips.h>

/* The VipsForeign classes Mastodon unblocks (config/initializers/vips.rb),
 * but VipsForeignLoadHeif: it lives in a loadable module, and the child loads
 * none (media_vips_init). */
static const char *const mv_allowed[] = {
    "VipsForeignLoadNsgif", "VipsForeignLoadJpeg", "VipsForeignLoadPng",  "VipsForeignLoadWebp",
    "VipsForeignSavePng",   "VipsForeignSaveSpng", "VipsForeignSaveJpeg", "VipsForeignSaveWebp",
};

/* libvips looks for its loadable modules (heif, jxl, magick, openslide,
 * poppler: ImageMagick and PDF parsers among them) under $VIPSHOME/lib; a
 * VIPSHOME that is no directory keeps them out of the child, which saves their
 * loading (about 30 ms of CPU and 5 MB per task child) and their code. */
#define MV_NO_MODULES "/dev/null"

static void mv_err(char *err, size_t errlen, const char *what)
{
    const char *msg = vips_error_buffer();
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        n--;
    snprintf(err, errlen, "%s: %.*s", what, (int)n, n ? msg : "libvips gave no reason");
    vips_error_clear();
}

/* Whether this process started libvips; set by the first media_vips_start,
 * under mv_started_lock. */
static pthread_mutex_t mv_started_lock = PTHREAD_MUTEX_INITIALIZER;
static bool mv_started;

/* libvips' own warnings (a damaged tile, ...) go nowhere: with fail_on=error
 * every one that matters is an error the caller reports. */
static void mv_quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer ud)
{
    (void)domain;
    (void)level;
    (void)msg;
    (void)ud;
}

int media_vips_start(char *err, size_t errlen)
{
    pthread_mutex_lock(&mv_started_lock);
    if (mv_started) {
        pthread_mutex_unlock(&mv_started_lock);
        return 0;
    }
    setenv("VIPSHOME", MV_NO_MODULES, 1);
    if (VIPS_INIT("scotty-media") != 0) {
        pthread_mutex_unlock(&mv_started_lock);
        mv_err(err, errlen, "cannot start libvips");
        return -1;
    }
    mv_started = true;
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO, mv_quiet, NULL);
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
    vips_block_untrusted_set(TRUE);
    vips_operation_block_set("VipsForeign", TRUE);
    for (size_t i = 0; i < sizeof mv_allowed / sizeof mv_allowed[0]; i++)
        vips_operation_block_set(mv_allowed[i], FALSE);
    pthread_mutex_unlock(&mv_started_lock);
    return 0;
}

int media_vips_init(int threads, char *err, size_t errlen)
{
    if (media_vips_start(err, errlen) < 0)
        return -1;
    vips_concurrency_set(threads < 1 ? 1 : threads);
    return 0;
}

/* Loader class name prefix -> content type and Mastodon's extension. */
static int mv_type_of(const char *loader, media_vips_info *out)
{
    static const struct {
        const char *prefix, *type, *ext;
    } types[] = {
        {"VipsForeignLoadJpeg", "image/jpeg", "jpeg"},
        {"VipsForeignLoadPng", "image/png", "png"},
        {"VipsForeignLoadNsgif", "image/gif", "gif"},
        {"VipsForeignLoadWebp", "image/webp", "webp"},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strncmp(loader, types[i].prefix, strlen(types[i].prefix)) != 0)
            continue;
        snprintf(out->content_type, sizeof out->content_type, "%s", types[i].type);
        snprintf(out->extension, sizeof out->extension, "%s", types[i].ext);
        return 0;
    }
    return -1;
}

int media_vips_info_read(const char *path, media_vips_info *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *loader = vips_foreign_find_load(path);
    if (!loader) {
        vips_error_clear();
        snprintf(err, errlen, "not an image libvips may open here (JPEG, PNG, GIF or WebP)");
        return -1;
    }
    VipsImage *img = vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                              VIPS_FAIL_ON_ERROR, NULL);
    if (!img) {
        mv_err(err, errlen, "cannot read the image header");
        return -1;
    }
    int rc = mv_type_of(loader, out);
    if (rc < 0) {
        snprintf(err, errlen, "libvips loader %s is not one Mastodon allows", loader);
    } else {
        bool swap = vips_image_get_orientation_swap(img);
        out->width = swap ? vips_image_get_height(img) : vips_image_get_width(img);
        out->height = swap ? vips_image_get_width(img) : vips_image_get_height(img);
        /* n-pages itself: vips_image_get_n_pages says 1 past 10,000 pages. */
        int pages = 1;
        if (vips_image_get_typeof(img, "n-pages") && vips_image_get_int(img, "n-pages", &pages) == 0 && pages > 1)
            out->pages = pages;
        else
            out->pages = 1;
    }
    g_object_unref(img);
    return rc;
}

int media_vips_probe_still(const char *path, media_probe *p, media_vips_info *info)
{
    static const struct {
        const char *type, *codec;   /* the codec name libav's probe gives the same file */
    } stills[] = {{"image/jpeg", "mjpeg"}, {"image/png", "png"}, {"image/webp", "webp"}};
    char err[MEDIA_ERRLEN];
    struct stat st;
    if (media_vips_info_read(path, info, err, sizeof err) < 0 || info->pages != 1 || stat(path, &st) < 0)
        return 0;
    for (size_t i = 0; i < sizeof stills / sizeof stills[0]; i++) {
        if (strcmp(info->content_type, stills[i].type) != 0)
            continue;
        memset(p, 0, sizeof *p);
        snprintf(p->container, sizeof p->container, "libvips %s", info->extension);
        snprintf(p->content_type, sizeof p->content_type, "%s", info->content_type);
        snprintf(p->video_codec, sizeof p->video_codec, "%s", stills[i].codec);
        p->has_video = true;
        p->width = info->width;
        p->height = info->height;
        p->frames = 1;
        p->size = st.st_size;
        return 1;
    }
    return 0;
}

/* Drops every metadata field but the ICC profile, as LazyThumbnail does. */
static VipsImage *mv_strip(VipsImage *in)
{
    VipsImage *out = NULL;
    if (vips_copy(in, &out, NULL) != 0)
        return NULL;
    gchar **fields = vips_image_get_fields(out);
    for (int i = 0; fields && fields[i]; i++)
        if (strcmp(fields[i], "icc-profile-data") != 0)
            vips_image_remove(out, fields[i]);
    g_strfreev(fields);
    return out;
}

/* Mastodon's PixelGeometryParser: round(sqrt(px*W/H)) x round(sqrt(px*H/W)),
 * larger than the image when it is within the budget (thumbnail then keeps
 * its size: it only downscales). */
static void mv_pixel_target(int w, int h, long long pixels, int *tw, int *th)
{
    *tw = (int)lround(sqrt((double)pixels * w / h));
    *th = (int)lround(sqrt((double)pixels * h / w));
    if (*tw < 1)
        *tw = 1;
    if (*th < 1)
        *th = 1;
}

static const char *mv_type_for_ext(const char *ext)
{
    if (strcmp(ext, "jpeg") == 0 || strcmp(ext, "jpg") == 0)
        return "image/jpeg";
    if (strcmp(ext, "png") == 0)
        return "image/png";
    if (strcmp(ext, "gif") == 0)
        return "image/gif";
    return "image/webp";
}

/* Mastodon's thumbnail to fit tw x th (size down), with the JPEG decoder's
 * shrink-on-load for every factor of 2 the reduction holds. libvips 8.14's
 * thumbnail shrinks on load only as far as leaves its Lanczos kernel a factor of 2
 * or more, so a 2x reduction (a 1280x720 photo to its 640x360 `small` style)
 * decodes every pixel and filters them all: about half of such a task's CPU. For a
 * JPEG, libjpeg's DCT scaling here takes 2, 4 or 8, and libvips' thumbnail of that
 * is forced to the size its thumbnail of the whole file makes (that pipeline,
 * built but not run, says which): the same size, orientation and colour handling,
 * pixels within a level and a half on average of Mastodon's (the vipsthumbnail
 * comparison test). Where the shrunk file cannot be opened, Mastodon's pipeline
 * stays. Returns 0 with *img, or -1. */
static int mv_fit(const char *in, const media_vips_info *info, int tw, int th, VipsImage **img)
{
    if (vips_thumbnail(in, img, tw, "height", th, "size", VIPS_SIZE_DOWN, "fail_on", VIPS_FAIL_ON_ERROR, NULL) != 0)
        return -1;
    if (strcmp(info->content_type, "image/jpeg") != 0)
        return 0;
    int ow = vips_image_get_width(*img), oh = vips_image_get_height(*img);
    double f = fmin((double)info->width / ow, (double)info->height / oh);
    int shrink = f >= 8 ? 8 : f >= 4 ? 4 : f >= 2 ? 2 : 1;
    if (shrink == 1)
        return 0;
    VipsImage *shrunk = vips_image_new_from_file(in, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                                 VIPS_FAIL_ON_ERROR, "shrink", shrink, NULL);
    VipsImage *fast = NULL;
    int rc = shrunk ? vips_thumbnail_image(shrunk, &fast, ow, "height", oh, "size", VIPS_SIZE_FORCE, NULL) : -1;
    if (shrunk)
        g_object_unref(shrunk);
    if (rc != 0) { /* a shortcut only: Mastodon's pipeline stays */
        vips_error_clear();
        return 0;
    }
    g_object_unref(*img);
    *img = fast;
    return 0;
}

/* The libvips branch of LazyThumbnail#make: thumbnail to the target (or a
 * plain load of the first page without one), strip, save by extension with
 * Q 90 interlaced for the 'jpg' format. */
static int mv_convert(const char *in, const media_vips_info *info, const media_vips_style *s, int tw, int th,
                      bool target, const char *out, int *ow, int *oh, char *err, size_t errlen)
{
    VipsImage *img = NULL;
    int rc = 0;
    if (!target)
        img = vips_image_new_from_file(in, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
    else if (s->crop)
        rc = vips_thumbnail(in, &img, tw, "height", th, "crop", VIPS_INTERESTING_CENTRE, "fail_on",
                            VIPS_FAIL_ON_ERROR, NULL);
    else
        rc = mv_fit(in, info, tw, th, &img);
    if (rc != 0 || !img) {
        mv_err(err, errlen, "cannot decode the image");
        return -1;
    }
    VipsImage *clean = mv_strip(img);
    g_object_unref(img);
    if (!clean) {
        mv_err(err, errlen, "cannot copy the image");
        return -1;
    }
    if (s->format && strcmp(s->format, "jpg") == 0)
        rc = vips_image_write_to_file(clean, out, "Q", 90, "interlace", TRUE, NULL);
    else
        rc = vips_image_write_to_file(clean, out, NULL);
    /* Upright already (thumbnail rotates, and the orientation tag is stripped). */
    *ow = vips_image_get_width(clean);
    *oh = vips_image_get_height(clean);
    g_object_unref(clean);
    if (rc != 0) {
        char what[1300];
        snprintf(what, sizeof what, "cannot write %s", out);
        mv_err(err, errlen, what);
        return -1;
    }
    return 0;
}

json_t *media_vips_style_make(const char *in, const media_vips_info *info, const media_vips_style *s,
                              const char *out_dir, int threads, char *err, size_t errlen)
{
    int tw = s->width, th = s->height;
    if (s->pixels > 0)
        mv_pixel_target(info->width, info->height, s->pixels, &tw, &th);
    bool target = tw > 0 && th > 0;
    const char *ext = s->format ? s->format : info->extension;
    bool convert = s->always || (s->format && strcmp(s->format, info->extension) != 0) ||
                   (s->width > 0 && info->width != tw && info->height != th) ||
                   (s->pixels > 0 && (long long)info->width * info->height > s->pixels);
    bool animated = strcmp(ext, "gif") == 0;
    /* Filling a crop box scales the whole picture by the larger ratio first: a 5904x1
     * picture would become 2,361,600x400 for a 400x400 avatar. Past Mastodon's pixel
     * limit that is refused here rather than left to the memory limit. */
    if (convert && target && s->crop && info->width > 0 && info->height > 0) {
        double scale = fmax((double)tw / info->width, (double)th / info->height);
        double px = (double)info->width * scale * info->height * scale;
        if (px > (double)MEDIA_MAX_IMAGE_PIXELS) {
            snprintf(err, errlen, "a %dx%d picture would be enlarged to %.0f pixels to fill %dx%d, over %lld",
                     info->width, info->height, px, tw, th, MEDIA_MAX_IMAGE_PIXELS);
            return NULL;
        }
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.%s", out_dir, s->name, ext);
    /* The output's upright size: the input's for a copy, the written image's for a
     * conversion, the header's for a GIF libav made. */
    media_vips_info oi = *info;
    int rc;
    if (convert)
        unlink(path); /* an earlier run's file there may be a hard link to the input */
    if (!convert)
        rc = media_copy_file(in, path, err, errlen); /* which replaces such a file itself */
    else if (animated)
        rc = media_gif_resize(in, info->width, info->height, target ? tw : 0, target ? th : 0, s->crop, path,
                              threads, err, errlen) < 0 ? -1 : media_vips_info_read(path, &oi, err, errlen);
    else
        rc = mv_convert(in, info, s, tw, th, target, path, &oi.width, &oi.height, err, errlen);
    if (rc < 0)
        return NULL;
    struct stat st;
    json_t *o = json_object();
    json_object_set_new(o, "path", json_string(path));
    json_object_set_new(o, "content_type", json_string(mv_type_for_ext(ext)));
    json_object_set_new(o, "extension", json_string(ext));
    json_object_set_new(o, "size", json_integer(stat(path, &st) == 0 ? (json_int_t)st.st_size : 0));
    json_object_set_new(o, "width", json_integer(oi.width));
    json_object_set_new(o, "height", json_integer(oi.height));
    json_object_set_new(o, "converted", json_boolean(convert));
    if (s->blurhash) {
        char hash[64];
        if (media_vips_blurhash_file(path, hash, sizeof hash, err, errlen) < 0) {
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, "blurhash", json_string(hash));
    }
    return o;
}

/* An 8-bit sRGB picture's first three bands, packed, as RGB24. */
static int mv_to_rgb(VipsImage *img, media_rgb *out, char *err, size_t errlen)
{
    VipsImage *srgb = NULL, *rgb = NULL, *u8 = NULL;
    int rc = -1;
    if (vips_colourspace(img, &srgb, VIPS_INTERPRETATION_sRGB, NULL) != 0 ||
        vips_extract_band(srgb, &rgb, 0, "n", 3, NULL) != 0 || vips_cast_uchar(rgb, &u8, NULL) != 0) {
        mv_err(err, errlen, "cannot convert the picture to sRGB");
        goto done;
    }
    size_t len = 0;
    void *mem = vips_image_write_to_memory(u8, &len);
    int w = vips_image_get_width(u8), h = vips_image_get_height(u8);
    if (!mem || len != (size_t)w * h * 3) {
        g_free(mem);
        mv_err(err, errlen, "cannot decode the picture");
        goto done;
    }
    out->data = malloc(len);
    if (!out->data) {
        g_free(mem);
        snprintf(err, errlen, "out of memory for a %dx%d picture", w, h);
        goto done;
    }
    memcpy(out->data, mem, len);
    g_free(mem);
    out->width = w;
    out->height = h;
    out->stride = w * 3;
    rc = 0;
done:
    if (u8)
        g_object_unref(u8);
    if (rgb)
        g_object_unref(rgb);
    if (srgb)
        g_object_unref(srgb);
    return rc;
}

int media_vips_blurhash_input(const char *path, media_rgb *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    VipsImage *t = NULL;
    if (vips_thumbnail(path, &t, 100, "fail_on", VIPS_FAIL_ON_ERROR, NULL) != 0) {
        mv_err(err, errlen, "cannot make the blurhash thumbnail");
        return -1;
    }
    int rc = mv_to_rgb(t, out, err, errlen);
    g_object_unref(t);
    return rc;
}

int media_vips_blurhash_file(const char *path, char *hash, size_t hashlen, char *err, size_t errlen)
{
    media_rgb img;
    if (media_vips_blurhash_input(path, &img, err, errlen) < 0)
        return -1;
    int rc = media_blurhash(&img, 4, 4, hash, hashlen);
    media_rgb_free(&img);
    if (rc < 0)
        snprintf(err, errlen, "cannot compute the blurhash of %s", path);
    return rc;
}

int media_vips_colors_input(const char *path, media_rgb *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    VipsImage *img = vips_image_new_from_file(path, "access", VIPS_ACCESS_RANDOM, "fail_on", VIPS_FAIL_ON_ERROR,
                                              NULL);
    VipsImage *t = NULL;
    if (!img || vips_thumbnail_image(img, &t, 100, NULL) != 0) {
        if (img)
            g_object_unref(img);
        mv_err(err, errlen, "cannot make the colour thumbnail");
        return -1;
    }
    int rc = mv_to_rgb(t, out, err, errlen);
    g_object_unref(t);
    g_object_unref(img);
    return rc;
}
