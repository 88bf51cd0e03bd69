/* card_image.c -- the card image as PreviewCard's remotable_attachment :image does
 * it: an unsigned GET under the 8 MB limit through the shared client (attach_download),
 * the bytes checked to be one of IMAGE_MIME_TYPES (JPEG, PNG, GIF, WebP), the
 * "preview_card" style (230,400 px, JPEG for a GIF, blurhash 4x4) made by the
 * scotty-media child under the runner's caps, and the result stored at
 * [prefix/]cache/preview_cards/images/<id_partition>/original/<name>. */
#include "card_internal.h"
#include "ingress/attach_cluster.h"
#include "ingress/attach_internal.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The content type the first bytes show, or NULL when not one PreviewCard accepts. */
static const char *card_sniff(const char *path)
{
    unsigned char b[12] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, b, sizeof b);
    close(fd);
    if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
        return "image/jpeg";
    if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "image/png";
    if (n >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0))
        return "image/gif";
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        return "image/webp";
    return NULL;
}

/* Attachmentable#appropriate_extension: the URL's own extension when the MIME type
 * lists it, else the type's first (jpeg, png, gif, webp); jpe and jfif read jpeg. */
static const char *card_extension(const char *type, const char *url)
{
    const char *path_end = url + strcspn(url, "?#");
    const char *slash = url;
    for (const char *p = url; p < path_end; p++)
        if (*p == '/')
            slash = p;
    const char *dot = NULL;
    for (const char *p = slash; p < path_end; p++)
        if (*p == '.')
            dot = p;
    char ext[8] = "";
    if (dot && path_end - dot - 1 < (long)sizeof ext) {
        size_t n = (size_t)(path_end - dot - 1);
        for (size_t i = 0; i < n; i++)
            ext[i] = (char)(dot[1 + i] >= 'A' && dot[1 + i] <= 'Z' ? dot[1 + i] + 32 : dot[1 + i]);
        ext[n] = '\0';
    }
    if (strcmp(type, "image/jpeg") == 0)
        return strcmp(ext, "jpg") == 0 ? "jpg" : "jpeg";
    if (strcmp(type, "image/png") == 0)
        return "png";
    if (strcmp(type, "image/gif") == 0)
        return "gif";
    return "webp";
}

static void card_progress(void *ud, int percent)
{
    if (ud)
        q_ctx_progress(ud, percent);
}

int card_image_make(services *s, q_ctx *ctx, const char *url, const char *dir, card_image *img,
                    double *cpu, char *why, size_t whylen)
{
    memset(img, 0, sizeof *img);
    char in[600], out[600];
    if ((size_t)snprintf(in, sizeof in, "%s/image", dir) >= sizeof in ||
        (size_t)snprintf(out, sizeof out, "%s/out", dir) >= sizeof out) {
        snprintf(why, whylen, "the temporary path under %.100s is too long", dir);
        return -1;
    }
    int64_t bytes = 0;
    attach_result dl = attach_download(s, url, CARD_IMAGE_CAP, in, &bytes, why, whylen);
    if (dl != ATTACH_DONE)
        return -1;
    const char *type = card_sniff(in);
    if (!type) {
        snprintf(why, whylen, "%.300s is not a JPEG, PNG, GIF or WebP image (%" PRId64 " bytes)", url, bytes);
        return -1;
    }
    if (!s->media) {
        snprintf(why, whylen, "no media runner to process the image");
        return -1;
    }
    media_outcome o;
    int rc = attach_cluster_run(s->media_cluster, s->media, "preview_card", in, out, card_progress, ctx, &o, why,
                                whylen);
    *cpu += o.cpu_user + o.cpu_sys;
    const json_t *orig = json_object_get(o.result, "original");
    const char *path = json_string_value(json_object_get(orig, "path"));
    const char *ext = json_string_value(json_object_get(orig, "extension"));
    if (rc == 0 && (!path || !ext)) {
        snprintf(why, whylen, "the media child's preview_card result has no original path or extension");
        rc = -1;
    }
    if (rc == 0) {
        char hex[17];
        if (objstore_random_hex16(hex) < 0) {
            snprintf(why, whylen, "no random bytes for the file name");
            rc = -1;
        } else {
            snprintf(img->file_name, sizeof img->file_name, "%s.%s", hex, card_extension(type, url));
            snprintf(img->content_type, sizeof img->content_type, "%s", type);
            snprintf(img->path, sizeof img->path, "%s", path);
            snprintf(img->stored_ext, sizeof img->stored_ext, "%s",
                     strcmp(type, "image/gif") == 0 ? "jpg" : card_extension(type, url));
            img->file_size = json_integer_value(json_object_get(orig, "size"));
            img->width = (int)json_integer_value(json_object_get(orig, "width"));
            img->height = (int)json_integer_value(json_object_get(orig, "height"));
            const char *bh = json_string_value(json_object_get(o.result, "blurhash"));
            snprintf(img->blurhash, sizeof img->blurhash, "%s", bh ? bh : "");
        }
    }
    json_decref(o.result);
    return rc;
}

static int card_key(const objstore *o, int64_t id, const char *file_name, const char *ext, char *out,
                    size_t len)
{
    char base[64];
    snprintf(base, sizeof base, "%.*s", (int)strcspn(file_name, "."), file_name);
    return objstore_media_key(objstore_config(o)->key_prefix, true, "preview_cards", "images", id,
                              "original", base, ext, out, len);
}

int card_image_store(services *s, int64_t id, const card_image *img, char *key, size_t keylen, char *err,
                     size_t errlen)
{
    if (card_key(s->store, id, img->file_name, img->stored_ext, key, keylen) < 0) {
        snprintf(err, errlen, "object key for preview card %" PRId64 " is too long", id);
        return -1;
    }
    const char *stored_type = strcmp(img->stored_ext, "jpg") == 0 ? "image/jpeg" : img->content_type;
    char why[512];
    if (objstore_put_file(s->store, key, img->path, stored_type, why, sizeof why) < 0) {
        snprintf(err, errlen, "object storage: cannot store %s: %s", key, why);
        return -1;
    }
    return 0;
}

void card_image_delete(services *s, const card_row *row)
{
    if (!row->exists || row->missing_image || strchr(row->image_file_name, '/'))
        return;
    const char *dot = strrchr(row->image_file_name, '.');
    const char *ext = strcmp(row->image_content_type, "image/gif") == 0 ? "jpg" : dot ? dot + 1 : "";
    char key[1024], why[512];
    char base[64];
    snprintf(base, sizeof base, "%.*s", (int)strcspn(row->image_file_name, "."), row->image_file_name);
    if (objstore_media_key(objstore_config(s->store)->key_prefix, row->image_schema >= 1, "preview_cards",
                           "images", row->id, "original", base, ext, key, sizeof key) < 0)
        return;
    if (objstore_delete(s->store, key, why, sizeof why) < 0)
        base_log(BASE_LOG_WARN, "cards: cannot delete the replaced image %s (left behind): %s", key, why);
}
