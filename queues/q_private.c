/* q_private.c -- the private lists of reliable fetch as an operator sees them, cluster-
 * wide: every queue:scotty|IDENTITY|QUEUE key in Redis, whose process holds it and
 * whether that process is still alive. `scotty status` shows them and `scotty
 * requeue-private` moves them back (q_private_requeue, in q_recover.c, with recovery's
 * own script). Keys are found with SCAN, which reads the keyspace in small steps and
 * needs no administrative command. */
#include "q_internal.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define Q_PRIVATE_PREFIX "queue:scotty|"

/* True when s[0..n) ends with ":PID:NONCE" (decimal digits, 12 lowercase hex digits)
 * after a non-empty host name: how q_engine_new writes an identity. */
static bool q_private_identity_ok(const char *s, size_t n)
{
    if (n < 1 + 1 + 1 + 1 + 12)
        return false;
    for (size_t i = n - 12; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    size_t i = n - 13;
    if (s[i] != ':')
        return false;
    size_t digits = 0;
    while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9') {
        i--;
        digits++;
    }
    return digits > 0 && i >= 2 && s[i - 1] == ':';
}

int q_private_parse_key(const char *key, size_t len, char identity[Q_IDENTITY_MAX],
                        char queue[Q_NAME_MAX])
{
    size_t plen = strlen(Q_PRIVATE_PREFIX);
    if (len <= plen || memcmp(key, Q_PRIVATE_PREFIX, plen) != 0 || memchr(key, '\0', len))
        return -1;
    const char *id = key + plen, *end = key + len;
    /* The first '|' that ends an identity: a host name may hold one, a queue name too. */
    for (const char *bar = memchr(id, '|', (size_t)(end - id)); bar;
         bar = memchr(bar + 1, '|', (size_t)(end - bar - 1))) {
        size_t idlen = (size_t)(bar - id), qlen = (size_t)(end - bar - 1);
        if (!q_private_identity_ok(id, idlen))
            continue;
        if (idlen >= Q_IDENTITY_MAX || qlen == 0 || qlen >= Q_NAME_MAX)
            return -1;
        memcpy(identity, id, idlen);
        identity[idlen] = '\0';
        memcpy(queue, bar + 1, qlen);
        queue[qlen] = '\0';
        return 0;
    }
    return -1;
}

static int q_private_cmp(const void *a, const void *b)
{
    return strcmp(((const q_private_list *)a)->key, ((const q_private_list *)b)->key);
}

/* The keys SCAN finds, parsed, sorted and without repeats (SCAN may return a key twice).
 * Returns 0, or -1 with err. */
static int q_private_find(q_conn *c, q_private_list **out, int *n, char *err, size_t errlen)
{
    char cursor[32] = "0";
    int cap = 0;
    *out = NULL;
    *n = 0;
    do {
        redisReply *r = q_conn_cmd(c, "SCAN %s MATCH %s COUNT 1000", cursor, Q_PRIVATE_PREFIX "*");
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
            snprintf(err, errlen, "Redis: SCAN for %s*: %s", Q_PRIVATE_PREFIX,
                     r && r->type == REDIS_REPLY_ERROR ? r->str : q_conn_error(c));
            q_reply_free(r);
            free(*out);
            *out = NULL;
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        const redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            const redisReply *k = keys->element[i];
            if (k->type != REDIS_REPLY_STRING)
                continue;
            if (*n == cap) {
                cap = cap ? cap * 2 : 16;
                *out = realloc(*out, (size_t)cap * sizeof **out);
                if (!*out)
                    abort();
            }
            q_private_list *l = &(*out)[*n];
            memset(l, 0, sizeof *l);
            if (k->len >= sizeof l->key ||
                q_private_parse_key(k->str, k->len, l->identity, l->queue) != 0) {
                base_log(BASE_LOG_WARN, "key %.*s looks like a scotty private list but does not name a "
                         "process and a queue; left alone", (int)(k->len > 300 ? 300 : k->len), k->str);
                continue;
            }
            memcpy(l->key, k->str, k->len);
            (*n)++;
        }
        q_reply_free(r);
    } while (strcmp(cursor, "0") != 0);
    if (*n > 1)
        qsort(*out, (size_t)*n, sizeof **out, q_private_cmp);
    int m = 0;
    for (int i = 0; i < *n; i++)
        if (m == 0 || strcmp((*out)[m - 1].key, (*out)[i].key) != 0)
            (*out)[m++] = (*out)[i];
    *n = m;
    return 0;
}

/* Sends the commands queued on c and reads their n replies into r. Returns 0, or -1
 * with err (nothing kept) when the connection failed. */
static int q_private_read(q_conn *c, redisReply **r, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        r[i] = q_conn_reply(c);
        if (!r[i]) {
            snprintf(err, errlen, "Redis: reading the private lists: %s", q_conn_error(c));
            while (i > 0)
                q_reply_free(r[--i]);
            return -1;
        }
    }
    return 0;
}

/* Takes a TYPE reply into type, or an integer reply into *integer; frees r. Returns 0,
 * or -1 with err for any other reply. */
static int q_private_take(redisReply *r, char *type, size_t tlen, long *integer, char *err, size_t errlen)
{
    int rc = 0;
    if (type && r->type == REDIS_REPLY_STATUS)
        snprintf(type, tlen, "%s", r->str);
    else if (!type && r->type == REDIS_REPLY_INTEGER)
        *integer = (long)r->integer;
    else {
        snprintf(err, errlen, "Redis: reading the private lists: %s",
                 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        rc = -1;
    }
    q_reply_free(r);
    return rc;
}

q_private_list *q_private_scan(q_conn *c, int *n, char *err, size_t errlen)
{
    q_private_list *all;
    if (q_private_find(c, &all, n, err, errlen) != 0) {
        *n = -1;
        return NULL;
    }
    /* Types and liveness in one pipeline, then the lengths of the lists. Every reply
     * read is taken (and freed) even after one was wrong. */
    size_t nr = 3 * (size_t)*n;
    redisReply **r = calloc(nr ? nr : 1, sizeof *r);
    for (int i = 0; i < *n; i++) {
        q_conn_appendf(c, "TYPE %s", all[i].key);
        q_conn_appendf(c, "TYPE queue:%s", all[i].queue);
        q_conn_appendf(c, "EXISTS %s", all[i].identity);
    }
    int rc = q_private_read(c, r, nr, err, errlen);
    bool replies = rc == 0;
    for (int i = 0; replies && i < *n; i++) {
        long alive = 0;
        rc |= q_private_take(r[3 * i], all[i].type, sizeof all[i].type, NULL, err, errlen);
        rc |= q_private_take(r[3 * i + 1], all[i].queue_type, sizeof all[i].queue_type, NULL, err, errlen);
        rc |= q_private_take(r[3 * i + 2], NULL, 0, &alive, err, errlen);
        all[i].alive = alive != 0;
    }
    size_t lists = 0;
    for (int i = 0; rc == 0 && i < *n; i++)
        if (strcmp(all[i].type, "list") == 0) {
            q_conn_appendf(c, "LLEN %s", all[i].key);
            lists++;
        }
    if (lists > 0) {
        rc = q_private_read(c, r, lists, err, errlen);
        replies = rc == 0;
    }
    for (int i = 0, k = 0; lists > 0 && replies && i < *n; i++)
        if (strcmp(all[i].type, "list") == 0)
            rc |= q_private_take(r[k++], NULL, 0, &all[i].length, err, errlen);
    free(r);
    if (rc != 0) {
        free(all);
        *n = -1;
        return NULL;
    }
    /* A key gone since SCAN saw it (its jobs acked, its list recovered) is not shown. */
    int m = 0;
    for (int i = 0; i < *n; i++)
        if (strcmp(all[i].type, "none") != 0 && !(strcmp(all[i].type, "list") == 0 && all[i].length == 0))
            all[m++] = all[i];
    *n = m;
    if (m == 0) {
        free(all);
        return NULL;
    }
    return all;
}

int q_private_forget(q_conn *c, const char *identity, char *err, size_t errlen)
{
    redisReply *r = q_conn_cmd(c, "HDEL " Q_KEY_FETCHERS " %s", identity);
    int rc = r && r->type == REDIS_REPLY_INTEGER ? 0 : -1;
    if (rc != 0)
        snprintf(err, errlen, "Redis: HDEL " Q_KEY_FETCHERS " %s: %s", identity,
                 r && r->type == REDIS_REPLY_ERROR ? r->str : q_conn_error(c));
    q_reply_free(r);
    return rc;
}
