/* maintenance_media_keys.c -- the storage keys of a cached remote media
 * attachment's styles, as Paperclip names them: <basename>.<style extension>
 * under files/<style>/ and thumbnails/original/ (mastodon.md §4.1, §4.7). The one
 * rule for which styles exist and their extensions: attach stores by it, and
 * attach, Delete and Scotty::MediaCacheCleanup delete by it. */
#include "maintenance.h"
#include "storage.h"

#include <stdio.h>
#include <string.h>

enum { MAINT_TYPE_GIFV = 1, MAINT_TYPE_VIDEO = 2, MAINT_TYPE_AUDIO = 4 };

/* Paperclip's basename and extension: the name split at its last dot (a leading
 * dot is part of the basename). Returns -1 if the basename does not fit. */
static int maint_split_name(const char *name, char *base, size_t baselen, const char **ext)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        dot = name + strlen(name);
    *ext = *dot ? dot + 1 : "";
    size_t n = (size_t)(dot - name);
    if (n + 1 > baselen)
        return -1;
    memcpy(base, name, n);
    base[n] = '\0';
    return 0;
}

const char *maint_media_small_ext(int type, const char *file_name)
{
    if (type == MAINT_TYPE_AUDIO)
        return NULL;
    if (type == MAINT_TYPE_VIDEO || type == MAINT_TYPE_GIFV)
        return "png";
    const char *dot = strrchr(file_name, '.');
    return dot && dot != file_name ? dot + 1 : "";
}

static int maint_key(const char *prefix, const maint_media_row *row, const char *attachment,
                     int schema, const char *style, const char *name, const char *ext_override,
                     char *out, char *err, size_t errlen)
{
    char base[256];
    const char *ext;
    if (maint_split_name(name, base, sizeof base, &ext) != 0 ||
        objstore_media_key(prefix, schema >= 1, "media_attachments", attachment, row->id, style,
                           base, ext_override ? ext_override : ext, out, MAINT_MEDIA_KEY_LEN) != 0) {
        snprintf(err, errlen, "media attachment %lld: file name %.80s makes a key longer than %d bytes",
                 (long long)row->id, name, MAINT_MEDIA_KEY_LEN);
        return -1;
    }
    return 0;
}

int maint_media_keys(const char *prefix, const maint_media_row *row,
                     char keys[MAINT_MEDIA_MAX_KEYS][MAINT_MEDIA_KEY_LEN], char *err, size_t errlen)
{
    int n = 0;
    if (row->file_name && *row->file_name) {
        if (maint_key(prefix, row, "files", row->file_schema, "original", row->file_name, NULL, keys[n++],
                      err, errlen) != 0)
            return -1;
        const char *small = maint_media_small_ext(row->type, row->file_name);
        if (small && maint_key(prefix, row, "files", row->file_schema, "small", row->file_name, small,
                               keys[n++], err, errlen) != 0)
            return -1;
    }
    if (row->thumb_name && *row->thumb_name &&
        maint_key(prefix, row, "thumbnails", row->thumb_schema, "original", row->thumb_name, NULL,
                  keys[n++], err, errlen) != 0)
        return -1;
    return n;
}
