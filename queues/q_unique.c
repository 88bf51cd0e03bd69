/* q_unique.c -- sidekiq-unique-jobs (v8.1, the version Mastodon pins) locks, as that
 * gem's middleware and Sidekiq API extension handle them, so Ruby and scotty share them.
 *
 * Releasing a lock carried in a payload, as the server middleware would, so Ruby
 * clients can enqueue the same job again. The payload names the lock type ("lock")
 * and its digest ("lock_digest", already "uniquejobs:<hash>"):
 *   until_executing, until_and_while_executing: released before the job runs;
 *   until_executed: released after it succeeds (a failure keeps it for the retry);
 *   until_expired, while_executing: nothing to release here (TTL / runtime lock).
 *
 * Pushing a job with a lock, as the client middleware does (Job.prepare's payload
 * fields and queue_and_lock.lua), and deleting scheduled jobs with their locks, as
 * the gem's SortedEntry#delete does. The gem's settings are Mastodon's
 * (config/initializers/sidekiq.rb): digest_algorithm :legacy (MD5), lock_prefix
 * "uniquejobs", lock_timeout 0, on_conflict none (a locked digest drops the push),
 * max_history 1,000 changelog entries, lock_info off. */
#include "q_internal.h"

#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define Q_UNIQUE_HISTORY 1000 /* the gem's max_history */

/* KEYS: digest, digests zset, expiring digests zset. ARGV: jid. */
static const char *q_unique_unlock_lua =
    "local digest, jid = KEYS[1], ARGV[1]\n"
    "local locked = digest .. ':LOCKED'\n"
    "redis.call('LREM', digest .. ':QUEUED', -1, jid)\n"
    "redis.call('LREM', digest .. ':PRIMED', -1, jid)\n"
    "if redis.call('HEXISTS', locked, jid) == 0 then return 0 end\n"
    "redis.call('HDEL', locked, jid)\n"
    "if redis.call('HLEN', locked) == 0 then\n"
    "  redis.call('UNLINK', digest, digest .. ':QUEUED', digest .. ':PRIMED', locked, digest .. ':INFO')\n"
    "  redis.call('ZREM', KEYS[2], digest)\n"
    "  redis.call('ZREM', KEYS[3], digest)\n"
    "end\n"
    "return 1\n";

void q_unique_release(q_conn *c, const q_job *job, q_unique_phase phase)
{
    json_t *lock = json_object_get(job->doc, "lock");
    json_t *digest = json_object_get(job->doc, "lock_digest");
    if (!json_is_string(lock) || !json_is_string(digest) || !job->jid[0])
        return;
    const char *type = json_string_value(lock);
    bool before = strcmp(type, "until_executing") == 0 || strcmp(type, "until_and_while_executing") == 0;
    bool after = strcmp(type, "until_executed") == 0;
    if (!((phase == Q_UNIQUE_BEFORE && before) || (phase == Q_UNIQUE_AFTER_SUCCESS && after)))
        return;
    const char *argv[] = {json_string_value(digest), "uniquejobs:digests",
                          "uniquejobs:expiring_digests", job->jid};
    redisReply *r = q_conn_eval(c, q_unique_unlock_lua, 3, 4, argv, NULL);
    if (!r || r->type == REDIS_REPLY_ERROR)
        base_log(BASE_LOG_ERROR, "jid=%s: could not release unique lock %s: %s; re-enqueues are blocked "
              "until its TTL", job->jid, json_string_value(digest), r ? r->str : q_conn_error(c));
    q_reply_free(r);
}

/* The changelog entry the gem's scripts log (shared/_common.lua's log()). */
#define Q_UNIQUE_LOG_LUA \
    "local function log(message)\n" \
    "  local entry = cjson.encode({digest = digest, job_id = jid, script = script, message = message, " \
    "time = now})\n" \
    "  redis.call('ZADD', changelog, now, entry)\n" \
    "  redis.call('ZREMRANGEBYRANK', changelog, 0, -1 * history)\n" \
    "  redis.call('PUBLISH', changelog, entry)\n" \
    "end\n"

/* queue_and_lock.lua for a lock limit of 1, then the push itself, in one script, so a
 * lock never stands without its job. KEYS: digest, :QUEUED, :PRIMED, :LOCKED, :INFO,
 * changelog, digests zset, the job's home (the schedule set, or queue:<name>). ARGV:
 * jid, pttl, lock score, now, max_history, payload, "zset" with the score or "list"
 * with the queue's name. Returns 1 pushed (also when this jid holds the lock already,
 * as the gem lets a re-push of the same job through), 0 locked by another job. */
static const char *q_unique_push_lua =
    "local digest, queued, primed, locked, info, changelog, digests, home = unpack(KEYS)\n"
    "local jid, pttl, score, now, history = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), "
    "tonumber(ARGV[5])\n"
    "local script = 'queue_and_lock.lua'\n"
    Q_UNIQUE_LOG_LUA
    "local want = {[digest] = 'string', [locked] = 'hash', [changelog] = 'zset', [digests] = 'zset', "
    "[home] = ARGV[7] == 'zset' and 'zset' or 'list'}\n"
    "if ARGV[7] ~= 'zset' then want['queues'] = 'set' end\n"
    "for key, kind in pairs(want) do\n"
    "  local t = redis.call('TYPE', key)['ok']\n"
    "  if t ~= 'none' and t ~= kind then\n"
    "    return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. t .. ', not a ' .. kind .. "
    "'; nothing was written')\n"
    "  end\n"
    "end\n"
    "if redis.call('HEXISTS', locked, jid) == 1 then\n"
    "  log('Duplicate')\n"
    "elseif redis.call('HLEN', locked) > 0 then\n"
    "  log('Limited')\n"
    "  return 0\n"
    "else\n"
    "  redis.call('SET', digest, jid)\n"
    "  redis.call('ZADD', digests, score == '' and now or score, digest)\n"
    "  redis.call('HSET', locked, jid, now)\n"
    "  if pttl > 0 then\n"
    "    redis.call('PEXPIRE', digest, pttl)\n"
    "    redis.call('PEXPIRE', locked, pttl)\n"
    "    redis.call('PEXPIRE', info, pttl)\n"
    "  end\n"
    "  log('Locked')\n"
    "end\n"
    "if ARGV[7] == 'zset' then redis.call('ZADD', home, ARGV[8], ARGV[6])\n"
    "else redis.call('SADD', 'queues', ARGV[8]) redis.call('LPUSH', home, ARGV[6]) end\n"
    "return 1\n";

/* A scheduled job removed, and only then its lock deleted (delete.lua). KEYS: the
 * schedule set, digest, :QUEUED, :PRIMED, :LOCKED, :INFO, changelog, digests zset.
 * ARGV: the job as it is there, its jid, now, max_history. Returns 1, or 0 when the
 * job was gone already. */
static const char *q_unique_unschedule_lua =
    "local schedule, digest, queued, primed, locked, info, changelog, digests = unpack(KEYS)\n"
    "local jid, now, history = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local script = 'delete.lua'\n"
    Q_UNIQUE_LOG_LUA
    "if redis.call('ZREM', schedule, ARGV[1]) == 0 then return 0 end\n"
    "if digest ~= '' then\n"
    "  local n = redis.call('ZREM', digests, digest) + redis.call('UNLINK', digest, queued, primed, locked, info)\n"
    "  log('Deleted (' .. n .. ') keys')\n"
    "end\n"
    "return 1\n";

/* The gem's five per-digest keys and its three shared ones (SidekiqUniqueJobs::Key). */
typedef struct q_unique_keys {
    char digest[Q_KEY_MAX];
    char queued[Q_KEY_MAX + 8], primed[Q_KEY_MAX + 8], locked[Q_KEY_MAX + 8], info[Q_KEY_MAX + 8]; /* + ":QUEUED" */
} q_unique_keys;

static void q_unique_keys_of(const char *digest, q_unique_keys *k)
{
    snprintf(k->digest, sizeof k->digest, "%s", digest);
    snprintf(k->queued, sizeof k->queued, "%s:QUEUED", digest);
    snprintf(k->primed, sizeof k->primed, "%s:PRIMED", digest);
    snprintf(k->locked, sizeof k->locked, "%s:LOCKED", digest);
    snprintf(k->info, sizeof k->info, "%s:INFO", digest);
}

/* LockDigest#create_digest with the legacy algorithm: MD5 of
 * JSON.generate({class, queue, lock_args}.sort). */
static int q_unique_digest(const q_push *p, const char *queue, char out[Q_KEY_MAX])
{
    base_buf b;
    base_buf_init(&b);
    base_buf_adds(&b, "[[\"class\",");
    base_json_string(&b, p->klass, strlen(p->klass));
    base_buf_adds(&b, "],[\"lock_args\",");
    base_buf_adds(&b, p->args_json ? p->args_json : "[]");
    base_buf_adds(&b, "],[\"queue\",");
    base_json_string(&b, queue, strlen(queue));
    base_buf_adds(&b, "]]");
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int ok = EVP_Digest(b.data, b.len, md, &n, EVP_md5(), NULL);
    base_buf_free(&b);
    if (!ok)
        return -1;
    int off = snprintf(out, Q_KEY_MAX, "uniquejobs:");
    for (unsigned int i = 0; i < n; i++)
        off += snprintf(out + off, (size_t)(Q_KEY_MAX - off), "%02x", md[i]);
    return 0;
}

int q_unique_push(q_conn *c, const q_push *p, const char *lock, long ttl_s, q_ts_format ts, char *err,
                  size_t errlen)
{
    const char *queue = p->queue ? p->queue : "default";
    double now = base_now();
    char digest[Q_KEY_MAX];
    if (q_unique_digest(p, queue, digest) < 0) {
        snprintf(err, errlen, "could not push %s: no MD5 for its unique-jobs digest", p->klass);
        return -1;
    }
    /* LockTTL: the configured TTL plus the whole seconds until the job is due */
    long until = p->at > now ? (long)p->at - (long)now : 0;
    long ttl = ttl_s > 0 ? ttl_s + until : 0;
    base_buf extra;
    base_buf_init(&extra);
    if (p->extra_json && p->extra_json[0])
        base_buf_addf(&extra, "%s,", p->extra_json);
    base_buf_adds(&extra, "\"lock\":");
    base_json_string(&extra, lock, strlen(lock));
    base_buf_addf(&extra, ",\"lock_timeout\":0,\"lock_ttl\":%ld,\"lock_prefix\":\"uniquejobs\",\"lock_args\":%s,"
                  "\"lock_digest\":\"%s\"", ttl, p->args_json ? p->args_json : "[]", digest);
    q_push locked = *p;
    locked.extra_json = extra.data;
    char jid[25];
    char *payload = q_client_build(&locked, ts, jid);
    base_buf_free(&extra);
    bool scheduled = p->at > now;
    char home[Q_KEY_MAX], pttl[32], score[40] = "", at[40], nows[40], history[16];
    if (scheduled)
        snprintf(home, sizeof home, "schedule");
    else
        snprintf(home, sizeof home, "queue:%s", queue);
    snprintf(pttl, sizeof pttl, "%ld", ttl * 1000);
    if (scheduled)
        snprintf(score, sizeof score, "%.6f", p->at); /* item["at"].to_s, the gem's lock score */
    base_json_float(p->at, at, sizeof at);
    snprintf(nows, sizeof nows, "%.6f", now);
    snprintf(history, sizeof history, "%d", Q_UNIQUE_HISTORY);
    q_unique_keys k;
    q_unique_keys_of(digest, &k);
    const char *argv[] = {k.digest, k.queued, k.primed, k.locked, k.info, "uniquejobs:changelog",
                          "uniquejobs:digests", home, jid, pttl, score, nows, history, payload,
                          scheduled ? "zset" : "list", scheduled ? at : queue};
    redisReply *r = q_conn_eval(c, q_unique_push_lua, 8, 16, argv, NULL);
    free(payload);
    int rc = -1;
    if (!r)
        snprintf(err, errlen, "could not push %s: %s", p->klass, q_conn_error(c));
    else if (r->type == REDIS_REPLY_ERROR)
        snprintf(err, errlen, "could not push %s: Redis refused: %s", p->klass, r->str);
    else
        rc = r->type == REDIS_REPLY_INTEGER && r->integer == 1 ? 1 : 0;
    q_reply_free(r);
    return rc;
}

/* Whether the scheduled job `raw` is klass with first_arg as its first argument; its
 * jid and lock digest ("" without one) then go to jid and digest. */
static bool q_unique_matches(const char *raw, size_t len, const char *klass, const json_t *first_arg,
                             char jid[Q_KEY_MAX], char digest[Q_KEY_MAX])
{
    json_t *doc = json_loadb(raw, len, 0, NULL);
    json_t *args = json_object_get(doc, "args");
    const char *k = json_string_value(json_object_get(doc, "class"));
    bool match = k && strcmp(k, klass) == 0 && json_is_array(args) && json_array_size(args) > 0 &&
                 json_equal(json_array_get(args, 0), first_arg);
    if (match) {
        const char *j = json_string_value(json_object_get(doc, "jid"));
        const char *d = json_string_value(json_object_get(doc, "lock_digest"));
        snprintf(jid, Q_KEY_MAX, "%s", j ? j : "");
        snprintf(digest, Q_KEY_MAX, "%s", d ? d : "");
    }
    json_decref(doc);
    return match;
}

/* Removes one matching entry with its lock; 1 removed, 0 gone already, -1 err. */
static int q_unique_unschedule_one(q_conn *c, const redisReply *member, const char *jid, const char *digest,
                                   char *err, size_t errlen)
{
    q_unique_keys k;
    q_unique_keys_of(digest, &k);
    char nows[40], history[16];
    snprintf(nows, sizeof nows, "%.6f", base_now());
    snprintf(history, sizeof history, "%d", Q_UNIQUE_HISTORY);
    const char *argv[] = {"schedule", k.digest, k.queued, k.primed, k.locked, k.info, "uniquejobs:changelog",
                          "uniquejobs:digests", member->str, jid, nows, history};
    size_t lens[12];
    for (int i = 0; i < 12; i++)
        lens[i] = i == 8 ? member->len : strlen(argv[i]);
    redisReply *r = q_conn_eval(c, q_unique_unschedule_lua, 8, 12, argv, lens);
    int rc = -1;
    if (!r)
        snprintf(err, errlen, "%s", q_conn_error(c));
    else if (r->type == REDIS_REPLY_ERROR)
        snprintf(err, errlen, "Redis refused: %s", r->str);
    else
        rc = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    q_reply_free(r);
    return rc;
}

int q_unique_unschedule(q_conn *c, const char *klass, const char *first_arg, char *err, size_t errlen)
{
    json_t *want = json_loads(first_arg, JSON_DECODE_ANY, NULL);
    if (!want) {
        snprintf(err, errlen, "the first argument to match is not JSON: %s", first_arg);
        return -1;
    }
    /* ZSCAN's MATCH narrows on the server to entries naming the class; glob characters
     * in it are escaped */
    char pattern[Q_KEY_MAX];
    size_t o = 0;
    pattern[o++] = '*';
    for (const char *s = klass; *s && o < sizeof pattern - 3; s++) {
        if (strchr("*?[]\\", *s))
            pattern[o++] = '\\';
        pattern[o++] = *s;
    }
    pattern[o++] = '*';
    pattern[o] = '\0';
    char cursor[32] = "0";
    int removed = 0;
    do {
        redisReply *r = q_conn_cmd(c, "ZSCAN schedule %s MATCH %s COUNT 1000", cursor, pattern);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[1]->type != REDIS_REPLY_ARRAY) {
            snprintf(err, errlen, "could not scan the schedule set for %s: %s", klass,
                     !r ? q_conn_error(c) : r->type == REDIS_REPLY_ERROR ? r->str : "an unexpected reply");
            q_reply_free(r);
            json_decref(want);
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str ? r->element[0]->str : "0");
        const redisReply *items = r->element[1];
        for (size_t i = 0; i + 1 < items->elements; i += 2) {
            const redisReply *m = items->element[i];
            char jid[Q_KEY_MAX], digest[Q_KEY_MAX];
            if (m->type != REDIS_REPLY_STRING || !q_unique_matches(m->str, m->len, klass, want, jid, digest))
                continue;
            int one = q_unique_unschedule_one(c, m, jid, digest, err, errlen);
            if (one < 0) {
                q_reply_free(r);
                json_decref(want);
                return -1;
            }
            removed += one;
        }
        q_reply_free(r);
    } while (strcmp(cursor, "0") != 0);
    json_decref(want);
    return removed;
}
