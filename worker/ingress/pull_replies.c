/* pull_replies.c -- ActivityPub::FetchRepliesWorker [parent_status_id, replies_uri,
 * options] (ActivityPub::FetchRepliesService): the replies collection of a status,
 * on its author's host only, read for its `first` page (and `next` pages up to
 * options.max_pages), at most 5 reply URIs on that same host kept, each fetched by a
 * FetchReplyWorker in one WorkerBatch. A missing parent makes it a no-op. */
#include "pull_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLIES_MAX 5   /* FetchRepliesService::MAX_REPLIES */

/* fetch_collection: an embedded collection as is; a URI fetched when it is on the
 * reference host. 0 with *out (NULL: nothing to read), -1 with err (retry). */
static int replies_collection(services *s, const json_t *v, const char *reference, json_t **out,
                              char *err, size_t errlen)
{
    *out = NULL;
    if (json_is_object(v)) {
        *out = json_incref((json_t *)v);
        return 0;
    }
    const char *uri = json_string_value(v);
    if (!uri || !ap_same_host(reference, uri))
        return 0;
    int rc = ingress_fetch_json(s, uri, out, err, errlen);
    if (rc > 0)
        base_log(BASE_LOG_INFO, "FetchRepliesWorker: %s", err);
    return rc < 0 ? -1 : 0;
}

/* collection_page_items, as value_or_id strings appended to items (borrowed from page). */
static void replies_page_items(const json_t *page, const char **items, size_t *n, size_t cap)
{
    const char *type = json_string_value(json_object_get(page, "type"));
    const json_t *list = NULL;
    if (type && (!strcmp(type, "Collection") || !strcmp(type, "CollectionPage")))
        list = json_object_get(page, "items");
    else if (type && (!strcmp(type, "OrderedCollection") || !strcmp(type, "OrderedCollectionPage")))
        list = json_object_get(page, "orderedItems");
    size_t count = json_is_array(list) ? json_array_size(list) : (list ? 1 : 0);
    for (size_t i = 0; i < count && *n < cap; i++) {
        const char *id = ap_id_of(json_is_array(list) ? json_array_get(list, i) : list);
        if (id)
            items[(*n)++] = id;
    }
}

static const json_t *replies_option(const json_t *options, const char *key)
{
    return json_is_object(options) ? json_object_get(options, key) : NULL;
}

void pull_fetch_replies(q_ctx *ctx, const q_job *job, q_result *r)
{
    json_t *parent = json_array_get(job->args, 0), *uri = json_array_get(job->args, 1);
    json_t *options = json_array_get(job->args, 2);
    if (!json_is_integer(parent) || !(json_is_string(uri) || json_is_object(uri)) ||
        (options && !json_is_object(options) && !json_is_null(options))) {
        q_fail(r, "ArgumentError", "expected [parent_status_id integer, replies_uri string, "
               "options hash]");
        return;
    }
    const json_t *sync = replies_option(options, "allow_synchronous_requests");
    if (json_is_false(sync) && !json_is_object(uri))
        return;
    services *s = pull_services(ctx, r);
    if (!s)
        return;
    char pid[24], err[Q_ERRLEN], reference[1024] = "";
    snprintf(pid, sizeof pid, "%" PRId64, (int64_t)json_integer_value(parent));
    const char *params[] = {pid};
    db_conn *c = db_pool_acquire(s->db);
    PGresult *res = db_exec(c, "pull_replies_parent",
                            "SELECT a.uri FROM statuses s JOIN accounts a ON a.id = s.account_id "
                            "WHERE s.id = $1",
                            1, params, err, sizeof err);
    if (res && PQntuples(res) == 1)
        snprintf(reference, sizeof reference, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    db_pool_release(s->db, c);
    if (!res) {
        q_fail(r, "ActiveRecord::ConnectionNotEstablished", "%s", err);
        return;
    }
    if (!reference[0])
        return;     /* the parent is gone */

    long max_pages = json_is_integer(replies_option(options, "max_pages"))
                         ? (long)json_integer_value(replies_option(options, "max_pages")) : 1;
    if (json_is_false(sync))
        max_pages = 1;
    json_t *coll, *page = NULL, *next = NULL;
    if (replies_collection(s, uri, reference, &coll, err, sizeof err) != 0) {
        q_fail(r, "Mastodon::UnexpectedResponseError", "%s", err);
        return;
    }
    if (!coll)
        return;
    const json_t *first = json_object_get(coll, "first");
    if (first && replies_collection(s, first, reference, &page, err, sizeof err) != 0) {
        json_decref(coll);
        q_fail(r, "Mastodon::UnexpectedResponseError", "%s", err);
        return;
    }
    if (!first)
        page = json_incref(coll);
    /* items are borrowed from the pages, kept alive in `held` until pushed */
    enum { ITEMS_CAP = 1000 };
    const char *items[ITEMS_CAP];
    json_t *held[16];
    size_t n = 0, nheld = 0;
    bool failed = false;
    for (long pages = 1; page; pages++) {
        held[nheld++] = page;
        replies_page_items(page, items, &n, ITEMS_CAP);
        if (n >= REPLIES_MAX || pages >= max_pages || nheld == sizeof held / sizeof held[0])
            break;
        if (replies_collection(s, json_object_get(page, "next"), reference, &next, err,
                               sizeof err) != 0) {
            failed = true;
            break;
        }
        page = next;
    }
    /* filter_replies: same host as the parent's author, at most 5 */
    const char *keep[REPLIES_MAX];
    size_t k = 0;
    for (size_t i = 0; i < n && k < REPLIES_MAX; i++)
        if (ap_same_host(reference, items[i]))
            keep[k++] = items[i];
    if (failed)
        q_fail(r, "Mastodon::UnexpectedResponseError", "%s", err);
    else if (pull_batch_push_replies(ctx, json_string_value(replies_option(options, "batch_id")),
                                     json_string_value(replies_option(options, "request_id")), keep,
                                     k, err, sizeof err) != 0)
        q_fail(r, "Redis::CannotConnectError", "%s", err);
    for (size_t i = 0; i < nheld; i++)
        json_decref(held[i]);
    json_decref(coll);
}
