/* config_redis.c -- Mastodon's Redis variables (REDIS_* and SIDEKIQ_REDIS_*) into
 * q_redis_opts, in the order lib/mastodon/redis_configuration.rb reads them. */
#include "config_redis.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One variable of a connection: its full name and value (NULL when unset). */
typedef struct config_redis_var {
    char name[64];
    const char *val;
} config_redis_var;

/* <prefix>REDIS_<suffix>; an empty value counts as unset unless empty_is_set. */
static config_redis_var config_redis_get(const char *prefix, const char *suffix, bool empty_is_set)
{
    config_redis_var v;
    snprintf(v.name, sizeof v.name, "%sREDIS_%s", prefix, suffix);
    v.val = getenv(v.name);
    if (v.val && !*v.val && !empty_is_set)
        v.val = NULL;
    return v;
}

/* Appends text to the "from" note, separated by sep when it is not the first. */
static void config_redis_note(config_redis *out, const char *sep, const char *text)
{
    size_t n = strlen(out->from);
    snprintf(out->from + n, sizeof out->from - n, "%s%s", n ? sep : "", text);
}

static int config_redis_number(const config_redis_var *v, const char *val, long lo, long hi, long *out,
                               char *err, size_t errlen)
{
    char *end;
    errno = 0;
    long x = strtol(val, &end, 10);
    if (errno || end == val || *end || x < lo || x > hi) {
        snprintf(err, errlen, "%s: '%s' is not a number from %ld to %ld", v->name, val, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

static int config_redis_copy(char *dst, size_t size, const config_redis_var *v, const char *val, char *err,
                             size_t errlen)
{
    if (strlen(val) >= size) {
        snprintf(err, errlen, "%s is too long (at most %zu bytes)", v->name, size - 1);
        return -1;
    }
    memcpy(dst, val, strlen(val) + 1);
    return 0;
}

/* One sentinel, "host", "host:port", "[v6]" or "[v6]:port", into s. */
static int config_redis_sentinel(const config_redis_var *list, const char *entry, long defport,
                                 struct q_sentinel_addr *s, char *err, size_t errlen)
{
    char host[sizeof s->host];
    const char *port = NULL;
    if (entry[0] == '[') {
        const char *rb = strchr(entry, ']');
        if (!rb || (rb[1] && rb[1] != ':')) {
            snprintf(err, errlen, "%s: '%s' is not [address] or [address]:port", list->name, entry);
            return -1;
        }
        snprintf(host, sizeof host, "%.*s", (int)(rb - entry - 1), entry + 1);
        port = rb[1] ? rb + 2 : NULL;
    } else {
        const char *colon = strchr(entry, ':');
        if (colon && strchr(colon + 1, ':')) {
            snprintf(err, errlen, "%s: '%s' has more than one ':' (an IPv6 address goes in "
                     "brackets: [address]:port)", list->name, entry);
            return -1;
        }
        size_t n = colon ? (size_t)(colon - entry) : strlen(entry);
        if (n >= sizeof host) {
            snprintf(err, errlen, "%s: a host name is too long (at most %zu bytes)", list->name,
                     sizeof host - 1);
            return -1;
        }
        memcpy(host, entry, n);
        host[n] = '\0';
        port = colon ? colon + 1 : NULL;
    }
    if (!host[0]) {
        snprintf(err, errlen, "%s: '%s' has no host (host[:port],... expected)", list->name, entry);
        return -1;
    }
    long p = defport;
    if (port && config_redis_number(list, port, 1, 65535, &p, err, errlen) != 0)
        return -1;
    memcpy(s->host, host, sizeof host);
    s->port = (int)p;
    return 0;
}

/* <P>REDIS_SENTINELS, comma-separated, blanks around entries ignored. */
static int config_redis_sentinels(const config_redis_var *list, long defport, q_redis_opts *o, char *err,
                                  size_t errlen)
{
    const char *p = list->val;
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *next = p[n] ? p + n + 1 : p + n;
        while (n && isspace((unsigned char)*p))
            p++, n--;
        while (n && isspace((unsigned char)p[n - 1]))
            n--;
        if (n > 0) {
            if (o->nsentinels == Q_MAX_SENTINELS) {
                snprintf(err, errlen, "%s: more than %d sentinels", list->name, Q_MAX_SENTINELS);
                return -1;
            }
            char entry[600];
            snprintf(entry, sizeof entry, "%.*s", (int)(n < sizeof entry ? n : sizeof entry - 1), p);
            if (config_redis_sentinel(list, entry, defport, &o->sentinels[o->nsentinels], err, errlen) != 0)
                return -1;
            o->nsentinels++;
        }
        p = next;
    }
    if (o->nsentinels == 0) {
        snprintf(err, errlen, "%s names no sentinel (host[:port],... expected)", list->name);
        return -1;
    }
    return 0;
}

/* A sentinel credential: its variable when set (noted in out), else the master's. */
static int config_redis_sentinel_credential(config_redis *out, const config_redis_var *v, char *dst,
                                            size_t size, const char *master, char *err, size_t errlen)
{
    if (!v->val) {
        snprintf(dst, size, "%s", master);
        return 0;
    }
    if (config_redis_copy(dst, size, v, v->val, err, errlen) != 0)
        return -1;
    config_redis_note(out, ", ", v->name);
    return 0;
}

/* The master named by <P>REDIS_SENTINEL_MASTER through <P>REDIS_SENTINELS. The first
 * sentinel stands in for host/port until one has named the master. */
static int config_redis_via_sentinels(const char *prefix, const config_redis_var *master,
                                      const config_redis_var *list, config_redis *out, char *err,
                                      size_t errlen)
{
    q_redis_opts *o = &out->opts;
    config_redis_var sport = config_redis_get(prefix, "SENTINEL_PORT", false);
    config_redis_var suser = config_redis_get(prefix, "SENTINEL_USERNAME", true);
    config_redis_var spass = config_redis_get(prefix, "SENTINEL_PASSWORD", true);
    long defport = 26379;
    if (config_redis_copy(o->sentinel_master, sizeof o->sentinel_master, master, master->val, err,
                          errlen) != 0 ||
        (sport.val && config_redis_number(&sport, sport.val, 1, 65535, &defport, err, errlen) != 0) ||
        config_redis_sentinels(list, defport, o, err, errlen) != 0)
        return -1;
    config_redis_note(out, ", ", list->name);
    config_redis_note(out, ", ", master->name);
    if (sport.val)
        config_redis_note(out, ", ", sport.name);
    if (config_redis_sentinel_credential(out, &suser, o->sentinel_username, sizeof o->sentinel_username,
                                         o->username, err, errlen) != 0 ||
        config_redis_sentinel_credential(out, &spass, o->sentinel_password, sizeof o->sentinel_password,
                                         o->password, err, errlen) != 0)
        return -1;
    memcpy(o->host, o->sentinels[0].host, sizeof o->host);
    o->port = o->sentinels[0].port;
    return 0;
}

/* Notes the variables of prefix that are set but play no part, as Mastodon ignores
 * them too (a SIDEKIQ_REDIS_PASSWORD without a SIDEKIQ_REDIS_HOST, say). */
static void config_redis_note_ignored(config_redis *out, const char *prefix, const char *const *suffixes,
                                      size_t n, const char *why)
{
    char names[CONFIG_REDIS_FROM] = "";
    for (size_t i = 0; i < n; i++) {
        config_redis_var v = config_redis_get(prefix, suffixes[i], false);
        size_t len = strlen(names);
        if (v.val)
            snprintf(names + len, sizeof names - len, "%s%s", len ? ", " : "", v.name);
    }
    if (!names[0])
        return;
    char note[CONFIG_REDIS_FROM];
    snprintf(note, sizeof note, "; %.200s ignored: %s", names, why);
    config_redis_note(out, "", note);
}

int config_redis_env(const char *prefix, config_redis *out, char *err, size_t errlen)
{
    static const char *const credentials[] = {"USER", "PASSWORD"};
    static const char *const endpoint[] = {"HOST", "PORT"};
    static const char *const parts[] = {"PORT", "DB", "USER", "PASSWORD", "SENTINELS", "SENTINEL_MASTER",
                                        "SENTINEL_PORT", "SENTINEL_USERNAME", "SENTINEL_PASSWORD"};
    bool base = prefix[0] == '\0';
    memset(out, 0, sizeof *out);
    q_redis_opts *o = &out->opts;
    config_redis_var url = config_redis_get(prefix, "URL", false);
    config_redis_var host = config_redis_get(prefix, "HOST", false);
    config_redis_var master = config_redis_get(prefix, "SENTINEL_MASTER", false);
    config_redis_var list = config_redis_get(prefix, "SENTINELS", false);
    bool sentinels = master.val && list.val;

    if (url.val) {
        char why[Q_ERRLEN];
        if (q_redis_parse_url(url.val, o, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s: %s", url.name, why);
            return -1;
        }
        config_redis_note(out, ", ", url.name);
        config_redis_note_ignored(out, prefix, credentials, 2, "the URL carries the credentials");
    } else if (!base && !host.val && !sentinels) {
        /* Sidekiq's own variables name no server: the base connection, whole. */
        if (config_redis_env("", out, err, errlen) != 0)
            return -1;
        char why[128];
        snprintf(why, sizeof why, "no %sREDIS_URL, _HOST or _SENTINELS with _SENTINEL_MASTER", prefix);
        config_redis_note_ignored(out, prefix, parts, sizeof parts / sizeof parts[0], why);
        return 0;
    } else {
        config_redis_var port = config_redis_get(prefix, "PORT", false);
        config_redis_var db = config_redis_get(prefix, "DB", false);
        config_redis_var user = config_redis_get(prefix, "USER", false);
        config_redis_var pass = config_redis_get(prefix, "PASSWORD", false);
        long v;
        o->port = 6379;
        o->tls_verify = true;
        if (db.val) {
            if (config_redis_number(&db, db.val, 0, INT_MAX, &v, err, errlen) != 0)
                return -1;
            o->db = (int)v;
        }
        /* As Mastodon's redis://user@host URL reads in redis-client: a user without a
         * password is sent as the password. */
        if (user.val && !pass.val) {
            if (config_redis_copy(o->password, sizeof o->password, &user, user.val, err, errlen) != 0)
                return -1;
        } else if ((user.val && config_redis_copy(o->username, sizeof o->username, &user, user.val, err,
                                                  errlen) != 0) ||
                   (pass.val && config_redis_copy(o->password, sizeof o->password, &pass, pass.val, err,
                                                  errlen) != 0)) {
            return -1;
        }
        if (sentinels) {
            if (config_redis_via_sentinels(prefix, &master, &list, out, err, errlen) != 0)
                return -1;
        } else {
            if (host.val) {
                if (config_redis_copy(o->host, sizeof o->host, &host, host.val, err, errlen) != 0)
                    return -1;
                config_redis_note(out, ", ", host.name);
            } else {
                snprintf(o->host, sizeof o->host, "localhost");
            }
            if (port.val) {
                if (config_redis_number(&port, port.val, 1, 65535, &v, err, errlen) != 0)
                    return -1;
                o->port = (int)v;
                config_redis_note(out, ", ", port.name);
            }
        }
        const config_redis_var *used[] = {&db, &user, &pass};
        for (size_t i = 0; i < sizeof used / sizeof used[0]; i++)
            if (used[i]->val)
                config_redis_note(out, ", ", used[i]->name);
        if (!out->from[0])
            config_redis_note(out, "", "defaults: no REDIS_ variables set");
        if (!sentinels && (master.val || list.val)) {
            char note[CONFIG_REDIS_FROM];
            snprintf(note, sizeof note, "; %s ignored: Sentinel needs both %s and %s",
                     master.val ? master.name : list.name, list.name, master.name);
            config_redis_note(out, "", note);
        }
        if (sentinels)
            config_redis_note_ignored(out, prefix, endpoint, 2, "the sentinels name the master");
    }
    out->base = base;
    const char *ca = getenv("REDIS_TLS_CA_FILE");
    if (ca && *ca)
        snprintf(o->tls_ca_file, sizeof o->tls_ca_file, "%s", ca);
    return 0;
}

bool config_redis_same(const q_redis_opts *a, const q_redis_opts *b)
{
    if (strcmp(a->unix_path, b->unix_path) != 0 || a->db != b->db || a->tls != b->tls ||
        strcmp(a->username, b->username) != 0 || a->nsentinels != b->nsentinels)
        return false;
    if (a->nsentinels == 0)
        return a->unix_path[0] || (strcmp(a->host, b->host) == 0 && a->port == b->port);
    if (strcmp(a->sentinel_master, b->sentinel_master) != 0)
        return false;
    for (int i = 0; i < a->nsentinels; i++)
        if (strcmp(a->sentinels[i].host, b->sentinels[i].host) != 0 ||
            a->sentinels[i].port != b->sentinels[i].port)
            return false;
    return true;
}

void config_redis_log(const char *what, const q_redis_opts *o, const char *from)
{
    char where[1024];
    q_redis_describe(o, where, sizeof where);
    base_log(BASE_LOG_INFO, "%s Redis is %s%s%s (from %s)", what, where, o->username[0] ? " as " : "",
             o->username, from);
}
