/* ingress_fetch.c -- dereferencing remote ActivityPub documents the way Mastodon's
 * JsonLdHelper#fetch_resource does (mastodon.md §3.4, §6.1): a GET with the
 * ActivityPub Accept header and the 1 MB cap, signed as the instance actor (account
 * -99, "https://<LOCAL_DOMAIN>/actor#main-key") when it has a key, so servers in
 * authorized-fetch mode answer; only a 200 with an ActivityPub type counts. */
#include "ingress_fetch.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define FETCH_NO_KEY_RETRY_S 60.0   /* how long "no instance actor key" is believed */

/* The instance actor's signer is loaded through delivery_keys (which caches it for
 * a minute) over a connection of its own, so a fetch never waits for the pool a
 * caller may already hold a connection of. Owned by this file: fetch_key_lock guards
 * fetch_key_db (used only under it) and fetch_key_missing_until. */
static pthread_mutex_t fetch_key_lock = PTHREAD_MUTEX_INITIALIZER;
static db_conn *fetch_key_db;
static double fetch_key_missing_until;

/* The signer for fetches: 0 with *out set (NULL: fetch unsigned, there is no instance
 * actor key), or -1 with err when the database could not be asked (retry later). */
static int fetch_signer(services *s, const delivery_signer **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!s->db || !s->keys)
        return 0;
    int rc = 0;
    pthread_mutex_lock(&fetch_key_lock);
    if (base_monotonic() >= fetch_key_missing_until) {
        if (!fetch_key_db)
            fetch_key_db = db_conn_new(&s->db_settings);
        char why[Q_ERRLEN];
        *out = fetch_key_db ? delivery_keys_get(s->keys, fetch_key_db, -99, NULL, why, sizeof why)
                            : NULL;
        if (!*out) {
            const char *state = fetch_key_db ? db_conn_sqlstate(fetch_key_db) : "08001";
            if (strncmp(state, "08", 2) == 0) {
                snprintf(err, errlen, "cannot load the instance actor's key: %s", why);
                rc = -1;
            } else {
                base_log(BASE_LOG_INFO, "ingress: fetching unsigned for the next %.0f s: %s",
                      FETCH_NO_KEY_RETRY_S, why);
                fetch_key_missing_until = base_monotonic() + FETCH_NO_KEY_RETRY_S;
            }
        }
    }
    pthread_mutex_unlock(&fetch_key_lock);
    return rc;
}

/* Maps a failed request onto the caller's two outcomes: 1 permanent, -1 transient. */
static int fetch_failure(const http_response *r, const char *uri, char *err, size_t errlen)
{
    if (r->err == HTTP_E_STATUS) {
        snprintf(err, errlen, "%s answered %ld", uri, r->status);
        return (r->status >= 500 || r->status == 408 || r->status == 429) ? -1 : 1;
    }
    snprintf(err, errlen, "fetching %s failed (%s): %s", uri, http_err_name(r->err), r->error);
    switch (r->err) {
    case HTTP_E_TIMEOUT:
    case HTTP_E_CONNECT:
    case HTTP_E_TLS:
    case HTTP_E_TRUNCATED:
    case HTTP_E_INTERNAL:
        return -1;
    default: /* refused address, bad URL, too large, redirect loop, not ActivityPub */
        return 1;
    }
}

int ingress_fetch_json(services *s, const char *uri, json_t **out, char *err, size_t errlen)
{
    long status;
    return ingress_fetch_json_answered(s, uri, out, &status, err, errlen);
}

int ingress_fetch_json_answered(services *s, const char *uri, json_t **out, long *status, char *err,
                                size_t errlen)
{
    *out = NULL;
    *status = 0;
    if (!s || !s->http) {
        snprintf(err, errlen, "no HTTP client: services not opened");
        return -1;
    }
    if (strncmp(uri, "https://", 8) != 0 && strncmp(uri, "http://", 7) != 0) {
        snprintf(err, errlen, "%s is not an http(s) URI", uri);
        return 1;
    }
    const delivery_signer *signer;
    if (fetch_signer(s, &signer, err, errlen) != 0)
        return -1;
    http_request req = {.url = uri, .flags = HTTP_F_ACTIVITYPUB, .max_body = HTTP_CAP_JSON,
                        .sign_key = signer ? signer->key : NULL,
                        .key_id = signer ? signer->key_id : NULL};
    http_response r;
    http_err e = http_perform(s->http, &req, &r);
    if (signer)
        delivery_signer_release(s->keys, signer);
    *status = r.status;
    int rc;
    if (e != HTTP_OK) {
        rc = fetch_failure(&r, uri, err, errlen);
    } else if (r.status != 200) {
        snprintf(err, errlen, "%s answered %ld, not 200", uri, r.status);
        rc = 1;
    } else {
        json_error_t jerr;
        *out = json_loadb(r.body, r.body_len, 0, &jerr);
        if (!json_is_object(*out)) {
            snprintf(err, errlen, "%s is not a JSON object: %s", uri,
                     *out ? "another JSON type" : jerr.text);
            json_decref(*out);
            *out = NULL;
            rc = 1;
        } else {
            rc = 0;
        }
    }
    http_response_free(&r);
    return rc;
}

int ingress_fetch_object(services *s, const char *uri, const char *origin, json_t **out,
                         char *err, size_t errlen)
{
    *out = NULL;
    if (origin && !ap_same_host(uri, origin)) {
        snprintf(err, errlen, "%s is not on the host of %s", uri, origin);
        return 1;
    }
    json_t *doc;
    int rc = ingress_fetch_json(s, uri, &doc, err, errlen);
    if (rc != 0)
        return rc;
    const char *id = json_string_value(json_object_get(doc, "id"));
    if (!id || strcmp(id, uri) != 0) {
        snprintf(err, errlen, "%s returned a document whose id is %s%s%s", uri, id ? "\"" : "",
                 id ? id : "missing", id ? "\"" : "");
        json_decref(doc);
        return 1;
    }
    *out = doc;
    return 0;
}
