/* attach_fetch.c -- one remote attachment from remote_url to stored files: read the
 * row, apply Mastodon's skips, download (attach_download.c), process in the
 * scotty-media child, upload every style (attach_store.c) and write the row
 * (attach_row.c), cleaning up the temp directory and any orphaned objects. */
#include "attach_cluster.h"
#include "attach_internal.h"
#include "ingress_internal.h"
#include "jobs/maintenance.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Mastodon's type enum: image 0, gifv 1, video 2, unknown 3, audio 4. */
static int attach_type_value(const char *name)
{
    static const char *const names[] = {"image", "gifv", "video", "unknown", "audio"};
    for (int i = 0; name && i < 5; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return 3;
}

static void attach_progress(void *ud, int percent)
{
    if (ud)
        q_ctx_progress(ud, percent);
}

/* Runs the media child on `in`. DONE with *result (caller json_decref()s); SKIPPED
 * for what Mastodon swallows (invalid, over-limit or hostile media); RETRY when the
 * worker itself could not run the task (stopping, no child binary, no disk). */
static attach_result attach_process(services *s, q_ctx *ctx, const char *in, const char *out,
                                    json_t **result, double *cpu, char *err, size_t errlen)
{
    media_outcome o;
    *result = NULL;
    int rc = attach_cluster_run(s->media_cluster, s->media, "process", in, out, attach_progress, ctx, &o, err,
                                errlen);
    *cpu += o.cpu_user + o.cpu_sys;
    if (rc == 0) {
        *result = o.result;
        return ATTACH_DONE;
    }
    attach_result res;
    if (o.cancelled) {
        res = ATTACH_RETRY;
    } else if (o.result) {
        const char *stage = json_string_value(json_object_get(o.result, "stage"));
        res = stage && (strcmp(stage, "limits") == 0 || strcmp(stage, "output") == 0) ? ATTACH_RETRY
                                                                                      : ATTACH_SKIPPED;
    } else {
        /* killed at the time or CPU limit, crashed: the input, not the worker */
        res = o.timed_out || o.term_signal || o.exit_code != 0 ? ATTACH_SKIPPED : ATTACH_RETRY;
    }
    json_decref(o.result);
    return res;
}

/* dir/name into out; false (with err) when it does not fit. */
static bool attach_tmp_path(char *out, size_t len, const char *dir, const char *name, char *err,
                            size_t errlen)
{
    if ((size_t)snprintf(out, len, "%s/%s", dir, name) < len)
        return true;
    snprintf(err, errlen, "the temporary path %.100s.../%s is longer than %zu bytes: set a "
             "shorter TMPDIR", dir, name, len - 1);
    return false;
}

/* The remote `icon` as the thumbnail attachment: an image, at the small style's
 * 230,400 px. DONE with *result whose "small" entry is the thumbnail. */
static attach_result attach_icon(services *s, q_ctx *ctx, const attach_row *row, const char *dir,
                                 json_t **result, double *cpu, char *err, size_t errlen)
{
    char in[600], out[600];
    if (!attach_tmp_path(in, sizeof in, dir, "icon", err, errlen) ||
        !attach_tmp_path(out, sizeof out, dir, "icon-out", err, errlen))
        return ATTACH_ERROR;
    int64_t bytes;
    attach_result res = attach_download(s, row->thumbnail_remote_url, HTTP_CAP_IMAGE, in, &bytes, err,
                                        errlen);
    if (res != ATTACH_DONE)
        return res;
    res = attach_process(s, ctx, in, out, result, cpu, err, errlen);
    if (res != ATTACH_DONE)
        return res;
    const char *type = json_string_value(json_object_get(*result, "type"));
    if (!type || strcmp(type, "image") != 0 || !json_object_get(*result, "small")) {
        snprintf(err, errlen, "the thumbnail %.500s is %s, not an image", row->thumbnail_remote_url,
                 type ? type : "unknown");
        json_decref(*result);
        *result = NULL;
        return ATTACH_SKIPPED;
    }
    return ATTACH_DONE;
}

/* file_meta as Mastodon writes it: original, small, colors from processing, the
 * thumbnail's geometry as small when there is one, and the row's focus kept. */
static char *attach_meta(const attach_row *row, const json_t *file_res, const json_t *icon_res)
{
    json_t *meta = json_deep_copy(json_object_get(file_res, "file_meta"));
    if (!meta)
        meta = json_object();
    if (icon_res) {
        const json_t *imeta = json_object_get(icon_res, "file_meta");
        json_object_set(meta, "small", json_object_get(imeta, "small"));
    }
    json_t *focus = row->file_meta ? json_object_get(row->file_meta, "focus") : NULL;
    if (focus)
        json_object_set(meta, "focus", focus);
    char *text = json_dumps(meta, JSON_COMPACT);
    json_decref(meta);
    return text;
}

static void attach_name(char *out, size_t len, const char *base, const json_t *entry)
{
    snprintf(out, len, "%s.%s", base, json_string_value(json_object_get(entry, "extension")));
}

/* Writes the row; a 0-row update whose row now holds our name was ours (the
 * statement ran again after a reconnect). Returns 1, 0 (lost the race) or -1. */
static int attach_save(services *s, const attach_row *row, const attach_update *u, char *err,
                       size_t errlen)
{
    db_conn *c = db_pool_acquire(s->db);
    int saved = attach_row_save(c, row, u, err, errlen);
    if (saved == 0) {
        attach_row now;
        if (attach_row_load(c, row->id, &now, err, errlen) == 0 && now.has_file &&
            strcmp(now.file_name, u->file_name) == 0)
            saved = 1;
        json_decref(now.file_meta);
    }
    db_pool_release(s->db, c);
    return saved;
}

/* What one attach_work produced: the child's results and how long it took. */
typedef struct attach_done {
    json_t *file_res;         /* the file's processing result */
    json_t *icon_res;         /* the remote icon's, or NULL */
    const json_t *thumb;      /* the thumbnail style entry (icon or cover art), or NULL */
    int64_t bytes;            /* downloaded */
    double t0, cpu;
} attach_done;

/* Uploads every style under fresh random names and records them in the row. On any
 * failure the uploaded objects are deleted again. */
static attach_result attach_commit(services *s, const attach_row *row, const attach_done *d, long *retry_in,
                                   char *err, size_t errlen)
{
    const json_t *orig = json_object_get(d->file_res, "original");
    const json_t *small = json_object_get(d->file_res, "small");
    if (!orig) {
        snprintf(err, errlen, "the media child reported success without an original file");
        return ATTACH_SKIPPED;
    }
    char base[17], tbase[17];
    if (objstore_random_hex16(base) < 0 || objstore_random_hex16(tbase) < 0) {
        snprintf(err, errlen, "no random bytes for the file name");
        return ATTACH_RETRY;
    }
    const char *type = json_string_value(json_object_get(d->file_res, "type"));
    int type_value = attach_type_value(type);
    char fname[64], tname[64];
    attach_name(fname, sizeof fname, base, orig);
    if (d->thumb)
        attach_name(tname, sizeof tname, tbase, d->thumb);
    /* small under the extension the cleanup derives from the row; none for audio */
    const char *small_ext = maint_media_small_ext(type_value, fname);
    attach_objects objs = {.n = 0};
    objstore *o = s->store;
    if (attach_put_style(o, orig, "files", row->id, "original", base, NULL, &objs, err, errlen) < 0 ||
        (small && small_ext &&
         attach_put_style(o, small, "files", row->id, "small", base, small_ext, &objs, err, errlen) < 0) ||
        (d->thumb &&
         attach_put_style(o, d->thumb, "thumbnails", row->id, "original", tbase, NULL, &objs, err, errlen) < 0)) {
        attach_delete_objects(s->store, &objs);
        *retry_in = 0; /* object storage failed: Mastodon schedules the re-download at once */
        return ATTACH_RETRY;
    }
    char *meta = attach_meta(row, d->file_res, d->icon_res);
    attach_update u = {
        .type = type_value,
        .file_name = fname,
        .content_type = json_string_value(json_object_get(orig, "content_type")),
        .file_size = json_integer_value(json_object_get(orig, "size")),
        .file_meta = meta ? meta : "{}",
        .blurhash = json_string_value(json_object_get(d->icon_res ? d->icon_res : d->file_res, "blurhash")),
        .thumb_name = d->thumb ? tname : NULL,
        .thumb_type = d->thumb ? json_string_value(json_object_get(d->thumb, "content_type")) : NULL,
        .thumb_size = d->thumb ? json_integer_value(json_object_get(d->thumb, "size")) : 0,
    };
    int saved = attach_save(s, row, &u, err, errlen);
    free(meta);
    if (saved <= 0) {
        attach_delete_objects(s->store, &objs);
        if (saved < 0)
            return ATTACH_ERROR;
        base_log(BASE_LOG_INFO, "media: attachment %" PRId64 " was stored by another job meanwhile; its files are "
              "kept and this job's deleted", row->id);
        err[0] = '\0';
        return ATTACH_DONE;
    }
    attach_delete_previous(s->store, row, true, d->thumb != NULL);
    base_log(BASE_LOG_INFO, "media: attachment %" PRId64 " stored: %s, %" PRId64 " bytes downloaded, %" PRId64
          " stored as %s%s, %.2f s, %.2f CPU-s", row->id, type ? type : "unknown", d->bytes, u.file_size,
          objs.keys[0], d->thumb ? " with a thumbnail" : "", base_monotonic() - d->t0, d->cpu);
    err[0] = '\0';
    return ATTACH_DONE;
}

/* Everything after the skips, inside the temp directory `dir`. */
static attach_result attach_work(services *s, q_ctx *ctx, const attach_row *row, const char *dir,
                                 long *retry_in, char *err, size_t errlen)
{
    attach_done d = {.t0 = base_monotonic()};
    char in[600], out[600];
    if (!attach_tmp_path(in, sizeof in, dir, "in", err, errlen) ||
        !attach_tmp_path(out, sizeof out, dir, "out", err, errlen))
        return ATTACH_ERROR;
    attach_result res = attach_download(s, row->remote_url, HTTP_CAP_MEDIA, in, &d.bytes, err, errlen);
    if (res == ATTACH_DONE)
        res = attach_process(s, ctx, in, out, &d.file_res, &d.cpu, err, errlen);
    if (res != ATTACH_DONE)
        return res;
    d.thumb = json_object_get(d.file_res, "thumbnail"); /* audio cover art */
    if (row->thumbnail_remote_url[0]) {
        char why[1024];
        attach_result tres = attach_icon(s, ctx, row, dir, &d.icon_res, &d.cpu, why, sizeof why);
        if (tres == ATTACH_DONE)
            d.thumb = json_object_get(d.icon_res, "small");
        else if (tres == ATTACH_SKIPPED)
            base_log(BASE_LOG_INFO, "media: attachment %" PRId64 ": thumbnail skipped: %s", row->id, why);
        else
            snprintf(err, errlen, "thumbnail: %s", why);
        res = tres == ATTACH_RETRY ? ATTACH_RETRY : ATTACH_DONE;
    }
    if (res == ATTACH_DONE)
        res = attach_commit(s, row, &d, retry_in, err, errlen);
    json_decref(d.file_res);
    json_decref(d.icon_res);
    return res;
}

static attach_result attach_fetch_row(services *s, q_ctx *ctx, const attach_row *row, bool force,
                                      long *retry_in, char *err, size_t errlen)
{
    if (!row->remote_url[0]) {
        snprintf(err, errlen, "local media (blank remote_url): nothing to download");
        return ATTACH_SKIPPED;
    }
    if (row->has_file && !force) {
        snprintf(err, errlen, "already stored as %s", row->file_name);
        return ATTACH_DONE;
    }
    if (row->reject_media) {
        snprintf(err, errlen, "media from %s is rejected by a domain block (reject_media)", row->domain);
        return ATTACH_SKIPPED;
    }
    if (!s->media) {
        snprintf(err, errlen, "media processing is not set up in this worker: run scotty with the "
                 "scotty-media binary next to it (or --media-exe PATH)");
        return ATTACH_RETRY;
    }
    if (!s->store) {
        snprintf(err, errlen, "object storage is not set up: configure PAPERCLIP_ROOT_PATH or S3_*");
        return ATTACH_RETRY;
    }
    char dir[600];
    if (attach_tmpdir(dir, sizeof dir, err, errlen) < 0)
        return ATTACH_RETRY;
    attach_result res = attach_work(s, ctx, row, dir, retry_in, err, errlen);
    attach_rmtree(dir);
    return res;
}

attach_result attach_fetch_ex(services *s, q_ctx *ctx, int64_t id, bool force, long *retry_in, char *err,
                              size_t errlen)
{
    long unused;
    if (!retry_in)
        retry_in = &unused;
    err[0] = '\0';
    *retry_in = ingress_rand_between(30, 600);
    if (!s->db) {
        snprintf(err, errlen, "media attachment %" PRId64 ": no database: %s", id, s->db_missing);
        return ATTACH_ERROR;
    }
    attach_row row;
    db_conn *c = db_pool_acquire(s->db);
    int rc = attach_row_load(c, id, &row, err, errlen);
    db_pool_release(s->db, c);
    if (rc < 0)
        return ATTACH_ERROR;
    if (rc == 1) {
        snprintf(err, errlen, "media attachment %" PRId64 " no longer exists", id);
        return ATTACH_SKIPPED;
    }
    attach_result res = attach_fetch_row(s, ctx, &row, force, retry_in, err, errlen);
    json_decref(row.file_meta);
    if (res == ATTACH_SKIPPED)
        base_log(BASE_LOG_INFO, "media: attachment %" PRId64 " skipped: %s", id, err);
    else if (res == ATTACH_RETRY)
        base_log(BASE_LOG_INFO, "media: attachment %" PRId64 " to be retried: %s", id, err);
    return res;
}
