/* q_job.c -- a fetched job: the raw string (kept byte for byte) and a parsed view
 * of the fields the engine needs. */
#include "q_internal.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

q_job *q_job_alloc(size_t size, const char *raw, size_t len, const char *queue)
{
    if (len > SIZE_MAX - size - 1)
        return NULL;
    q_job *j = malloc(size + len + 1);
    if (!j)
        return NULL;
    memset((char *)j + sizeof *j, 0, size - sizeof *j);
    j->raw = (char *)j + size;
    memcpy(j->raw, raw, len);
    j->raw[len] = '\0';
    j->raw_len = len;
    size_t qlen = strnlen(queue, sizeof j->queue - 1);
    memcpy(j->queue, queue, qlen);
    j->queue[qlen] = '\0';
    j->private_key = "";
    j->parsed = false;
    j->doc = NULL;
    j->klass = NULL;
    j->jid = "";
    j->args = NULL;
    j->started = 0;
    j->fetch_hash = 0;
    j->fetch_queue = 0;
    j->enqueued_at = 0;
    return j;
}

void q_job_parse(q_job *j)
{
    if (j->parsed)
        return;
    j->parsed = true;
    json_error_t jerr;
    /* jansson skips a raw NUL byte between tokens where Ruby's parser refuses it, and
     * every edited copy of the job (a C string) would end at it: not JSON. */
    json_t *doc = memchr(j->raw, '\0', j->raw_len) ? NULL
                                                     : base_json_loadb(j->raw, j->raw_len, JSON_ALLOW_NUL, &jerr);
    if (doc && !json_is_object(doc)) {
        json_decref(doc);
        doc = NULL;
    }
    j->doc = doc;
    if (doc) {
        json_t *k = json_object_get(doc, "class");
        j->klass = json_is_string(k) ? json_string_value(k) : NULL;
        json_t *jid = json_object_get(doc, "jid");
        if (json_is_string(jid))
            j->jid = json_string_value(jid);
        j->args = json_object_get(doc, "args");
        j->enqueued_at = q_json_read_timestamp(json_object_get(doc, "enqueued_at"));
    }
}

q_job *q_job_new(const char *raw, size_t len, const char *queue)
{
    q_job *j = q_job_alloc(sizeof(q_job), raw, len, queue);
    if (j)
        q_job_parse(j);
    return j;
}

void q_job_free(q_job *j)
{
    if (!j)
        return;
    if (j->doc)
        json_decref(j->doc);
    free(j);
}

/* True if v is a string holding a NUL byte: C code would read it cut short. */
static bool q_job_has_nul(const json_t *v)
{
    return json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v);
}

const char *q_job_refusal(const q_job *j, size_t max_bytes)
{
    if (max_bytes > 0 && j->raw_len > max_bytes)
        return "it is bigger than the job size limit (--max-job-bytes)";
    if (!j->doc)
        return "it is not valid JSON, or not a JSON object";
    if (q_job_has_nul(json_object_get(j->doc, "class")))
        return "its \"class\" contains a NUL byte";
    if (q_job_has_nul(json_object_get(j->doc, "queue")))
        return "its \"queue\" contains a NUL byte";
    if (q_job_has_nul(json_object_get(j->doc, "jid")))
        return "its \"jid\" contains a NUL byte";
    return NULL;
}

const char *q_job_display_class(const q_job *j)
{
    if (j->doc) {
        json_t *w = json_object_get(j->doc, "wrapped");
        if (json_is_string(w))
            return json_string_value(w);
    }
    return j->klass ? j->klass : "(no class)";
}

void q_forward(q_result *r, const char *queue)
{
    snprintf(r->forward_queue, sizeof r->forward_queue, "%s", queue);
}

void q_fail(q_result *r, const char *error_class, const char *fmt, ...)
{
    r->failed = true;
    snprintf(r->error_class, sizeof r->error_class, "%s", error_class);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error_message, sizeof r->error_message, fmt, ap);
    va_end(ap);
    /* Ruby counts characters: every byte that does not continue a UTF-8 sequence
     * starts one (an invalid byte is one character too). */
    size_t chars = 0;
    for (char *p = r->error_message; *p; p++)
        if (((unsigned char)*p & 0xC0) != 0x80 && ++chars > Q_ERROR_MESSAGE_CHARS) {
            *p = '\0';
            break;
        }
}
