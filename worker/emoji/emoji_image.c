/* emoji_image.c -- a custom emoji's image as CustomEmoji's remotable_attachment
 * :image keeps it: an unsigned GET through the shared client (SSRF guard,
 * redirects, timeouts) under LIMIT, the file smaller than 256 KB, a PNG, GIF or
 * WebP by its bytes within Attachmentable's pixel limits (the media child's
 * "emoji" task, which also makes the `static` style: the first frame as PNG,
 * metadata but the ICC profile dropped); the original stored unchanged. */
#include "emoji_internal.h"
#include "attach_cluster.h"
#include "attach_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int emoji_image_fetch(services *s, const char *url, emoji_image *img, char *err, size_t errlen)
{
    memset(img, 0, sizeof *img);
    if (attach_tmpdir(img->dir, sizeof img->dir, err, errlen) != 0) {
        img->dir[0] = '\0';
        return 1;
    }
    char out[600];
    snprintf(img->original, sizeof img->original, "%s/in", img->dir);
    snprintf(out, sizeof out, "%s/out", img->dir);
    attach_result dl = attach_download(s, url, EMOJI_LIMIT, img->original, &img->size, err, errlen);
    if (dl != ATTACH_DONE)
        return 1;
    if (img->size >= EMOJI_LIMIT) {
        snprintf(err, errlen, "%" PRId64 " bytes, not less than CustomEmoji::LIMIT (%ld)", img->size, EMOJI_LIMIT);
        return 1;
    }
    media_outcome o;
    memset(&o, 0, sizeof o);
    int rc = attach_cluster_run(s->media_cluster, s->media, "emoji", img->original, out, NULL, NULL, &o, err,
                                errlen);
    if (rc != 0) {
        json_decref(o.result);
        return o.cancelled ? -1 : 1;
    }
    const char *type = json_string_value(json_object_get(json_object_get(o.result, "input"), "content_type"));
    const char *path = json_string_value(json_object_get(json_object_get(o.result, "static"), "path"));
    static const char *const types[][2] = {{"image/png", "png"}, {"image/gif", "gif"}, {"image/webp", "webp"}};
    for (size_t i = 0; type && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(type, types[i][0]) == 0)
            img->ext = types[i][1];
    if (!img->ext || !path) {
        snprintf(err, errlen, "the media child's emoji result has %s", !img->ext ? "no PNG, GIF or WebP type"
                                                                                 : "no static style");
        json_decref(o.result);
        return 1;
    }
    snprintf(img->content_type, sizeof img->content_type, "%s", type);
    snprintf(img->static_png, sizeof img->static_png, "%s", path);
    json_decref(o.result);
    return 0;
}

void emoji_image_done(emoji_image *img)
{
    if (img->dir[0])
        attach_rmtree(img->dir);
    img->dir[0] = '\0';
}

static int emoji_key(services *s, int64_t id, bool cached, const char *style, const char *base,
                     const char *ext, char *out, size_t len)
{
    return objstore_media_key(objstore_config(s->store)->key_prefix, cached, "custom_emojis", "images", id, style,
                              base, ext, out, len);
}

int emoji_image_store(services *s, int64_t id, const emoji_image *img, const char *base, char *err,
                      size_t errlen)
{
    const char *styles[2] = {"original", "static"};
    const char *paths[2] = {img->original, img->static_png};
    const char *types[2] = {img->content_type, "image/png"};
    const char *exts[2] = {img->ext, "png"};
    char keys[2][1024], why[512];
    for (int i = 0; i < 2; i++) {
        int rc = emoji_key(s, id, true, styles[i], base, exts[i], keys[i], sizeof keys[i]);
        if (rc < 0)
            snprintf(why, sizeof why, "its object key is too long");
        if (rc < 0 || objstore_put_file(s->store, keys[i], paths[i], types[i], why, sizeof why) < 0) {
            snprintf(err, errlen, "object storage: cannot store the %s style: %s", styles[i], why);
            for (int j = 0; j < i; j++)
                objstore_delete(s->store, keys[j], why, sizeof why);
            return -1;
        }
    }
    return 0;
}

void emoji_image_delete(services *s, int64_t id, bool cached, const char *file_name)
{
    char base[256];
    snprintf(base, sizeof base, "%s", file_name);
    char *dot = strrchr(base, '.');
    const char *ext = dot ? dot + 1 : "";
    if (dot)
        *dot = '\0';
    if (!base[0] || strchr(base, '/'))
        return;
    const char *styles[2] = {"original", "static"};
    for (int i = 0; i < 2; i++) {
        char key[1024], why[512];
        if (emoji_key(s, id, cached, styles[i], base, i ? "png" : ext, key, sizeof key) < 0)
            continue;
        if (objstore_delete(s->store, key, why, sizeof why) < 0)
            base_log(BASE_LOG_WARN, "emoji: cannot delete the replaced %s (left behind): %s", key, why);
    }
}
