/* q_json.c -- JSON exactly as Ruby's JSON.generate writes it, and in-place edits
 * of raw job strings.
 *
 * Sidekiq's API locates jobs by their exact bytes and re-serializes them with
 * Ruby's generator (reschedule does ZINCRBY with the re-encoded member), so what
 * we write must be byte-equal to Ruby's form: compact, keys in order, floats as
 * Float#to_s prints them. We never re-encode a whole job: edits replace one
 * top-level value or append a pair, and keep every other byte. */
#include "queues.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void q_json_float(double v, char *buf, size_t len)
{
    if (!isfinite(v)) {
        snprintf(buf, len, "0.0");
        return;
    }
    if (v == 0) {
        snprintf(buf, len, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    /* Shortest precision that reads back to the same double. */
    char sci[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(sci, sizeof sci, "%.*e", p - 1, v);
        if (strtod(sci, NULL) == v)
            break;
    }
    /* sci is "[-]d.ddde[+-]XX": split into digits and decimal exponent. */
    const char *s = sci;
    bool neg = false;
    if (*s == '-')
        neg = true, s++;
    char digits[24];
    int nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s != '.')
            digits[nd++] = *s;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    int decpt = atoi(s + 1) + 1;

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

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t q_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    unsigned min;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0)
        need = 2, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        need = 3, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        need = 4, min = 0x10000;
    else
        return 0;
    if (n < need)
        return 0;
    unsigned cp = c & (0x7F >> need);
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

void q_json_string(q_buf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    q_buf_add(b, "\"", 1);
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
            adv = q_utf8_len(s + i, n - i);
            if (adv == 0) {
                esc = "\xEF\xBF\xBD"; /* U+FFFD for an invalid byte */
                adv = 1;
            }
        }
        if (esc) {
            q_buf_add(b, (const char *)s + run, i - run);
            q_buf_adds(b, esc);
            run = i + adv;
        }
        i += adv;
    }
    q_buf_add(b, (const char *)s + run, n - run);
    q_buf_add(b, "\"", 1);
}

void q_json_value(q_buf *b, const json_t *v)
{
    char num[40];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *val;
        bool first = true;
        q_buf_add(b, "{", 1);
        json_object_foreach((json_t *)v, k, val) {
            if (!first)
                q_buf_add(b, ",", 1);
            first = false;
            q_json_string(b, k, strlen(k));
            q_buf_add(b, ":", 1);
            q_json_value(b, val);
        }
        q_buf_add(b, "}", 1);
        break;
    }
    case JSON_ARRAY: {
        q_buf_add(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                q_buf_add(b, ",", 1);
            q_json_value(b, json_array_get(v, i));
        }
        q_buf_add(b, "]", 1);
        break;
    }
    case JSON_STRING:
        q_json_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        q_buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        q_json_float(json_real_value(v), num, sizeof num);
        q_buf_adds(b, num);
        break;
    case JSON_TRUE:
        q_buf_adds(b, "true");
        break;
    case JSON_FALSE:
        q_buf_adds(b, "false");
        break;
    case JSON_NULL:
        q_buf_adds(b, "null");
        break;
    }
}

/* ---- scanning raw JSON text (already known to be valid) ---- */

static size_t q_scan_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* i points at '"'; returns the index just past the closing quote. */
static size_t q_scan_string(const char *s, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return n;
}

/* Returns the index just past the value starting at i. */
static size_t q_scan_value(const char *s, size_t n, size_t i)
{
    if (i >= n)
        return n;
    if (s[i] == '"')
        return q_scan_string(s, n, i);
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        while (i < n) {
            char c = s[i];
            if (c == '"') {
                i = q_scan_string(s, n, i);
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if (c == '}' || c == ']') {
                depth--;
                if (depth == 0)
                    return i + 1;
            }
            i++;
        }
        return n;
    }
    while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' &&
           s[i] != '\n' && s[i] != '\r')
        i++;
    return i;
}

/* Whether the JSON string literal lit (quotes included) spells key. Escapes are
 * decoded, so "\u0071ueue" is queue, as Ruby and jansson read it. */
static bool q_json_key_is(const char *lit, size_t len, const char *key, size_t klen)
{
    if (!memchr(lit, '\\', len))
        return len == klen + 2 && memcmp(lit + 1, key, klen) == 0;
    json_t *v = json_loadb(lit, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    bool same = json_is_string(v) && json_string_length(v) == klen &&
                memcmp(json_string_value(v), key, klen) == 0;
    json_decref(v);
    return same;
}

/* Finds the last top-level `key` (the one Ruby and jansson read) and sets the span
 * of its value. Returns false if absent
 * or not an object; *close receives the index of the closing brace. */
static bool q_json_find(const char *s, size_t n, const char *key,
                        size_t *val_start, size_t *val_end, size_t *close, bool *is_object)
{
    size_t klen = strlen(key);
    size_t i = q_scan_ws(s, n, 0);
    *is_object = false;
    if (i >= n || s[i] != '{')
        return false;
    *is_object = true;
    i++;
    bool found = false;
    for (;;) {
        i = q_scan_ws(s, n, i);
        if (i >= n)
            return false;
        if (s[i] == '}') {
            *close = i;
            return found;
        }
        if (s[i] == ',') {
            i++;
            continue;
        }
        if (s[i] != '"')
            return false;
        size_t ks = i;
        size_t ke = q_scan_string(s, n, i);
        i = q_scan_ws(s, n, ke);
        if (i >= n || s[i] != ':')
            return false;
        i = q_scan_ws(s, n, i + 1);
        size_t vs = i;
        size_t ve = q_scan_value(s, n, i);
        if (q_json_key_is(s + ks, ke - ks, key, klen)) { /* the last one: Ruby reads it */
            found = true;
            *val_start = vs;
            *val_end = ve;
        }
        i = ve;
    }
}

char *q_json_set(const char *raw, size_t n, const char *key, const char *value_json)
{
    size_t vs, ve, close = 0;
    bool obj;
    bool found = q_json_find(raw, n, key, &vs, &ve, &close, &obj);
    if (!obj || close == 0)
        return NULL;
    q_buf b;
    q_buf_init(&b);
    if (found) {
        q_buf_add(&b, raw, vs);
        q_buf_adds(&b, value_json);
        q_buf_add(&b, raw + ve, n - ve);
    } else {
        /* Is the object empty? Look back from the brace for a non-space. */
        size_t j = close;
        while (j > 0 && (raw[j - 1] == ' ' || raw[j - 1] == '\n' || raw[j - 1] == '\t' ||
                         raw[j - 1] == '\r'))
            j--;
        bool empty = raw[j - 1] == '{';
        q_buf_add(&b, raw, close);
        if (!empty)
            q_buf_add(&b, ",", 1);
        q_json_string(&b, key, strlen(key));
        q_buf_add(&b, ":", 1);
        q_buf_adds(&b, value_json);
        q_buf_add(&b, raw + close, n - close);
    }
    return q_buf_take(&b);
}

double q_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double q_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void q_json_timestamp(q_ts_format f, double t, char *buf, size_t len)
{
    if (f == Q_TS_MILLIS)
        snprintf(buf, len, "%lld", (long long)llround(t * 1000.0));
    else
        q_json_float(t, buf, len);
}

double q_json_read_timestamp(const json_t *v)
{
    if (json_is_real(v))
        return json_real_value(v);
    if (json_is_integer(v)) {
        double x = (double)json_integer_value(v);
        return x > 1e11 ? x / 1000.0 : x;
    }
    return 0;
}
