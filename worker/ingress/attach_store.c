/* attach_store.c -- media files in object storage at Mastodon's keys
 * ([S3_KEY_PREFIX/][cache/]media_attachments/<files|thumbnails>/<id_partition>/<style>/
 * <basename>.<ext>, mastodon.md §4.7): uploads of the child's outputs, and deletion
 * of objects a failed or superseded attempt wrote. Which styles a row has and their
 * extensions follow maint_media_small_ext/maint_media_keys, as the cleanup's do. */
#include "attach_internal.h"
#include "jobs/maintenance.h"

#include <stdio.h>
#include <string.h>

int attach_key(const objstore *o, bool cached, const char *attachment, int64_t id,
               const char *style, const char *basename, const char *ext, char *out, size_t len)
{
    return objstore_media_key(objstore_config(o)->key_prefix, cached, "media_attachments", attachment,
                              id, style, basename, ext, out, len);
}

int attach_put_style(objstore *o, const json_t *entry, const char *attachment, int64_t id,
                     const char *style, const char *basename, const char *ext, attach_objects *done,
                     char *err, size_t errlen)
{
    const char *path = json_string_value(json_object_get(entry, "path"));
    const char *type = json_string_value(json_object_get(entry, "content_type"));
    if (!ext)
        ext = json_string_value(json_object_get(entry, "extension"));
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
            base_log(BASE_LOG_WARN, "media: cannot delete %s (left behind): %s", objs->keys[i], why);
    }
}

/* A stored name of the row's to delete by: a plain file name, else NULL. */
static const char *attach_old_name(bool wanted, bool has, const char *name)
{
    return wanted && has && name[0] && !strchr(name, '/') ? name : NULL;
}

void attach_delete_previous(objstore *o, const attach_row *row, bool file, bool thumb)
{
    maint_media_row old = {
        .id = row->id,
        .type = row->type,
        .file_name = attach_old_name(file, row->has_file, row->file_name),
        .file_schema = row->file_schema,
        .thumb_name = attach_old_name(thumb, row->has_thumb, row->thumb_name),
        .thumb_schema = row->thumb_schema,
    };
    char keys[MAINT_MEDIA_MAX_KEYS][MAINT_MEDIA_KEY_LEN], why[512];
    int n = maint_media_keys(objstore_config(o)->key_prefix, &old, keys, why, sizeof why);
    if (n < 0)
        base_log(BASE_LOG_WARN, "media: the replaced files are left behind: %s", why);
    for (int i = 0; i < n; i++)
        if (objstore_delete(o, keys[i], why, sizeof why) < 0)
            base_log(BASE_LOG_WARN, "media: cannot delete the replaced %s (left behind): %s", keys[i], why);
}
