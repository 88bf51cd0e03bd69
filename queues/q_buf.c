/* q_buf.c -- a growable byte buffer used to build JSON and Redis payloads. */
#include "queues.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void q_buf_init(q_buf *b) { b->data = NULL; b->len = b->cap = 0; }

void q_buf_free(q_buf *b)
{
    free(b->data);
    q_buf_init(b);
}

static void q_buf_reserve(q_buf *b, size_t extra)
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

void q_buf_add(q_buf *b, const char *s, size_t n)
{
    q_buf_reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void q_buf_adds(q_buf *b, const char *s) { q_buf_add(b, s, strlen(s)); }

void q_buf_addf(q_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        q_buf_add(b, small, (size_t)n);
        return;
    }
    q_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *q_buf_take(q_buf *b)
{
    if (!b->data)
        q_buf_reserve(b, 0), b->data[0] = '\0';
    char *s = b->data;
    q_buf_init(b);
    return s;
}
