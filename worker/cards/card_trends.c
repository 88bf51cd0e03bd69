/* card_trends.c -- what attach_card does in Redis after the row: Rails.cache.delete
 * of the status (its entry "statuses/<id>", ingress_rails_cache_delete), and Trends.links.register:
 * for a public, unsilenced status without spoiler or sensitive flag whose card is
 * appropriate_for_trends?, the card's day history (activity:links:<id>:<day> uses,
 * ...:accounts HyperLogLog of account ids, both kept 14 days) and the day's set of
 * used ids (trending_links:used:<day>, kept a day), as Trends::History::Day#add and
 * Trends::Base#record_used_id write them. */
#include "card_internal.h"
#include "ingress/ingress_internal.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CARD_HISTORY_TTL (14 * 86400)
#define CARD_USED_TTL 86400

void card_trends_register(q_ctx *ctx, int64_t card_id, int64_t account_id)
{
    time_t now = time(NULL);
    long long day = (long long)(now - now % 86400);
    char uses[96], accounts[112], used[64], id[24], acct[24];
    snprintf(uses, sizeof uses, "activity:links:%" PRId64 ":%lld", card_id, day);
    snprintf(accounts, sizeof accounts, "%s:accounts", uses);
    snprintf(used, sizeof used, "trending_links:used:%lld", day);
    snprintf(id, sizeof id, "%" PRId64, card_id);
    snprintf(acct, sizeof acct, "%" PRId64, account_id);
    q_conn *c = ingress_app_redis(ctx);
    if (!c || q_conn_ensure(c) != 0) {
        base_log(BASE_LOG_WARN, "cards: trends for card %s not recorded: Redis: %s", id,
                 c ? q_conn_error(c) : "no connection");
        return;
    }
    q_conn_appendf(c, "INCRBY %s 1", uses);
    q_conn_appendf(c, "PFADD %s %s", accounts, acct);
    q_conn_appendf(c, "EXPIRE %s %d", uses, CARD_HISTORY_TTL);
    q_conn_appendf(c, "EXPIRE %s %d", accounts, CARD_HISTORY_TTL);
    q_conn_appendf(c, "SADD %s %s", used, id);
    q_conn_appendf(c, "EXPIRE %s %d", used, CARD_USED_TTL);
    for (int i = 0; i < 6; i++) {
        redisReply *r = q_conn_reply(c);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            base_log(BASE_LOG_WARN, "cards: trends for card %s not recorded: Redis: %s", id,
                     r ? r->str : q_conn_error(c));
            q_reply_free(r);
            if (!r)
                return;
            continue;
        }
        q_reply_free(r);
    }
}

void card_cache_forget(q_ctx *ctx, int64_t status_id)
{
    char key[64];
    snprintf(key, sizeof key, "statuses/%" PRId64, status_id);
    ingress_rails_cache_delete(ctx, key);
}
