/* storage_objstore_test.c -- object storage against the backend the environment
 * selects: the filesystem in a temp dir (run directly), or a real SigV4-verifying
 * S3 server started by run_s3_test.sh (S3_ENABLED=true). Covers put/get/delete/
 * exists with keys that need escaping, files above the multipart threshold read
 * back byte-identical, Mastodon's key layout and URLs; on S3 also a wrong secret,
 * injected 500s then recovery, and a server that is down. */
#include "storage.h"

#include <curl/curl.h>
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static objstore_cfg cfg;
static objstore *store;
static bool on_s3;

/* Keys with bytes that must be percent-encoded in S3 paths (space, +, %, &, =, ?,
 * non-ASCII) and a Mastodon-style one. */
static const char *const tricky_keys[] = {
    "cache/media_attachments/files/113/366/123/767/412/355/original/0123456789abcdef.mp4",
    "odd/a b+c%20d&e=f?g#h/ünïcødé ✓.png",
    "odd/semi;colon,comma'quote\"(paren)!*.bin",
};

static unsigned char *pattern(size_t len, unsigned seed)
{
    unsigned char *p = malloc(len);
    assert_non_null(p);
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(seed >> 16);
    }
    return p;
}

static void test_key_layout(void **state)
{
    (void)state;
    char part[64], key[512];
    objstore_id_partition(109876543210987654LL, part, sizeof part);
    assert_string_equal(part, "109/876/543/210/987/654");
    objstore_id_partition(42, part, sizeof part);
    assert_string_equal(part, "000/000/042");
    objstore_id_partition(1234567890123LL, part, sizeof part); /* 13 digits: last one dropped */
    assert_string_equal(part, "123/456/789/012");
    assert_int_equal(objstore_media_key(NULL, true, "media_attachments", "files",
                                        113366123767412355LL, "original", "0123456789abcdef",
                                        "mp4", key, sizeof key), 0);
    assert_string_equal(key, "cache/media_attachments/files/113/366/123/767/412/355/original/"
                             "0123456789abcdef.mp4");
    assert_int_equal(objstore_media_key("prod", false, "accounts", "avatars", 7, "small",
                                        "0123456789abcdef", "png", key, sizeof key), 0);
    assert_string_equal(key, "prod/accounts/avatars/000/000/007/small/0123456789abcdef.png");
    assert_int_equal(objstore_media_key(NULL, true, "media_attachments", "files", 1, "original",
                                        "x", "png", key, 20), -1);
    char a[17], b[17];
    assert_int_equal(objstore_random_hex16(a), 0);
    assert_int_equal(objstore_random_hex16(b), 0);
    assert_int_equal(strlen(a), 16);
    assert_int_equal(strspn(a, "0123456789abcdef"), 16);
    assert_string_not_equal(a, b);
}

static void test_roundtrip_tricky_keys(void **state)
{
    (void)state;
    char err[1024];
    for (size_t i = 0; i < sizeof tricky_keys / sizeof tricky_keys[0]; i++) {
        const char *key = tricky_keys[i];
        size_t len = 1000 + i * 77;
        unsigned char *data = pattern(len, (unsigned)i + 1);
        if (objstore_put_buf(store, key, data, len, "application/octet-stream", err, sizeof err))
            fail_msg("put %s: %s", key, err);
        assert_int_equal(objstore_exists(store, key, err, sizeof err), 1);
        base_buf got;
        base_buf_init(&got);
        if (objstore_get(store, key, &got, err, sizeof err) != 0)
            fail_msg("get %s: %s", key, err);
        assert_int_equal(got.len, len);
        assert_memory_equal(got.data, data, len);
        base_buf_free(&got);

        /* Overwrite replaces the whole object. */
        assert_int_equal(objstore_put_buf(store, key, "short", 5, "text/plain", err, sizeof err), 0);
        base_buf_init(&got);
        assert_int_equal(objstore_get(store, key, &got, err, sizeof err), 0);
        assert_int_equal(got.len, 5);
        assert_memory_equal(got.data, "short", 5);
        base_buf_free(&got);

        if (objstore_delete(store, key, err, sizeof err) != 0)
            fail_msg("delete %s: %s", key, err);
        assert_int_equal(objstore_exists(store, key, err, sizeof err), 0);
        base_buf_init(&got);
        assert_int_equal(objstore_get(store, key, &got, err, sizeof err), OBJSTORE_NOT_FOUND);
        base_buf_free(&got);
        assert_int_equal(objstore_delete(store, key, err, sizeof err), 0); /* already gone: fine */
        free(data);
    }
    assert_int_equal(objstore_put_buf(store, "empty/object", NULL, 0, NULL, err, sizeof err), 0);
    base_buf got;
    base_buf_init(&got);
    assert_int_equal(objstore_get(store, "empty/object", &got, err, sizeof err), 0);
    assert_int_equal(got.len, 0);
    base_buf_free(&got);
    assert_int_equal(objstore_delete(store, "empty/object", err, sizeof err), 0);
}

static void test_invalid_keys_rejected(void **state)
{
    (void)state;
    char err[1024];
    const char *bad[] = {"", "/etc/passwd", "a/../b", "../x", "a//b", "a/./b", "a/", "ctl\x01x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(objstore_put_buf(store, bad[i], "x", 1, NULL, err, sizeof err), -1);
        assert_non_null(strstr(err, "invalid object key"));
    }
}

/* Writes a file of `len` pseudo-random bytes; returns its contents. */
static unsigned char *write_file(const char *path, size_t len, unsigned seed)
{
    unsigned char *data = pattern(len, seed);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return data;
}

static long proxy_stat(const char *field);

static void test_large_file_byte_identical(void **state)
{
    (void)state;
    char err[1024], path[] = "/tmp/scotty-objstore-src.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    /* Above the threshold (1 MiB in these tests): multipart with 5 MiB parts. */
    size_t len = 11u * 1024 * 1024 + 123;
    unsigned char *data = write_file(path, len, 99);
    const char *key = "cache/media_attachments/files/000/000/001/original/big file+1.mp4";
    long seen_before = proxy_stat("seen");
    if (objstore_put_file(store, key, path, "video/mp4", err, sizeof err) != 0)
        fail_msg("put_file: %s", err);
    if (on_s3 && seen_before >= 0) /* create + 3 parts + complete, all through the proxy */
        assert_int_equal(proxy_stat("seen") - seen_before, 5);
    base_buf got;
    base_buf_init(&got);
    if (objstore_get(store, key, &got, err, sizeof err) != 0)
        fail_msg("get: %s", err);
    assert_int_equal(got.len, len);
    assert_memory_equal(got.data, data, len);
    base_buf_free(&got);

    /* A small file takes the single-request path. */
    unsigned char *small = write_file(path, 4096, 7);
    assert_int_equal(objstore_put_file(store, "small/file.bin", path, NULL, err, sizeof err), 0);
    base_buf_init(&got);
    assert_int_equal(objstore_get(store, "small/file.bin", &got, err, sizeof err), 0);
    assert_int_equal(got.len, 4096);
    assert_memory_equal(got.data, small, 4096);
    base_buf_free(&got);
    assert_int_equal(objstore_delete(store, key, err, sizeof err), 0);
    assert_int_equal(objstore_delete(store, "small/file.bin", err, sizeof err), 0);
    assert_int_equal(objstore_put_file(store, "x/y", "/nonexistent/file", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/file"));
    unlink(path);
    free(data);
    free(small);
}

static void test_public_url(void **state)
{
    (void)state;
    char url[1024];
    assert_int_equal(objstore_public_url(store, "a b/c.png", url, sizeof url), 0);
    if (!on_s3) {
        assert_string_equal(url, "/system/a%20b/c.png");
        return;
    }
    char want[1024];
    snprintf(want, sizeof want, "%s://%s/%s/a%%20b/c.png", cfg.protocol, cfg.hostname, cfg.bucket);
    assert_string_equal(url, want);
    objstore_cfg alias = cfg;
    snprintf(alias.alias_host, sizeof alias.alias_host, "files.example.org");
    char err[512];
    objstore *o = objstore_new(&alias, err, sizeof err);
    assert_non_null(o);
    assert_int_equal(objstore_public_url(o, "k/x.png", url, sizeof url), 0);
    snprintf(want, sizeof want, "%s://files.example.org/k/x.png", cfg.protocol);
    assert_string_equal(url, want);
    objstore_free(o);
}

static void test_fs_leaves_no_temp_files(void **state)
{
    (void)state;
    if (on_s3)
        skip();
    char err[512];
    assert_int_equal(objstore_put_buf(store, "dir/only.txt", "abc", 3, NULL, err, sizeof err), 0);
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/dir", cfg.fs_root);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            entries++;
    closedir(d);
    assert_int_equal(entries, 1);

    /* Deleting prunes the directories it emptied, and only those. */
    assert_int_equal(objstore_put_buf(store, "dir/a/b/deep.txt", "abc", 3, NULL, err, sizeof err), 0);
    assert_int_equal(objstore_delete(store, "dir/a/b/deep.txt", err, sizeof err), 0);
    char sub[1300];
    snprintf(sub, sizeof sub, "%s/a", dir);
    assert_int_equal(access(sub, F_OK), -1);
    assert_int_equal(access(dir, F_OK), 0);
    assert_int_equal(objstore_delete(store, "dir/only.txt", err, sizeof err), 0);
    assert_int_equal(access(dir, F_OK), -1);
    assert_int_equal(access(cfg.fs_root, F_OK), 0);
}

/* ---- S3 only: the fault proxy in front of the server (s3_server.js) ---- */

static size_t collect(char *p, size_t s, size_t n, void *u)
{
    base_buf_add(u, p, s * n);
    return s * n;
}

static int proxy_call(const char *path, base_buf *out)
{
    const char *port = getenv("STORAGE_S3_PROXY_PORT");
    if (!port)
        return -1;
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%s%s", port, path);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    return rc == CURLE_OK ? 0 : -1;
}

static long proxy_stat(const char *field)
{
    base_buf out;
    base_buf_init(&out);
    long v = -1;
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", field);
    if (proxy_call("/__stats", &out) == 0 && out.data && strstr(out.data, pat))
        v = strtol(strstr(out.data, pat) + strlen(pat), NULL, 10);
    base_buf_free(&out);
    return v;
}

/* The proxy answers 500 to `n` requests after letting `after` through. */
static void set_faults_after(int n, int after)
{
    char path[64];
    snprintf(path, sizeof path, "/__fault?count=%d&after=%d", n, after);
    base_buf out;
    base_buf_init(&out);
    assert_int_equal(proxy_call(path, &out), 0);
    base_buf_free(&out);
}

static void set_faults(int n) { set_faults_after(n, 0); }

static void test_s3_wrong_secret_refused(void **state)
{
    (void)state;
    if (!on_s3)
        skip();
    objstore_cfg bad = cfg;
    snprintf(bad.secret_key, sizeof bad.secret_key, "not-the-secret");
    char err[1024];
    objstore *o = objstore_new(&bad, err, sizeof err);
    assert_non_null(o);
    assert_int_equal(objstore_put_buf(o, "secret/test", "x", 1, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "HTTP 403 SignatureDoesNotMatch"));
    assert_non_null(strstr(err, "AWS_SECRET_ACCESS_KEY"));
    assert_non_null(strstr(err, "attempt 1 of")); /* a 403 is not retried */
    objstore_free(o);
    assert_int_equal(objstore_exists(store, "secret/test", err, sizeof err), 0);
}

static void test_s3_500_then_recovery(void **state)
{
    (void)state;
    if (!on_s3)
        skip();
    char err[1024];
    objstore_cfg via = cfg; /* S3_ENDPOINT is the fault proxy */
    via.retries = 3;
    objstore *o = objstore_new(&via, err, sizeof err);
    assert_non_null(o);

    /* Two 500s, then success: retried within one call. */
    long seen = proxy_stat("seen"), failed = proxy_stat("failed");
    set_faults(2);
    if (objstore_put_buf(o, "flaky/one", "payload", 7, "text/plain", err, sizeof err) != 0)
        fail_msg("put through two 500s: %s", err);
    assert_int_equal(proxy_stat("seen") - seen, 3);
    assert_int_equal(proxy_stat("failed") - failed, 2);

    /* More 500s than retries: a clear failure, then the next call recovers. */
    set_faults(100);
    assert_int_equal(objstore_put_buf(o, "flaky/two", "payload", 7, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "HTTP 500 InternalError"));
    assert_non_null(strstr(err, "attempt 4 of 4"));
    set_faults(0);
    if (objstore_put_buf(o, "flaky/two", "payload", 7, NULL, err, sizeof err) != 0)
        fail_msg("put after recovery: %s", err);
    base_buf got;
    base_buf_init(&got);
    assert_int_equal(objstore_get(o, "flaky/two", &got, err, sizeof err), 0);
    assert_int_equal(got.len, 7);
    assert_memory_equal(got.data, "payload", 7);
    base_buf_free(&got);

    /* Multipart through the proxy: create, 4 parts of 64 bytes, complete. */
    via.multipart_threshold = 16;
    via.part_size = 64;
    via.retries = 1;
    objstore *mp = objstore_new(&via, err, sizeof err);
    assert_non_null(mp);
    unsigned char *data = pattern(200, 3);
    long before = proxy_stat("seen");
    if (objstore_put_buf(mp, "flaky/multi", data, 200, NULL, err, sizeof err) != 0)
        fail_msg("multipart put: %s", err);
    assert_int_equal(proxy_stat("seen") - before, 1 + 4 + 1);
    base_buf_init(&got);
    assert_int_equal(objstore_get(mp, "flaky/multi", &got, err, sizeof err), 0);
    assert_int_equal(got.len, 200);
    assert_memory_equal(got.data, data, 200);
    base_buf_free(&got);

    /* Create passes, part 1 fails twice (all attempts): the upload is aborted. */
    before = proxy_stat("seen");
    set_faults_after(2, 1);
    assert_int_equal(objstore_put_buf(mp, "flaky/multi2", data, 200, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "attempt 2 of 2"));
    assert_non_null(strstr(err, "partNumber=1"));
    assert_int_equal(proxy_stat("seen") - before, 1 + 2 + 1);
    base_buf last;
    base_buf_init(&last);
    assert_int_equal(proxy_call("/__stats", &last), 0);
    assert_non_null(strstr(last.data, "\"lastMethod\":\"DELETE\""));
    assert_non_null(strstr(last.data, "?uploadId="));
    base_buf_free(&last);
    assert_int_equal(objstore_exists(mp, "flaky/multi2", err, sizeof err), 0);
    assert_int_equal(objstore_delete(mp, "flaky/multi", err, sizeof err), 0);
    free(data);
    objstore_free(mp);
    assert_int_equal(objstore_delete(o, "flaky/one", err, sizeof err), 0);
    assert_int_equal(objstore_delete(o, "flaky/two", err, sizeof err), 0);
    objstore_free(o);
}

/* Mastodon's object headers reach the server (signed, since it verified them)
 * and come back on GET. */
static void test_s3_object_headers(void **state)
{
    (void)state;
    if (!on_s3)
        skip();
    objstore_cfg with = cfg;
    snprintf(with.storage_class, sizeof with.storage_class, "STANDARD_IA");
    char err[1024];
    objstore *o = objstore_new(&with, err, sizeof err);
    assert_non_null(o);
    if (objstore_put_buf(o, "headers/x.png", "png", 3, "image/png", err, sizeof err) != 0)
        fail_msg("put: %s", err);
    base_buf stats;
    base_buf_init(&stats);
    assert_int_equal(proxy_call("/__stats", &stats), 0);
    assert_non_null(strstr(stats.data, "\"acl\":\"public-read\""));
    assert_non_null(strstr(stats.data, "\"cacheControl\":\"public, max-age=315576000, immutable\""));
    assert_non_null(strstr(stats.data, "\"storageClass\":\"STANDARD_IA\""));
    assert_non_null(strstr(stats.data, "\"contentType\":\"image/png\""));
    base_buf_free(&stats);

    /* S3_PERMISSION set to empty: no ACL header at all. */
    objstore_cfg no_acl = cfg;
    no_acl.permission[0] = '\0';
    objstore *o2 = objstore_new(&no_acl, err, sizeof err);
    assert_int_equal(objstore_put_buf(o2, "headers/y.png", "png", 3, "image/png", err, sizeof err), 0);
    base_buf_init(&stats);
    assert_int_equal(proxy_call("/__stats", &stats), 0);
    assert_non_null(strstr(stats.data, "\"acl\":null"));
    base_buf_free(&stats);
    assert_int_equal(objstore_delete(o2, "headers/y.png", err, sizeof err), 0);
    assert_int_equal(objstore_delete(o, "headers/x.png", err, sizeof err), 0);
    objstore_free(o2);
    objstore_free(o);
}

typedef struct put_worker {
    int id, ok;
    char err[1024];
} put_worker;

static void *put_thread(void *arg)
{
    put_worker *w = arg;
    for (int i = 0; i < 10; i++) {
        char key[64], *err = w->err;
        const size_t errlen = sizeof w->err;
        /* On S3, one top-level folder per thread: the test server prunes emptied
         * folders on delete, racing with puts into a shared parent. Our filesystem
         * backend prunes too and copes with that race, so there they share one. */
        snprintf(key, sizeof key, on_s3 ? "threads-%d/%d.bin" : "threads/%d/%d.bin", w->id, i);
        size_t len = 500 + (size_t)(w->id * 10 + i);
        unsigned char *data = pattern(len, (unsigned)(w->id * 100 + i));
        base_buf got;
        base_buf_init(&got);
        if (objstore_put_buf(store, key, data, len, NULL, err, errlen) == 0 &&
            objstore_get(store, key, &got, err, errlen) == 0 && got.len == len &&
            memcmp(got.data, data, len) == 0 && objstore_delete(store, key, err, errlen) == 0)
            w->ok++;
        base_buf_free(&got);
        free(data);
    }
    return NULL;
}

/* One store shared by four threads. */
static void test_shared_by_threads(void **state)
{
    (void)state;
    put_worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (put_worker){i, 0, ""};
        assert_int_equal(pthread_create(&t[i], NULL, put_thread, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++)
        if (w[i].ok != 10)
            fail_msg("thread %d: %d of 10 round trips worked; last error: %s", i, w[i].ok, w[i].err);
}

/* After breaker_threshold failed requests in a row the store fails fast without
 * sending anything; after the cool-off one request tries again and closes it. */
static void test_s3_circuit_breaker(void **state)
{
    (void)state;
    if (!on_s3)
        skip();
    char err[1024];
    objstore_cfg br = cfg;
    br.retries = 0;
    br.breaker_threshold = 2;
    br.breaker_cooloff_ms = 3600000;
    objstore *o = objstore_new(&br, err, sizeof err);
    assert_non_null(o);
    set_faults(100);
    long seen = proxy_stat("seen");
    assert_int_equal(objstore_put_buf(o, "breaker/x", "x", 1, NULL, err, sizeof err), -1);
    assert_int_equal(objstore_put_buf(o, "breaker/x", "x", 1, NULL, err, sizeof err), -1);
    assert_int_equal(proxy_stat("seen") - seen, 2);
    assert_int_equal(objstore_put_buf(o, "breaker/x", "x", 1, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "circuit breaker"));
    assert_int_equal(objstore_exists(o, "breaker/x", err, sizeof err), -1);
    assert_int_equal(proxy_stat("seen") - seen, 2); /* nothing sent while open */
    set_faults(0);
    objstore_free(o);

    br.breaker_cooloff_ms = 0; /* the next request after opening is the trial */
    o = objstore_new(&br, err, sizeof err);
    set_faults(2);
    assert_int_equal(objstore_put_buf(o, "breaker/y", "y", 1, NULL, err, sizeof err), -1);
    assert_int_equal(objstore_put_buf(o, "breaker/y", "y", 1, NULL, err, sizeof err), -1);
    if (objstore_put_buf(o, "breaker/y", "y", 1, NULL, err, sizeof err) != 0)
        fail_msg("trial after cool-off: %s", err);
    assert_int_equal(objstore_exists(o, "breaker/y", err, sizeof err), 1);
    assert_int_equal(objstore_delete(o, "breaker/y", err, sizeof err), 0);
    objstore_free(o);
}

static void test_s3_server_down(void **state)
{
    (void)state;
    if (!on_s3)
        skip();
    objstore_cfg down = cfg;
    snprintf(down.endpoint, sizeof down.endpoint, "http://127.0.0.1:1");
    down.retries = 1;
    char err[1024];
    objstore *o = objstore_new(&down, err, sizeof err);
    assert_non_null(o);
    assert_int_equal(objstore_put_buf(o, "down/x", "x", 1, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "attempt 2 of 2"));
    assert_non_null(strstr(err, "check S3_ENDPOINT"));
    assert_int_equal(objstore_exists(o, "down/x", err, sizeof err), -1);
    objstore_free(o);
}

int main(void)
{
    char err[1024];
    char root[] = "/tmp/scotty-objstore.XXXXXX";
    on_s3 = getenv("S3_ENABLED") && strcmp(getenv("S3_ENABLED"), "true") == 0;
    if (!on_s3) {
        assert_non_null(mkdtemp(root));
        setenv("PAPERCLIP_ROOT_PATH", root, 1);
    }
    setenv("S3_MULTIPART_THRESHOLD", "1048576", 1);
    if (objstore_cfg_from_env(&cfg, err, sizeof err) != 0) {
        fprintf(stderr, "FAIL: %s\n", err);
        return 1;
    }
    store = objstore_new(&cfg, err, sizeof err);
    if (!store) {
        fprintf(stderr, "FAIL: %s\n", err);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_layout),
        cmocka_unit_test(test_roundtrip_tricky_keys),
        cmocka_unit_test(test_invalid_keys_rejected),
        cmocka_unit_test(test_large_file_byte_identical),
        cmocka_unit_test(test_public_url),
        cmocka_unit_test(test_fs_leaves_no_temp_files),
        cmocka_unit_test(test_s3_wrong_secret_refused),
        cmocka_unit_test(test_s3_500_then_recovery),
        cmocka_unit_test(test_s3_object_headers),
        cmocka_unit_test(test_shared_by_threads),
        cmocka_unit_test(test_s3_circuit_breaker),
        cmocka_unit_test(test_s3_server_down),
    };
    int rc = cmocka_run_group_tests_name(on_s3 ? "storage_objstore_s3" : "storage_objstore_fs",
                                         tests, NULL, NULL);
    objstore_free(store);
    if (!on_s3) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", root);
    }
    return rc;
}
