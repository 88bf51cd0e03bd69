/* q_unique.c -- releasing sidekiq-unique-jobs (v8) locks carried in a payload,
 * as that gem's server middleware would, so Ruby clients can enqueue the same
 * job again. The payload names the lock type ("lock") and its digest
 * ("lock_digest", already "uniquejobs:<hash>"):
 *   until_executing, until_and_while_executing: released before the job runs;
 *   until_executed: released after it succeeds (a failure keeps it for the retry);
 *   until_expired, while_executing: nothing to release here (TTL / runtime lock). */
#include "q_internal.h"

#include <hiredis/hiredis.h>
#include <string.h>

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
