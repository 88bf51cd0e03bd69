/* test_acct_hostmeta.c -- WebFinger's host-meta fallback (worker/accounts/acct_hostmeta.c):
 * the lrdd template of the root's default namespace, "{uri}" replaced; documents Mastodon
 * gives up on, a DTD, and a template that would grow past ACCT_HOSTMETA_URL_MAX refused. */
#include "acct_parse.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define XRD "<XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">"
#define RES "acct:ana@example.com"

static int hostmeta(const char *doc, char **url, char *err, size_t errlen)
{
    return acct_hostmeta_url(doc, strlen(doc), RES, url, err, errlen);
}

static void test_lrdd_template(void **state)
{
    (void)state;
    char err[256], *url = NULL;
    assert_int_equal(hostmeta("<?xml version=\"1.0\"?>" XRD "<Link rel=\"author\" template=\"https://x/a?{uri}\"/>"
                              "<Link rel=\"lrdd\" template=\"https://x/wf?resource={uri}&amp;also={uri}\"/></XRD>",
                              &url, err, sizeof err), 0);
    assert_string_equal(url, "https://x/wf?resource=" RES "&also=" RES);
    free(url);
}

static void test_given_up(void **state)
{
    (void)state;
    char err[256], *url = NULL;
    assert_int_equal(hostmeta(XRD "<Link rel=\"author\"/></XRD>", &url, err, sizeof err), 1);
    assert_non_null(strstr(err, "without link to Webfinger"));
    assert_int_equal(hostmeta("<XRD><Link rel=\"lrdd\" template=\"https://x/{uri}\"/></XRD>", &url, err, sizeof err), 1);
    assert_non_null(strstr(err, "no default namespace"));
    assert_int_equal(hostmeta(XRD "<Link rel=\"lrdd\"/></XRD>", &url, err, sizeof err), 1);
    assert_non_null(strstr(err, "without a template"));
    assert_int_equal(hostmeta("not xml at all", &url, err, sizeof err), 1);
    assert_int_equal(hostmeta("<!DOCTYPE XRD [<!ENTITY a \"aaaa\">]>" XRD "<Link rel=\"lrdd\" template=\"&a;\"/></XRD>",
                              &url, err, sizeof err), 1);
    assert_non_null(strstr(err, "without DTD"));
    assert_null(url);
}

static void test_template_that_grows_too_long(void **state)
{
    (void)state;
    char doc[4096], err[256], *url = NULL;
    size_t off = (size_t)snprintf(doc, sizeof doc, XRD "<Link rel=\"lrdd\" template=\"https://x/");
    for (int i = 0; i < 600; i++) /* 600 x 20 bytes of resource */
        off += (size_t)snprintf(doc + off, sizeof doc - off, "{uri}");
    snprintf(doc + off, sizeof doc - off, "\"/></XRD>");
    assert_int_equal(hostmeta(doc, &url, err, sizeof err), 1);
    assert_non_null(strstr(err, "longer than 8192"));
    assert_null(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lrdd_template),
        cmocka_unit_test(test_given_up),
        cmocka_unit_test(test_template_that_grows_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
