/* test_outcome.c -- the outcome script against a real redis-server (REDIS_SOCKET, from
 * tests/lib/run_with_redis.sh): written once when sent twice, nothing written when a
 * key has the wrong type, a due job moved once from a sorted set, ONCE's push written
 * only while its key is absent, UNLOCK releasing only its own token's lock (and
 * ignoring keys of another type); and the private-list key, which is never cut. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "q_internal.h"
#include "redis_conn.h"

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

static long long integer(const char *fmt, const char *key)
{
    redisReply *r = q_conn_cmd(conn, fmt, key);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    q_reply_free(r);
    return v;
}

static void cmd(const char *fmt, const char *a, const char *b)
{
    q_reply_free(q_conn_cmd(conn, fmt, a, b));
}

/* Sends ops for job (in src) and returns the reply's integer, or -1 for an error
 * reply (its text in err). */
static long long outcome(const char *src, bool is_set, const char *job, const q_ops *ops, char *err)
{
    assert_int_equal(q_outcome_append(conn, src, is_set, job, strlen(job), ops), 0);
    redisReply *r = q_conn_reply(conn);
    assert_non_null(r);
    long long v = q_outcome_check(r, conn, err, Q_ERRLEN) == 0 ? r->integer : -1;
    q_reply_free(r);
    return v;
}

static void test_resent_outcome_is_written_once(void **state)
{
    const char *priv = "queue:scotty|h:1:0|default", *job = "{\"jid\":\"a\"}";
    q_reply_free(q_conn_cmd(conn, "FLUSHALL"));
    cmd("LPUSH %s %s", priv, job);
    q_ops ops = {0};
    q_ops_push_job(&ops, "forwarded", job, strlen(job));
    q_ops_zadd(&ops, "schedule", 1e9, "{\"jid\":\"f\"}", 11);
    char err[Q_ERRLEN];
    assert_int_equal(outcome(priv, false, job, &ops, err), 1);
    assert_int_equal(outcome(priv, false, job, &ops, err), 0); /* a batch sent again */
    q_ops_free(&ops);
    assert_int_equal(integer("LLEN %s", "queue:forwarded"), 1);
    assert_int_equal(integer("ZCARD %s", "schedule"), 1);
    assert_int_equal(integer("SISMEMBER queues %s", "forwarded"), 1);
    assert_int_equal(integer("LLEN %s", priv), 0);
}

static void test_wrong_type_writes_nothing(void **state)
{
    const char *priv = "queue:scotty|h:1:0|default", *job = "{\"jid\":\"b\"}";
    q_reply_free(q_conn_cmd(conn, "FLUSHALL"));
    cmd("LPUSH %s %s", priv, job);
    cmd("SET %s %s", "retry", "a string");
    q_ops ops = {0};
    q_ops_push_job(&ops, "default", "{\"jid\":\"followup\"}", 18); /* before the bad key */
    q_ops_zadd(&ops, "retry", 1e9, job, strlen(job));
    char err[Q_ERRLEN];
    assert_int_equal(outcome(priv, false, job, &ops, err), -1);
    q_ops_free(&ops);
    assert_non_null(strstr(err, "WRONGTYPE retry holds a string"));
    assert_int_equal(integer("LLEN %s", priv), 1);           /* the job stays */
    assert_int_equal(integer("EXISTS %s", "queue:default"), 0); /* the follow-up was not pushed */
}

static void test_due_job_moves_once_from_a_set(void **state)
{
    const char *job = "{\"jid\":\"c\",\"queue\":\"q\"}";
    q_reply_free(q_conn_cmd(conn, "FLUSHALL"));
    cmd("ZADD schedule 1 %s", job, NULL);
    q_ops ops = {0};
    q_ops_push_job(&ops, "q", job, strlen(job));
    char err[Q_ERRLEN];
    assert_int_equal(outcome("schedule", true, job, &ops, err), 1);
    assert_int_equal(outcome("schedule", true, job, &ops, err), 0); /* a second poller */
    q_ops_free(&ops);
    assert_int_equal(integer("LLEN %s", "queue:q"), 1);
    assert_int_equal(integer("ZCARD %s", "schedule"), 0);
}

static void test_once_pushes_while_its_key_is_absent(void **state)
{
    const char *priv = "queue:scotty|h:1:0|ingress", *job1 = "{\"jid\":\"o1\"}", *job2 = "{\"jid\":\"o2\"}";
    q_reply_free(q_conn_cmd(conn, "FLUSHALL"));
    cmd("LPUSH %s %s", priv, job1);
    cmd("LPUSH %s %s", priv, job2);
    char err[Q_ERRLEN];
    for (int i = 0; i < 2; i++) {
        q_ops ops = {0}, push = {0};
        const char *refresh = "{\"jid\":\"r\"}";
        q_ops_push_job(&push, "pull", refresh, strlen(refresh));
        q_ops_once(&ops, "unique:refresh:7", 60, &push);
        q_ops_add(&ops, "DEL", "marker", NULL, 0, NULL, 0); /* a write after the skipped ones */
        cmd("SET %s %s", "marker", "1");
        assert_int_equal(outcome(priv, false, i ? job2 : job1, &ops, err), 1);
        q_ops_free(&ops);
        assert_int_equal(integer("EXISTS %s", "marker"), 0);
    }
    assert_int_equal(integer("LLEN %s", "queue:pull"), 1); /* the second found the key */
    assert_int_equal(integer("TTL %s", "unique:refresh:7"), 60);
    assert_int_equal(integer("LLEN %s", priv), 0);
}

static void test_unlock_releases_only_its_own_token(void **state)
{
    const char *priv = "queue:scotty|h:1:0|ingress", *job = "{\"jid\":\"u\"}";
    q_reply_free(q_conn_cmd(conn, "FLUSHALL"));
    cmd("LPUSH %s %s", priv, job);
    cmd("SET %s %s", "lock:create:a", "mine");
    cmd("SET %s %s", "lock:create:b", "theirs");
    cmd("HSET scotty:locks:h lock:create:a %s", "mine", NULL);
    cmd("HSET scotty:locks:h lock:create:b %s", "mine", NULL);
    cmd("LPUSH %s %s", "lock:create:c", "a list");
    q_ops ops = {0};
    q_ops_unlock(&ops, "lock:create:a", "scotty:locks:h", "mine");
    q_ops_unlock(&ops, "lock:create:b", "scotty:locks:h", "mine");
    q_ops_unlock(&ops, "lock:create:c", "lock:create:a", "mine"); /* a list, a string */
    char err[Q_ERRLEN];
    assert_int_equal(outcome(priv, false, job, &ops, err), 1);
    q_ops_free(&ops);
    assert_int_equal(integer("EXISTS %s", "lock:create:a"), 0);
    assert_int_equal(integer("EXISTS %s", "lock:create:b"), 1); /* taken over by another holder */
    assert_int_equal(integer("LLEN %s", "lock:create:c"), 1);
    assert_int_equal(integer("HLEN %s", "scotty:locks:h"), 0);
    assert_int_equal(integer("LLEN %s", priv), 0);
}

static void test_keep_drops_all_but_one_command(void **state)
{
    q_ops ops = {0};
    q_ops_push_job(&ops, "default", "{}", 2);
    q_ops_unlock(&ops, "lock:x", "h", "t");
    q_ops_add(&ops, "DEL", "marker", NULL, 0, NULL, 0);
    q_ops_keep(&ops, "UNLOCK");
    assert_int_equal(ops.n, 4);
    assert_string_equal(ops.argv[0], "UNLOCK");
    assert_string_equal(ops.argv[1], "lock:x");
    q_ops_free(&ops);
}

static void test_private_key_is_never_cut(void **state)
{
    char key[Q_KEY_MAX], identity[Q_KEY_MAX];
    assert_int_equal(q_private_key("host:1:abcdef", "default", key), 0);
    assert_string_equal(key, "queue:scotty|host:1:abcdef|default");
    memset(identity, 'x', sizeof identity - 1);
    identity[sizeof identity - 1] = '\0';
    assert_int_equal(q_private_key(identity, "default", key), -1);
    /* the longest identity and queue name the engine accepts fit */
    char id[Q_IDENTITY_MAX], q[Q_NAME_MAX];
    memset(id, 'i', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    memset(q, 'q', sizeof q - 1);
    q[sizeof q - 1] = '\0';
    assert_int_equal(q_private_key(id, q, key), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resent_outcome_is_written_once),
        cmocka_unit_test(test_wrong_type_writes_nothing),
        cmocka_unit_test(test_due_job_moves_once_from_a_set),
        cmocka_unit_test(test_once_pushes_while_its_key_is_absent),
        cmocka_unit_test(test_unlock_releases_only_its_own_token),
        cmocka_unit_test(test_keep_drops_all_but_one_command),
        cmocka_unit_test(test_private_key_is_never_cut),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
