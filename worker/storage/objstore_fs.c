/* objstore_fs.c -- the filesystem backend (PAPERCLIP_ROOT_PATH): objects are files
 * under the root at their key. Writes go to a temp file in the target directory,
 * are fsync'ed and renamed over the target, so readers never see half a file. */
#include "objstore_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void fs_path(const objstore *o, const char *key, base_buf *path)
{
    base_buf_init(path);
    base_buf_addf(path, "%s/%s", o->cfg.fs_root, key);
}

/* mkdir -p for every directory above the file at `path`. On failure errno is
 * kept: ENOENT means a concurrent delete pruned a directory mid-way. */
static int fs_make_parents(char *path, char *err, size_t errlen)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0755);
        int e = errno;
        *p = '/';
        if (rc != 0 && e != EEXIST) {
            snprintf(err, errlen, "cannot create directory %.*s: %s (check PAPERCLIP_ROOT_PATH and "
                                  "its permissions)", (int)(p - path), path, strerror(e));
            errno = e;
            return -1;
        }
    }
    return 0;
}

static int fs_write_all(int fd, objstore_body *body, char *err, size_t errlen, const char *tmp)
{
    char chunk[65536];
    long long left = body->length;
    const unsigned char *src = body->data;
    if (body->file && fseeko(body->file, (off_t)body->offset, SEEK_SET) != 0) {
        snprintf(err, errlen, "cannot seek in the source file: %s", strerror(errno));
        return -1;
    }
    while (left > 0) {
        size_t n = left > (long long)sizeof chunk ? sizeof chunk : (size_t)left;
        const void *buf = src;
        if (body->file) {
            if (fread(chunk, 1, n, body->file) != n) {
                snprintf(err, errlen, "the source file ended or failed while copying to %s", tmp);
                return -1;
            }
            buf = chunk;
        }
        size_t done = 0;
        while (done < n) {
            ssize_t w = write(fd, (const char *)buf + done, n - done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
                return -1;
            }
            done += (size_t)w;
        }
        if (src)
            src += n;
        left -= (long long)n;
    }
    return 0;
}

int objstore_fs_put(objstore *o, const char *key, objstore_body *body, char *err, size_t errlen)
{
    base_buf path, tmp;
    fs_path(o, key, &path);
    char *slash = strrchr(path.data, '/');
    base_buf_init(&tmp);
    int fd = -1, rc = -1;
    /* A concurrent delete may remove a directory we just made (it prunes empty
     * ones); make it again. Once our temp file is in it, it stays. */
    for (int attempt = 0; attempt < 10 && fd < 0; attempt++) {
        if (fs_make_parents(path.data, err, errlen) != 0) {
            if (errno == ENOENT)
                continue;
            goto out;
        }
        base_buf_free(&tmp);
        base_buf_addf(&tmp, "%.*s/.%s.tmp-XXXXXX", (int)(slash - path.data), path.data, slash + 1);
        fd = mkstemp(tmp.data);
        if (fd < 0 && errno != ENOENT)
            break;
    }
    if (fd < 0 && !tmp.data)
        goto out; /* err holds why the directories could not be made */
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a temp file next to %s: %s", path.data, strerror(errno));
        goto out;
    }
    if (fs_write_all(fd, body, err, errlen, tmp.data) != 0)
        goto fail;
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
        snprintf(err, errlen, "cannot finish writing %s: %s", tmp.data, strerror(errno));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        snprintf(err, errlen, "cannot close %s: %s", tmp.data, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp.data, path.data) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp.data, path.data, strerror(errno));
        goto fail;
    }
    /* Make the rename itself durable. */
    *slash = '\0';
    int dfd = open(path.data, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    rc = 0;
    goto out;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp.data);
out:
    base_buf_free(&tmp);
    base_buf_free(&path);
    return rc;
}

int objstore_fs_get(objstore *o, const char *key, base_buf *out, char *err, size_t errlen)
{
    base_buf path;
    fs_path(o, key, &path);
    FILE *f = fopen(path.data, "rb");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "cannot read %s: %s", path.data, strerror(e));
        base_buf_free(&path);
        return e == ENOENT ? OBJSTORE_NOT_FOUND : -1;
    }
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        base_buf_add(out, chunk, n);
    int rc = ferror(f) ? -1 : 0;
    if (rc)
        snprintf(err, errlen, "error reading %s", path.data);
    fclose(f);
    base_buf_free(&path);
    return rc;
}

/* Removes the now-empty directories above a deleted file, up to the root, as
 * Paperclip's filesystem storage does; stops at the first one still in use. */
static void fs_prune_parents(const objstore *o, char *path)
{
    size_t root_len = strlen(o->cfg.fs_root);
    for (char *slash = strrchr(path, '/'); slash && (size_t)(slash - path) > root_len;
         slash = strrchr(path, '/')) {
        *slash = '\0';
        if (rmdir(path) != 0)
            return;
    }
}

int objstore_fs_delete(objstore *o, const char *key, char *err, size_t errlen)
{
    base_buf path;
    fs_path(o, key, &path);
    int rc = 0;
    if (unlink(path.data) != 0) {
        if (errno != ENOENT) {
            snprintf(err, errlen, "cannot delete %s: %s", path.data, strerror(errno));
            rc = -1;
        }
    } else {
        fs_prune_parents(o, path.data);
    }
    base_buf_free(&path);
    return rc;
}

int objstore_fs_exists(objstore *o, const char *key, char *err, size_t errlen)
{
    base_buf path;
    fs_path(o, key, &path);
    struct stat st;
    int rc = 1;
    if (stat(path.data, &st) != 0) {
        rc = errno == ENOENT || errno == ENOTDIR ? 0 : -1;
        if (rc < 0)
            snprintf(err, errlen, "cannot look at %s: %s", path.data, strerror(errno));
    }
    base_buf_free(&path);
    return rc;
}
