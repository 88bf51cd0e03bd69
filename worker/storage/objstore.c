/* objstore.c -- the object-storage interface: checks keys, opens sources, and
 * hands each operation to the filesystem or the S3 backend; builds public URLs. */
#include "objstore_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

objstore *objstore_new(const objstore_cfg *cfg, char *err, size_t errlen)
{
    objstore *o = calloc(1, sizeof *o);
    if (!o)
        abort();
    o->cfg = *cfg;
    if (cfg->backend == OBJSTORE_S3 && objstore_s3_init(o, err, errlen) != 0) {
        free(o);
        return NULL;
    }
    return o;
}

void objstore_free(objstore *o)
{
    if (!o)
        return;
    if (o->cfg.backend == OBJSTORE_S3)
        objstore_s3_cleanup(o);
    free(o);
}

const objstore_cfg *objstore_config(const objstore *o) { return &o->cfg; }

/* Relative, no empty, "." or ".." segment, no control bytes: safe as a path
 * under the root and as an S3 key. */
static int objstore_check_key(const char *key, char *err, size_t errlen)
{
    bool bad = !key || !*key || key[0] == '/' || strlen(key) > 1024;
    for (const char *seg = key; !bad && seg && *seg;) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            bad = true;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)seg[i] < 0x20 || seg[i] == 0x7f)
                bad = true;
        seg = end ? end + 1 : NULL;
        if (end && !end[1])
            bad = true; /* trailing slash */
    }
    if (bad) {
        snprintf(err, errlen, "invalid object key \"%.200s\": keys are relative paths of at most "
                              "1024 bytes without empty, \".\" or \"..\" segments or control "
                              "characters", key ? key : "(null)");
        return -1;
    }
    return 0;
}

static int objstore_put(objstore *o, const char *key, objstore_body *body,
                        const char *content_type, char *err, size_t errlen)
{
    if (o->cfg.backend == OBJSTORE_S3)
        return objstore_s3_put(o, key, body, content_type, err, errlen);
    return objstore_fs_put(o, key, body, err, errlen);
}

int objstore_put_buf(objstore *o, const char *key, const void *data, size_t len,
                     const char *content_type, char *err, size_t errlen)
{
    if (objstore_check_key(key, err, errlen))
        return -1;
    objstore_body body = {.data = data ? data : (const void *)"", .length = (long long)len};
    return objstore_put(o, key, &body, content_type, err, errlen);
}

int objstore_put_file(objstore *o, const char *key, const char *path,
                      const char *content_type, char *err, size_t errlen)
{
    if (objstore_check_key(key, err, errlen))
        return -1;
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "cannot read %s to store it as %s: %s", path, key,
                 f ? "not a regular file" : strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    objstore_body body = {.file = f, .length = (long long)st.st_size};
    int rc = objstore_put(o, key, &body, content_type, err, errlen);
    fclose(f);
    return rc;
}

int objstore_get(objstore *o, const char *key, base_buf *out, char *err, size_t errlen)
{
    if (objstore_check_key(key, err, errlen))
        return -1;
    if (o->cfg.backend == OBJSTORE_S3)
        return objstore_s3_get(o, key, out, err, errlen);
    return objstore_fs_get(o, key, out, err, errlen);
}

int objstore_delete(objstore *o, const char *key, char *err, size_t errlen)
{
    if (objstore_check_key(key, err, errlen))
        return -1;
    if (o->cfg.backend == OBJSTORE_S3)
        return objstore_s3_delete(o, key, err, errlen);
    return objstore_fs_delete(o, key, err, errlen);
}

int objstore_exists(objstore *o, const char *key, char *err, size_t errlen)
{
    if (objstore_check_key(key, err, errlen))
        return -1;
    if (o->cfg.backend == OBJSTORE_S3)
        return objstore_s3_exists(o, key, err, errlen);
    return objstore_fs_exists(o, key, err, errlen);
}

int objstore_public_url(const objstore *o, const char *key, char *out, size_t len)
{
    const objstore_cfg *c = &o->cfg;
    base_buf b;
    base_buf_init(&b);
    if (c->backend == OBJSTORE_FS) {
        base_buf_adds(&b, c->fs_url);
        base_buf_adds(&b, "/");
    } else if (c->alias_host[0]) {
        base_buf_addf(&b, "%s://%s/", c->protocol, c->alias_host);
    } else if (c->path_style || !c->endpoint[0]) {
        base_buf_addf(&b, "%s://%s/%s/", c->protocol, c->hostname, c->bucket);
    } else {
        base_buf_addf(&b, "%s://%s.%s/", c->protocol, c->bucket, c->hostname);
    }
    objstore_uri_encode(&b, key, true);
    int rc = b.len < len ? 0 : -1;
    if (rc == 0)
        memcpy(out, b.data, b.len + 1);
    base_buf_free(&b);
    return rc;
}
