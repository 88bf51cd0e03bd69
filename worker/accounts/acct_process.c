/* acct_process.c -- ActivityPub::ProcessAccountService#call: the handle from
 * `webfinger` or preferredUsername and the id's host, confirmed by WebFinger (one
 * redirect followed, the self link must be the actor's id) unless it is the known
 * account's unchanged handle; domain blocks (suspend refuses, silence silences a new
 * account, reject_media keeps avatar and header URLs unset); under the Redis lock
 * process_account:<uri> the account by uri, else by confirmed handle, else a new one
 * (refused while 10 subdomains of its registrable name are new in the last minute,
 * acct_subdomains.c; counted against discovery_per_request:<request_id>, 400 per 5
 * minutes); the keys, the collection counts and movedTo read; one transaction
 * (acct_store.c); then the follow-up jobs Mastodon pushes. What scotty leaves to Ruby is found before writing:
 * a change of the remote suspension state (Account#suspend!/unsuspend! and their
 * workers). A handle another account holds (username collision) or a key that does
 * not parse is refused with nothing written. */
#include "acct_internal.h"
#include "emoji.h"
#include "ingress_create.h"
#include "ingress_fetch.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The stored account the document updates, as the decisions need it. */
typedef struct acct_known {
    int64_t id;
    char uri[1024], username[2100], domain[256];
    bool suspended, suspended_locally, has_avatar_file, has_header_file;
    char avatar_remote_url[2100], header_remote_url[2100];
    acct_old_image old_avatar, old_header; /* the stored files a new URL replaces */
} acct_known;

static int acct_known_load(db_conn *c, const char *stmt, const char *sql, const char *p1,
                           const char *p2, acct_known *k, char *err, size_t errlen)
{
    const char *params[] = {p1, p2};
    PGresult *res = db_exec_idempotent(c, stmt, sql, p2 ? 2 : 1, params, err, errlen);
    if (!res)
        return -1;
    int rc = 1;
    if (PQntuples(res) > 0) {
        memset(k, 0, sizeof *k);
        k->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(k->uri, sizeof k->uri, "%s", PQgetvalue(res, 0, 1));
        snprintf(k->username, sizeof k->username, "%s", PQgetvalue(res, 0, 2));
        snprintf(k->domain, sizeof k->domain, "%s", PQgetvalue(res, 0, 3));
        k->suspended = PQgetvalue(res, 0, 4)[0] == 't';
        k->suspended_locally = PQgetvalue(res, 0, 5)[0] == 't';
        snprintf(k->avatar_remote_url, sizeof k->avatar_remote_url, "%s", PQgetvalue(res, 0, 6));
        snprintf(k->header_remote_url, sizeof k->header_remote_url, "%s", PQgetvalue(res, 0, 7));
        k->has_avatar_file = PQgetvalue(res, 0, 8)[0] == 't';
        k->has_header_file = PQgetvalue(res, 0, 9)[0] == 't';
        acct_old_image *old[2] = {&k->old_avatar, &k->old_header};
        for (int i = 0; i < 2; i++) {
            snprintf(old[i]->file_name, sizeof old[i]->file_name, "%s", PQgetvalue(res, 0, 10 + 3 * i));
            old[i]->gif = strcmp(PQgetvalue(res, 0, 11 + 3 * i), "image/gif") == 0;
            old[i]->cached = atoi(PQgetvalue(res, 0, 12 + 3 * i)) >= 1;
        }
        rc = 0;
    }
    PQclear(res);
    return rc;
}

#define ACCT_KNOWN_COLS                                                                            \
    "SELECT id, coalesce(uri, ''), username, coalesce(domain, ''), suspended_at IS NOT NULL, "     \
    "suspended_at IS NOT NULL AND coalesce(suspension_origin, 0) = 0, coalesce(avatar_remote_url, ''), " \
    "header_remote_url, coalesce(avatar_file_name, '') <> '', coalesce(header_file_name, '') <> '', " \
    "coalesce(avatar_file_name, ''), coalesce(avatar_content_type, ''), "                          \
    "coalesce(avatar_storage_schema_version, 0), coalesce(header_file_name, ''), "                 \
    "coalesce(header_content_type, ''), coalesce(header_storage_schema_version, 0) FROM accounts "

/* Everything the document needs fetched before the row is written: keys kept in other
 * documents, the three collections' counts, movedTo. Returns ACCT_RESOLVED or why not. */
typedef struct acct_fetched {
    long long counts[3];   /* outbox, following, followers totalItems; -1 unknown */
    bool has_first[3];
    int64_t moved_to;
} acct_fetched;

static acct_outcome acct_fetch_keys(services *s, acct_actor *a, char *err, size_t errlen)
{
    for (size_t i = 0; i < a->n_keys; i++) {
        acct_key *k = &a->keys[i];
        if (!k->inline_doc) {
            json_t *doc;
            long status;
            char why[512];
            int rc = ingress_fetch_json_answered(s, k->uri, &doc, &status, why, sizeof why);
            if (rc < 0 && status == 0) {
                snprintf(err, errlen, "fetching key %s of %s: %s", k->uri, a->uri, why);
                return ACCT_RETRY;
            }
            /* a Multikey is fetched with id validation, and Ruby raises on what it
             * cannot read (nothing is stored); a legacy key that fails is skipped */
            const char *id = rc == 0 ? json_string_value(json_object_get(doc, "id")) : NULL;
            if (k->multikey && (rc != 0 || !id || strcmp(id, k->uri) != 0 ||
                                acct_key_from_doc(doc, a->uri, k, why, sizeof why) != 0)) {
                snprintf(err, errlen, "actor %s: its assertionMethod key %s %s", a->uri, k->uri,
                         rc != 0 ? "could not be fetched" : !id || strcmp(id, k->uri) != 0 ? "has another id" : why);
                json_decref(rc == 0 ? doc : NULL);
                return ACCT_NONE;
            }
            if (rc == 0) {
                if (!k->multikey && acct_key_from_doc(doc, a->uri, k, why, sizeof why) != 0)
                    base_log(BASE_LOG_INFO, "accounts: key %s of %s skipped: %s", k->uri, a->uri, why);
                json_decref(doc);
            }
        }
        if (k->pem && k->type == 0) { /* Mastodon reads RSA keys; the others it builds itself */
            char why[256];
            sig_key *key = sig_key_from_pem(k->pem, strlen(k->pem), why, sizeof why);
            if (!key) {
                snprintf(err, errlen, "actor %s has a malformed public key %s: %s", a->uri, k->uri, why);
                return ACCT_NONE;
            }
            sig_key_free(key);
        }
    }
    return ACCT_RESOLVED;
}

/* collection_info(type): totalItems and whether a first page is linked; an answer that
 * is not a collection (or none) leaves both unknown. */
static void acct_collection_info(services *s, const char *uri, long long *count, bool *first)
{
    *count = -1;
    *first = false;
    if (!uri[0])
        return;
    json_t *doc;
    long status;
    char why[512];
    if (ingress_fetch_json_answered(s, uri, &doc, &status, why, sizeof why) != 0)
        return;
    const json_t *t = json_object_get(doc, "totalItems");
    if (json_is_integer(t))
        *count = json_integer_value(t) < 0 ? 0 : json_integer_value(t);
    else if (json_is_real(t))
        *count = json_real_value(t) < 0 ? 0 : (long long)json_real_value(t);
    const json_t *f = json_object_get(doc, "first");
    *first = f && !json_is_null(f) && !json_is_false(f) && !(json_is_string(f) && !*json_string_value(f));
    json_decref(doc);
}

static acct_outcome acct_fetch_more(q_ctx *ctx, services *s, const acct_actor *a, const acct_process_opts *o,
                                    const char *request_id, acct_fetched *f, char *err, size_t errlen)
{
    const char *uris[3] = {a->outbox, a->following, a->followers};
    for (int i = 0; i < 3; i++)
        acct_collection_info(s, uris[i], &f->counts[i], &f->has_first[i]);
    f->moved_to = 0;
    if (!a->moved_to)
        return ACCT_RESOLVED;
    ingress_account m;
    db_conn *c = db_pool_acquire(s->db);
    int rc = ingress_account_resolve(c, s->local_domain, a->moved_to, &m, err, errlen);
    db_pool_release(s->db, c);
    if (rc < 0)
        return ACCT_RETRY;
    if (rc == 0) {
        f->moved_to = m.id;
        return ACCT_RESOLVED;
    }
    if (o->depth >= 1)
        return ACCT_RESOLVED;
    char why[512];
    acct_outcome out = acct_fetch_depth(ctx, s, a->moved_to, request_id, true, o->depth + 1, &m, why,
                                        sizeof why);
    if (out == ACCT_RESOLVED)
        f->moved_to = m.id;
    else if (out == ACCT_RETRY) {
        snprintf(err, errlen, "resolving movedTo %s of %s: %s", a->moved_to, a->uri, why);
        return ACCT_RETRY;
    }
    return ACCT_RESOLVED;
}

/* check_webfinger!: the handle's WebFinger must name this actor, after at most one
 * redirect to another handle (which then becomes the account's). */
static acct_outcome acct_check_webfinger(services *s, acct_actor *a, char *err, size_t errlen)
{
    acct_jrd j;
    bool gone;
    char why[768];
    if (acct_webfinger(s, a->username, a->domain, &j, &gone, why, sizeof why) != 0) {
        snprintf(err, errlen, "Webfinger error when resolving %s@%s: %s", a->username, a->domain, why);
        return ACCT_NONE;
    }
    acct_outcome out = ACCT_NONE;
    if (!acct_username_valid(j.username)) {
        snprintf(err, errlen, "Unsupported username format in webfinger response for %s@%s", a->username,
                 a->domain);
    } else if (!strcasecmp(j.username, a->username) && !strcasecmp(j.domain, a->domain)) {
        if (strcmp(j.self_href, a->uri) != 0)
            snprintf(err, errlen, "Webfinger response for %s@%s does not loop back to %s (it names %s)",
                     a->username, a->domain, a->uri, j.self_href);
        else
            out = ACCT_RESOLVED;
    } else {
        acct_jrd j2;
        if (acct_webfinger(s, j.username, j.domain, &j2, &gone, why, sizeof why) != 0) {
            snprintf(err, errlen, "Webfinger error when resolving %s@%s: %s", j.username, j.domain, why);
        } else {
            if (strcasecmp(j2.username, j.username) || strcasecmp(j2.domain, j.domain))
                snprintf(err, errlen, "Too many webfinger redirects for URI %s (stopped at %s@%s)", a->uri,
                         j2.username, j2.domain);
            else if (strcmp(j2.self_href, a->uri) != 0)
                snprintf(err, errlen, "Webfinger response for %s@%s does not loop back to %s", j2.username,
                         j2.domain, a->uri);
            else if (!acct_username_valid(j2.username))
                snprintf(err, errlen, "Unsupported username format in webfinger response for %s@%s",
                         j2.username, j2.domain);
            else {
                char *d = acct_normalize_domain(j2.domain);
                if (!d) {
                    snprintf(err, errlen, "WebFinger for %s redirected to an unusable domain", a->uri);
                } else {
                    free(a->username);
                    free(a->domain);
                    a->username = strdup(j2.username);
                    a->domain = d;
                    out = a->username ? ACCT_RESOLVED : ACCT_RETRY;
                }
            }
            acct_jrd_free(&j2);
        }
    }
    acct_jrd_free(&j);
    return out;
}

/* discovery_per_request:<request_id>: at most 400 new accounts per request in 5 minutes. */
static acct_outcome acct_count_discovery(q_ctx *ctx, const char *request_id, char *err, size_t errlen)
{
    q_conn *r = ingress_app_redis(ctx);
    char key[1200];
    snprintf(key, sizeof key, "discovery_per_request:%s", request_id);
    redisReply *incr = q_conn_cmd(r, "INCR %s", key);
    redisReply *exp = incr && incr->type == REDIS_REPLY_INTEGER ? q_conn_cmd(r, "EXPIRE %s 300", key) : NULL;
    acct_outcome out = ACCT_RESOLVED;
    if (!incr || incr->type != REDIS_REPLY_INTEGER || !exp) {
        snprintf(err, errlen, "Redis: INCR %s: %s", key, q_conn_error(r));
        out = ACCT_RETRY;
    } else if (incr->integer > ACCT_DISCOVERIES_PER_REQUEST) {
        snprintf(err, errlen, "request %s already discovered %d accounts", request_id,
                 ACCT_DISCOVERIES_PER_REQUEST);
        out = ACCT_NONE;
    }
    q_reply_free(incr);
    q_reply_free(exp);
    return out;
}

/* Mastodon's follow-ups of a processed account, pushed with this job's outcome. */
static void acct_followups(q_ctx *ctx, const acct_write *w, const char *request_id)
{
    const acct_actor *a = w->a;
    char args[4096];
    long long id = (long long)w->account_id;
    /* Avatars and headers are downloaded by RedownloadAvatarWorker / RedownloadHeaderWorker,
     * Mastodon's own path for an image that could not be fetched with the profile. */
    snprintf(args, sizeof args, "[%lld]", id);
    if (w->avatar_changed)
        ingress_push(ctx, "RedownloadAvatarWorker", "pull", "7", args, 0);
    if (w->header_changed)
        ingress_push(ctx, "RedownloadHeaderWorker", "pull", "7", args, 0);
    if (w->only_key || w->suspended)
        return;
    json_t *rid = json_string(request_id);
    char *rid_json = json_dumps(rid, JSON_ENCODE_ANY);
    json_decref(rid);
    if (a->has_featured && a->featured_raw && strlen(a->featured_raw) < 3000) {
        snprintf(args, sizeof args, "[%lld,{\"hashtag\":%s,\"collection\":%s,\"request_id\":%s}]", id,
                 a->has_featured_tags ? "false" : "true", a->featured_raw, rid_json);
        ingress_push(ctx, "ActivityPub::SynchronizeFeaturedCollectionWorker", "pull", "true", args, 0);
    }
    if (a->has_featured_tags && a->featured_tags_raw && strlen(a->featured_tags_raw) < 3000) {
        snprintf(args, sizeof args, "[%lld,%s]", id, a->featured_tags_raw);
        ingress_push(ctx, "ActivityPub::SynchronizeFeaturedTagsCollectionWorker", "pull", "true", args, 0);
    }
    if (a->has_featured_collections) {
        snprintf(args, sizeof args, "[%lld,%s]", id, rid_json);
        ingress_push(ctx, "ActivityPub::SynchronizeFeaturedCollectionsCollectionWorker", "pull", "true", args,
                     0);
    }
    if (a->fields_need_verification) {
        snprintf(args, sizeof args, "[%lld]", id);
        ingress_push(ctx, "VerifyAccountLinksWorker", "default", "false", args,
                     (double)ingress_rand_between(0, 599));
    }
    free(rid_json);
}

/* Steps inside the process_account lock, with the document parsed and fetched. */
static acct_outcome acct_process_locked(q_ctx *ctx, services *s, acct_actor *a, const acct_process_opts *o,
                                        bool verified, const acct_block *block, const char *request_id,
                                        const emoji_list *emoji, ingress_account *out, char *err,
                                        size_t errlen)
{
    acct_known k;
    bool have = false;
    db_conn *c = db_pool_acquire(s->db);
    char idbuf[24];
    int rc;
    if (o->account_id) {
        snprintf(idbuf, sizeof idbuf, "%lld", (long long)o->account_id);
        rc = acct_known_load(c, "acct_known_by_id", ACCT_KNOWN_COLS "WHERE id = $1::bigint", idbuf, NULL, &k,
                             err, errlen);
    } else {
        rc = acct_known_load(c, "acct_known_by_uri", ACCT_KNOWN_COLS "WHERE uri = $1 AND domain IS NOT NULL",
                             a->uri, NULL, &k, err, errlen);
    }
    if (rc == 1 && !o->account_id && verified) {
        rc = acct_known_load(c, "acct_known_by_handle",
                             ACCT_KNOWN_COLS "WHERE lower(username) = lower($1) AND lower(domain) = lower($2)",
                             a->username, a->domain, &k, err, errlen);
        if (rc == 0) {
            snprintf(err, errlen, "username collision: @%s@%s is account %lld with uri %s, not %s (Mastodon "
                     "would move the account to the new uri); nothing written", a->username, a->domain,
                     (long long)k.id, k.uri, a->uri);
            db_pool_release(s->db, c);
            return ACCT_NONE;
        }
    }
    bool keypairs = false;
    char table_err[256];
    if (db_table_exists(c, "keypairs", &keypairs, table_err, sizeof table_err) != 0)
        keypairs = false;
    db_pool_release(s->db, c);
    if (rc < 0)
        return ACCT_RETRY;
    have = rc == 0;
    if (!have && o->only_key) {
        snprintf(err, errlen, "%s is not a known account (only its key was to be refreshed)", a->uri);
        return ACCT_NONE;
    }
    if (!have) {
        acct_outcome d = acct_subdomains_check(ctx, a->domain, err, errlen);
        if (d == ACCT_RESOLVED)
            d = acct_count_discovery(ctx, request_id, err, errlen);
        if (d != ACCT_RESOLVED)
            return d;
    }
    /* set_suspension!: Ruby's Account#suspend!/unsuspend! and their workers */
    if ((!have && a->suspended) || (have && !k.suspended_locally && k.suspended != a->suspended)) {
        snprintf(err, errlen, "actor %s is %s remotely: Account#%s is Ruby's", a->uri,
                 a->suspended ? "suspended" : "no longer suspended", a->suspended ? "suspend!" : "unsuspend!");
        return ACCT_UNHANDLED;
    }
    acct_write w = {.a = a, .account_id = have ? k.id : 0, .only_key = o->only_key,
                    .suspended = have && k.suspended, .keypairs_table = keypairs,
                    .statuses_count = -1, .following_count = -1, .followers_count = -1};
    w.rename = have && verified && (strcmp(k.username, a->username) || strcmp(k.domain, a->domain));
    if (have && !verified) { /* only_key without a confirmed handle keeps the stored one */
        free(a->username);
        free(a->domain);
        a->username = strdup(k.username);
        a->domain = strdup(k.domain);
    }
    w.skip_download = w.suspended || (block->found && block->reject_media);
    w.silence = !have && block->found && block->severity == 0;
    snprintf(w.silenced_at, sizeof w.silenced_at, "%s", block->created_at);
    if (!o->only_key && !w.suspended) {
        acct_fetched f;
        acct_outcome fo = acct_fetch_more(ctx, s, a, o, request_id, &f, err, errlen);
        if (fo != ACCT_RESOLVED)
            return fo;
        w.statuses_count = f.counts[0];
        w.following_count = f.counts[1];
        w.followers_count = f.counts[2];
        w.hide_collections = !f.has_first[1] || !f.has_first[2];
        w.moved_to_account_id = f.moved_to;
        const char *av = a->avatar.url ? a->avatar.url : "", *hd = a->header.url ? a->header.url : "";
        w.avatar_changed = !w.skip_download && av[0] && (!have || strcmp(k.avatar_remote_url, av) != 0 ||
                                                          !k.has_avatar_file);
        w.header_changed = !w.skip_download && hd[0] && (!have || strcmp(k.header_remote_url, hd) != 0 ||
                                                          !k.has_header_file);
    }
    if (!w.skip_download && emoji->n && !emoji_can_store(s)) {
        snprintf(err, errlen, "actor %s has custom emoji, which need %s", a->uri,
                 !s->media ? "the media child" : "object storage");
        return ACCT_UNHANDLED;
    }
    c = db_pool_acquire(s->db);
    rc = acct_store(c, &w, err, errlen);
    if (rc == 0)
        rc = ingress_account_by_id(c, w.account_id, out, err, errlen) == 0 ? 0 : -1;
    db_pool_release(s->db, c);
    if (rc == 1)
        return ACCT_NONE;
    if (rc != 0)
        return ACCT_RETRY;
    if (!have)
        acct_subdomains_count(ctx, s, a->domain);
    if (have && w.avatar_changed)
        acct_delete_old_image(s, "avatars", k.id, &k.old_avatar);
    if (have && w.header_changed)
        acct_delete_old_image(s, "headers", k.id, &k.old_header);
    if (a->n_fields_sent > ACCT_MAX_FIELDS)
        base_log(BASE_LOG_INFO, "accounts: %s sent %zu profile fields; the first %d kept, as Mastodon does",
                 a->uri, a->n_fields_sent, ACCT_MAX_FIELDS);
    if (a->note_chars > ACCT_NOTE_MAX)
        base_log(BASE_LOG_INFO, "accounts: %s sent a note of %zu characters; cut to %d, as Mastodon does",
                 a->uri, a->note_chars, ACCT_NOTE_MAX);
    base_log(BASE_LOG_INFO, "accounts: %s @%s@%s (account %lld) from %s", have ? "updated" : "created",
             a->username, a->domain, (long long)w.account_id, a->uri);
    /* process_tags: the profile's emoji, after the account is saved. A database
     * failure here leaves the account stored and its follow-ups pushed; the emoji come
     * with the next profile update (Mastodon's job would fail at this point). */
    if (!w.skip_download && (emoji->n || emoji->n_refused || emoji->n_over_cap)) {
        char why[Q_ERRLEN];
        c = db_pool_acquire(s->db);
        if (emoji_process(s, &c, a->domain, emoji, false, a->uri, why, sizeof why) != 0)
            base_log(BASE_LOG_WARN, "accounts: the custom emoji of %s were not processed: %s", a->uri, why);
        db_pool_release(s->db, c);
    }
    acct_followups(ctx, &w, request_id);
    return ACCT_RESOLVED;
}

acct_outcome acct_process(q_ctx *ctx, services *s, const json_t *doc, const acct_process_opts *o,
                          ingress_account *out, char *err, size_t errlen)
{
    acct_actor a;
    if (acct_actor_parse(doc, o->account_id == 0, &a, err, errlen) != 0) {
        acct_actor_free(&a);
        return ACCT_NONE;
    }
    bool blocked;
    acct_block block = {0};
    acct_outcome res = ACCT_RESOLVED;
    if (acct_domain_blocked(s, a.uri, &blocked, err, errlen) != 0) {
        res = ACCT_RETRY;
    } else if (blocked) {
        snprintf(err, errlen, "%s is on a suspended domain (domain block)", a.uri);
        res = ACCT_NONE;
    } else {
        db_conn *c = db_pool_acquire(s->db);
        if (acct_block_for(c, a.domain, &block, err, errlen) != 0)
            res = ACCT_RETRY;
        db_pool_release(s->db, c);
        if (res == ACCT_RESOLVED && block.found && block.severity == 1) {
            snprintf(err, errlen, "@%s@%s is on a suspended domain (domain block)", a.username, a.domain);
            res = ACCT_NONE;
        }
    }
    bool verified = false;
    if (res == ACCT_RESOLVED && o->account_id) {
        ingress_account known;
        char username[2100] = "";
        db_conn *c = db_pool_acquire(s->db);
        int rc = ingress_account_by_id(c, o->account_id, &known, err, errlen);
        if (rc == 0) {
            char id[24];
            snprintf(id, sizeof id, "%lld", (long long)o->account_id);
            const char *params[] = {id};
            PGresult *r = db_exec_idempotent(c, "acct_username", "SELECT username FROM accounts WHERE id = $1::bigint",
                                             1, params, err, errlen);
            if (r && PQntuples(r) > 0)
                snprintf(username, sizeof username, "%s", PQgetvalue(r, 0, 0));
            PQclear(r);
        }
        db_pool_release(s->db, c);
        if (rc != 0) {
            res = rc < 0 ? ACCT_RETRY : ACCT_NONE;
        } else if (strcmp(known.uri, a.uri) != 0 || !known.domain[0]) {
            snprintf(err, errlen, "Actor %s does not correspond to provided Account (%s)", a.uri, known.uri);
            res = ACCT_NONE;
        } else {
            verified = strcmp(username, a.username) == 0 && strcmp(known.domain, a.domain) == 0;
        }
    }
    if (res == ACCT_RESOLVED && !verified && !o->only_key) {
        res = acct_check_webfinger(s, &a, err, errlen);
        verified = res == ACCT_RESOLVED;
    }
    if (res == ACCT_RESOLVED)
        res = acct_fetch_keys(s, &a, err, errlen);
    char rid[700];
    if (o->request_id)
        snprintf(rid, sizeof rid, "%s", o->request_id);
    else
        snprintf(rid, sizeof rid, "%lld-%.300s@%.300s", (long long)time(NULL), a.username, a.domain);
    ingress_lock lock;
    if (res == ACCT_RESOLVED) {
        if (ingress_lock_or_retry(ctx, "process_account", a.uri, &lock, err, errlen) != 0) {
            res = ACCT_RETRY;
        } else {
            emoji_list emoji;
            emoji_tags_parse(json_object_get(doc, "tag"), &emoji);
            res = acct_process_locked(ctx, s, &a, o, verified, &block, rid, &emoji, out, err, errlen);
            emoji_list_free(&emoji);
            ingress_lock_release(ctx, &lock);
        }
    }
    acct_actor_free(&a);
    return res;
}
