/* fuzz_private.c -- libFuzzer target for q_private_parse_key, which splits the keys
 * `scotty status` and `scotty requeue-private` find in Redis (anyone may write one)
 * into a process identity and a queue name.
 *
 * Input: the key's bytes. Properties: no crash or undefined behaviour; an accepted key
 * is exactly "queue:scotty|" IDENTITY "|" QUEUE for the parts returned, the identity
 * ending in ":PID:NONCE" and both parts within their bounds. */
#include "queues.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2 * Q_KEY_MAX)
        return 0;
    char identity[Q_IDENTITY_MAX], queue[Q_NAME_MAX];
    memset(identity, 0x55, sizeof identity);
    memset(queue, 0x55, sizeof queue);
    if (q_private_parse_key((const char *)data, size, identity, queue) != 0)
        return 0;
    size_t il = strnlen(identity, sizeof identity), ql = strnlen(queue, sizeof queue);
    if (il == sizeof identity || ql == sizeof queue || il < 16 || ql == 0)
        abort();
    char key[2 * Q_KEY_MAX];
    int n = snprintf(key, sizeof key, "queue:scotty|%s|%s", identity, queue);
    if (n < 0 || (size_t)n != size || memcmp(key, data, size) != 0)
        abort();
    if (identity[il - 13] != ':')
        abort();
    return 0;
}
