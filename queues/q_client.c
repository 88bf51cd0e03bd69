/* q_client.c -- pushing jobs the way Ruby's Sidekiq::Client does: defaults
 * (retry, queue), a fresh jid, created_at/enqueued_at, SADD queues + LPUSH, or
 * ZADD schedule for jobs with a future "at". */
#include "q_internal.h"

#include <hiredis/hiredis.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void q_jid_new(char out[25])
{
    unsigned char r[12];
    if (RAND_bytes(r, sizeof r) != 1)
        abort(); /* no randomness: jids would collide; refuse to go on */
    for (int i = 0; i < 12; i++)
        snprintf(out + i * 2, 3, "%02x", r[i]);
}

/* Builds the payload; `enqueued` false for scheduled jobs (no enqueued_at). */
static char *q_client_payload(const q_push *p, q_ts_format ts, const char *args, char *jid_out,
                              bool enqueued)
{
    char jid[25], t[40];
    if (p->jid)
        snprintf(jid, sizeof jid, "%s", p->jid);
    else
        q_jid_new(jid);
    if (jid_out)
        memcpy(jid_out, jid, 25);
    q_json_timestamp(ts, base_now(), t, sizeof t);
    base_buf b;
    base_buf_init(&b);
    base_buf_add(&b, "{", 1);
    if (!p->omit_retry) {
        base_buf_adds(&b, "\"retry\":");
        base_buf_adds(&b, p->retry_json ? p->retry_json : "true");
        base_buf_add(&b, ",", 1);
    }
    base_buf_adds(&b, "\"queue\":");
    const char *queue = p->queue ? p->queue : "default";
    base_json_string(&b, queue, strlen(queue));
    base_buf_adds(&b, ",\"class\":");
    base_json_string(&b, p->klass, strlen(p->klass));
    base_buf_adds(&b, ",\"args\":");
    base_buf_adds(&b, args ? args : "[]");
    if (p->extra_json && p->extra_json[0]) {
        base_buf_add(&b, ",", 1);
        base_buf_adds(&b, p->extra_json);
    }
    base_buf_addf(&b, ",\"jid\":\"%s\",\"created_at\":%s", jid, t);
    if (enqueued)
        base_buf_addf(&b, ",\"enqueued_at\":%s", t);
    base_buf_add(&b, "}", 1);
    return base_buf_take(&b);
}

char *q_client_build(const q_push *p, q_ts_format ts, char *jid_out)
{
    return q_client_payload(p, ts, p->args_json, jid_out, p->at <= base_now());
}

void q_client_ops(const q_push *p, q_ts_format ts, q_ops *ops, char *jid_out)
{
    char *payload = q_client_build(p, ts, jid_out);
    if (p->at > base_now())
        q_ops_zadd(ops, "schedule", p->at, payload, strlen(payload));
    else
        q_ops_push_job(ops, p->queue ? p->queue : "default", payload, strlen(payload));
    free(payload);
}

int q_client_push(q_conn *c, const q_push *p, q_ts_format ts, char *jid_out, char *err,
                  size_t errlen)
{
    q_ops ops = {0};
    q_client_ops(p, ts, &ops, jid_out);
    char why[Q_ERRLEN];
    int rc = q_outcome_run(c, &ops, why, sizeof why);
    if (rc != 0)
        snprintf(err, errlen, "could not push %s: %s", p->klass, why);
    q_ops_free(&ops);
    return rc;
}

/* Reads n replies of a pipeline; fails on a lost connection or an error reply. */
static int q_client_replies(q_conn *c, int n, char *err, size_t errlen)
{
    int rc = 0;
    for (int i = 0; i < n; i++) {
        redisReply *r = q_conn_reply(c);
        if (!r) {
            snprintf(err, errlen, "%s", q_conn_error(c));
            return -1;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "Redis refused the push: %s", r->str);
            rc = -1;
        }
        q_reply_free(r);
    }
    return rc;
}

int q_client_push_bulk(q_conn *c, const q_push *p, const char **args_each, size_t n,
                       q_ts_format ts, char *err, size_t errlen)
{
    enum { SLICE = 1000 };
    if (q_conn_ensure(c) != 0) {
        snprintf(err, errlen, "%s", q_conn_error(c));
        return -1;
    }
    const char *queue = p->queue ? p->queue : "default";
    char key[Q_KEY_MAX];
    snprintf(key, sizeof key, "queue:%s", queue);
    for (size_t off = 0; off < n; off += SLICE) {
        size_t m = n - off < SLICE ? n - off : SLICE;
        const char **argv = malloc(sizeof(char *) * (m + 2));
        size_t *lens = malloc(sizeof(size_t) * (m + 2));
        argv[0] = "LPUSH";
        lens[0] = 5;
        argv[1] = key;
        lens[1] = strlen(key);
        for (size_t i = 0; i < m; i++) {
            argv[i + 2] = q_client_payload(p, ts, args_each[off + i], NULL, true);
            lens[i + 2] = strlen(argv[i + 2]);
        }
        q_conn_appendf(c, "SADD queues %s", queue);
        q_conn_append(c, (int)(m + 2), argv, lens);
        for (size_t i = 0; i < m; i++)
            free((char *)argv[i + 2]);
        free(argv);
        free(lens);
        if (q_client_replies(c, 2, err, errlen) != 0)
            return -1;
    }
    return 0;
}
