/* fuzz_json.c -- libFuzzer target for base_json_loadb's own reader
 * (base/base_json_load.c), against jansson's json_loadb.
 *
 * Input: the first byte picks the flags (odd: JSON_ALLOW_NUL, else 0), the rest is the
 * document. Properties: whatever the reader accepts, jansson accepts with the same
 * flags, and the two values print the same (json_dumps keeps key order and prints
 * reals with 17 digits, so types, order and every number and string must agree);
 * base_json_loadb gives jansson's value or its error text. */
#include "base.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *fz_dump(const json_t *v) { return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t flags = (data[0] & 1) ? JSON_ALLOW_NUL : 0;
    const char *doc = (const char *)data + 1;
    size_t len = size - 1;
    json_error_t je;
    json_t *ours = base_json_load_fast(doc, len, flags);
    json_t *theirs = json_loadb(doc, len, flags, &je);
    if (ours) {
        if (!theirs) {
            fprintf(stderr, "read here, refused by jansson: %s\n", je.text);
            abort();
        }
        char *a = fz_dump(ours), *b = fz_dump(theirs);
        if (!a || !b || strcmp(a, b) != 0) {
            fprintf(stderr, "values differ:\n here:    %s\n jansson: %s\n", a ? a : "(null)", b ? b : "(null)");
            abort();
        }
        free(a);
        free(b);
    }
    json_error_t e2;
    json_t *both = base_json_loadb(doc, len, flags, &e2);
    if (!both != !theirs || (!both && strcmp(e2.text, je.text) != 0))
        abort();
    json_decref(both);
    json_decref(ours);
    json_decref(theirs);
    return 0;
}
