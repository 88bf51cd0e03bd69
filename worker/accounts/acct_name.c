/* acct_name.c -- handles, usernames and domains as Mastodon compares and stores them:
 * Account::USERNAME_ONLY_RE, TagManager#normalize_domain (IDNA for non-ASCII names), the host of an
 * actor URI (Addressable's normalized_host), split_acct and PublicSuffix.domain. */
#include "acct_parse.h"

#include <ctype.h>
#include <idn2.h>
#include <libpsl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool acct_word(unsigned char c)
{
    return isalnum(c) || c == '_';
}

bool acct_username_valid(const char *u)
{
    if (!u || !acct_word((unsigned char)*u))
        return false;
    const unsigned char *p = (const unsigned char *)u;
    while (*p) {
        while (acct_word(*p))
            p++;
        if (!*p)
            return true;
        if (*p != '.' && *p != '-')
            return false;
        while (*p == '.' || *p == '-')
            p++;
        if (!acct_word(*p))
            return false;
    }
    return true;
}

static bool acct_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

char *acct_normalize_domain(const char *d)
{
    if (!d)
        return NULL;
    while (isspace((unsigned char)*d))
        d++;
    size_t n = strlen(d);
    while (n && isspace((unsigned char)d[n - 1]))
        n--;
    if (n && d[n - 1] == '/')
        n--;
    if (n == 0 || n > 253)
        return NULL;
    char *out = strndup(d, n);
    if (!out)
        return NULL;
    if (!acct_ascii(out)) {
        /* Addressable's normalized_host: IDNA's ToASCII of every label, with the
         * mapping that folds case and width (UTS #46, transitional, as IDNA2003) */
        char *ace = NULL;
        int rc = idn2_to_ascii_8z(out, &ace, IDN2_NFC_INPUT | IDN2_TRANSITIONAL);
        free(out);
        if (rc != IDN2_OK)
            return NULL;
        out = strlen(ace) <= 253 ? strdup(ace) : NULL;
        idn2_free(ace);
        if (!out || !*out) {
            free(out);
            return NULL;
        }
        n = strlen(out);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        if (!(isalnum(c) || c == '-' || c == '.' || c == '_')) {
            free(out);
            return NULL;
        }
        out[i] = (char)tolower(c);
    }
    return out;
}

char *acct_uri_host(const char *uri)
{
    if (!uri)
        return NULL;
    const char *p;
    if (strncmp(uri, "https://", 8) == 0)
        p = uri + 8;
    else if (strncmp(uri, "http://", 7) == 0)
        p = uri + 7;
    else
        return NULL;
    size_t auth = strcspn(p, "/?#");
    const char *at = memchr(p, '@', auth);
    if (at) {
        auth -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    size_t n = auth;
    if (p[0] == '[') {
        const char *close = memchr(p, ']', auth);
        if (!close)
            return NULL;
        n = (size_t)(close + 1 - p);
    } else {
        const char *colon = memchr(p, ':', auth);
        if (colon)
            n = (size_t)(colon - p);
    }
    if (n == 0)
        return NULL;
    char *host = malloc(n + 1);
    if (!host)
        return NULL;
    for (size_t i = 0; i < n; i++)
        host[i] = (char)tolower((unsigned char)p[i]);
    host[n] = '\0';
    return host;
}

bool acct_split_handle(const char *acct, bool strip_at, char **user, char **domain)
{
    *user = *domain = NULL;
    if (!acct)
        return false;
    if (strncmp(acct, "acct:", 5) == 0)
        acct += 5;
    if (strip_at && *acct == '@')
        acct++;
    const char *at = strchr(acct, '@');
    if (!at || at == acct || !at[1])
        return false;
    const char *end = strchr(at + 1, '@'); /* Ruby's split: a third part is ignored */
    size_t dn = end ? (size_t)(end - at - 1) : strlen(at + 1);
    if (dn == 0)
        return false;
    *user = strndup(acct, (size_t)(at - acct));
    *domain = strndup(at + 1, dn);
    if (!*user || !*domain) {
        free(*user);
        free(*domain);
        *user = *domain = NULL;
        return false;
    }
    return true;
}

bool acct_registrable_domain(const char *domain, char *out, size_t outlen)
{
    if (outlen)
        out[0] = '\0';
    /* psl_builtin: the list compiled into libpsl, read-only and shared by every thread. */
    const psl_ctx_t *psl = psl_builtin();
    if (!domain || !psl || psl_is_public_suffix2(psl, domain, PSL_TYPE_ICANN))
        return false;
    /* The longest public suffix is the leftmost one; the registrable name is it and
     * the label before it. */
    const char *prev = domain;
    for (const char *p = strchr(domain, '.'); p; p = strchr(p + 1, '.')) {
        if (psl_is_public_suffix2(psl, p + 1, PSL_TYPE_ICANN)) {
            if ((size_t)snprintf(out, outlen, "%s", prev) < outlen)
                return true;
            out[0] = '\0';
            return false;
        }
        prev = p + 1;
    }
    return false;
}
