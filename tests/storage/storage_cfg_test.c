/* storage_cfg_test.c -- object-storage settings read from Mastodon's env names:
 * defaults, path style, ACL, key prefix, and the errors an operator sees. */
#include "storage.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static const char *const vars[] = {
    "S3_ENABLED", "S3_BUCKET", "S3_ENDPOINT", "S3_REGION", "S3_PROTOCOL", "S3_HOSTNAME",
    "S3_ALIAS_HOST", "S3_OVERRIDE_PATH_STYLE", "S3_PERMISSION", "S3_STORAGE_CLASS",
    "S3_MULTIPART_THRESHOLD", "S3_KEY_PREFIX", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "PAPERCLIP_ROOT_PATH", "PAPERCLIP_ROOT_URL", "S3_RETRY_LIMIT", "S3_CLOUDFRONT_HOST",
};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    return 0;
}

static void test_defaults_are_mastodons(void **state)
{
    (void)state;
    objstore_cfg c;
    char err[512];
    assert_int_equal(objstore_cfg_from_env(&c, err, sizeof err), 0);
    assert_int_equal(c.backend, OBJSTORE_FS);
    assert_string_equal(c.fs_root, "public/system");
    assert_string_equal(c.fs_url, "/system");
    assert_string_equal(c.region, "us-east-1");
    assert_string_equal(c.permission, "public-read");
    assert_int_equal(c.multipart_threshold, 15u * 1024 * 1024);
    assert_string_equal(c.hostname, "s3-us-east-1.amazonaws.com");
}

static void test_s3_settings(void **state)
{
    (void)state;
    setenv("S3_ENABLED", "true", 1);
    setenv("S3_BUCKET", "media", 1);
    setenv("AWS_ACCESS_KEY_ID", "k", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
    setenv("S3_ENDPOINT", "https://objects.example.net", 1);
    setenv("S3_KEY_PREFIX", "/prod/", 1);
    setenv("S3_PERMISSION", "", 1);
    setenv("S3_MULTIPART_THRESHOLD", "1048576", 1);
    objstore_cfg c;
    char err[512];
    assert_int_equal(objstore_cfg_from_env(&c, err, sizeof err), 0);
    assert_int_equal(c.backend, OBJSTORE_S3);
    assert_true(c.path_style);              /* S3_ENDPOINT set: path style */
    assert_string_equal(c.key_prefix, "prod");
    assert_string_equal(c.permission, "");  /* set but empty: no ACL header */
    assert_int_equal(c.multipart_threshold, 1048576);
    setenv("S3_OVERRIDE_PATH_STYLE", "true", 1);
    setenv("S3_CLOUDFRONT_HOST", "cdn.example.net", 1);
    assert_int_equal(objstore_cfg_from_env(&c, err, sizeof err), 0);
    assert_false(c.path_style);
    assert_string_equal(c.alias_host, "cdn.example.net");
    setenv("S3_ALIAS_HOST", "files.example.net", 1);
    assert_int_equal(objstore_cfg_from_env(&c, err, sizeof err), 0);
    assert_string_equal(c.alias_host, "files.example.net");

    char key[256];
    assert_int_equal(objstore_media_key(c.key_prefix, true, "media_attachments", "files", 42,
                                        "small", "0123456789abcdef", "png", key, sizeof key), 0);
    assert_string_equal(key, "prod/cache/media_attachments/files/000/000/042/small/"
                             "0123456789abcdef.png");
}

static void test_operator_errors(void **state)
{
    (void)state;
    objstore_cfg c;
    char err[512];
    setenv("S3_ENABLED", "true", 1);
    assert_int_equal(objstore_cfg_from_env(&c, err, sizeof err), -1);
    assert_string_equal(err, "S3_ENABLED=true but S3_BUCKET is not set");
    setenv("S3_BUCKET", "media", 1);
    assert_int_equal(objstore_cfg_from_env(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "AWS_ACCESS_KEY_ID"));
    setenv("AWS_ACCESS_KEY_ID", "k", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
    setenv("S3_MULTIPART_THRESHOLD", "15MB", 1);
    assert_int_equal(objstore_cfg_from_env(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "S3_MULTIPART_THRESHOLD=15MB is not a whole number"));
    unsetenv("S3_MULTIPART_THRESHOLD");
    setenv("S3_ENDPOINT", "http://host:9000/path", 1);
    assert_int_equal(objstore_cfg_from_env(&c, err, sizeof err), 0);
    assert_null(objstore_new(&c, err, sizeof err));
    assert_non_null(strstr(err, "S3_ENDPOINT=http://host:9000/path is not a scheme://host[:port] URL"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults_are_mastodons, clear_env),
        cmocka_unit_test_setup(test_s3_settings, clear_env),
        cmocka_unit_test_setup(test_operator_errors, clear_env),
    };
    return cmocka_run_group_tests_name("storage_objstore_cfg", tests, NULL, NULL);
}
