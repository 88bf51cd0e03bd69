/* test_acct_name.c -- domains of remote accounts (worker/accounts/acct_name.c):
 * TagManager#normalize_domain with IDNA, and PublicSuffix.domain(domain,
 * ignore_private: true) as the key of Mastodon's subdomain rate limit. */
#include "acct_parse.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

static void expect_registrable(const char *domain, const char *want)
{
    char out[256];
    bool ok = acct_registrable_domain(domain, out, sizeof out);
    if (!want) {
        assert_false(ok);
        assert_string_equal(out, "");
        return;
    }
    assert_true(ok);
    assert_string_equal(out, want);
}

static void test_icann_suffixes(void **state)
{
    (void)state;
    expect_registrable("mastodon.social", "mastodon.social");
    expect_registrable("a.b.example.co.uk", "example.co.uk");
    expect_registrable("users.example.com", "example.com");
    /* the "*" rule: an unlisted last label is a suffix (numeric hosts too) */
    expect_registrable("x.y.unlisted-tld", "y.unlisted-tld");
    expect_registrable("127.3.0.2", "0.2");
}

static void test_private_section_ignored(void **state)
{
    (void)state;
    /* github.io is in the list's private section, which Mastodon ignores */
    expect_registrable("alice.github.io", "github.io");
}

static void test_suffixes_and_overflow_have_none(void **state)
{
    (void)state;
    expect_registrable("co.uk", NULL);
    expect_registrable("com", NULL);
    char small[4] = "x";
    assert_false(acct_registrable_domain("example.com", small, sizeof small));
    assert_string_equal(small, "");
}

static void expect_normalized(const char *domain, const char *want)
{
    char *got = acct_normalize_domain(domain);
    if (!want)
        assert_null(got);
    else
        assert_string_equal(got, want);
    free(got);
}

static void test_normalize_domain(void **state)
{
    (void)state;
    expect_normalized(" Mastodon.Social/ ", "mastodon.social");
    /* Addressable's normalized_host: ToASCII, case and width folded */
    expect_normalized("B\xc3\xbc" "cher.Example", "xn--bcher-kva.example");
    expect_normalized("\xef\xbc\xa1.example", "a.example");    /* fullwidth A */
    expect_normalized("stra\xc3\x9f" "e.example", "strasse.example"); /* transitional sharp s */
    expect_normalized("bad host.example", NULL);
    expect_normalized("\xff\xfe.example", NULL);              /* not UTF-8 */
    expect_normalized("", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_domain),
        cmocka_unit_test(test_icann_suffixes),
        cmocka_unit_test(test_private_section_ignored),
        cmocka_unit_test(test_suffixes_and_overflow_have_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
