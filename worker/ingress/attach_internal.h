/* attach_internal.h -- what the attach_*.c files share: the row as read, the
 * download into a temp file, the object keys and uploads, and temp directories. */
#ifndef SCOTTY_ATTACH_INTERNAL_H
#define SCOTTY_ATTACH_INTERNAL_H

#include "attach.h"

/* The columns of a media_attachments row attach_fetch_ex reads. */
typedef struct attach_row {
    int64_t id;
    char remote_url[2048];
    char thumbnail_remote_url[2048];
    char file_name[256];          /* "" when NULL */
    bool has_file;
    char thumb_name[256];
    bool has_thumb;
    int type;                     /* image 0, gifv 1, video 2, unknown 3, audio 4 */
    int file_schema;              /* file_storage_schema_version, 0 when NULL */
    int thumb_schema;
    json_t *file_meta;            /* parsed file_meta, or NULL; caller json_decref()s */
    char domain[256];             /* the account's domain, "" for local */
    bool reject_media;            /* the most specific domain block rejects media */
} attach_row;

/* attach_row.c: loads row `id`. Returns 0, 1 when there is no such row, -1 with err. */
int attach_row_load(db_conn *c, int64_t id, attach_row *row, char *err, size_t errlen);

/* What attach_row_save writes: the new file (and thumbnail) of a row. */
typedef struct attach_update {
    int type;
    const char *file_name, *content_type;
    int64_t file_size;
    const char *file_meta;        /* JSON text */
    const char *blurhash;         /* NULL keeps the column */
    const char *thumb_name, *thumb_type; /* NULL: thumbnail columns untouched */
    int64_t thumb_size;
} attach_update;

/* Writes u into row->id if its file and thumbnail names are still those in row.
 * Returns 1 when updated, 0 when the row changed or vanished meanwhile, -1 with err. */
int attach_row_save(db_conn *c, const attach_row *row, const attach_update *u, char *err,
                    size_t errlen);

/* attach_download.c: GETs url (unsigned) into the file at path, at most cap bytes.
 * Returns ATTACH_DONE with *bytes, or SKIPPED/RETRY with err, as Mastodon's Remotable
 * treats each failure. */
attach_result attach_download(services *s, const char *url, long cap, const char *path,
                              int64_t *bytes, char *err, size_t errlen);

/* attach_store.c: the objects one attach_fetch_ex wrote, to delete on failure. */
#define ATTACH_MAX_OBJECTS 4
typedef struct attach_objects {
    char keys[ATTACH_MAX_OBJECTS][1024];
    int n;
} attach_objects;

/* Mastodon's key for a style of media attachment `id`: attachment is "files" or
 * "thumbnails"; cached when the row's storage schema version is >= 1. */
int attach_key(const objstore *o, bool cached, const char *attachment, int64_t id,
               const char *style, const char *basename, const char *ext, char *out, size_t len);
/* Uploads the style described by the child's result entry (path, content_type,
 * extension) under basename.ext (ext NULL: the entry's extension) and records its
 * key. Returns 0 or -1 with err. */
int attach_put_style(objstore *o, const json_t *entry, const char *attachment, int64_t id,
                     const char *style, const char *basename, const char *ext, attach_objects *done,
                     char *err, size_t errlen);
/* Deletes every recorded object; failures are logged. */
void attach_delete_objects(objstore *o, const attach_objects *objs);
/* Deletes the styles a row's previous file or thumbnail had, at the keys
 * maint_media_keys gives for them. */
void attach_delete_previous(objstore *o, const attach_row *row, bool file, bool thumb);

/* attach_tmp.c: a private temp directory (TMPDIR or /tmp), and its removal. */
int attach_tmpdir(char *out, size_t len, char *err, size_t errlen);
void attach_rmtree(const char *dir);

#endif
