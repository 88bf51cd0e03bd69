/* test_private.c -- the private lists as operators see them (queues/q_private.c), against
 * a real redis-server (REDIS_SOCKET, from tests/lib/run_with_redis.sh): a key splits
 * into the identity q_engine_new writes and the queue; SCAN finds every list with its
 * type, length and liveness; q_private_requeue puts the jobs back at the end Sidekiq
 * pops next, oldest first in line, and moves nothing when a key has the wrong type. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "q_internal.h"
#include "redis_conn.h" /* q_private_key, for the longest key */

static q_conn *conn;

static int setup(void **state)
{
    conn = test_redis_conn();
    return conn ? 0 : -1;
}

static int teardown(void **state)
{
    q_conn_free(conn);
    return 0;
}

static void cmd(const char *fmt, const char *a, const char *b)
{
    redisReply *r = q_conn_cmd(conn, fmt, a, b);
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    q_reply_free(r);
}

/* The list at key, from its left end, joined with spaces. */
static char *lrange(const char *key)
{
    redisReply *r = q_conn_cmd(conn, "LRANGE %s 0 -1", key);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    static char out[1024];
    out[0] = '\0';
    for (size_t i = 0; i < r->elements; i++) {
        if (i)
            strcat(out, " ");
        strcat(out, r->element[i]->str);
    }
    q_reply_free(r);
    return out;
}

static void parses(const char *key, const char *identity, const char *queue)
{
    char id[Q_IDENTITY_MAX], q[Q_NAME_MAX];
    assert_int_equal(q_private_parse_key(key, strlen(key), id, q), 0);
    assert_string_equal(id, identity);
    assert_string_equal(q, queue);
}

static void refused(const char *key)
{
    char id[Q_IDENTITY_MAX], q[Q_NAME_MAX];
    assert_int_equal(q_private_parse_key(key, strlen(key), id, q), -1);
}

static void test_key_splits_into_identity_and_queue(void **state)
{
    parses("queue:scotty|web-1:4242:0a1b2c3d4e5f|default", "web-1:4242:0a1b2c3d4e5f", "default");
    /* DYNO may hold a '|', a queue name too: the identity ends at :PID:NONCE */
    parses("queue:scotty|a|b:7:0123456789ab|ingress", "a|b:7:0123456789ab", "ingress");
    parses("queue:scotty|h:7:0123456789ab|pull|x", "h:7:0123456789ab", "pull|x");
    /* the key q_private_key writes for the longest identity and queue name */
    char id[Q_IDENTITY_MAX], q[Q_NAME_MAX], key[Q_KEY_MAX];
    memset(id, 'h', sizeof id - 1);
    memcpy(id + sizeof id - 1 - 15, ":1:0123456789ab", 15);
    id[sizeof id - 1] = '\0';
    memset(q, 'q', sizeof q - 1);
    q[sizeof q - 1] = '\0';
    assert_int_equal(q_private_key(id, q, key), 0);
    parses(key, id, q);

    refused("queue:scotty|h:7:0123456789ab|");  /* no queue */
    refused("queue:scotty|h:7:0123456789AB|q"); /* the nonce is lowercase hex */
    refused("queue:scotty|h:7:0123456789a|q");  /* 11 digits */
    refused("queue:scotty|h::0123456789ab|q");  /* no pid */
    refused("queue:scotty|:7:0123456789ab|q");  /* no host */
    refused("queue:scotty|default");
    refused("queue:default");
    const char nul[] = "queue:scotty|h:7:0123456789ab|q\0x";
    char id2[Q_IDENTITY_MAX], q2[Q_NAME_MAX];
    assert_int_equal(q_private_parse_key(nul, sizeof nul - 1, id2, q2), -1);
}

static void test_scan_finds_every_list(void **state)
{
    q_reply_free(q_conn_cmd(conn, "FLUSHALL"));
    int n;
    char err[Q_ERRLEN];
    assert_null(q_private_scan(conn, &n, err, sizeof err));
    assert_int_equal(n, 0);

    cmd("RPUSH %s %s", "queue:scotty|b:2:0123456789ab|default", "x");
    cmd("RPUSH %s %s", "queue:scotty|a:1:0123456789ab|default", "j3");
    cmd("RPUSH %s %s", "queue:scotty|a:1:0123456789ab|default", "j2");
    cmd("HSET %s beat %s", "b:2:0123456789ab", "1");
    cmd("SET %s %s", "queue:scotty|c:3:0123456789ab|pull", "not a list");
    cmd("SET %s %s", "queue:pull", "not a list either");
    cmd("SET %s %s", "queue:scotty|junk", "1");
    /* More keys than one SCAN step returns. */
    for (int i = 0; i < 300; i++) {
        char k[32];
        snprintf(k, sizeof k, "other:%d", i);
        cmd("SET %s %s", k, "1");
    }
    q_private_list *l = q_private_scan(conn, &n, err, sizeof err);
    assert_int_equal(n, 3);
    assert_string_equal(l[0].key, "queue:scotty|a:1:0123456789ab|default");
    assert_string_equal(l[0].identity, "a:1:0123456789ab");
    assert_string_equal(l[0].queue, "default");
    assert_string_equal(l[0].type, "list");
    assert_string_equal(l[0].queue_type, "none");
    assert_int_equal(l[0].length, 2);
    assert_false(l[0].alive);
    assert_string_equal(l[1].identity, "b:2:0123456789ab");
    assert_true(l[1].alive);
    assert_int_equal(l[1].length, 1);
    assert_string_equal(l[2].type, "string");
    assert_string_equal(l[2].queue_type, "string");
    assert_int_equal(l[2].length, 0);
    free(l);
}

static void test_requeue_puts_jobs_first_in_line(void **state)
{
    q_reply_free(q_conn_cmd(conn, "FLUSHALL"));
    const char *priv = "queue:scotty|a:1:0123456789ab|default";
    /* As Sidekiq's push and scotty's fetch leave them: queue:default holds n2 n1 (n1
     * is next), the private list j3 j2 j1 (j1 fetched first, from the right end). */
    cmd("LPUSH %s %s", "queue:default", "n1");
    cmd("LPUSH %s %s", "queue:default", "n2");
    cmd("RPUSH %s %s", priv, "j3");
    cmd("RPUSH %s %s", priv, "j2");
    cmd("RPUSH %s %s", priv, "j1");
    char err[Q_ERRLEN];
    assert_int_equal(q_private_requeue(conn, "a:1:0123456789ab", "default", err, sizeof err), 3);
    assert_string_equal(lrange("queue:default"), "n2 n1 j3 j2 j1"); /* BRPOP takes j1 next */
    assert_string_equal(lrange(priv), "");
    redisReply *r = q_conn_cmd(conn, "SISMEMBER queues default");
    assert_int_equal(r->integer, 1);
    q_reply_free(r);
    assert_int_equal(q_private_requeue(conn, "a:1:0123456789ab", "default", err, sizeof err), 0);
}

static void test_wrong_type_moves_nothing(void **state)
{
    q_reply_free(q_conn_cmd(conn, "FLUSHALL"));
    const char *priv = "queue:scotty|a:1:0123456789ab|default";
    cmd("RPUSH %s %s", priv, "j1");
    cmd("SET %s %s", "queue:default", "oops");
    char err[Q_ERRLEN];
    assert_int_equal(q_private_requeue(conn, "a:1:0123456789ab", "default", err, sizeof err), -1);
    assert_non_null(strstr(err, "queue:default holds a string, not a list; nothing was moved"));
    assert_string_equal(lrange(priv), "j1");

    cmd("DEL %s", "queue:default", NULL);
    cmd("SET %s %s", "queues", "oops");
    assert_int_equal(q_private_requeue(conn, "a:1:0123456789ab", "default", err, sizeof err), -1);
    assert_string_equal(lrange(priv), "j1");

    cmd("DEL %s", "queues", NULL);
    cmd("SET %s %s", "queue:scotty|b:2:0123456789ab|default", "oops");
    assert_int_equal(q_private_requeue(conn, "b:2:0123456789ab", "default", err, sizeof err), -1);
    assert_non_null(strstr(err, "queue:scotty|b:2:0123456789ab|default holds a string, not a list"));
}

static void test_forget_drops_the_registration(void **state)
{
    q_reply_free(q_conn_cmd(conn, "FLUSHALL"));
    cmd("HSET scotty:fetchers %s %s", "a:1:0123456789ab", "default");
    cmd("HSET scotty:fetchers %s %s", "b:2:0123456789ab", "default");
    char err[Q_ERRLEN];
    assert_int_equal(q_private_forget(conn, "a:1:0123456789ab", err, sizeof err), 0);
    redisReply *r = q_conn_cmd(conn, "HKEYS scotty:fetchers");
    assert_int_equal(r->elements, 1);
    assert_string_equal(r->element[0]->str, "b:2:0123456789ab");
    q_reply_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_splits_into_identity_and_queue),
        cmocka_unit_test(test_scan_finds_every_list),
        cmocka_unit_test(test_requeue_puts_jobs_first_in_line),
        cmocka_unit_test(test_wrong_type_moves_nothing),
        cmocka_unit_test(test_forget_drops_the_registration),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
