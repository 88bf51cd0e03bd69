/* ingress_delete_effects.c -- what RemoveStatusService does around the database for a
 * removed remote status: before the transaction, read what the effects need (local
 * followers, non-silent mentions, hashtags, visibility, media rows and their storage
 * keys); after the commit, unpush it from local followers' home feeds (ZREM
 * feed:home:<id>, then a "delete" event on timeline:<id>), send the event to the
 * mentioned accounts' streams, the hashtag and public streams for a public status
 * (and the :media ones when it had media), and delete the attachments' stored files. */
#include "ingress_delete.h"

#include "jobs/maintenance.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *ingress_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    memcpy(d, s, n);
    return d;
}

/* Rows of a one-column query on the status id, as malloc'd strings. */
static int ingress_delete_column(db_conn *c, const char *name, const char *sql, const char *sid,
                                 char ***out, size_t *n, char *err, size_t errlen)
{
    const char *params[] = {sid};
    PGresult *res = db_exec(c, name, sql, 1, params, err, errlen);
    if (!res)
        return -1;
    *n = (size_t)PQntuples(res);
    *out = calloc(*n + 1, sizeof **out);
    for (size_t i = 0; i < *n; i++)
        (*out)[i] = ingress_strdup(PQgetvalue(res, (int)i, 0));
    PQclear(res);
    return 0;
}

int ingress_delete_collect(db_conn *c, services *s, ingress_delete_effects *e, char *err, size_t errlen)
{
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", (long long)e->status_id);
    const char *params[] = {sid};
    PGresult *res = db_exec(c, "ingress_delete_status",
                            "SELECT visibility, account_id FROM statuses WHERE id = $1::bigint", 1, params, err,
                            errlen);
    if (!res)
        return -1;
    if (PQntuples(res) > 0) {
        e->visibility = atoi(PQgetvalue(res, 0, 0));
        e->account_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    }
    PQclear(res);
    if (ingress_delete_column(c, "ingress_delete_followers",
                              "SELECT f.account_id FROM follows f JOIN accounts a ON a.id = f.account_id "
                              "WHERE f.target_account_id = (SELECT account_id FROM statuses WHERE id = $1::bigint) "
                              "AND a.domain IS NULL",
                              sid, &e->followers, &e->n_followers, err, errlen) != 0 ||
        ingress_delete_column(c, "ingress_delete_mentions",
                              "SELECT account_id FROM mentions WHERE status_id = $1::bigint AND NOT silent", sid,
                              &e->mentions, &e->n_mentions, err, errlen) != 0 ||
        ingress_delete_column(c, "ingress_delete_tags",
                              "SELECT lower(t.name) FROM tags t JOIN statuses_tags st ON st.tag_id = t.id "
                              "WHERE st.status_id = $1::bigint",
                              sid, &e->tags, &e->n_tags, err, errlen) != 0)
        return -1;
    res = db_exec(c, "ingress_delete_media",
                  "SELECT id, type, coalesce(file_file_name, ''), coalesce(file_storage_schema_version, 0), "
                  "coalesce(thumbnail_file_name, ''), coalesce(thumbnail_storage_schema_version, 0) "
                  "FROM media_attachments WHERE status_id = $1::bigint",
                  1, params, err, errlen);
    if (!res)
        return -1;
    e->n_media = (size_t)PQntuples(res);
    e->keys = calloc(e->n_media * MAINT_MEDIA_MAX_KEYS + 1, sizeof *e->keys);
    const char *prefix = s->store ? objstore_config(s->store)->key_prefix : "";
    for (int i = 0; i < PQntuples(res); i++) {
        maint_media_row row = {.id = strtoll(PQgetvalue(res, i, 0), NULL, 10),
                               .type = atoi(PQgetvalue(res, i, 1)),
                               .file_name = PQgetvalue(res, i, 2),
                               .file_schema = atoi(PQgetvalue(res, i, 3)),
                               .thumb_name = PQgetvalue(res, i, 4),
                               .thumb_schema = atoi(PQgetvalue(res, i, 5))};
        char keys[MAINT_MEDIA_MAX_KEYS][MAINT_MEDIA_KEY_LEN];
        int k = maint_media_keys(prefix, &row, keys, err, errlen);
        if (k < 0) {
            PQclear(res);
            return -1;
        }
        for (int j = 0; j < k; j++)
            e->keys[e->n_keys++] = ingress_strdup(keys[j]);
    }
    PQclear(res);
    return 0;
}

static void ingress_publish(q_conn *r, const char *channel, const char *payload)
{
    q_reply_free(q_conn_cmd(r, "PUBLISH %s %s", channel, payload));
}

void ingress_delete_apply(q_ctx *ctx, services *s, const ingress_delete_effects *e)
{
    q_conn *r = ingress_app_redis(ctx);
    char payload[96], channel[512], sid[24];
    snprintf(sid, sizeof sid, "%lld", (long long)e->status_id);
    snprintf(payload, sizeof payload, "{\"event\":\"delete\",\"payload\":\"%s\"}", sid);
    for (size_t i = 0; i < e->n_followers; i++) {
        redisReply *rep = q_conn_cmd(r, "ZREM feed:home:%s %s", e->followers[i], sid);
        bool removed = rep && rep->type == REDIS_REPLY_INTEGER && rep->integer > 0;
        q_reply_free(rep);
        if (removed) {
            snprintf(channel, sizeof channel, "timeline:%s", e->followers[i]);
            ingress_publish(r, channel, payload);
        }
    }
    for (size_t i = 0; i < e->n_mentions; i++) {
        snprintf(channel, sizeof channel, "timeline:%s", e->mentions[i]);
        ingress_publish(r, channel, payload);
    }
    if (e->visibility == AP_VIS_PUBLIC) {
        for (size_t i = 0; i < e->n_tags; i++) {
            snprintf(channel, sizeof channel, "timeline:hashtag:%s", e->tags[i]);
            ingress_publish(r, channel, payload);
        }
        ingress_publish(r, "timeline:public", payload);
        ingress_publish(r, "timeline:public:remote", payload);
        if (e->n_media) {
            ingress_publish(r, "timeline:public:media", payload);
            ingress_publish(r, "timeline:public:remote:media", payload);
        }
    }
    for (size_t i = 0; i < e->n_keys && s->store; i++) {
        char err[Q_ERRLEN];
        if (objstore_delete(s->store, e->keys[i], err, sizeof err) != 0)
            base_log(BASE_LOG_WARN, "ingress: status %s removed but its file %s stays: %s", sid, e->keys[i], err);
    }
}

static void ingress_free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

void ingress_delete_effects_free(ingress_delete_effects *e)
{
    ingress_free_list(e->followers, e->n_followers);
    ingress_free_list(e->mentions, e->n_mentions);
    ingress_free_list(e->tags, e->n_tags);
    ingress_free_list(e->keys, e->n_keys);
}
