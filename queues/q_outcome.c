/* q_outcome.c -- the one way a job changes lists in Redis: a list of writes (push,
 * schedule, retry, dead, forward, follow-up jobs) and the job's removal from its
 * private list, done by one Lua script that proves each write can succeed before it
 * makes any.
 *
 * Inside MULTI/EXEC, and in a script that writes before it checks, a write that fails
 * (a key of the wrong type, say) leaves the removal done and the job nowhere. The
 * script instead checks the type of every key it will write first, and returns an
 * error naming the wrong key before anything changed; only then does it write and
 * finally remove the job. It runs only while the job is still where it was (its
 * private list, or the retry or schedule set), so an outcome sent twice (a batch
 * resent after a lost reply) is written once, and of two processes moving the same
 * due job only one does. */
#include "q_internal.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS[1]: where the job is ("" = nowhere). ARGV[1]: the job as it is there; ARGV[2]:
 * "list" (a private list) or "zset" (the retry or schedule set). Then four strings per
 * write: command, key, two arguments (unused ones ""). Two commands are not Redis's:
 * ONCE (key, TTL s, n) sets key NX with that TTL and, if it was there already, skips
 * the n writes after it; UNLOCK (lock, holder hash, token) is the lock's
 * compare-and-delete (worker/ingress/ingress_lock.c), which leaves keys of another
 * type alone. Neither can fail on a key's type, so neither key is checked. */
static const char *q_outcome_lua =
    "local src, job, kind = KEYS[1], ARGV[1], ARGV[2]\n"
    "if src ~= '' then\n"
    "  local here\n"
    "  if kind == 'zset' then here = redis.call('ZSCORE', src, job)\n"
    "  else here = redis.call('LPOS', src, job) end\n"
    "  if not here then return 0 end\n"
    "end\n"
    "local want = {LPUSH = 'list', RPUSH = 'list', SADD = 'set', ZADD = 'zset',\n"
    "  ZREMRANGEBYSCORE = 'zset', ZREMRANGEBYRANK = 'zset'}\n"
    "for i = 3, #ARGV, 4 do\n"
    "  local t = want[ARGV[i]] and redis.call('TYPE', ARGV[i + 1])['ok'] or 'none'\n"
    "  if t ~= 'none' and t ~= want[ARGV[i]] then\n"
    "    return redis.error_reply('WRONGTYPE ' .. ARGV[i + 1] .. ' holds a ' .. t ..\n"
    "      ', not a ' .. want[ARGV[i]] .. '; nothing was written')\n"
    "  end\n"
    "end\n"
    "local skip = 0\n"
    "for i = 3, #ARGV, 4 do\n"
    "  local cmd = ARGV[i]\n"
    "  if skip > 0 then\n"
    "    skip = skip - 1\n"
    "  elseif cmd == 'ONCE' then\n"
    "    if not redis.call('SET', ARGV[i + 1], '1', 'NX', 'EX', ARGV[i + 2]) then skip = tonumber(ARGV[i + 3]) end\n"
    "  elseif cmd == 'UNLOCK' then\n"
    "    local lock, holders, token = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]\n"
    "    if redis.call('TYPE', holders)['ok'] == 'hash' and redis.call('HGET', holders, lock) == token then\n"
    "      redis.call('HDEL', holders, lock) end\n"
    "    if redis.call('TYPE', lock)['ok'] == 'string' and redis.call('GET', lock) == token then\n"
    "      redis.call('DEL', lock) end\n"
    "  elseif cmd == 'DEL' then\n"
    "    redis.call('DEL', ARGV[i + 1])\n"
    "  elseif cmd == 'LPUSH' or cmd == 'RPUSH' or cmd == 'SADD' then\n"
    "    redis.call(cmd, ARGV[i + 1], ARGV[i + 2])\n"
    "  else\n"
    "    redis.call(cmd, ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])\n"
    "  end\n"
    "end\n"
    "if src ~= '' then\n"
    "  if kind == 'zset' then redis.call('ZREM', src, job)\n"
    "  else redis.call('LREM', src, -1, job) end\n"
    "end\n"
    "return 1\n";

/* Appends an owned string. */
static void q_ops_take(q_ops *o, char *s, size_t len)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 16;
        o->argv = realloc(o->argv, sizeof(char *) * (size_t)o->cap);
        o->lens = realloc(o->lens, sizeof(size_t) * (size_t)o->cap);
    }
    o->argv[o->n] = s;
    o->lens[o->n] = len;
    o->n++;
}

static void q_ops_str(q_ops *o, const char *s, size_t len)
{
    char *copy = malloc(len + 1);
    memcpy(copy, s, len);
    copy[len] = '\0';
    q_ops_take(o, copy, len);
}

void q_ops_add(q_ops *o, const char *cmd, const char *key, const char *a, size_t alen, const char *b,
               size_t blen)
{
    q_ops_str(o, cmd, strlen(cmd));
    q_ops_str(o, key, strlen(key));
    q_ops_str(o, a ? a : "", a ? alen : 0);
    q_ops_str(o, b ? b : "", b ? blen : 0);
}

void q_ops_push_job(q_ops *o, const char *queue, const char *payload, size_t len)
{
    base_buf key;
    base_buf_init(&key);
    base_buf_adds(&key, "queue:");
    base_buf_adds(&key, queue);
    q_ops_add(o, "SADD", "queues", queue, strlen(queue), NULL, 0);
    q_ops_add(o, "LPUSH", key.data, payload, len, NULL, 0);
    base_buf_free(&key);
}

void q_ops_zadd(q_ops *o, const char *set, double score, const char *payload, size_t len)
{
    char s[40];
    base_json_float(score, s, sizeof s);
    q_ops_add(o, "ZADD", set, s, strlen(s), payload, len);
}

void q_ops_move(q_ops *to, q_ops *from)
{
    for (int i = 0; i < from->n; i++)
        q_ops_take(to, from->argv[i], from->lens[i]);
    free(from->argv);
    free(from->lens);
    memset(from, 0, sizeof *from);
}

void q_ops_unlock(q_ops *o, const char *lock, const char *holders, const char *token)
{
    q_ops_add(o, "UNLOCK", lock, holders, strlen(holders), token, strlen(token));
}

void q_ops_once(q_ops *o, const char *key, int ttl_s, q_ops *guarded)
{
    char ttl[24], n[24];
    snprintf(ttl, sizeof ttl, "%d", ttl_s);
    snprintf(n, sizeof n, "%d", guarded->n / 4);
    q_ops_add(o, "ONCE", key, ttl, strlen(ttl), n, strlen(n));
    q_ops_move(o, guarded);
}

void q_ops_keep(q_ops *o, const char *cmd)
{
    int kept = 0;
    for (int i = 0; i + 3 < o->n; i += 4) {
        bool keep = strcmp(o->argv[i], cmd) == 0;
        for (int k = 0; k < 4; k++) {
            if (!keep) {
                free(o->argv[i + k]);
                continue;
            }
            o->argv[kept] = o->argv[i + k];
            o->lens[kept++] = o->lens[i + k];
        }
    }
    o->n = kept;
}

void q_ops_free(q_ops *o)
{
    for (int i = 0; i < o->n; i++)
        free(o->argv[i]);
    free(o->argv);
    free(o->lens);
    memset(o, 0, sizeof *o);
}

int q_outcome_append(q_conn *c, const char *src, bool src_is_set, const char *job, size_t job_len,
                     const q_ops *ops)
{
    int argc = 3 + ops->n;
    const char **argv = malloc(sizeof(char *) * (size_t)argc);
    size_t *lens = malloc(sizeof(size_t) * (size_t)argc);
    argv[0] = src ? src : "";
    lens[0] = strlen(argv[0]);
    argv[1] = job ? job : "";
    lens[1] = job ? job_len : 0;
    argv[2] = src_is_set ? "zset" : "list";
    lens[2] = 4;
    for (int i = 0; i < ops->n; i++) {
        argv[3 + i] = ops->argv[i];
        lens[3 + i] = ops->lens[i];
    }
    int rc = q_conn_append_eval(c, q_outcome_lua, 1, argc, argv, lens);
    free(argv);
    free(lens);
    return rc;
}

int q_outcome_check(const redisReply *r, const q_conn *c, char *err, size_t errlen)
{
    if (!r) {
        snprintf(err, errlen, "%s", q_conn_error(c));
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "%s", r->str);
        return -1;
    }
    if (r->type != REDIS_REPLY_INTEGER) {
        snprintf(err, errlen, "unexpected reply type %d from the outcome script", r->type);
        return -1;
    }
    return 0;
}

int q_unlock_now(q_conn *c, const char *lock, const char *holders, const char *token, char *err, size_t errlen)
{
    q_ops ops = {0};
    q_ops_unlock(&ops, lock, holders, token);
    int rc = q_outcome_run(c, &ops, err, errlen);
    q_ops_free(&ops);
    return rc;
}

int q_outcome_run(q_conn *c, const q_ops *ops, char *err, size_t errlen)
{
    if (q_conn_ensure(c) != 0) {
        snprintf(err, errlen, "%s", q_conn_error(c));
        return -1;
    }
    q_outcome_append(c, NULL, false, NULL, 0, ops);
    redisReply *r = q_conn_reply(c);
    int rc = q_outcome_check(r, c, err, errlen);
    q_reply_free(r);
    return rc;
}
