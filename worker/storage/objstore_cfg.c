/* objstore_cfg.c -- object-storage settings from Mastodon's environment
 * (config/initializers/paperclip.rb names and defaults): S3_ENABLED and S3_*,
 * AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, PAPERCLIP_ROOT_PATH/PAPERCLIP_ROOT_URL. */
#include "storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *oc_env(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

static int oc_copy(char *dst, size_t len, const char *name, const char *fallback, char *err,
                   size_t errlen)
{
    const char *v = oc_env(name, fallback);
    if (strlen(v) >= len) {
        snprintf(err, errlen, "%s is too long (at most %zu bytes)", name, len - 1);
        return -1;
    }
    snprintf(dst, len, "%s", v);
    return 0;
}

static int oc_number(const char *name, long long fallback, long long min, long long max,
                     long long *out, char *err, size_t errlen)
{
    const char *v = oc_env(name, NULL);
    if (!v) {
        *out = fallback;
        return 0;
    }
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end || n < min || n > max) {
        snprintf(err, errlen, "%s=%s is not a whole number between %lld and %lld", name, v, min,
                 max);
        return -1;
    }
    *out = n;
    return 0;
}

int objstore_cfg_from_env(objstore_cfg *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->backend = strcmp(oc_env("S3_ENABLED", "false"), "true") == 0 ? OBJSTORE_S3 : OBJSTORE_FS;
    int rc = 0;
    rc |= oc_copy(cfg->fs_root, sizeof cfg->fs_root, "PAPERCLIP_ROOT_PATH", "public/system", err,
                  errlen);
    rc |= oc_copy(cfg->fs_url, sizeof cfg->fs_url, "PAPERCLIP_ROOT_URL", "/system", err, errlen);
    rc |= oc_copy(cfg->bucket, sizeof cfg->bucket, "S3_BUCKET", "", err, errlen);
    rc |= oc_copy(cfg->endpoint, sizeof cfg->endpoint, "S3_ENDPOINT", "", err, errlen);
    rc |= oc_copy(cfg->region, sizeof cfg->region, "S3_REGION", "us-east-1", err, errlen);
    rc |= oc_copy(cfg->protocol, sizeof cfg->protocol, "S3_PROTOCOL", "https", err, errlen);
    char default_host[128];
    snprintf(default_host, sizeof default_host, "s3-%s.amazonaws.com", cfg->region);
    rc |= oc_copy(cfg->hostname, sizeof cfg->hostname, "S3_HOSTNAME", default_host, err, errlen);
    /* S3_CLOUDFRONT_HOST is Mastodon's older name for the same setting. */
    rc |= oc_copy(cfg->alias_host, sizeof cfg->alias_host, "S3_ALIAS_HOST",
                  oc_env("S3_CLOUDFRONT_HOST", ""), err, errlen);
    rc |= oc_copy(cfg->storage_class, sizeof cfg->storage_class, "S3_STORAGE_CLASS", "", err,
                  errlen);
    rc |= oc_copy(cfg->access_key, sizeof cfg->access_key, "AWS_ACCESS_KEY_ID", "", err, errlen);
    rc |= oc_copy(cfg->secret_key, sizeof cfg->secret_key, "AWS_SECRET_ACCESS_KEY", "", err,
                  errlen);
    /* S3_PERMISSION set but empty means "send no ACL"; unset means public-read. */
    const char *perm = getenv("S3_PERMISSION");
    snprintf(cfg->permission, sizeof cfg->permission, "%s", perm ? perm : "public-read");
    char prefix[256];
    rc |= oc_copy(prefix, sizeof prefix, "S3_KEY_PREFIX", "", err, errlen);
    if (rc)
        return -1;
    const char *p = prefix;
    while (*p == '/')
        p++;
    snprintf(cfg->key_prefix, sizeof cfg->key_prefix, "%s", p);
    size_t n = strlen(cfg->key_prefix);
    while (n && cfg->key_prefix[n - 1] == '/')
        cfg->key_prefix[--n] = '\0';
    if (cfg->backend == OBJSTORE_FS)
        cfg->key_prefix[0] = '\0'; /* Mastodon applies S3_KEY_PREFIX to S3 only */

    cfg->path_style = cfg->endpoint[0] && strcmp(oc_env("S3_OVERRIDE_PATH_STYLE", "false"), "true") != 0;

    long long v;
    if (oc_number("S3_MULTIPART_THRESHOLD", 15LL * 1024 * 1024, 1, 5LL << 30, &v, err, errlen))
        return -1;
    cfg->multipart_threshold = (size_t)v;
    cfg->part_size = 5u * 1024 * 1024;
    if (oc_number("S3_RETRY_LIMIT", 3, 0, 20, &v, err, errlen))
        return -1;
    cfg->retries = (int)v;
    if (oc_number("S3_OPEN_TIMEOUT", 5, 1, 3600, &v, err, errlen))
        return -1;
    cfg->open_timeout_ms = (long)v * 1000;
    if (oc_number("S3_READ_TIMEOUT", 5, 1, 3600, &v, err, errlen))
        return -1;
    cfg->read_timeout_ms = (long)v * 1000;
    if (oc_number("SCOTTY_S3_RETRY_BACKOFF_MS", 200, 0, 60000, &v, err, errlen))
        return -1;
    cfg->backoff_ms = (long)v;
    if (oc_number("SCOTTY_S3_BREAKER_THRESHOLD", 10, 0, 1000, &v, err, errlen))
        return -1;
    cfg->breaker_threshold = (int)v;
    if (oc_number("SCOTTY_S3_BREAKER_COOLOFF_MS", 30000, 0, 3600000, &v, err, errlen))
        return -1;
    cfg->breaker_cooloff_ms = (long)v;

    if (cfg->backend == OBJSTORE_S3) {
        if (!cfg->bucket[0]) {
            snprintf(err, errlen, "S3_ENABLED=true but S3_BUCKET is not set");
            return -1;
        }
        if (!cfg->access_key[0] || !cfg->secret_key[0]) {
            snprintf(err, errlen, "S3_ENABLED=true but AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY "
                                  "is not set");
            return -1;
        }
    }
    return 0;
}
