/* card_text.c -- small text rules of Mastodon's card code: HTMLEntities#decode,
 * String#blank? and #strip, LanguagesHelper#valid_locale_or_nil with Mastodon's
 * supported locales, Rails' ISO 8601 datetime cast, and a JSON depth check that
 * stands for Ruby's JSON max_nesting. */
#include "base.h"
#include "card_parse.h"

#include <ctype.h>
#include <libxml/HTMLparser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool card_utf8_valid(const char *text, size_t n)

{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t extra;
        unsigned long cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + extra >= n)
            return false;
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += extra + 1;
    }
    return true;
}

bool card_blank(const char *s)
{
    for (; s && *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

char *card_strip(const char *s)
{
    if (!s)
        return NULL;
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return strndup(s, n);
}

/* Appends code point cp as UTF-8; false for what is not a character. */
static bool card_put_utf8(char **o, unsigned long cp)
{
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return false;
    *o += base_utf8_encode((uint32_t)cp, *o);
    return true;
}

/* One reference at s (s[0] == '&'): its length up to and including ';' and its code
 * point, or 0 when it is not one the gem decodes. */
static size_t card_entity_at(const char *s, unsigned long *cp)
{
    const char *p = s + 1;
    if (*p == '#') {
        p++;
        bool hex = *p == 'x' || *p == 'X';
        if (hex)
            p++;
        const char *digits = p;
        unsigned long v = 0;
        while (hex ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p)) {
            if (p - digits >= (hex ? 6 : 7))
                return 0;
            v = v * (hex ? 16 : 10) + (unsigned long)(isdigit((unsigned char)*p) ? *p - '0'
                                                                               : (tolower((unsigned char)*p) - 'a' + 10));
            p++;
        }
        if (p == digits || *p != ';')
            return 0;
        *cp = v;
        return (size_t)(p - s) + 1;
    }
    char name[40];
    size_t n = 0;
    while (isalnum((unsigned char)p[n]) && n < sizeof name - 1) {
        name[n] = p[n];
        n++;
    }
    if (n == 0 || p[n] != ';')
        return 0;
    name[n] = '\0';
    const htmlEntityDesc *e = htmlEntityLookup((const xmlChar *)name);
    if (!e)
        return 0;
    *cp = e->value;
    return n + 2;
}

char *card_entities_decode(const char *s)
{
    if (!s)
        return NULL;
    /* a reference is never shorter than what it decodes to */
    char *out = malloc(strlen(s) + 1), *o = out;
    if (!out)
        return NULL;
    while (*s) {
        unsigned long cp;
        size_t n = *s == '&' ? card_entity_at(s, &cp) : 0;
        char *mark = o;
        if (n && card_put_utf8(&o, cp) && (size_t)(o - mark) <= n) {
            s += n;
            continue;
        }
        o = mark;
        *o++ = *s++;
    }
    *o = '\0';
    return out;
}

/* LanguagesHelper::SUPPORTED_LOCALES' keys (ISO 639-1, 639-1 regional, 639-3 and
 * 639-3 regional), as Mastodon lists them. */
static const char *const card_locales[] = {
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh",
    "bi", "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da",
    "de", "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr",
    "fy", "ga", "gd", "gl", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz", "ia",
    "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj", "kk",
    "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln", "lo",
    "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mn-Mong", "mr", "ms", "ms-Arab", "mt",
    "my", "na", "nb", "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or",
    "os", "pa", "pi", "pl", "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se",
    "sg", "si", "sk", "sl", "sn", "so", "sq", "sr", "ss", "st", "su", "sv", "sw", "ta", "te", "tg",
    "th", "ti", "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk", "ur", "uz", "ve",
    "vi", "vo", "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu", "ast", "chr", "ckb", "cnr", "csb",
    "gsw", "jbo", "kab", "ldn", "lfn", "lzz", "moh", "nds", "ota", "pdc", "sco", "sma", "smj", "szl",
    "tok", "vai", "xal", "xmf", "zba", "zgh", "zh-CN", "zh-HK", "zh-TW", "zh-YUE", "nan-TW",
};

static const char *card_locale_find(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof card_locales / sizeof card_locales[0]; i++)
        if (strlen(card_locales[i]) == n && memcmp(card_locales[i], s, n) == 0)
            return card_locales[i];
    return NULL;
}

const char *card_locale(const char *s)
{
    if (card_blank(s))
        return NULL;
    const char *full = card_locale_find(s, strlen(s));
    if (full)
        return full;
    return card_locale_find(s, strcspn(s, "-_"));
}

static int card_digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

bool card_time_utc(const char *s, char *out, size_t len)
{
    if (!s)
        return false;
    while (isspace((unsigned char)*s))
        s++;
    /* each field is read only once the one before it parsed, so no read passes the NUL */
    int y = card_digits(s, 4);
    int mo = y >= 0 && s[4] == '-' ? card_digits(s + 5, 2) : -1;
    int d = mo >= 0 && s[7] == '-' ? card_digits(s + 8, 2) : -1;
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31)
        return false;
    const char *p = s + 10;
    int h = 0, mi = 0, sec = 0;
    char frac[8] = "";
    long off = 0;
    if (*p == 'T' || *p == ' ') {
        h = card_digits(p + 1, 2);
        mi = h >= 0 && p[3] == ':' ? card_digits(p + 4, 2) : -1;
        sec = mi >= 0 && p[6] == ':' ? card_digits(p + 7, 2) : -1;
        if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
            return false;
        p += 9;
        if (*p == '.') {
            size_t n = 0;
            p++;
            while (isdigit((unsigned char)*p)) {
                if (n < 6)
                    frac[n++] = *p;
                p++;
            }
            frac[n] = '\0';
            if (n == 0)
                return false;
        }
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh = card_digits(p + 1, 2), om = 0;
            if (oh < 0)
                return false;
            const char *q = p + 3;
            bool colon = *q == ':';
            if (colon)
                q++;
            if (colon || isdigit((unsigned char)*q)) {
                om = card_digits(q, 2); /* a ':' must have its two digits */
                q += om >= 0 ? 2 : 0;
            }
            if (om < 0)
                return false;
            off = (*p == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
            p = q;
        }
    }
    while (isspace((unsigned char)*p))
        p++;
    if (*p)
        return false;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi,
                    .tm_sec = sec};
    time_t t = timegm(&tm) - off;
    struct tm u;
    if (!gmtime_r(&t, &u))
        return false;
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%d %H:%M:%S", &u);
    return (size_t)snprintf(out, len, "%s%s%s", base, frac[0] ? "." : "", frac) < len;
}

int card_json_depth(const char *text, size_t len, int limit)
{
    int depth = 0, max = 0;
    bool in_string = false;
    for (size_t i = 0; i < len && max <= limit; i++) {
        char ch = text[i];
        if (in_string) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '[' || ch == '{') {
            if (++depth > max)
                max = depth;
        } else if (ch == ']' || ch == '}') {
            depth--;
        }
    }
    return max;
}
