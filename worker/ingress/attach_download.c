/* attach_download.c -- one remote media download as Mastodon's Remotable does it:
 * an unsigned GET through the shared client (SSRF guard, timeouts, 3 redirects),
 * the body streamed to a temp file under the size cap, and each failure sorted into
 * "skip" (Mastodon logs it and keeps only remote_url) or "retry" (it raises, and the
 * download is tried again by RedownloadMediaWorker). */
#include "attach_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

attach_result attach_download(services *s, const char *url, long cap, const char *path,
                              int64_t *bytes, char *err, size_t errlen)
{
    *bytes = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create the temp file %s: %s", path, strerror(errno));
        return ATTACH_RETRY;
    }
    http_request req = {.url = url, .max_body = cap, .body_fd = fd};
    http_response r;
    http_err e = http_perform(s->http, &req, &r);
    int closed = close(fd);
    attach_result res;
    switch (e) {
    case HTTP_OK:
        *bytes = (int64_t)r.body_len;
        if (closed != 0) {
            snprintf(err, errlen, "cannot write the download of %s to %s: %s", url, path, strerror(errno));
            res = ATTACH_RETRY;
        } else {
            res = ATTACH_DONE;
        }
        break;
    case HTTP_E_STATUS:
        snprintf(err, errlen, "GET %s answered %ld%s", url, r.status,
                 http_response_unsalvageable(&r) ? " (not retried)" : "");
        res = http_response_unsalvageable(&r) ? ATTACH_SKIPPED : ATTACH_RETRY;
        break;
    case HTTP_E_INVALID:
    case HTTP_E_REFUSED:
    case HTTP_E_TOO_LARGE:
    case HTTP_E_REDIRECTS:
    case HTTP_E_CONTENT_TYPE:
        /* HostValidationError, LengthValidationError and bad URLs: logged and dropped. */
        snprintf(err, errlen, "%s", r.error);
        res = ATTACH_SKIPPED;
        break;
    default:
        /* Connection, TLS, timeouts, short bodies: HTTP errors Mastodon retries. */
        snprintf(err, errlen, "%s", r.error);
        res = ATTACH_RETRY;
        break;
    }
    http_response_free(&r);
    return res;
}
