/* test_config_redis.c -- the Redis variables' precedence (worker/config_redis.c), one
 * row per case of Mastodon's lib/mastodon/redis_configuration.rb and its spec: the
 * environment of each row is set alone, then the endpoint read is compared. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_redis.h"

/* Every variable config_redis_env may read, cleared before each row. */
static const char *const all_vars[] = {
    "URL", "HOST", "PORT", "DB", "USER", "PASSWORD", "SENTINELS", "SENTINEL_MASTER",
    "SENTINEL_PORT", "SENTINEL_USERNAME", "SENTINEL_PASSWORD",
};

typedef struct row {
    const char *name;
    const char *prefix;      /* "" (REDIS_) or "SIDEKIQ_" */
    const char *env[12];     /* "NAME=value" */
    const char *endpoint;    /* host:port/db, or master@sentinel,sentinel/db */
    const char *username, *password;
    const char *sentinel_username, *sentinel_password;
    int base;                /* 1: from the REDIS_ variables */
    const char *from;        /* a part of the "from" note; NULL: not checked */
    const char *error;       /* a part of the error; NULL: must succeed */
} row;

static const row rows[] = {
    /* REDIS_ (Mastodon's base): defaults, URL, parts. */
    {"base defaults", "", {NULL}, "localhost:6379/0", "", "", "", "", 1, "defaults", NULL},
    {"base url", "", {"REDIS_URL=redis://u:p%40ss@example.com:7000/2"}, "example.com:7000/2", "u", "p@ss",
     "", "", 1, "REDIS_URL", NULL},
    {"base url ignores the credential variables", "",
     {"REDIS_URL=redis://example.com/1", "REDIS_PASSWORD=x", "REDIS_USER=y"}, "example.com:6379/1", "", "",
     "", "", 1, "REDIS_USER, REDIS_PASSWORD ignored", NULL},
    {"base empty url is unset", "", {"REDIS_URL=", "REDIS_HOST=h"}, "h:6379/0", "", "", "", "", 1,
     "REDIS_HOST", NULL},
    {"base parts", "",
     {"REDIS_PASSWORD=testpass", "REDIS_HOST=redis.example.com", "REDIS_PORT=3333", "REDIS_DB=3"},
     "redis.example.com:3333/3", "", "testpass", "", "", 1, "REDIS_HOST, REDIS_PORT, REDIS_DB, REDIS_PASSWORD",
     NULL},
    {"base port without host", "", {"REDIS_PORT=7001"}, "localhost:7001/0", "", "", "", "", 1, NULL, NULL},
    {"base acl user", "", {"REDIS_HOST=h", "REDIS_USER=scotty", "REDIS_PASSWORD=s3cret"}, "h:6379/0",
     "scotty", "s3cret", "", "", 1, NULL, NULL},
    /* redis://user@host reads as a password in redis-client. */
    {"base user without password", "", {"REDIS_USER=lonely"}, "localhost:6379/0", "", "lonely", "", "", 1,
     NULL, NULL},
    {"base url beats sentinels", "",
     {"REDIS_URL=redis://r:6390/0", "REDIS_SENTINELS=s1", "REDIS_SENTINEL_MASTER=m"}, "r:6390/0", "", "", "",
     "", 1, NULL, NULL},
    /* Sentinel. */
    {"base sentinels", "",
     {"REDIS_PASSWORD=testpass1", "REDIS_HOST=redis2.example.com",
      "REDIS_SENTINELS=192.168.0.1:3000,192.168.0.2:4000", "REDIS_SENTINEL_MASTER=mainsentinel"},
     "mainsentinel@192.168.0.1:3000,192.168.0.2:4000/0", "", "testpass1", "", "testpass1", 1,
     "REDIS_HOST ignored", NULL},
    {"base sentinels' own credentials", "",
     {"REDIS_USER=app", "REDIS_PASSWORD=testpass1", "REDIS_SENTINELS=192.168.0.1:3000",
      "REDIS_SENTINEL_MASTER=mainsentinel", "REDIS_SENTINEL_USERNAME=sentinel_user",
      "REDIS_SENTINEL_PASSWORD=sentinel_pass1"},
     "mainsentinel@192.168.0.1:3000/0", "app", "testpass1", "sentinel_user", "sentinel_pass1", 1, NULL, NULL},
    {"base sentinels take the user by default", "",
     {"REDIS_USER=app", "REDIS_PASSWORD=pw", "REDIS_SENTINELS=s", "REDIS_SENTINEL_MASTER=m"}, "m@s:26379/0",
     "app", "pw", "app", "pw", 1, NULL, NULL},
    {"base sentinel password set empty is none", "",
     {"REDIS_PASSWORD=pw", "REDIS_SENTINELS=s", "REDIS_SENTINEL_MASTER=m", "REDIS_SENTINEL_PASSWORD="},
     "m@s:26379/0", "", "pw", "", "", 1, NULL, NULL},
    {"base sentinels without ports", "",
     {"REDIS_SENTINELS=192.168.0.1,192.168.0.2", "REDIS_SENTINEL_MASTER=mainsentinel"},
     "mainsentinel@192.168.0.1:26379,192.168.0.2:26379/0", "", "", "", "", 1, NULL, NULL},
    {"base sentinels, some with ports", "",
     {"REDIS_SENTINELS=192.168.0.1:5678,192.168.0.2", "REDIS_SENTINEL_MASTER=mainsentinel"},
     "mainsentinel@192.168.0.1:5678,192.168.0.2:26379/0", "", "", "", "", 1, NULL, NULL},
    {"base sentinel port", "",
     {"REDIS_SENTINEL_PORT=1234", "REDIS_SENTINELS=192.168.0.1,192.168.0.2", "REDIS_SENTINEL_MASTER=m"},
     "m@192.168.0.1:1234,192.168.0.2:1234/0", "", "", "", "", 1, "REDIS_SENTINEL_PORT", NULL},
    {"base sentinels with blanks and IPv6", "",
     {"REDIS_SENTINELS= a:1 , [::1]:26380,[fe80::2],", "REDIS_SENTINEL_MASTER=m", "REDIS_DB=4"},
     "m@a:1,::1:26380,fe80::2:26379/4", "", "", "", "", 1, NULL, NULL},
    {"base sentinels need a master name", "", {"REDIS_SENTINELS=s1,s2", "REDIS_HOST=h"}, "h:6379/0", "", "",
     "", "", 1, "REDIS_SENTINELS ignored", NULL},
    {"base master name needs sentinels", "", {"REDIS_SENTINEL_MASTER=m"}, "localhost:6379/0", "", "", "", "",
     1, "REDIS_SENTINEL_MASTER ignored", NULL},
    /* SIDEKIQ_REDIS_: its own, else the base as a whole. */
    {"sidekiq defaults", "SIDEKIQ_", {NULL}, "localhost:6379/0", "", "", "", "", 1, "defaults", NULL},
    {"sidekiq falls back to the base url", "SIDEKIQ_", {"REDIS_URL=redis://b:1/5"}, "b:1/5", "", "", "", "",
     1, "REDIS_URL", NULL},
    {"sidekiq falls back to the base sentinels", "SIDEKIQ_",
     {"REDIS_SENTINELS=192.168.0.1:3000,192.168.0.2:4000", "REDIS_SENTINEL_MASTER=mainsentinel"},
     "mainsentinel@192.168.0.1:3000,192.168.0.2:4000/0", "", "", "", "", 1, NULL, NULL},
    {"sidekiq url", "SIDEKIQ_", {"SIDEKIQ_REDIS_URL=redis://other.example.com/4", "REDIS_URL=redis://b/1"},
     "other.example.com:6379/4", "", "", "", "", 0, "SIDEKIQ_REDIS_URL", NULL},
    {"sidekiq parts", "SIDEKIQ_",
     {"SIDEKIQ_REDIS_PASSWORD=testpass1", "SIDEKIQ_REDIS_HOST=redis2.example.com", "SIDEKIQ_REDIS_PORT=3322",
      "SIDEKIQ_REDIS_DB=8"},
     "redis2.example.com:3322/8", "", "testpass1", "", "", 0, NULL, NULL},
    /* No field by field fallback: a SIDEKIQ_REDIS_HOST takes none of the REDIS_ parts. */
    {"sidekiq host takes no base parts", "SIDEKIQ_",
     {"SIDEKIQ_REDIS_HOST=sk", "REDIS_PORT=7000", "REDIS_DB=3", "REDIS_PASSWORD=basepw", "REDIS_USER=bu"},
     "sk:6379/0", "", "", "", "", 0, "SIDEKIQ_REDIS_HOST", NULL},
    {"sidekiq parts without a host are ignored", "SIDEKIQ_",
     {"SIDEKIQ_REDIS_PASSWORD=skpw", "SIDEKIQ_REDIS_PORT=7001", "REDIS_HOST=basehost", "REDIS_PASSWORD=bpw"},
     "basehost:6379/0", "", "bpw", "", "", 1, "SIDEKIQ_REDIS_PORT, SIDEKIQ_REDIS_PASSWORD ignored", NULL},
    {"sidekiq sentinels", "SIDEKIQ_",
     {"SIDEKIQ_REDIS_PASSWORD=testpass1", "SIDEKIQ_REDIS_HOST=redis2.example.com",
      "SIDEKIQ_REDIS_SENTINELS=192.168.0.1:3000,192.168.0.2:4000",
      "SIDEKIQ_REDIS_SENTINEL_MASTER=mainsentinel", "REDIS_DB=5"},
     "mainsentinel@192.168.0.1:3000,192.168.0.2:4000/0", "", "testpass1", "", "testpass1", 0, NULL, NULL},
    {"sidekiq sentinels' credentials", "SIDEKIQ_",
     {"SIDEKIQ_REDIS_SENTINELS=s", "SIDEKIQ_REDIS_SENTINEL_MASTER=m", "SIDEKIQ_REDIS_SENTINEL_PORT=1",
      "SIDEKIQ_REDIS_SENTINEL_USERNAME=su", "SIDEKIQ_REDIS_SENTINEL_PASSWORD=sp", "SIDEKIQ_REDIS_DB=2",
      "REDIS_SENTINEL_PASSWORD=other"},
     "m@s:1/2", "", "", "su", "sp", 0, NULL, NULL},
    {"sidekiq half sentinels fall back", "SIDEKIQ_", {"SIDEKIQ_REDIS_SENTINELS=s", "REDIS_HOST=b"},
     "b:6379/0", "", "", "", "", 1, "SIDEKIQ_REDIS_SENTINELS ignored", NULL},
    /* Settings that cannot work. */
    {"bad port", "", {"REDIS_HOST=h", "REDIS_PORT=63a79"}, NULL, NULL, NULL, NULL, NULL, 0, NULL,
     "REDIS_PORT: '63a79' is not a number from 1 to 65535"},
    {"bad sidekiq db", "SIDEKIQ_", {"SIDEKIQ_REDIS_HOST=h", "SIDEKIQ_REDIS_DB=-1"}, NULL, NULL, NULL, NULL,
     NULL, 0, NULL, "SIDEKIQ_REDIS_DB: '-1' is not a number"},
    {"bad url", "", {"REDIS_URL=http://h"}, NULL, NULL, NULL, NULL, NULL, 0, NULL,
     "REDIS_URL: Redis URL 'http://h' must start with"},
    {"bad base url under sidekiq", "SIDEKIQ_", {"REDIS_URL=redis://h:0"}, NULL, NULL, NULL, NULL, NULL, 0,
     NULL, "REDIS_URL: "},
    {"sentinel v6 without brackets", "", {"REDIS_SENTINELS=::1:26379", "REDIS_SENTINEL_MASTER=m"}, NULL, NULL,
     NULL, NULL, NULL, 0, NULL, "REDIS_SENTINELS: '::1:26379' has more than one ':'"},
    {"sentinel bad port", "", {"REDIS_SENTINELS=a:1,b:99999", "REDIS_SENTINEL_MASTER=m"}, NULL, NULL, NULL,
     NULL, NULL, 0, NULL, "REDIS_SENTINELS: '99999' is not a number"},
    {"sentinel port variable", "", {"REDIS_SENTINELS=a", "REDIS_SENTINEL_MASTER=m", "REDIS_SENTINEL_PORT=x"},
     NULL, NULL, NULL, NULL, NULL, 0, NULL, "REDIS_SENTINEL_PORT: 'x'"},
    {"sentinel list of commas", "", {"REDIS_SENTINELS=,,", "REDIS_SENTINEL_MASTER=m"}, NULL, NULL, NULL, NULL,
     NULL, 0, NULL, "REDIS_SENTINELS names no sentinel"},
    {"too many sentinels", "", {"REDIS_SENTINELS=a,b,c,d,e,f,g,h,i", "REDIS_SENTINEL_MASTER=m"}, NULL, NULL,
     NULL, NULL, NULL, 0, NULL, "REDIS_SENTINELS: more than 8 sentinels"},
};

static void clear_env(void)
{
    const char *prefixes[] = {"", "SIDEKIQ_"};
    for (size_t p = 0; p < 2; p++)
        for (size_t i = 0; i < sizeof all_vars / sizeof all_vars[0]; i++) {
            char name[64];
            snprintf(name, sizeof name, "%sREDIS_%s", prefixes[p], all_vars[i]);
            unsetenv(name);
        }
    unsetenv("REDIS_TLS_CA_FILE");
}

static void set_env(const char *const *env)
{
    for (size_t i = 0; i < 12 && env[i]; i++) {
        char name[64];
        const char *eq = strchr(env[i], '=');
        snprintf(name, sizeof name, "%.*s", (int)(eq - env[i]), env[i]);
        setenv(name, eq + 1, 1);
    }
}

/* host:port/db, or master@sentinel,.../db */
static void endpoint(const q_redis_opts *o, char *buf, size_t len)
{
    if (o->nsentinels == 0) {
        snprintf(buf, len, "%s:%d/%d", o->host, o->port, o->db);
        return;
    }
    int n = snprintf(buf, len, "%s@", o->sentinel_master);
    for (int i = 0; i < o->nsentinels; i++)
        n += snprintf(buf + n, len - (size_t)n, "%s%s:%d", i ? "," : "", o->sentinels[i].host,
                      o->sentinels[i].port);
    snprintf(buf + n, len - (size_t)n, "/%d", o->db);
}

static void check_row(const row *r)
{
    clear_env();
    set_env(r->env);
    config_redis out;
    char err[512] = "";
    int rc = config_redis_env(r->prefix, &out, err, sizeof err);
    if (r->error) {
        if (rc != -1 || !strstr(err, r->error))
            fail_msg("%s: wanted the error '%s', got rc %d '%s'", r->name, r->error, rc, err);
        return;
    }
    if (rc != 0)
        fail_msg("%s: %s", r->name, err);
    char got[2048];
    endpoint(&out.opts, got, sizeof got);
    if (strcmp(got, r->endpoint) != 0)
        fail_msg("%s: endpoint %s, wanted %s", r->name, got, r->endpoint);
    const char *fields[][3] = {
        {"username", out.opts.username, r->username},
        {"password", out.opts.password, r->password},
        {"sentinel_username", out.opts.sentinel_username, r->sentinel_username},
        {"sentinel_password", out.opts.sentinel_password, r->sentinel_password},
    };
    for (size_t i = 0; i < 4; i++)
        if (strcmp(fields[i][1], fields[i][2]) != 0)
            fail_msg("%s: %s '%s', wanted '%s'", r->name, fields[i][0], fields[i][1], fields[i][2]);
    if (out.base != (r->base == 1))
        fail_msg("%s: base %d, wanted %d", r->name, out.base, r->base);
    if (r->from && !strstr(out.from, r->from))
        fail_msg("%s: from '%s' lacks '%s'", r->name, out.from, r->from);
}

static void test_precedence_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        check_row(&rows[i]);
}

static void test_tls_from_url_and_ca_variable(void **state)
{
    (void)state;
    clear_env();
    setenv("REDIS_URL", "rediss://default:pw@managed.example:25061", 1);
    setenv("REDIS_TLS_CA_FILE", "/etc/scotty/ca.pem", 1);
    config_redis out;
    char err[512];
    assert_int_equal(config_redis_env("SIDEKIQ_", &out, err, sizeof err), 0);
    assert_true(out.opts.tls);
    assert_true(out.opts.tls_verify);
    assert_string_equal(out.opts.tls_ca_file, "/etc/scotty/ca.pem");
    assert_string_equal(out.opts.username, "default");
    assert_int_equal(out.opts.port, 25061);
    clear_env();
}

/* With sentinels, the first one stands in for host/port until one names the master. */
static void test_sentinel_stand_in(void **state)
{
    (void)state;
    clear_env();
    setenv("REDIS_SENTINELS", "s1:26400,s2", 1);
    setenv("REDIS_SENTINEL_MASTER", "mymaster", 1);
    config_redis out;
    char err[512];
    assert_int_equal(config_redis_env("", &out, err, sizeof err), 0);
    assert_string_equal(out.opts.host, "s1");
    assert_int_equal(out.opts.port, 26400);
    assert_false(out.opts.tls);
    clear_env();
}

static void test_same_server(void **state)
{
    (void)state;
    clear_env();
    config_redis a, b;
    char err[512];
    setenv("SIDEKIQ_REDIS_URL", "redis://127.0.0.1:6390/0", 1);
    setenv("REDIS_HOST", "127.0.0.1", 1);
    setenv("REDIS_PORT", "6390", 1);
    assert_int_equal(config_redis_env("SIDEKIQ_", &a, err, sizeof err), 0);
    assert_int_equal(config_redis_env("", &b, err, sizeof err), 0);
    assert_false(a.base);
    assert_true(config_redis_same(&a.opts, &b.opts));
    setenv("REDIS_DB", "1", 1);
    assert_int_equal(config_redis_env("", &b, err, sizeof err), 0);
    assert_false(config_redis_same(&a.opts, &b.opts));
    setenv("REDIS_SENTINELS", "127.0.0.1:6390", 1);
    setenv("REDIS_SENTINEL_MASTER", "m", 1);
    unsetenv("REDIS_DB");
    assert_int_equal(config_redis_env("", &b, err, sizeof err), 0);
    assert_false(config_redis_same(&a.opts, &b.opts));
    assert_true(config_redis_same(&b.opts, &b.opts));
    clear_env();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence_table),
        cmocka_unit_test(test_tls_from_url_and_ca_variable),
        cmocka_unit_test(test_sentinel_stand_in),
        cmocka_unit_test(test_same_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
