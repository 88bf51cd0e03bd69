/* objstore_key.c -- Mastodon's storage keys (mastodon.md §4.7, kt-paperclip
 * interpolations): [prefix/][cache/]<class>/<attachment>/<id_partition>/<style>/<file>. */
#include "storage.h"

#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

/* As kt-paperclip does it: pad to 9 digits below 1e9, else to 12, then take
 * whole groups of three digits from the left (a trailing partial group is
 * dropped, exactly like Ruby's scan(/\d{3}/)). */
void objstore_id_partition(int64_t id, char *out, size_t len)
{
    char digits[32];
    snprintf(digits, sizeof digits, id < 1000000000 ? "%09" PRId64 : "%012" PRId64, id);
    size_t n = strlen(digits), o = 0;
    out[0] = '\0';
    for (size_t i = 0; i + 3 <= n && o + 5 <= len; i += 3) {
        if (i)
            out[o++] = '/';
        memcpy(out + o, digits + i, 3);
        o += 3;
        out[o] = '\0';
    }
}

int objstore_random_hex16(char *out)
{
    unsigned char raw[8];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

int objstore_media_key(const char *prefix, bool cached, const char *klass,
                       const char *attachment, int64_t id, const char *style,
                       const char *basename, const char *ext, char *out, size_t len)
{
    char part[64];
    objstore_id_partition(id, part, sizeof part);
    int n = snprintf(out, len, "%s%s%s%s/%s/%s/%s/%s%s%s", prefix && *prefix ? prefix : "",
                     prefix && *prefix ? "/" : "", cached ? "cache/" : "", klass, attachment, part,
                     style, basename, ext && *ext ? "." : "", ext ? ext : "");
    return n < 0 || (size_t)n >= len ? -1 : 0;
}
