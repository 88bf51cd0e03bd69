/* q_json.c -- in-place edits of raw job strings, and Sidekiq's timestamps.
 *
 * Sidekiq's API locates jobs by their exact bytes and re-serializes them with
 * Ruby's generator (reschedule does ZINCRBY with the re-encoded member), so what
 * we write must be byte-equal to Ruby's form (base_json.c writes it). We never
 * re-encode a whole job: edits replace one top-level value or append a pair, and
 * keep every other byte. */
#include "queues.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    base_buf b;
    base_buf_init(&b);
    if (found) {
        base_buf_add(&b, raw, vs);
        base_buf_adds(&b, value_json);
        base_buf_add(&b, raw + ve, n - ve);
    } else {
        /* Is the object empty? Look back from the brace for a non-space. */
        size_t j = close;
        while (j > 0 && (raw[j - 1] == ' ' || raw[j - 1] == '\n' || raw[j - 1] == '\t' ||
                         raw[j - 1] == '\r'))
            j--;
        bool empty = raw[j - 1] == '{';
        base_buf_add(&b, raw, close);
        if (!empty)
            base_buf_add(&b, ",", 1);
        base_json_string(&b, key, strlen(key));
        base_buf_add(&b, ":", 1);
        base_buf_adds(&b, value_json);
        base_buf_add(&b, raw + close, n - close);
    }
    return base_buf_take(&b);
}

void q_json_timestamp(q_ts_format f, double t, char *buf, size_t len)
{
    if (f == Q_TS_MILLIS)
        snprintf(buf, len, "%lld", (long long)llround(t * 1000.0));
    else
        base_json_float(t, buf, len);
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
