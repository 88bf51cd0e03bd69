/* test_ssrf.c -- the address classifier and ALLOWED_PRIVATE_ADDRESSES, range by
 * range: first, last and a middle address of every blocked range are refused, the
 * neighbours just outside are allowed, mapped/compatible IPv6 forms are unwrapped,
 * and exemptions apply only to what they name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "net.h"

typedef struct {
    const char *first, *middle, *last, *before, *after;  /* before/after: public neighbours or NULL */
} range_case;

static const range_case v4_cases[] = {
    {"0.0.0.0", "0.1.2.3", "0.255.255.255", NULL, "1.0.0.0"},
    {"10.0.0.0", "10.20.30.40", "10.255.255.255", "9.255.255.255", "11.0.0.0"},
    {"100.64.0.0", "100.100.1.1", "100.127.255.255", "100.63.255.255", "100.128.0.0"},
    {"127.0.0.0", "127.0.0.1", "127.255.255.255", "126.255.255.255", "128.0.0.0"},
    {"169.254.0.0", "169.254.169.254", "169.254.255.255", "169.253.255.255", "169.255.0.0"},
    {"172.16.0.0", "172.20.1.1", "172.31.255.255", "172.15.255.255", "172.32.0.0"},
    {"192.0.0.0", "192.0.0.8", "192.0.0.255", "191.255.255.255", "192.0.1.0"},
    {"192.0.2.0", "192.0.2.77", "192.0.2.255", "192.0.1.255", "192.0.3.0"},
    {"192.88.99.0", "192.88.99.1", "192.88.99.255", "192.88.98.255", "192.88.100.0"},
    {"192.168.0.0", "192.168.1.1", "192.168.255.255", "192.167.255.255", "192.169.0.0"},
    {"198.18.0.0", "198.19.0.1", "198.19.255.255", "198.17.255.255", "198.20.0.0"},
    {"198.51.100.0", "198.51.100.9", "198.51.100.255", "198.51.99.255", "198.51.101.0"},
    {"203.0.113.0", "203.0.113.50", "203.0.113.255", "203.0.112.255", "203.0.114.0"},
    {"224.0.0.0", "239.1.2.3", "239.255.255.255", "223.255.255.255", NULL},
    {"240.0.0.0", "250.1.1.1", "255.255.255.254", NULL, NULL},
    {"255.255.255.255", "255.255.255.255", "255.255.255.255", NULL, NULL},
};

static const range_case v6_cases[] = {
    {"::", "::", "::", NULL, NULL},
    {"::1", "::1", "::1", NULL, NULL},
    {"64:ff9b::", "64:ff9b::8.8.8.8", "64:ff9b::ffff:ffff", "64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", "64:ff9b:0:0:0:1::"},
    {"64:ff9b:1::", "64:ff9b:1:2::3", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", NULL, "64:ff9b:2::"},
    {"100::", "100::1:2", "100::ffff:ffff:ffff:ffff", "ff::ffff", "100:0:0:1::"},
    {"2001::", "2001:0:1::1", "2001:0:ffff:ffff:ffff:ffff:ffff:ffff", "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:1::"},
    {"2001:10::", "2001:12::1", "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", "2001:f:ffff:ffff:ffff:ffff:ffff:ffff", NULL},
    {"2001:20::", "2001:22::1", "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", NULL, "2001:30::"},
    {"2001:db8::", "2001:db8:1::1", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::"},
    {"2002::", "2002:c000:0201::1", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2003::"},
    {"3fff::", "3fff:1::1", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "3fff:1000::"},
    {"fc00::", "fd12:3456::1", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL},
    {"fe80::", "fe80::1", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL, "fec0::"},
    {"ff00::", "ff02::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL},
};

/* Fills ss from text: IPv4 or IPv6. */
static const struct sockaddr *addr(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
    } else {
        assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
        in6->sin6_family = AF_INET6;
    }
    return (const struct sockaddr *)ss;
}

static void expect_blocked(const char *text)
{
    struct sockaddr_storage ss;
    const char *why = ssrf_classify(addr(text, &ss));
    if (!why)
        fail_msg("%s should be blocked", text);
    char msg[NET_ERRLEN];
    assert_false(ssrf_guard_allows(NULL, addr(text, &ss), msg, sizeof msg));
    assert_non_null(strstr(msg, "ALLOWED_PRIVATE_ADDRESSES"));
}

static void expect_public(const char *text)
{
    struct sockaddr_storage ss;
    const char *why = ssrf_classify(addr(text, &ss));
    if (why)
        fail_msg("%s should be public but is %s", text, why);
}

static void run_cases(const range_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        expect_blocked(cases[i].first);
        expect_blocked(cases[i].middle);
        expect_blocked(cases[i].last);
        if (cases[i].before)
            expect_public(cases[i].before);
        if (cases[i].after)
            expect_public(cases[i].after);
    }
}

static void test_ipv4_ranges(void **state)
{
    run_cases(v4_cases, sizeof v4_cases / sizeof v4_cases[0]);
    expect_public("8.8.8.8");
    expect_public("1.1.1.1");
    expect_public("93.184.216.34");
}

static void test_ipv6_ranges(void **state)
{
    run_cases(v6_cases, sizeof v6_cases / sizeof v6_cases[0]);
    expect_public("2606:4700:4700::1111");
    expect_public("2a00:1450:4001:82b::200e");
}

static void test_ipv6_compatible_v4_unwrapped(void **state)
{
    (void)state;
    /* "::2" is the compatible form of 0.0.0.2, which is in 0.0.0.0/8 */
    struct sockaddr_storage ss;
    assert_non_null(ssrf_classify(addr("::2", &ss)));
}

static void test_mapped_and_compatible(void **state)
{
    static const char *blocked_v4[] = {"127.0.0.1", "10.1.2.3", "169.254.169.254", "192.168.0.1",
                                       "172.16.5.4", "100.64.0.1", "0.0.0.0", "224.0.0.1"};
    for (size_t i = 0; i < sizeof blocked_v4 / sizeof blocked_v4[0]; i++) {
        char mapped[64], compat[64];
        snprintf(mapped, sizeof mapped, "::ffff:%s", blocked_v4[i]);
        snprintf(compat, sizeof compat, "::%s", blocked_v4[i]);
        expect_blocked(mapped);
        expect_blocked(compat);
    }
    expect_public("::ffff:8.8.8.8");
    expect_public("::8.8.8.8");
}

static void test_allowed_private_addresses(void **state)
{
    char err[NET_ERRLEN], why[NET_ERRLEN];
    ssrf_guard *g = ssrf_guard_new(" 127.0.0.1, 10.0.0.0/8  fd00::/8,192.168.1.5", err, sizeof err);
    assert_non_null(g);
    struct sockaddr_storage ss;
    assert_true(ssrf_guard_allows(g, addr("127.0.0.1", &ss), why, sizeof why));
    assert_true(ssrf_guard_allows(g, addr("::ffff:127.0.0.1", &ss), why, sizeof why));
    assert_false(ssrf_guard_allows(g, addr("127.0.0.2", &ss), why, sizeof why));
    assert_non_null(strstr(why, "127.0.0.2"));
    assert_non_null(strstr(why, "loopback"));
    assert_false(ssrf_guard_allows(g, addr("::1", &ss), why, sizeof why));
    assert_true(ssrf_guard_allows(g, addr("10.255.0.1", &ss), why, sizeof why));
    assert_true(ssrf_guard_allows(g, addr("fd00::1", &ss), why, sizeof why));
    assert_false(ssrf_guard_allows(g, addr("fc00::1", &ss), why, sizeof why));
    assert_true(ssrf_guard_allows(g, addr("192.168.1.5", &ss), why, sizeof why));
    assert_false(ssrf_guard_allows(g, addr("192.168.1.6", &ss), why, sizeof why));
    assert_true(ssrf_guard_allows(g, addr("8.8.8.8", &ss), why, sizeof why));
    ssrf_guard_free(g);

    assert_null(ssrf_guard_new("127.0.0.1, not-an-ip", err, sizeof err));
    assert_non_null(strstr(err, "not-an-ip"));
    assert_null(ssrf_guard_new("10.0.0.0/33", err, sizeof err));
    g = ssrf_guard_new("", err, sizeof err);
    assert_non_null(g);
    assert_false(ssrf_guard_allows(g, addr("127.0.0.1", &ss), why, sizeof why));
    ssrf_guard_free(g);
}

static void test_hidden_services(void **state)
{
    assert_true(ssrf_is_hidden_service("abcdef.onion"));
    assert_true(ssrf_is_hidden_service("x.y.ONION."));
    assert_true(ssrf_is_hidden_service("site.i2p"));
    assert_false(ssrf_is_hidden_service("onion.example"));
    assert_false(ssrf_is_hidden_service("example.com"));
    assert_false(ssrf_is_hidden_service("fakeonion"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_ranges),
        cmocka_unit_test(test_ipv6_ranges),
        cmocka_unit_test(test_ipv6_compatible_v4_unwrapped),
        cmocka_unit_test(test_mapped_and_compatible),
        cmocka_unit_test(test_allowed_private_addresses),
        cmocka_unit_test(test_hidden_services),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
