/* q_sentinel.c -- finding the Redis master through Sentinel, as redis-rb does for
 * Mastodon's REDIS_SENTINELS: ask each sentinel in turn (the one that answered last
 * first) for the master's address by name. A connection that reaches a server which
 * turns out to be a replica, or that is told READONLY, asks again (q_conn.c). */
#include "q_internal.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One sentinel as a plain endpoint with the sentinels' own credentials. */
static void q_sentinel_opts(const q_redis_opts *o, int i, q_redis_opts *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->host, sizeof s->host, "%s", o->sentinels[i].host);
    s->port = o->sentinels[i].port;
    snprintf(s->username, sizeof s->username, "%s", o->sentinel_username);
    snprintf(s->password, sizeof s->password, "%s", o->sentinel_password);
    s->tls = o->tls;
    s->tls_verify = o->tls_verify;
    snprintf(s->tls_ca_file, sizeof s->tls_ca_file, "%s", o->tls_ca_file);
}

/* Asks sentinel i; 0 with host/port set, or -1 with why. */
static int q_sentinel_ask(const q_redis_opts *o, int i, char *host, size_t hostlen, int *port,
                          char *why, size_t whylen)
{
    q_redis_opts so;
    q_sentinel_opts(o, i, &so);
    q_conn *c = q_conn_new(&so);
    q_conn_set_quiet(c);
    int rc = -1;
    redisReply *r = q_conn_ensure(c) == 0
                        ? q_conn_cmd(c, "SENTINEL get-master-addr-by-name %s", o->sentinel_master)
                        : NULL;
    if (!r)
        snprintf(why, whylen, "%s", q_conn_error(c));
    else if (r->type == REDIS_REPLY_ERROR)
        snprintf(why, whylen, "%s", r->str);
    else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
             r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING)
        snprintf(why, whylen, "it knows no master named %s", o->sentinel_master);
    else if ((size_t)snprintf(host, hostlen, "%s", r->element[0]->str) >= hostlen)
        snprintf(why, whylen, "the master's host name is too long");
    else {
        *port = atoi(r->element[1]->str);
        rc = 0;
    }
    q_reply_free(r);
    q_conn_free(c);
    return rc;
}

int q_sentinel_master(q_redis_opts *o, int *first, char *err, size_t errlen)
{
    char why[Q_ERRLEN] = "";
    for (int k = 0; k < o->nsentinels; k++) {
        int i = (*first + k) % o->nsentinels;
        char host[sizeof o->host];
        int port;
        if (q_sentinel_ask(o, i, host, sizeof host, &port, why, sizeof why) == 0) {
            *first = i;
            snprintf(o->host, sizeof o->host, "%s", host);
            o->port = port;
            return 0;
        }
    }
    snprintf(err, errlen, "no sentinel named a master for %s (last: %s:%d: %s)", o->sentinel_master,
             o->sentinels[(*first + o->nsentinels - 1) % o->nsentinels].host,
             o->sentinels[(*first + o->nsentinels - 1) % o->nsentinels].port, why);
    return -1;
}
