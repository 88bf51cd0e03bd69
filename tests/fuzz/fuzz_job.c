/* fuzz_job.c -- libFuzzer target for the job envelope (q_job_new) and in-place JSON
 * edits (q_json_set).
 *
 * Input: a key (an identifier, as the engine's keys are) on the first line, a JSON value on the second, the raw job after.
 * Properties: q_job_new never crashes and agrees with jansson on class and jid (and
 * refuses a raw NUL byte, which jansson skips); when q_job_new read the job as an
 * object and the value is JSON, q_json_set returns a text that
 * jansson parses, where the key reads as the new value, every other key reads as
 * before, and the bytes differ from the job's only where the edited value (or the
 * appended pair) is. */
#include "queues.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The line of data at *pos (without its '\n') as a malloc'd string; NULL at the end. */
static char *fz_line(const uint8_t *data, size_t size, size_t *pos)
{
    if (*pos >= size)
        return NULL;
    const uint8_t *nl = memchr(data + *pos, '\n', size - *pos);
    size_t end = nl ? (size_t)(nl - data) : size;
    char *s = strndup((const char *)data + *pos, end - *pos);
    *pos = nl ? end + 1 : size;
    return s;
}

/* true if out is raw[0..a] + mid + raw[n-(m-a-mlen)..n] for some split a. */
static bool fz_spliced(const char *raw, size_t n, const char *out, size_t m, const char *mid,
                       size_t mlen)
{
    if (m < mlen || m - mlen > n)
        return false;
    size_t keep = m - mlen; /* bytes of raw kept, before and after mid */
    size_t prefix = 0;
    while (prefix < keep && raw[prefix] == out[prefix])
        prefix++;
    size_t suffix = 0;
    while (suffix < keep && raw[n - 1 - suffix] == out[m - 1 - suffix])
        suffix++;
    for (size_t a = keep - (suffix < keep ? suffix : keep); a <= prefix; a++) {
        if (memcmp(out + a, mid, mlen) == 0)
            return true;
    }
    return false;
}

static void fz_check_edit(const char *raw, size_t n, json_t *before, const char *key,
                          const char *value)
{
    json_t *want = json_loads(value, JSON_DECODE_ANY, NULL);
    if (!want)
        return;
    char *out = q_json_set(raw, n, key, value);
    if (!out)
        abort(); /* raw is a JSON object: the edit must succeed */
    size_t m = strlen(out);
    json_t *after = json_loadb(out, m, JSON_ALLOW_NUL, NULL);
    if (!json_is_object(after))
        abort(); /* the edited job does not parse */
    if (!json_equal(json_object_get(after, key), want))
        abort(); /* the key does not read as the new value (jansson and Ruby read the last duplicate) */
    bool had = json_object_get(before, key) != NULL;
    if (json_object_size(after) != json_object_size(before) + (had ? 0 : 1))
        abort();
    const char *k;
    json_t *v;
    json_object_foreach(before, k, v) {
        if (strcmp(k, key) != 0 && !json_equal(json_object_get(after, k), v))
            abort(); /* another key changed */
    }
    bool spliced = fz_spliced(raw, n, out, m, value, strlen(value));
    if (!spliced && !had) {
        base_buf pair;
        base_buf_init(&pair);
        base_buf_add(&pair, ",", 1);
        base_json_string(&pair, key, strlen(key));
        base_buf_add(&pair, ":", 1);
        base_buf_adds(&pair, value);
        spliced = fz_spliced(raw, n, out, m, pair.data, pair.len) ||
                  fz_spliced(raw, n, out, m, pair.data + 1, pair.len - 1);
        base_buf_free(&pair);
    }
    if (!spliced)
        abort(); /* bytes outside the edited value changed */
    json_decref(after);
    json_decref(want);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t pos = 0;
    char *key = fz_line(data, size, &pos);
    char *value = fz_line(data, size, &pos);
    const char *raw = (const char *)data + pos;
    size_t n = size - pos;

    q_job *j = q_job_new(raw, n, "default");
    if (!j)
        abort();
    json_t *doc = json_loadb(raw, n, JSON_ALLOW_NUL, NULL);
    bool nul = memchr(raw, '\0', n) != NULL; /* refused: jansson would skip it */
    if ((json_is_object(doc) && !nul) != (j->doc != NULL))
        abort();
    if (j->doc) {
        const char *klass = json_string_value(json_object_get(doc, "class"));
        if ((klass == NULL) != (j->klass == NULL) || (klass && strcmp(klass, j->klass) != 0))
            abort();
        const char *jid = json_string_value(json_object_get(doc, "jid"));
        if (strcmp(jid ? jid : "", j->jid) != 0)
            abort();
        if (!q_job_display_class(j))
            abort();
    }
    bool edited = j->doc != NULL;
    q_job_free(j);

    /* Keys are the engine's own names: plain identifiers. */
    bool plain_key = key && *key && strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                "0123456789_") == strlen(key);
    if (plain_key && value && edited)
        fz_check_edit(raw, n, doc, key, value);
    else if (plain_key && value)
        free(q_json_set(raw, n, key, value)); /* other text: no crash, no overread */
    json_decref(doc);
    free(key);
    free(value);
    return 0;
}
