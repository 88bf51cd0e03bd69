/* q_job.c -- a fetched job: the raw string (kept byte for byte) and a parsed view
 * of the fields the engine needs. */
#include "queues.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

q_job *q_job_new(const char *raw, size_t len, const char *queue)
{
    q_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->raw = malloc(len + 1);
    memcpy(j->raw, raw, len);
    j->raw[len] = '\0';
    j->raw_len = len;
    snprintf(j->queue, sizeof j->queue, "%s", queue);
    j->jid = "";
    json_error_t jerr;
    json_t *doc = json_loadb(raw, len, JSON_ALLOW_NUL, &jerr);
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
    return j;
}

void q_job_free(q_job *j)
{
    if (!j)
        return;
    if (j->doc)
        json_decref(j->doc);
    free(j->raw);
    free(j);
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
}
