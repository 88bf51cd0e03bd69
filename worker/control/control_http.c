/* control_http.c -- the minimal HTTP/1.0 side of the control server: answers
 * GET /metrics on the loopback --metrics-listen address with the same text the
 * socket's "metrics" command returns, then closes the connection. */
#include "control_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *control_http_response(const char *status, const char *ctype, const char *body, size_t blen,
                                   size_t *len)
{
    base_buf b;
    base_buf_init(&b);
    base_buf_addf(&b, "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
               status, ctype, blen);
    base_buf_add(&b, body, blen);
    *len = b.len;
    return base_buf_take(&b);
}

char *control_http_too_large(size_t *len)
{
    const char *msg = "request head too large\n";
    return control_http_response("431 Request Header Fields Too Large", "text/plain", msg, strlen(msg), len);
}

char *control_http_handle(q_engine *e, q_conn *c, const char *req, size_t reqlen, size_t *len)
{
    if (!memmem(req, reqlen, "\r\n\r\n", 4) && !memmem(req, reqlen, "\n\n", 2))
        return NULL;
    const char *text = "only GET /metrics is served here\n";
    if (strncmp(req, "GET ", 4) != 0)
        return control_http_response("405 Method Not Allowed", "text/plain", text, strlen(text), len);
    size_t plen = strcspn(req + 4, " ?\r\n");
    if (plen != 8 || strncmp(req + 4, "/metrics", 8) != 0)
        return control_http_response("404 Not Found", "text/plain", text, strlen(text), len);
    base_buf body;
    base_buf_init(&body);
    control_metrics(e, c, &body);
    char *out = control_http_response("200 OK", "text/plain; version=0.0.4; charset=utf-8",
                                      body.data ? body.data : "", body.len, len);
    base_buf_free(&body);
    return out;
}
