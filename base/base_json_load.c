/* base_json_load.c -- json_loadb for the documents scotty reads on every job: the job
 * itself and the activity inside it. jansson's lexer handles a string one byte at a
 * time through its stream layer (about 13 ns a byte here), and a job is mostly one
 * long string. This reads the plain cases in runs instead, building the same jansson
 * values; whatever it does not read exactly as jansson would (a lone surrogate,
 * invalid UTF-8, a control byte, a big number, a duplicate key, deep nesting, a
 * syntax error, another flag) is handed to json_loadb itself, which then produces the
 * value or the error. tests/fuzz/fuzz_json.c compares the two on every input. */
#include "base.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE_JLOAD_DEPTH 64 /* deeper documents go to jansson */

typedef struct {
    const unsigned char *p, *end;
    bool allow_nul;
    base_buf scratch; /* a string's bytes once an escape is met */
} base_jload;

static void base_jload_ws(base_jload *l)
{
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\n' || *l->p == '\r' || *l->p == '\t'))
        l->p++;
}

static int base_jload_hex4(const unsigned char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* One \u escape (and the low half of a surrogate pair) at l->p, just past the "\u",
 * appended as UTF-8. -1 for what jansson refuses or treats otherwise. */
static int base_jload_unicode(base_jload *l)
{
    unsigned cp, lo;
    if (l->end - l->p < 4 || base_jload_hex4(l->p, &cp) != 0)
        return -1;
    l->p += 4;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return -1;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (l->end - l->p < 6 || l->p[0] != '\\' || l->p[1] != 'u' || base_jload_hex4(l->p + 2, &lo) != 0 ||
            lo < 0xDC00 || lo > 0xDFFF)
            return -1;
        l->p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp == 0 && !l->allow_nul)
        return -1;
    char u[4];
    base_buf_add(&l->scratch, u, base_utf8_encode(cp, u));
    return 0;
}

/* The string whose opening quote l->p is past: its bytes in *s and *n (the input
 * itself when it has no escape, else the scratch buffer). -1 hands it to jansson. */
static int base_jload_string(base_jload *l, const char **s, size_t *n)
{
    const unsigned char *run = l->p;
    bool escaped = false;
    l->scratch.len = 0;
    for (;;) {
        while (l->p < l->end && *l->p >= 0x20 && *l->p < 0x80 && *l->p != '"' && *l->p != '\\')
            l->p++;
        if (l->p == l->end || *l->p < 0x20)
            return -1;
        unsigned char c = *l->p;
        if (c == '"')
            break;
        if (c >= 0x80) {
            size_t bad, k = base_utf8_len(l->p, (size_t)(l->end - l->p), &bad);
            if (k == 0)
                return -1;
            l->p += k;
            continue;
        }
        /* a backslash: what came before it is kept, the escape decoded */
        base_buf_add(&l->scratch, (const char *)run, (size_t)(l->p - run));
        escaped = true;
        if (l->end - l->p < 2)
            return -1;
        char e = (char)l->p[1];
        l->p += 2;
        const char *plain = strchr("\"\\/bfnrt", e);
        if (e == 'u') {
            if (base_jload_unicode(l) != 0)
                return -1;
        } else if (e && plain) {
            base_buf_add(&l->scratch, &"\"\\/\b\f\n\r\t"[plain - "\"\\/bfnrt"], 1);
        } else {
            return -1;
        }
        run = l->p;
    }
    if (escaped) {
        base_buf_add(&l->scratch, (const char *)run, (size_t)(l->p - run));
        *s = l->scratch.data ? l->scratch.data : "";
        *n = l->scratch.len;
    } else {
        *s = (const char *)run;
        *n = (size_t)(l->p - run);
    }
    l->p++; /* the closing quote */
    return 0;
}

/* A number as jansson lexes it: an integer without '.', 'e' or 'E' (up to 18 digits
 * here, where no long long can overflow), else a finite real read by strtod. */
static json_t *base_jload_number(base_jload *l)
{
    const unsigned char *start = l->p, *q = l->p;
    if (q < l->end && *q == '-')
        q++;
    const unsigned char *digits = q;
    while (q < l->end && *q >= '0' && *q <= '9')
        q++;
    size_t nd = (size_t)(q - digits);
    if (nd == 0 || (digits[0] == '0' && nd > 1))
        return NULL;
    bool real = false;
    if (q < l->end && *q == '.') {
        real = true;
        const unsigned char *f = ++q;
        while (q < l->end && *q >= '0' && *q <= '9')
            q++;
        if (q == f)
            return NULL;
    }
    if (q < l->end && (*q == 'e' || *q == 'E')) {
        real = true;
        q++;
        if (q < l->end && (*q == '+' || *q == '-'))
            q++;
        const unsigned char *x = q;
        while (q < l->end && *q >= '0' && *q <= '9')
            q++;
        if (q == x)
            return NULL;
    }
    l->p = q;
    if (!real) {
        if (nd > 18)
            return NULL;
        long long v = 0;
        for (size_t i = 0; i < nd; i++)
            v = v * 10 + (digits[i] - '0');
        return json_integer(*start == '-' ? -v : v);
    }
    char text[64];
    size_t len = (size_t)(q - start);
    if (len >= sizeof text)
        return NULL;
    memcpy(text, start, len);
    text[len] = '\0';
    double d = strtod(text, NULL);
    if (isinf(d))
        return NULL;
    return json_real(d);
}

static json_t *base_jload_value(base_jload *l, int depth);

static json_t *base_jload_object(base_jload *l, int depth)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    base_jload_ws(l);
    if (l->p < l->end && *l->p == '}') {
        l->p++;
        return o;
    }
    for (;;) {
        const char *k;
        size_t kn;
        if (l->p == l->end || *l->p != '"')
            goto refuse;
        l->p++;
        if (base_jload_string(l, &k, &kn) != 0 || memchr(k, '\0', kn))
            goto refuse;
        char key[256];
        char *owned = kn < sizeof key ? key : malloc(kn + 1);
        if (!owned)
            goto refuse;
        memcpy(owned, k, kn);
        owned[kn] = '\0';
        base_jload_ws(l);
        json_t *v = NULL;
        bool ok = l->p < l->end && *l->p == ':' && !json_object_getn(o, owned, kn);
        if (ok) {
            l->p++;
            v = base_jload_value(l, depth + 1);
        }
        ok = v && json_object_setn_new_nocheck(o, owned, kn, v) == 0;
        if (owned != key)
            free(owned);
        if (!ok)
            goto refuse;
        base_jload_ws(l);
        if (l->p == l->end)
            goto refuse;
        if (*l->p == '}') {
            l->p++;
            return o;
        }
        if (*l->p != ',')
            goto refuse;
        l->p++;
        base_jload_ws(l);
    }
refuse:
    json_decref(o);
    return NULL;
}

static json_t *base_jload_array(base_jload *l, int depth)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    base_jload_ws(l);
    if (l->p < l->end && *l->p == ']') {
        l->p++;
        return a;
    }
    for (;;) {
        json_t *v = base_jload_value(l, depth + 1);
        if (!v || json_array_append_new(a, v) != 0)
            goto refuse;
        base_jload_ws(l);
        if (l->p == l->end)
            goto refuse;
        if (*l->p == ']') {
            l->p++;
            return a;
        }
        if (*l->p != ',')
            goto refuse;
        l->p++;
    }
refuse:
    json_decref(a);
    return NULL;
}

static bool base_jload_word(base_jload *l, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(l->end - l->p) < n || memcmp(l->p, w, n) != 0)
        return false;
    l->p += n;
    return true;
}

/* One value, after leading whitespace; NULL hands the document to jansson. */
static json_t *base_jload_value(base_jload *l, int depth)
{
    base_jload_ws(l);
    if (l->p == l->end || depth > BASE_JLOAD_DEPTH)
        return NULL;
    switch (*l->p) {
    case '{':
        l->p++;
        return base_jload_object(l, depth);
    case '[':
        l->p++;
        return base_jload_array(l, depth);
    case '"': {
        const char *s;
        size_t n;
        l->p++;
        return base_jload_string(l, &s, &n) == 0 ? json_stringn_nocheck(s, n) : NULL;
    }
    case 't':
        return base_jload_word(l, "true") ? json_true() : NULL;
    case 'f':
        return base_jload_word(l, "false") ? json_false() : NULL;
    case 'n':
        return base_jload_word(l, "null") ? json_null() : NULL;
    default:
        return base_jload_number(l);
    }
}

json_t *base_json_load_fast(const char *buf, size_t len, size_t flags)
{
    if (!buf || (flags & ~(size_t)JSON_ALLOW_NUL))
        return NULL;
    base_jload l = {.p = (const unsigned char *)buf, .end = (const unsigned char *)buf + len,
                   .allow_nul = (flags & JSON_ALLOW_NUL) != 0};
    base_buf_init(&l.scratch);
    base_jload_ws(&l);
    json_t *v = NULL;
    if (l.p < l.end && (*l.p == '{' || *l.p == '['))
        v = base_jload_value(&l, 1);
    base_jload_ws(&l);
    if (v && l.p != l.end) {
        json_decref(v);
        v = NULL;
    }
    base_buf_free(&l.scratch);
    return v;
}

json_t *base_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *error)
{
    json_t *v = base_json_load_fast(buf, len, flags);
    if (!v)
        return json_loadb(buf, len, flags, error);
    if (error) {
        memset(error, 0, sizeof *error);
        error->line = error->column = -1;
        snprintf(error->source, sizeof error->source, "<buffer>");
    }
    return v;
}
