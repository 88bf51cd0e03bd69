/* base_json.c -- JSON exactly as Ruby's JSON.generate writes it: compact, keys in
 * order, floats as Float#to_s prints them, strings escaped as Ruby escapes them.
 * Sidekiq finds jobs by their bytes, and Mastodon's payloads are Ruby's, so what
 * scotty writes must be byte-equal to Ruby's form. Also RFC 8785's canonical form
 * (JCS), which signed ActivityPub objects are hashed in: the same strings, keys
 * sorted by UTF-16 code units, numbers as ECMAScript prints them. */
#include "base.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The shortest decimal digits that read back to v (finite, not zero), without
 * trailing zeros, and the decimal point's position: v = 0.digits x 10^decpt. The
 * precision is found by bisection (a timestamp needs 16 or 17 digits): if p digits
 * read back, so do p + 1, since the p-digit form is also a (p + 1)-digit one. */
static void base_json_digits(double v, char digits[24], int *nd, int *decpt, bool *neg)
{
    char sci[40] = "", tried[40];
    int lo = 1, hi = 17; /* 17 digits always read back */
    while (lo < hi) {
        int p = (lo + hi) / 2;
        snprintf(tried, sizeof tried, "%.*e", p - 1, v);
        if (strtod(tried, NULL) == v) {
            hi = p;
            memcpy(sci, tried, sizeof sci);
        } else {
            lo = p + 1;
        }
    }
    if (!sci[0])
        snprintf(sci, sizeof sci, "%.16e", v);
    /* sci is "[-]d.ddde[+-]XX": split into digits and decimal exponent. */
    const char *s = sci;
    *neg = *s == '-';
    if (*neg)
        s++;
    *nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s != '.')
            digits[(*nd)++] = *s;
    while (*nd > 1 && digits[*nd - 1] == '0')
        (*nd)--;
    digits[*nd] = '\0';
    *decpt = atoi(s + 1) + 1;
}

void base_json_float(double v, char *buf, size_t len)
{
    if (!isfinite(v)) {
        snprintf(buf, len, "0.0");
        return;
    }
    if (v == 0) {
        snprintf(buf, len, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    char digits[24];
    int nd, decpt;
    bool neg;
    base_json_digits(v, digits, &nd, &decpt, &neg);
    char out[64];
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    if (decpt < -3 || decpt > 15) {
        out[o++] = digits[0];
        out[o++] = '.';
        if (nd > 1) {
            memcpy(out + o, digits + 1, (size_t)nd - 1);
            o += (size_t)nd - 1;
        } else {
            out[o++] = '0';
        }
        int e = decpt - 1;
        o += (size_t)snprintf(out + o, sizeof out - o, "e%c%02d", e < 0 ? '-' : '+', abs(e));
    } else if (decpt <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -decpt; i++)
            out[o++] = '0';
        memcpy(out + o, digits, (size_t)nd);
        o += (size_t)nd;
    } else if (decpt >= nd) {
        memcpy(out + o, digits, (size_t)nd);
        o += (size_t)nd;
        for (int i = nd; i < decpt; i++)
            out[o++] = '0';
        out[o++] = '.';
        out[o++] = '0';
    } else {
        memcpy(out + o, digits, (size_t)decpt);
        o += (size_t)decpt;
        out[o++] = '.';
        memcpy(out + o, digits + decpt, (size_t)(nd - decpt));
        o += (size_t)(nd - decpt);
    }
    out[o] = '\0';
    snprintf(buf, len, "%s", out);
}

size_t base_utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t base_utf8_len(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */
    *bad = 1;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    for (size_t i = 1; i < need; i++) {
        unsigned char min = i == 1 ? lo : 0x80, max = i == 1 ? hi : 0xBF;
        if (i >= n || s[i] < min || s[i] > max) {
            *bad = i;
            return 0;
        }
    }
    return need;
}

/* Invalid UTF-8 reaches here from remote text (error messages, log lines; a parsed
 * job's strings are valid, jansson refuses others). Ruby's JSON.generate raises on it,
 * which in Sidekiq 6.4 loses the failed job's retry; Sidekiq 6.5 and later scrub the
 * error message first. scotty does what the scrub does, so the outcome is written and
 * reads back as Ruby would have written it. */
void base_json_string(base_buf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    base_buf_add(b, "\"", 1);
    size_t run = 0; /* start of the pending run of bytes copied verbatim */
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        const char *esc = NULL;
        char hex[8];
        size_t adv = 1;
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c < 0x20) {
            snprintf(hex, sizeof hex, "\\u%04x", c);
            esc = hex;
        } else if (c >= 0x80) {
            size_t bad;
            adv = base_utf8_len(s + i, n - i, &bad);
            if (adv == 0) {
                esc = "\xEF\xBF\xBD"; /* U+FFFD, as Ruby's scrub writes it */
                adv = bad;
            }
        }
        if (esc) {
            base_buf_add(b, (const char *)s + run, i - run);
            base_buf_adds(b, esc);
            run = i + adv;
        }
        i += adv;
    }
    base_buf_add(b, (const char *)s + run, n - run);
    base_buf_add(b, "\"", 1);
}

void base_json_value(base_buf *b, const json_t *v)
{
    char num[40];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *val;
        bool first = true;
        base_buf_add(b, "{", 1);
        json_object_foreach((json_t *)v, k, val) {
            if (!first)
                base_buf_add(b, ",", 1);
            first = false;
            base_json_string(b, k, strlen(k));
            base_buf_add(b, ":", 1);
            base_json_value(b, val);
        }
        base_buf_add(b, "}", 1);
        break;
    }
    case JSON_ARRAY: {
        base_buf_add(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                base_buf_add(b, ",", 1);
            base_json_value(b, json_array_get(v, i));
        }
        base_buf_add(b, "]", 1);
        break;
    }
    case JSON_STRING:
        base_json_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        base_buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        base_json_float(json_real_value(v), num, sizeof num);
        base_buf_adds(b, num);
        break;
    case JSON_TRUE:
        base_buf_adds(b, "true");
        break;
    case JSON_FALSE:
        base_buf_adds(b, "false");
        break;
    case JSON_NULL:
        base_buf_adds(b, "null");
        break;
    }
}

/* ---- RFC 8785 (JCS) ---- */

/* The next UTF-16 code unit of the (valid) UTF-8 string at *p; a code point above
 * U+FFFF gives its two surrogates in turn (*pending holds the low one). */
static unsigned base_jcs_unit(const unsigned char **p, unsigned *pending)
{
    if (*pending) {
        unsigned u = *pending;
        *pending = 0;
        return u;
    }
    const unsigned char *s = *p;
    unsigned cp;
    if (s[0] < 0x80) {
        cp = s[0];
        *p += 1;
    } else if (s[0] < 0xE0) {
        cp = (s[0] & 0x1Fu) << 6 | (s[1] & 0x3Fu);
        *p += 2;
    } else if (s[0] < 0xF0) {
        cp = (s[0] & 0x0Fu) << 12 | (s[1] & 0x3Fu) << 6 | (s[2] & 0x3Fu);
        *p += 3;
    } else {
        cp = (s[0] & 0x07u) << 18 | (s[1] & 0x3Fu) << 12 | (s[2] & 0x3Fu) << 6 | (s[3] & 0x3Fu);
        *p += 4;
    }
    if (cp < 0x10000)
        return cp;
    cp -= 0x10000;
    *pending = 0xDC00 + (cp & 0x3FF);
    return 0xD800 + (cp >> 10);
}

static int base_jcs_key_cmp(const void *a, const void *b)
{
    const unsigned char *x = *(const unsigned char *const *)a, *y = *(const unsigned char *const *)b;
    unsigned px = 0, py = 0;
    while ((*x || px) && (*y || py)) {
        unsigned ux = base_jcs_unit(&x, &px), uy = base_jcs_unit(&y, &py);
        if (ux != uy)
            return ux < uy ? -1 : 1;
    }
    return (*x || px) ? 1 : (*y || py) ? -1 : 0;
}

/* ECMAScript's Number::toString of a finite double (RFC 8785 section 3.2.2.3). */
static void base_jcs_number(base_buf *b, double v)
{
    if (v == 0) {
        base_buf_adds(b, "0");
        return;
    }
    char digits[24];
    int k, n;
    bool neg;
    base_json_digits(v, digits, &k, &n, &neg);
    if (neg)
        base_buf_adds(b, "-");
    if (k <= n && n <= 21) {
        base_buf_add(b, digits, (size_t)k);
        for (int i = k; i < n; i++)
            base_buf_adds(b, "0");
    } else if (0 < n && n <= 21) {
        base_buf_add(b, digits, (size_t)n);
        base_buf_adds(b, ".");
        base_buf_add(b, digits + n, (size_t)(k - n));
    } else if (-6 < n && n <= 0) {
        base_buf_adds(b, "0.");
        for (int i = 0; i < -n; i++)
            base_buf_adds(b, "0");
        base_buf_add(b, digits, (size_t)k);
    } else {
        base_buf_add(b, digits, 1);
        if (k > 1) {
            base_buf_adds(b, ".");
            base_buf_add(b, digits + 1, (size_t)k - 1);
        }
        base_buf_addf(b, "e%c%d", n - 1 < 0 ? '-' : '+', abs(n - 1));
    }
}

int base_json_canonical(base_buf *b, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), i = 0;
        const char **keys = malloc((n ? n : 1) * sizeof *keys);
        if (!keys)
            return -1;
        const char *k;
        json_t *val;
        json_object_foreach((json_t *)v, k, val)
            keys[i++] = k;
        qsort(keys, n, sizeof *keys, base_jcs_key_cmp);
        int rc = 0;
        base_buf_add(b, "{", 1);
        for (i = 0; i < n && rc == 0; i++) {
            if (i)
                base_buf_add(b, ",", 1);
            base_json_string(b, keys[i], strlen(keys[i]));
            base_buf_add(b, ":", 1);
            rc = base_json_canonical(b, json_object_get(v, keys[i]));
        }
        base_buf_add(b, "}", 1);
        free(keys);
        return rc;
    }
    case JSON_ARRAY: {
        base_buf_add(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                base_buf_add(b, ",", 1);
            if (base_json_canonical(b, json_array_get(v, i)) != 0)
                return -1;
        }
        base_buf_add(b, "]", 1);
        return 0;
    }
    case JSON_REAL:
        if (!isfinite(json_real_value(v)))
            return -1;
        base_jcs_number(b, json_real_value(v));
        return 0;
    default:
        base_json_value(b, v);
        return 0;
    }
}
