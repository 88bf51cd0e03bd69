/* media_vips_task.c -- the media child's account and preview-card tasks, the
 * styles Mastodon gives those attachments:
 *   avatar        original 400x400# (fill, centre crop); static 400x400# PNG for a GIF
 *                 (Account::Avatar)
 *   header        original at most 750,000 px (1500x500); static PNG for a GIF
 *                 (Account::Header)
 *   preview_card  original at most 230,400 px, JPEG (Q 90, interlaced) for a GIF,
 *                 4x4 blurhash (PreviewCard)
 *   emoji         static: the first frame as PNG at its own size (CustomEmoji);
 *                 the original is the input, kept by the worker unchanged
 * Input checks first: JPEG, PNG, GIF or WebP only (the loaders libvips has
 * here; no JPEG for emoji, CustomEmoji::IMAGE_MIME_TYPES), under 8 MB (256 KB
 * for emoji, CustomEmoji::LIMIT), and Attachmentable's pixel limits
 * (33,177,600; a GIF 921,600). */
#include "media_vips.h"

#include <errno.h>
#include <libavutil/log.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define MV_TASK_MAX_BYTES (8LL * 1024 * 1024)   /* AVATAR_LIMIT, HEADER_LIMIT, PreviewCard::LIMIT */
#define MV_EMOJI_MAX_BYTES (256LL * 1024)        /* CustomEmoji::LIMIT */

enum { TASK_MAX_STYLES = 2 };

typedef struct mv_task {
    const char *name;
    media_vips_style styles[TASK_MAX_STYLES];   /* [1] only for GIF input */
    long long max_bytes;                        /* the file must be smaller */
    bool jpeg;                                  /* JPEG input accepted */
} mv_task;

static const mv_task mv_tasks[] = {
    {"avatar",
     {{"original", 400, 400, true, 0, NULL, false, false}, {"static", 400, 400, true, 0, "png", true, false}},
     MV_TASK_MAX_BYTES, true},
    {"header",
     {{"original", 0, 0, false, 1500 * 500, NULL, false, false}, {"static", 0, 0, false, 0, "png", true, false}},
     MV_TASK_MAX_BYTES, true},
    {"preview_card", {{"original", 0, 0, false, 230400, NULL, false, true}, {NULL, 0, 0, false, 0, NULL, false, false}},
     MV_TASK_MAX_BYTES, true},
    {"emoji", {{"static", 0, 0, false, 0, "png", true, false}, {NULL, 0, 0, false, 0, NULL, false, false}},
     MV_EMOJI_MAX_BYTES, false},
};

static const mv_task *mv_task_find(const char *name)
{
    for (size_t i = 0; i < sizeof mv_tasks / sizeof mv_tasks[0]; i++)
        if (strcmp(mv_tasks[i].name, name) == 0)
            return &mv_tasks[i];
    return NULL;
}

bool media_vips_task_known(const char *task)
{
    return mv_task_find(task) != NULL;
}

static json_t *task_fail(json_t *r, const char *stage, const char *msg)
{
    json_object_set_new(r, "ok", json_false());
    json_object_set_new(r, "stage", json_string(stage));
    json_object_set_new(r, "error", json_string(msg));
    return r;
}

/* Mastodon's size, type and pixel checks for these attachments (the content type
 * is one of the four libvips loads here). */
static int task_validate(const mv_task *t, const char *in, const media_vips_info *info, char *err, size_t errlen)
{
    struct stat st;
    long long px = (long long)info->width * info->height;
    if (stat(in, &st) == 0 && st.st_size >= t->max_bytes)
        snprintf(err, errlen, "file of %lld bytes is not under the limit of %lld bytes", (long long)st.st_size,
                 t->max_bytes);
    else if (!t->jpeg && strcmp(info->content_type, "image/jpeg") == 0)
        snprintf(err, errlen, "image/jpeg is not one of the accepted types (PNG, GIF, WebP)");
    else if (strcmp(info->content_type, "image/gif") == 0 && px > MEDIA_MAX_GIF_PIXELS)
        snprintf(err, errlen, "%dx%d GIF files are not supported (over %lld pixels)", info->width, info->height,
                 MEDIA_MAX_GIF_PIXELS);
    else if (px > MEDIA_MAX_IMAGE_PIXELS)
        snprintf(err, errlen, "%dx%d images are not supported (over %lld pixels)", info->width, info->height,
                 MEDIA_MAX_IMAGE_PIXELS);
    else
        return 0;
    return -1;
}

json_t *media_vips_task_run(const char *task, const char *in, const char *out_dir, int threads)
{
    json_t *r = json_object();
    char err[MEDIA_ERRLEN] = "";
    const mv_task *t = mv_task_find(task);
    if (!t)
        return task_fail(r, "task", "unknown task");
    av_log_set_level(AV_LOG_FATAL);
    if (media_vips_init(threads, err, sizeof err) < 0)
        return task_fail(r, "limits", err);
    media_vips_info info;
    if (media_vips_info_read(in, &info, err, sizeof err) < 0)
        return task_fail(r, "probe", err);
    json_object_set_new(r, "type", json_string("image"));
    json_object_set_new(r, "input", json_pack("{s:s, s:i, s:i, s:i}", "content_type", info.content_type, "width",
                                              info.width, "height", info.height, "frames", info.pages));
    if (task_validate(t, in, &info, err, sizeof err) < 0)
        return task_fail(r, "validate", err);
    if (mkdir(out_dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, sizeof err, "cannot create the output directory %s: %s", out_dir, strerror(errno));
        return task_fail(r, "output", err);
    }
    bool gif = strcmp(info.content_type, "image/gif") == 0;
    for (int i = 0; i < TASK_MAX_STYLES; i++) {
        const media_vips_style *s = &t->styles[i];
        if (!s->name || (i > 0 && !gif))
            continue;
        media_vips_style style = *s;
        if (strcmp(task, "preview_card") == 0 && gif)
            style.format = "jpg";
        json_t *o = media_vips_style_make(in, &info, &style, out_dir, threads, err, sizeof err);
        if (!o)
            return task_fail(r, "process", err);
        json_t *hash = json_object_get(o, "blurhash");
        if (hash)
            json_object_set(r, "blurhash", hash);
        json_object_set_new(r, s->name, o);
    }
    json_object_set_new(r, "ok", json_true());
    return r;
}
