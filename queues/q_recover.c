/* q_recover.c -- the safety net of reliable fetch.
 *
 * Every scotty process registers the queues it holds private lists for in
 * scotty:fetchers. A process whose heartbeat hash has expired (60 s) is dead: any
 * live process moves its private lists back to the public queues, oldest job
 * first in line. A job recovered more than recover_threshold times within 72 h
 * is a poison pill (it keeps killing workers) and goes to the dead set instead
 * (or is dropped when it says "dead": false). One recovery at a time cluster-
 * wide, under a short Redis lock. On a clean stop a process returns its own
 * private lists the same way, without counting, and so does an operator's
 * `scotty requeue-private` (q_private_requeue). */
#include "q_internal.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS: private list, queue, dead set, recovered hash, queues set.
 * ARGV: now, threshold (0: plain requeue), dead cutoff, dead rank bound, queue name.
 * Every key it reads or writes is type-checked first, so a job is popped from the
 * private list only when its push cannot fail. */
static const char *q_recover_lua =
    "local want = {{KEYS[1], 'list'}, {KEYS[2], 'list'}, {KEYS[3], 'zset'}, {KEYS[4], 'hash'},\n"
    "  {KEYS[5], 'set'}}\n"
    "for _, k in ipairs(want) do\n"
    "  local t = redis.call('TYPE', k[1])['ok']\n"
    "  if t ~= 'none' and t ~= k[2] then\n"
    "    return redis.error_reply('WRONGTYPE ' .. k[1] .. ' holds a ' .. t .. ', not a ' .. k[2] ..\n"
    "      '; nothing was moved')\n"
    "  end\n"
    "end\n"
    "local requeued, dead = 0, 0\n"
    "local threshold = tonumber(ARGV[2])\n"
    "while true do\n"
    "  local job = redis.call('LPOP', KEYS[1])\n"
    "  if not job then break end\n"
    "  local n = 0\n"
    "  local ok, doc = pcall(cjson.decode, job)\n"
    "  if type(doc) ~= 'table' then ok = false end\n"
    "  local id = (ok and type(doc.jid) == 'string') and doc.jid or redis.sha1hex(job)\n"
    "  if threshold > 0 then\n"
    "    n = redis.call('HINCRBY', KEYS[4], id, 1)\n"
    "    redis.call('EXPIRE', KEYS[4], 259200)\n"
    "  end\n"
    "  if threshold > 0 and n > threshold then\n"
    "    redis.call('HDEL', KEYS[4], id)\n"
    "    if not (ok and doc.dead == false) then\n"
    "      redis.call('ZADD', KEYS[3], ARGV[1], job)\n"
    "      redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[3])\n"
    "      redis.call('ZREMRANGEBYRANK', KEYS[3], 0, ARGV[4])\n"
    "    end\n"
    "    dead = dead + 1\n"
    "  else\n"
    "    redis.call('RPUSH', KEYS[2], job)\n"
    "    requeued = requeued + 1\n"
    "  end\n"
    "end\n"
    "if requeued > 0 then redis.call('SADD', KEYS[5], ARGV[5]) end\n"
    "return {requeued, dead}\n";

/* Releases the recovery lock if it is still ours. */
static const char *q_recover_unlock_lua =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n";

/* Moves the private list of `identity` for `queue` back to the front of queue:QUEUE.
 * threshold > 0 counts each job in scotty:recovered and sends one recovered more than
 * threshold times to the dead set (trimmed by retry's bounds); 0 moves every job. Adds
 * to the counts; returns 0, or -1 with err. */
static int q_recover_move(q_conn *c, const char *identity, const char *queue, int threshold,
                          const q_retry_cfg *retry, long *requeued, long *dead, char *err,
                          size_t errlen)
{
    char priv[Q_KEY_MAX], qkey[Q_KEY_MAX], now[40], cutoff[40], rank[24], thr[16];
    if (q_private_key(identity, queue, priv) != 0 ||
        (size_t)snprintf(qkey, sizeof qkey, "queue:%s", queue) >= sizeof qkey) {
        snprintf(err, errlen, "cannot move the private list of %s for queue %.64s: the key would be "
                 "longer than %d bytes; move it back by hand", identity, queue, Q_KEY_MAX - 1);
        return -1;
    }
    double t = base_now();
    base_json_float(t, now, sizeof now);
    q_dead_bounds(t, retry->dead_timeout, retry->dead_max_jobs, cutoff, rank);
    snprintf(thr, sizeof thr, "%d", threshold);
    const char *argv[] = {priv, qkey, "dead", Q_KEY_RECOVERED, "queues", now, thr, cutoff, rank, queue};
    redisReply *r = q_conn_eval(c, q_recover_lua, 5, 10, argv, NULL);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        snprintf(err, errlen, "could not move %s back to %s: %s", priv, qkey,
                 r && r->type == REDIS_REPLY_ERROR ? r->str : q_conn_error(c));
        q_reply_free(r);
        return -1;
    }
    *requeued += r->element[0]->integer;
    *dead += r->element[1]->integer;
    q_reply_free(r);
    return 0;
}

/* Moves one private list back; returns 0 or -1 (logged). Adds to the requeued and
 * dead counts. */
static int q_recover_list(q_engine *e, q_conn *c, const char *identity, const char *queue,
                          int threshold, long *requeued, long *dead)
{
    char err[Q_ERRLEN];
    if (q_recover_move(c, identity, queue, threshold, &e->cfg.retry, requeued, dead, err, sizeof err) == 0)
        return 0;
    base_log(BASE_LOG_ERROR, "%s", err);
    return -1;
}

int q_recover_orphans(q_engine *e, q_conn *c)
{
    redisReply *lock = q_conn_cmd(c, "SET " Q_KEY_RECOVER_LOCK " %s NX EX 30", e->identity);
    bool mine = lock && lock->type == REDIS_REPLY_STATUS;
    q_reply_free(lock);
    if (!mine)
        return 0;
    redisReply *all = q_conn_cmd(c, "HGETALL " Q_KEY_FETCHERS);
    int recovered_processes = 0;
    for (size_t i = 0; all && all->type == REDIS_REPLY_ARRAY && i + 1 < all->elements; i += 2) {
        const char *id = all->element[i]->str;
        if (strcmp(id, e->identity) == 0)
            continue;
        redisReply *ex = q_conn_cmd(c, "EXISTS %s", id);
        bool alive = !ex || ex->type != REDIS_REPLY_INTEGER || ex->integer != 0;
        q_reply_free(ex);
        if (alive)
            continue;
        if (e->cfg.on_orphan)
            e->cfg.on_orphan(id, e->cfg.user);
        long requeued = 0, dead = 0;
        bool ok = true;
        char *queues = strdup(all->element[i + 1]->str);
        char *save = NULL;
        for (char *q = strtok_r(queues, " ", &save); q; q = strtok_r(NULL, " ", &save))
            ok = q_recover_list(e, c, id, q, e->cfg.recover_threshold, &requeued, &dead) == 0 && ok;
        free(queues);
        if (!ok)
            continue;
        redisReply *d = q_conn_cmd(c, "HDEL " Q_KEY_FETCHERS " %s", id);
        q_reply_free(d);
        recovered_processes++;
        atomic_fetch_add(&e->recovered, (uint64_t)requeued);
        if (requeued || dead)
            base_log(BASE_LOG_WARN, "process %s died holding jobs: %ld requeued, %ld sent to the dead set "
                  "after more than %d recoveries", id, requeued, dead, e->cfg.recover_threshold);
    }
    q_reply_free(all);
    const char *argv[] = {Q_KEY_RECOVER_LOCK, e->identity};
    q_reply_free(q_conn_eval(c, q_recover_unlock_lua, 1, 2, argv, NULL));
    return recovered_processes;
}

int q_recover_requeue_own(q_engine *e, q_conn *c)
{
    long requeued = 0, dead = 0;
    bool ok = true;
    for (int i = 0; i < e->cfg.order.nqueues; i++)
        ok = q_recover_list(e, c, e->identity, e->cfg.order.queues[i].name, 0, &requeued, &dead) == 0 && ok;
    if (requeued)
        base_log(BASE_LOG_INFO, "requeued %ld unfinished jobs", requeued);
    if (!ok) {
        base_log(BASE_LOG_ERROR, "some unfinished jobs are still in this process's private lists; a "
              "live scotty process will requeue them within a minute of this one's heartbeat "
              "expiring");
        return -1;
    }
    redisReply *d = q_conn_cmd(c, "HDEL " Q_KEY_FETCHERS " %s", e->identity);
    q_reply_free(d);
    return 0;
}

long q_private_requeue(q_conn *c, const char *identity, const char *queue, char *err, size_t errlen)
{
    const q_retry_cfg unused = {0}; /* threshold 0: no job goes to the dead set */
    long requeued = 0, dead = 0;
    if (q_recover_move(c, identity, queue, 0, &unused, &requeued, &dead, err, errlen) != 0)
        return -1;
    return requeued;
}
