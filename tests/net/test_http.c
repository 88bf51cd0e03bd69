/* test_http.c -- the HTTP client against the loopback fixture (fixture_server.py).
 * One program, one group per ctest name (argv[1]): basic, limits, redirects,
 * ssrf, tls, reuse, signed. Timeouts are shortened through the client options so
 * stalls end quickly; the tests assert the error kind, never elapsed time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "net_test_util.h"

typedef struct {
    nt_fixture fx;
    http_client *client;       /* ALLOWED_PRIVATE_ADDRESSES=127.0.0.1, test CA trusted */
    char ca[256];
    char pins[3][128];
    const char *resolve[4];
} ctx;

static void base_opts(ctx *c, http_client_opts *o)
{
    memset(o, 0, sizeof *o);
    o->local_domain = "test.local";
    o->allowed_private_addresses = "127.0.0.1";
    o->proxy = "";
    o->hidden_proxy = "";
    o->allow_hidden_services = -1;
    o->ca_file = c->ca;
    o->resolve = c->resolve;
    o->connect_timeout_ms = 2000;
    o->read_timeout_ms = 1000;
    o->total_timeout_ms = 3000;
}

static http_client *make_client(const http_client_opts *o)
{
    char err[NET_ERRLEN];
    http_client *cl = http_client_new(o, err, sizeof err);
    if (!cl)
        fail_msg("http_client_new: %s", err);
    return cl;
}

static int setup(void **state)
{
    ctx *c = calloc(1, sizeof *c);
    nt_fixture_start(&c->fx);
    snprintf(c->ca, sizeof c->ca, "%s/ca.pem", c->fx.dir);
    snprintf(c->pins[0], sizeof c->pins[0], "rebind.test:%d:10.0.0.1", c->fx.http_port);
    snprintf(c->pins[1], sizeof c->pins[1], "public.test:%d:127.0.0.1", c->fx.http_port);
    snprintf(c->pins[2], sizeof c->pins[2], "wrong.test:%d:127.0.0.1", c->fx.https_port);
    for (int i = 0; i < 3; i++)
        c->resolve[i] = c->pins[i];
    http_client_opts o;
    base_opts(c, &o);
    c->client = make_client(&o);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx *c = *state;
    http_client_free(c->client);
    nt_fixture_stop(&c->fx);
    free(c);
    return 0;
}

/* GET path on the fixture with flags and cap; the response is the caller's. */
static http_err get(ctx *c, http_client *cl, const char *path, unsigned flags, long cap,
                    http_response *r)
{
    char url[512];
    if (strncmp(path, "http", 4) == 0)
        snprintf(url, sizeof url, "%s", path);
    else
        nt_url(&c->fx, url, sizeof url, path);
    http_request req = {.url = url, .flags = flags, .max_body = cap};
    return http_perform(cl ? cl : c->client, &req, r);
}

static void expect(ctx *c, http_client *cl, const char *path, http_err want, const char *needle)
{
    http_response r;
    http_err e = get(c, cl, path, 0, 0, &r);
    if (e != want)
        fail_msg("%s: want \"%s\", got \"%s\": %s", path, http_err_name(want), http_err_name(e), r.error);
    if (needle && !strstr(r.error, needle))
        fail_msg("%s: error \"%s\" does not mention \"%s\"", path, r.error, needle);
    http_response_free(&r);
}

/* ---- basic ---- */

static void test_get_ok(void **state)
{
    ctx *c = *state;
    http_response r;
    assert_int_equal(get(c, NULL, "/ok", 0, 0, &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "hello\n");
    assert_int_equal(r.body_len, 6);
    assert_int_equal(r.redirects, 0);
    http_response_free(&r);
}

static void test_content_disposition(void **state)
{
    ctx *c = *state;
    http_response r;
    assert_int_equal(get(c, NULL, "/download", 0, HTTP_CAP_IMAGE, &r), HTTP_OK);
    assert_string_equal(r.content_type, "image/png");
    assert_string_equal(r.content_disposition, "attachment; filename=\"cat.png\"");
    assert_int_equal(r.body_len, 4);
    http_response_free(&r);
}

static void test_default_headers(void **state)
{
    ctx *c = *state;
    http_response r;
    assert_int_equal(get(c, NULL, "/echo", 0, 0, &r), HTTP_OK);
    json_t *doc = json_loads(r.body, 0, NULL);
    assert_non_null(doc);
    json_t *h = json_object_get(doc, "headers");
    const char *ua = json_string_value(json_object_get(h, "user-agent"));
    assert_non_null(ua);
    assert_non_null(strstr(ua, "scotty/"));
    assert_non_null(strstr(ua, "+https://test.local/"));
    assert_non_null(strstr(json_string_value(json_object_get(h, "accept-encoding")), "gzip"));
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", c->fx.http_port);
    assert_string_equal(json_string_value(json_object_get(h, "host")), host);
    const char *date = json_string_value(json_object_get(h, "date"));
    assert_non_null(date);
    struct tm tm;
    assert_non_null(strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm));
    json_decref(doc);
    http_response_free(&r);
}

static void test_activitypub_types(void **state)
{
    ctx *c = *state;
    http_response r;
    assert_int_equal(get(c, NULL, "/ap", HTTP_F_ACTIVITYPUB, 0, &r), HTTP_OK);
    json_t *doc = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(doc, "accept")),
                        "application/activity+json, application/ld+json");
    json_decref(doc);
    http_response_free(&r);
    assert_int_equal(get(c, NULL, "/ap-ld", HTTP_F_ACTIVITYPUB, 0, &r), HTTP_OK);
    http_response_free(&r);
    assert_int_equal(get(c, NULL, "/ap-ld-noprofile", HTTP_F_ACTIVITYPUB, 0, &r), HTTP_E_CONTENT_TYPE);
    http_response_free(&r);
    assert_int_equal(get(c, NULL, "/html", HTTP_F_ACTIVITYPUB, 0, &r), HTTP_E_CONTENT_TYPE);
    assert_non_null(strstr(r.error, "text/html"));
    assert_int_equal(r.body_len, 0);
    http_response_free(&r);
    /* without the flag any type is fine */
    assert_int_equal(get(c, NULL, "/html", 0, 0, &r), HTTP_OK);
    http_response_free(&r);

    assert_true(http_is_activitypub_type("application/activity+json"));
    assert_true(http_is_activitypub_type("Application/Activity+JSON ; charset=utf-8"));
    assert_true(http_is_activitypub_type("application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\""));
    assert_true(http_is_activitypub_type("application/ld+json;profile=\"urn:x https://www.w3.org/ns/activitystreams\""));
    assert_false(http_is_activitypub_type("application/ld+json; profile=\"https://www.w3.org/ns/activitystreams-x\""));
    assert_false(http_is_activitypub_type("application/json"));
    assert_false(http_is_activitypub_type(NULL));
}

static void test_status_errors(void **state)
{
    ctx *c = *state;
    http_response r;
    assert_int_equal(get(c, NULL, "/status/404", 0, 0, &r), HTTP_E_STATUS);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "status 404");
    assert_non_null(strstr(r.error, "404"));
    assert_true(http_response_unsalvageable(&r));
    http_response_free(&r);
    static const long retryable[] = {408, 429, 500, 503};
    for (size_t i = 0; i < 4; i++) {
        char path[32];
        snprintf(path, sizeof path, "/status/%ld", retryable[i]);
        assert_int_equal(get(c, NULL, path, 0, 0, &r), HTTP_E_STATUS);
        assert_int_equal(r.status, retryable[i]);
        assert_false(http_response_unsalvageable(&r));
        http_response_free(&r);
    }
}

static void test_gzip_inflated(void **state)
{
    ctx *c = *state;
    http_response r;
    assert_int_equal(get(c, NULL, "/gzip", HTTP_F_ACTIVITYPUB, 0, &r), HTTP_OK);
    assert_int_equal(r.body_len, strlen("{\"type\":\"Note\",\"content\":\"\"}") + 2000);
    assert_int_equal(strncmp(r.body, "{\"type\":\"Note\"", 14), 0);
    http_response_free(&r);
}

static void test_post_and_see_other(void **state)
{
    ctx *c = *state;
    char url[256];
    nt_url(&c->fx, url, sizeof url, "/echo");
    http_request req = {.method = "POST", .url = url, .body = "{\"a\":1}", .body_len = 7,
                        .content_type = "application/activity+json"};
    http_response r;
    assert_int_equal(http_perform(c->client, &req, &r), HTTP_OK);
    json_t *doc = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(doc, "method")), "POST");
    assert_string_equal(json_string_value(json_object_get(doc, "body")), "{\"a\":1}");
    json_t *h = json_object_get(doc, "headers");
    assert_string_equal(json_string_value(json_object_get(h, "content-type")), "application/activity+json");
    assert_string_equal(json_string_value(json_object_get(h, "digest")),
                        "SHA-256=AVq9f1zFei3ZS3WQ8ErYCEJzkF7jPsXOvq5iJ2qX+GI=");
    json_decref(doc);
    http_response_free(&r);

    nt_url(&c->fx, url, sizeof url, "/see-other");
    assert_int_equal(http_perform(c->client, &req, &r), HTTP_OK);
    doc = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(doc, "method")), "GET");
    assert_int_equal(r.redirects, 1);
    json_decref(doc);
    http_response_free(&r);
}

/* ---- limits ---- */

static void test_stalls_time_out(void **state)
{
    ctx *c = *state;
    expect(c, NULL, "/stall-head", HTTP_E_TIMEOUT, "timeout");
    expect(c, NULL, "/stall-body", HTTP_E_TIMEOUT, "timeout");
    /* a steady trickle passes the per-read limit but not the total deadline */
    expect(c, NULL, "/drip", HTTP_E_TIMEOUT, "timeout");
}

static void test_endless_body_capped(void **state)
{
    ctx *c = *state;
    http_response r;
    assert_int_equal(get(c, NULL, "/endless", 0, HTTP_CAP_JSON, &r), HTTP_E_TOO_LARGE);
    assert_true(r.body_len > (size_t)HTTP_CAP_JSON);
    assert_true(r.body_len < (size_t)HTTP_CAP_JSON + 1024 * 1024);
    assert_non_null(strstr(r.error, "cap"));
    http_response_free(&r);
}

static void test_content_length_over_cap_refused_before_reading(void **state)
{
    ctx *c = *state;
    http_response r;
    assert_int_equal(get(c, NULL, "/big-cl", 0, HTTP_CAP_IMAGE, &r), HTTP_E_TOO_LARGE);
    assert_int_equal(r.body_len, 0);
    assert_non_null(strstr(r.error, "Content-Length 52428800"));
    http_response_free(&r);
    /* the same response fits a larger cap's Content-Length check, then ends short */
    assert_int_equal(get(c, NULL, "/big-cl", 0, HTTP_CAP_MEDIA, &r), HTTP_E_TRUNCATED);
    assert_int_equal(r.body_len, 100);
    http_response_free(&r);
}

static void test_lying_content_length(void **state)
{
    ctx *c = *state;
    expect(c, NULL, "/short-body", HTTP_E_TRUNCATED, NULL);
    http_response r;
    if (get(c, NULL, "/long-body", 0, 0, &r) != HTTP_OK)
        fail_msg("/long-body: %s", r.error);
    assert_string_equal(r.body, "hello");
    http_response_free(&r);
    /* the surplus bytes do not leak into the next response */
    if (get(c, NULL, "/ok", 0, 0, &r) != HTTP_OK)
        fail_msg("/ok after /long-body: %s", r.error);
    assert_string_equal(r.body, "hello\n");
    http_response_free(&r);
}

static void test_gzip_bomb(void **state)
{
    ctx *c = *state;
    http_response r;
    assert_int_equal(get(c, NULL, "/gzip-bomb", HTTP_F_ACTIVITYPUB, HTTP_CAP_JSON, &r), HTTP_E_TOO_LARGE);
    assert_true(r.body_len > (size_t)HTTP_CAP_JSON);
    assert_true(r.body_len < (size_t)HTTP_CAP_IMAGE);
    http_response_free(&r);
}

static void test_body_to_file(void **state)
{
    ctx *c = *state;
    char path[256];
    snprintf(path, sizeof path, "%s/body.out", c->fx.dir);
    FILE *f = fopen(path, "w+");
    assert_non_null(f);
    char url[256];
    nt_url(&c->fx, url, sizeof url, "/gzip");
    http_request req = {.url = url, .body_fd = fileno(f)};
    http_response r;
    assert_int_equal(http_perform(c->client, &req, &r), HTTP_OK);
    assert_string_equal(r.body, "");
    fclose(f);
    size_t len = 0;
    char *data = nt_read_file(path, &len);
    assert_int_equal(len, r.body_len);
    assert_int_equal(len, strlen("{\"type\":\"Note\",\"content\":\"\"}") + 2000);
    free(data);
    http_response_free(&r);
}

/* ---- redirects ---- */

static void test_redirect_chain(void **state)
{
    ctx *c = *state;
    http_response r;
    assert_int_equal(get(c, NULL, "/redirect/3", 0, 0, &r), HTTP_OK);
    assert_int_equal(r.redirects, 3);
    assert_string_equal(r.body, "landed");
    assert_non_null(strstr(r.final_url, "/redirect/0"));
    http_response_free(&r);
    expect(c, NULL, "/redirect/4", HTTP_E_REDIRECTS, "more than 3 redirects");
}

static void test_redirects_to_blocked_addresses(void **state)
{
    ctx *c = *state;
    char path[512];
    /* hosts, each reached at the fixture's port */
    static const char *targets[] = {
        "127.0.0.2", "[::ffff:127.0.0.2]", "[::1]", "169.254.169.254", "10.0.0.1",
        "rebind.test",   /* a name pinned to 10.0.0.1: checked after DNS */
    };
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        snprintf(path, sizeof path, "/redirect-to?url=http://%s:%d/ok", targets[i], c->fx.http_port);
        expect(c, NULL, path, HTTP_E_REFUSED, "ALLOWED_PRIVATE_ADDRESSES");
    }
    /* two hops through the fixture, then a private address */
    expect(c, NULL, "/redirect-to?url=%2Fredirect-to%3Furl%3Dhttp%3A%2F%2F192.168.0.1%2F",
           HTTP_E_REFUSED, "192.168.0.1");
    expect(c, NULL, "/redirect-to?url=ftp://example.com/", HTTP_E_REFUSED, "scheme ftp");
    expect(c, NULL, "/redirect-to?url=http://abcdef.onion/", HTTP_E_REFUSED, "hidden service");
}

/* ---- ssrf ---- */

static void test_every_blocked_form_refused_without_allowlist(void **state)
{
    ctx *c = *state;
    http_client_opts o;
    base_opts(c, &o);
    o.allowed_private_addresses = "";
    http_client *strict = make_client(&o);
    int port = c->fx.http_port;
    /* hosts, each reached at the fixture's port */
    static const char *forms[] = {
        "127.0.0.1", "localhost", "[::1]", "[::ffff:127.0.0.1]", "[::127.0.0.1]",
        "2130706433", "0x7f000001",
        "public.test",   /* a name pinned to 127.0.0.1 */
        "0.0.0.0", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "169.254.169.254",
        "[fd00::1]", "[fe80::1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::1]",
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char url[256];
        snprintf(url, sizeof url, "http://%s:%d/ok", forms[i], port);
        expect(c, strict, url, HTTP_E_REFUSED, "ALLOWED_PRIVATE_ADDRESSES");
    }
    http_client_free(strict);
}

static void test_allowlist_exempts_only_what_it_names(void **state)
{
    ctx *c = *state;
    http_client_opts bad;
    base_opts(c, &bad);
    bad.allowed_private_addresses = "127.0.0.1, intranet";
    char err[NET_ERRLEN];
    assert_null(http_client_new(&bad, err, sizeof err));
    assert_non_null(strstr(err, "\"intranet\" is not an IP address or CIDR"));
    char url[256];
    snprintf(url, sizeof url, "http://public.test:%d/ok", c->fx.http_port);
    http_response r;
    assert_int_equal(get(c, NULL, url, 0, 0, &r), HTTP_OK);
    http_response_free(&r);
    snprintf(url, sizeof url, "http://127.0.0.2:%d/ok", c->fx.http_port);
    expect(c, NULL, url, HTTP_E_REFUSED, "127.0.0.2");
}

static void test_proxy_honoured(void **state)
{
    ctx *c = *state;
    char proxy[128];
    snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", c->fx.http_port);
    /* http_proxy from the environment: the fixture answers as a forward proxy; the
     * target is then the proxy's business, as in Mastodon */
    setenv("http_proxy", proxy, 1);
    http_client_opts o;
    base_opts(c, &o);
    o.allowed_private_addresses = "";
    o.proxy = NULL;
    http_client *viaproxy = make_client(&o);
    unsetenv("http_proxy");
    http_response r;
    assert_int_equal(get(c, viaproxy, "http://10.9.9.9/ok", 0, 0, &r), HTTP_OK);
    assert_string_equal(r.body, "hello\n");
    http_response_free(&r);
    http_client_free(viaproxy);
}

static void test_hidden_services(void **state)
{
    ctx *c = *state;
    expect(c, NULL, "http://abcdefghij.onion/ok", HTTP_E_REFUSED, "ALLOW_ACCESS_TO_HIDDEN_SERVICE");
    expect(c, NULL, "http://site.i2p/ok", HTTP_E_REFUSED, "hidden service");
    char proxy[128];
    snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", c->fx.http_port);
    http_client_opts o;
    base_opts(c, &o);
    o.allow_hidden_services = 1;
    o.hidden_proxy = proxy;
    http_client *tor = make_client(&o);
    http_response r;
    assert_int_equal(get(c, tor, "http://abcdefghij.onion/ok", 0, 0, &r), HTTP_OK);
    assert_string_equal(r.body, "hello\n");
    http_response_free(&r);
    http_client_free(tor);
}

/* ---- tls ---- */

static void test_tls_with_test_ca(void **state)
{
    ctx *c = *state;
    char url[256];
    snprintf(url, sizeof url, "https://127.0.0.1:%d/ok", c->fx.https_port);
    http_response r;
    assert_int_equal(get(c, NULL, url, 0, 0, &r), HTTP_OK);
    assert_string_equal(r.body, "hello\n");
    http_response_free(&r);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/ap", c->fx.https_port);
    assert_int_equal(get(c, NULL, url, HTTP_F_ACTIVITYPUB, 0, &r), HTTP_OK);
    http_response_free(&r);
}

static void test_tls_failures(void **state)
{
    ctx *c = *state;
    char url[256];
    /* a name the certificate does not carry */
    snprintf(url, sizeof url, "https://wrong.test:%d/ok", c->fx.https_port);
    expect(c, NULL, url, HTTP_E_TLS, "TLS");
    /* the system's CAs do not know the test CA */
    http_client_opts o;
    base_opts(c, &o);
    o.ca_file = NULL;
    http_client *system_ca = make_client(&o);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/ok", c->fx.https_port);
    expect(c, system_ca, url, HTTP_E_TLS, "certificate");
    http_client_free(system_ca);
}

/* ---- reuse ---- */

typedef struct {
    ctx *c;
    http_client *cl;
    int ok;
} burst_arg;

static void *burst_thread(void *p)
{
    burst_arg *a = p;
    for (int i = 0; i < 25; i++) {
        http_response r;
        if (get(a->c, a->cl, "/ok", 0, 0, &r) == HTTP_OK && strcmp(r.body, "hello\n") == 0)
            a->ok++;
        http_response_free(&r);
    }
    return NULL;
}

static long fixture_connections(ctx *c)
{
    http_response r;
    assert_int_equal(get(c, NULL, "/count", 0, 0, &r), HTTP_OK);
    json_t *doc = json_loads(r.body, 0, NULL);
    long n = (long)json_integer_value(json_object_get(doc, "connections"));
    json_decref(doc);
    http_response_free(&r);
    return n;
}

static void test_burst_reuses_connections(void **state)
{
    ctx *c = *state;
    http_client_opts o;
    base_opts(c, &o);
    o.max_per_host = 2;
    http_client *cl = make_client(&o);
    long before = fixture_connections(c);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t th[4];
    burst_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (burst_arg){.c = c, .cl = cl};
        assert_int_equal(pthread_create(&th[i], NULL, burst_thread, &args[i]), 0);
    }
    int ok = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ok += args[i].ok;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long after = fixture_connections(c);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    printf("burst: 100 requests from 4 threads in %.0f ms, %ld new connections at the fixture\n",
           ms, after - before);
    assert_int_equal(ok, 100);
    assert_true(after - before >= 1);
    assert_true(after - before <= 2);
    http_client_free(cl);
}

/* ---- signed ---- */

static sig_key *fixture_key(ctx *c, const arenc_keys *keys, bool encrypted)
{
    char path[256], err[NET_ERRLEN];
    snprintf(path, sizeof path, "%s/sig_key.pem", c->fx.dir);
    char *column = encrypted
        ? nt_run("ruby '%s/make_arenc_vector.rb' pk salt sha256 '%s'", NT_SOURCE_DIR, path)
        : nt_read_file(path, NULL);
    assert_non_null(column);
    sig_key *k = sig_key_from_column(column, keys, err, sizeof err);
    if (!k)
        fail_msg("key: %s", err);
    free(column);
    return k;
}

static void signed_request(ctx *c, const char *method, const char *path, const sig_key *k,
                           long want_status)
{
    char url[256];
    nt_url(&c->fx, url, sizeof url, path);
    const char *body = "{\"type\":\"Create\",\"object\":{\"type\":\"Note\"}}";
    http_request req = {.method = method, .url = url, .sign_key = k,
                        .key_id = "https://test.local/actor#main-key",
                        .content_type = "application/activity+json"};
    if (strcmp(method, "POST") == 0) {
        req.body = body;
        req.body_len = strlen(body);
    }
    http_response r;
    http_perform(c->client, &req, &r);
    if (r.status != want_status)
        fail_msg("%s %s: want %ld, got %ld (%s): %s", method, path, want_status, r.status, r.body, r.error);
    if (want_status == 202)
        assert_string_equal(r.body, "verified");
    http_response_free(&r);
}

static void test_signed_requests_verified_by_openssl(void **state)
{
    ctx *c = *state;
    sig_key *k = fixture_key(c, NULL, false);
    signed_request(c, "POST", "/signed/inbox", k, 202);
    signed_request(c, "GET", "/signed/users/alice?page=1", k, 202);
    /* each hop is signed again for its own (request-target) */
    signed_request(c, "GET", "/redirect-to?url=/signed/after-redirect", k, 202);
    /* a 307 keeps the POST and its body; the new target is signed */
    signed_request(c, "POST", "/redirect-to?code=307&url=/signed/inbox-moved", k, 202);
    sig_key_free(k);
}

static void test_signed_extra_header_in_mastodon_order(void **state)
{
    ctx *c = *state;
    sig_key *k = fixture_key(c, NULL, false);
    sig_header extra[] = {{"Collection-Synchronization",
                           "collectionId=\"https://test.local/users/a/followers\", digest=\"00\""}};
    const char *body = "{}";
    char url[256];
    nt_url(&c->fx, url, sizeof url, "/signed/inbox");
    http_request req = {.method = "POST", .url = url, .sign_key = k, .key_id = "k",
                        .body = body, .body_len = 2, .extra_headers = extra, .n_extra_headers = 1};
    http_response r;
    http_perform(c->client, &req, &r);
    assert_int_equal(r.status, 202);
    http_response_free(&r);
    nt_url(&c->fx, url, sizeof url, "/echo");
    assert_int_equal(http_perform(c->client, &req, &r), HTTP_OK);
    json_t *doc = json_loads(r.body, 0, NULL);
    json_t *h = json_object_get(doc, "headers");
    assert_string_equal(json_string_value(json_object_get(h, "collection-synchronization")), extra[0].value);
    assert_non_null(strstr(json_string_value(json_object_get(h, "signature")),
                           "headers=\"host date content-type collection-synchronization digest (request-target)\""));
    json_decref(doc);
    http_response_free(&r);
    sig_key_free(k);
}

static void test_signed_with_ar_encrypted_key(void **state)
{
    ctx *c = *state;
    char err[NET_ERRLEN];
    arenc_keys *keys = arenc_keys_new("pk", "salt", err, sizeof err);
    sig_key *k = fixture_key(c, keys, true);
    signed_request(c, "POST", "/signed/inbox", k, 202);
    sig_key_free(k);
    arenc_keys_free(keys);
}

static void test_wrong_key_rejected(void **state)
{
    ctx *c = *state;
    char *pem = nt_run("openssl genrsa 2048 2>/dev/null");
    char err[NET_ERRLEN];
    sig_key *k = sig_key_from_pem(pem, strlen(pem), err, sizeof err);
    signed_request(c, "POST", "/signed/inbox", k, 401);
    sig_key_free(k);
    free(pem);
}

int main(int argc, char **argv)
{
    const char *group = argc > 1 ? argv[1] : "basic";
    const struct CMUnitTest basic[] = {
        cmocka_unit_test(test_get_ok),
        cmocka_unit_test(test_default_headers),
        cmocka_unit_test(test_content_disposition),
        cmocka_unit_test(test_activitypub_types),
        cmocka_unit_test(test_status_errors),
        cmocka_unit_test(test_gzip_inflated),
        cmocka_unit_test(test_post_and_see_other),
    };
    const struct CMUnitTest limits[] = {
        cmocka_unit_test(test_stalls_time_out),
        cmocka_unit_test(test_endless_body_capped),
        cmocka_unit_test(test_content_length_over_cap_refused_before_reading),
        cmocka_unit_test(test_lying_content_length),
        cmocka_unit_test(test_gzip_bomb),
        cmocka_unit_test(test_body_to_file),
    };
    const struct CMUnitTest redirects[] = {
        cmocka_unit_test(test_redirect_chain),
        cmocka_unit_test(test_redirects_to_blocked_addresses),
    };
    const struct CMUnitTest ssrf[] = {
        cmocka_unit_test(test_every_blocked_form_refused_without_allowlist),
        cmocka_unit_test(test_allowlist_exempts_only_what_it_names),
        cmocka_unit_test(test_proxy_honoured),
        cmocka_unit_test(test_hidden_services),
    };
    const struct CMUnitTest tls[] = {
        cmocka_unit_test(test_tls_with_test_ca),
        cmocka_unit_test(test_tls_failures),
    };
    const struct CMUnitTest reuse[] = {
        cmocka_unit_test(test_burst_reuses_connections),
    };
    const struct CMUnitTest sign[] = {
        cmocka_unit_test(test_signed_requests_verified_by_openssl),
        cmocka_unit_test(test_signed_extra_header_in_mastodon_order),
        cmocka_unit_test(test_signed_with_ar_encrypted_key),
        cmocka_unit_test(test_wrong_key_rejected),
    };
    if (strcmp(group, "basic") == 0)
        return cmocka_run_group_tests_name("basic", basic, setup, teardown);
    if (strcmp(group, "limits") == 0)
        return cmocka_run_group_tests_name("limits", limits, setup, teardown);
    if (strcmp(group, "redirects") == 0)
        return cmocka_run_group_tests_name("redirects", redirects, setup, teardown);
    if (strcmp(group, "ssrf") == 0)
        return cmocka_run_group_tests_name("ssrf", ssrf, setup, teardown);
    if (strcmp(group, "tls") == 0)
        return cmocka_run_group_tests_name("tls", tls, setup, teardown);
    if (strcmp(group, "reuse") == 0)
        return cmocka_run_group_tests_name("reuse", reuse, setup, teardown);
    if (strcmp(group, "signed") == 0)
        return cmocka_run_group_tests_name("signed", sign, setup, teardown);
    fprintf(stderr, "unknown group %s (basic limits redirects ssrf tls reuse signed)\n", group);
    return 2;
}
