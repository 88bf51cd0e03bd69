/* attach_store.c -- media files in object storage at Mastodon's keys
 * ([S3_KEY_PREFIX/][cache/]media_attachments/<files|thumbnails>/<id_partition>/<style>/
 * <basename>.<ext>, mastodon.md §4.7): uploads of the child's outputs, and deletion
 * of objects a failed or superseded attempt wrote. */
#include "attach_internal.h"

#include <stdio.h>
#include <string.h>

int attach_key(const objstore *o, bool cached, const char *attachment, int64_t id,
               const char *style, const char *basename, const char *ext, char *out, size_t len)
{
    return objstore_media_key(objstore_config(o)->key_prefix, cached, "media_attachments", attachment,
                              id, style, basename, ext, out, len);
}

int attach_put_style(objstore *o, const json_t *entry, const char *attachment, int64_t id,
                     const char *style, const char *basename, attach_objects *done, char *err,
                     size_t errlen)
{
    const char *path = json_string_value(json_object_get(entry, "path"));
    const char *type = json_string_value(json_object_get(entry, "content_type"));
    const char *ext = json_string_value(json_object_get(entry, "extension"));
    if (!path || !type || !ext) {
        snprintf(err, errlen, "the media child's %s style has no path, content type or extension", style);
        return -1;
    }
    if (done->n == ATTACH_MAX_OBJECTS) {
        snprintf(err, errlen, "more than %d media objects for one attachment", ATTACH_MAX_OBJECTS);
        return -1;
    }
    char *key = done->keys[done->n];
    if (attach_key(o, true, attachment, id, style, basename, ext, key, sizeof done->keys[0]) < 0) {
        snprintf(err, errlen, "object key for media attachment %lld is too long", (long long)id);
        return -1;
    }
    char why[512];
    if (objstore_put_file(o, key, path, type, why, sizeof why) < 0) {
        snprintf(err, errlen, "object storage: cannot store %s: %s", key, why);
        return -1;
    }
    done->n++;
    return 0;
}

void attach_delete_objects(objstore *o, const attach_objects *objs)
{
    for (int i = 0; i < objs->n; i++) {
        char why[512];
        if (objstore_delete(o, objs->keys[i], why, sizeof why) < 0)
            q_log(Q_LOG_WARN, "media: cannot delete %s (left behind): %s", objs->keys[i], why);
    }
}

/* Deletes one style of a previous file, named "basename.ext". */
static void attach_delete_old(objstore *o, bool cached, const char *attachment, int64_t id,
                              const char *style, const char *name, const char *ext_override)
{
    char base[256], key[1024], why[512];
    snprintf(base, sizeof base, "%s", name);
    char *dot = strrchr(base, '.');
    const char *ext = ext_override;
    if (dot) {
        *dot = '\0';
        if (!ext)
            ext = dot + 1;
    }
    if (!base[0] || strchr(base, '/') || attach_key(o, cached, attachment, id, style, base, ext, key,
                                                   sizeof key) < 0)
        return;
    if (objstore_delete(o, key, why, sizeof why) < 0)
        q_log(Q_LOG_WARN, "media: cannot delete the replaced %s (left behind): %s", key, why);
}

void attach_delete_previous(objstore *o, const attach_row *row, bool file, bool thumb)
{
    if (file && row->has_file && row->file_name[0]) {
        bool cached = row->file_schema >= 1;
        attach_delete_old(o, cached, "files", row->id, "original", row->file_name, NULL);
        /* small: same format as an image's original; a PNG preview for video and gifv */
        attach_delete_old(o, cached, "files", row->id, "small", row->file_name, NULL);
        attach_delete_old(o, cached, "files", row->id, "small", row->file_name, "png");
    }
    if (thumb && row->has_thumb && row->thumb_name[0])
        attach_delete_old(o, row->thumb_schema >= 1, "thumbnails", row->id, "original", row->thumb_name,
                          NULL);
}
