/* base_buf.c -- a growable byte buffer used to build JSON, Redis payloads and text. */
#include "base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void base_buf_init(base_buf *b) { b->data = NULL; b->len = b->cap = 0; }

void base_buf_free(base_buf *b)
{
    free(b->data);
    base_buf_init(b);
}

static void base_buf_reserve(base_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        abort(); /* out of memory: nothing sensible to do in a worker */
    b->data = p;
    b->cap = cap;
}

void base_buf_add(base_buf *b, const char *s, size_t n)
{
    base_buf_reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void base_buf_adds(base_buf *b, const char *s) { base_buf_add(b, s, strlen(s)); }

void base_buf_addf(base_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        base_buf_add(b, small, (size_t)n);
        return;
    }
    base_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *base_buf_take(base_buf *b)
{
    if (!b->data)
        base_buf_reserve(b, 0), b->data[0] = '\0';
    char *s = b->data;
    base_buf_init(b);
    return s;
}
