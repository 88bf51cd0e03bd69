/* delivery_keys.c -- which key signs a delivery, and its keyId (mastodon.md §6.1):
 * the account's oldest usable RSA keypairs row, else accounts.private_key with
 * "#main-key"; or the job's sign_with. Account keys are cached for a minute, shared
 * by reference count so a reload never frees a key another thread signs with. */
#include "delivery.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYS_TTL_SECONDS 60.0

typedef struct keys_entry {
    delivery_signer signer;    /* first member: a signer pointer is its entry */
    int64_t account_id;        /* -1 for one-off sign_with signers */
    int refs;                  /* the cache's reference plus the users' */
    double loaded;             /* monotonic */
} keys_entry;

struct delivery_keys {
    pthread_mutex_t lock;      /* guards entries, n, cap and every refs */
    keys_entry **entries;
    size_t n, cap;
    const arenc_keys *arenc;   /* borrowed from services */
    char local_domain[256];
};

delivery_keys *delivery_keys_new(const arenc_keys *arenc, const char *local_domain)
{
    delivery_keys *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    pthread_mutex_init(&k->lock, NULL);
    k->arenc = arenc;
    snprintf(k->local_domain, sizeof k->local_domain, "%s", local_domain);
    return k;
}

static void keys_entry_free(keys_entry *e)
{
    sig_key_free(e->signer.key);
    free(e);
}

void delivery_keys_free(delivery_keys *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->n; i++)
        keys_entry_free(k->entries[i]);
    free(k->entries);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

void delivery_signer_release(delivery_keys *k, const delivery_signer *s)
{
    keys_entry *e = (keys_entry *)s;
    pthread_mutex_lock(&k->lock);
    bool last = --e->refs == 0;
    pthread_mutex_unlock(&k->lock);
    if (last)
        keys_entry_free(e);
}

/* The local actor's URI: the instance actor, /ap/users/<id> (numeric_ap_id, the
 * default) or /users/<username> (id_scheme 0, or an older schema without it). */
static void keys_actor_uri(const delivery_keys *k, int64_t id, const char *username,
                           const char *id_scheme, char *out, size_t len)
{
    if (id == -99)
        snprintf(out, len, "https://%s/actor", k->local_domain);
    else if (id_scheme && strcmp(id_scheme, "1") == 0)
        snprintf(out, len, "https://%s/ap/users/%" PRId64, k->local_domain, id);
    else
        snprintf(out, len, "https://%s/users/%s", k->local_domain, username);
}

/* Loads account_id's signer from the database into e. */
/* keyId: the keypair's own uri, else actor URI#fragment (Keypair#full_uri). A key id
 * that does not fit is an error: a cut one would name no key. */
static int keys_set_key_id(delivery_signer *s, const char *uri, const char *fragment, char *err,
                           size_t errlen)
{
    int n = uri && *uri ? snprintf(s->key_id, sizeof s->key_id, "%s", uri)
                        : snprintf(s->key_id, sizeof s->key_id, "%s#%s", s->actor_uri, fragment);
    if (n >= 0 && (size_t)n < sizeof s->key_id)
        return 0;
    snprintf(err, errlen, "the signing key id %.80s... is longer than %zu bytes", s->key_id,
             sizeof s->key_id - 1);
    return -1;
}

static int keys_load_account(delivery_keys *k, db_conn *db, int64_t account_id, keys_entry *e,
                             char *err, size_t errlen)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, account_id);
    const char *params[] = {id};
    /* to_jsonb reads id_scheme whether or not this schema has the column; keypairs
     * is looked up only where the table exists (newer Mastodon). */
    PGresult *res = db_exec(db, "scotty_delivery_account",
                            "SELECT a.username, a.private_key, to_jsonb(a)->>'id_scheme', "
                            "to_regclass('keypairs') IS NOT NULL FROM accounts a "
                            "WHERE a.id = $1 AND a.domain IS NULL",
                            1, params, err, errlen);
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        snprintf(err, errlen, "no local account with id %s (deleted, or not on this instance)", id);
        return -1;
    }
    keys_actor_uri(k, account_id, PQgetvalue(res, 0, 0),
                   PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2), e->signer.actor_uri,
                   sizeof e->signer.actor_uri);
    char *legacy = PQgetisnull(res, 0, 1) ? NULL : strdup(PQgetvalue(res, 0, 1));
    bool has_keypairs = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
    PQclear(res);

    int rc = -1;
    if (has_keypairs) {
        res = db_exec(db, "scotty_delivery_keypair",
                      "SELECT private_key, uri, local_fragment FROM keypairs "
                      "WHERE account_id = $1 AND type = 0 AND NOT revoked "
                      "AND private_key IS NOT NULL AND (expires_at IS NULL OR expires_at > now()) "
                      "ORDER BY created_at, id LIMIT 1",
                      1, params, err, errlen);
        if (!res)
            goto out;
        if (PQntuples(res) == 1) {
            e->signer.key = sig_key_from_column(PQgetvalue(res, 0, 0), k->arenc, err, errlen);
            int idrc = keys_set_key_id(&e->signer, PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1),
                                       PQgetisnull(res, 0, 2) ? "main-key" : PQgetvalue(res, 0, 2),
                                       err, errlen);
            PQclear(res);
            rc = e->signer.key && idrc == 0 ? 0 : -1;
            goto out;
        }
        PQclear(res);
    }
    if (!legacy || !*legacy) {
        snprintf(err, errlen, "account %s has no private key (no usable keypairs row and "
                 "accounts.private_key is empty)", id);
        goto out;
    }
    e->signer.key = sig_key_from_column(legacy, k->arenc, err, errlen);
    rc = e->signer.key && keys_set_key_id(&e->signer, NULL, "main-key", err, errlen) == 0 ? 0 : -1;
out:
    free(legacy);
    return rc;
}

/* A one-off signer from the job's sign_with (Keypair.from_worker_arg). */
static keys_entry *keys_from_arg(delivery_keys *k, db_conn *db, int64_t account_id,
                                 const json_t *arg, char *err, size_t errlen)
{
    keys_entry *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory loading a signing key");
        return NULL;
    }
    e->account_id = -1;
    e->refs = 1;
    /* the account's actor URI names the key unless the hash carries its own uri */
    keys_entry acct = {0};
    if (keys_load_account(k, db, account_id, &acct, err, errlen) != 0 && !acct.signer.actor_uri[0]) {
        sig_key_free(acct.signer.key);
        free(e);
        return NULL;
    }
    sig_key_free(acct.signer.key);
    snprintf(e->signer.actor_uri, sizeof e->signer.actor_uri, "%s", acct.signer.actor_uri);
    const char *pem = NULL, *uri = NULL, *fragment = "main-key";
    if (json_is_string(arg)) {
        pem = json_string_value(arg);
    } else if (json_is_object(arg)) {
        pem = json_string_value(json_object_get(arg, "private_key"));
        uri = json_string_value(json_object_get(arg, "uri"));
        if (json_is_string(json_object_get(arg, "local_fragment")))
            fragment = json_string_value(json_object_get(arg, "local_fragment"));
    }
    if (!pem) {
        snprintf(err, errlen, "options.sign_with is neither a PEM string nor a hash with "
                 "private_key");
        free(e);
        return NULL;
    }
    e->signer.key = sig_key_from_column(pem, k->arenc, err, errlen);
    if (!e->signer.key) {
        free(e);
        return NULL;
    }
    if (keys_set_key_id(&e->signer, uri, fragment, err, errlen) != 0) {
        sig_key_free(e->signer.key);
        free(e);
        return NULL;
    }
    return e;
}

const delivery_signer *delivery_keys_cached(delivery_keys *k, int64_t account_id)
{
    double now = base_monotonic();
    const delivery_signer *found = NULL;
    pthread_mutex_lock(&k->lock);
    for (size_t i = 0; i < k->n && !found; i++) {
        keys_entry *e = k->entries[i];
        if (e->account_id == account_id && now - e->loaded < KEYS_TTL_SECONDS) {
            e->refs++;
            found = &e->signer;
        }
    }
    pthread_mutex_unlock(&k->lock);
    return found;
}

const delivery_signer *delivery_keys_get(delivery_keys *k, db_conn *db, int64_t account_id,
                                         const json_t *sign_with, char *err, size_t errlen)
{
    if (sign_with && !json_is_null(sign_with)) {
        keys_entry *e = keys_from_arg(k, db, account_id, sign_with, err, errlen);
        return e ? &e->signer : NULL;
    }
    double now = base_monotonic();
    pthread_mutex_lock(&k->lock);
    for (size_t i = 0; i < k->n; i++) {
        keys_entry *e = k->entries[i];
        if (e->account_id != account_id)
            continue;
        if (now - e->loaded < KEYS_TTL_SECONDS) {
            e->refs++;
            pthread_mutex_unlock(&k->lock);
            return &e->signer;
        }
        /* stale: drop the cache's reference, reload below */
        k->entries[i] = k->entries[--k->n];
        if (--e->refs == 0)
            keys_entry_free(e);
        break;
    }
    pthread_mutex_unlock(&k->lock);

    keys_entry *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory loading a signing key");
        return NULL;
    }
    if (keys_load_account(k, db, account_id, e, err, errlen) != 0) {
        keys_entry_free(e);
        return NULL;
    }
    e->account_id = account_id;
    e->loaded = now;
    e->refs = 1;
    pthread_mutex_lock(&k->lock);
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 16;
        keys_entry **grown = realloc(k->entries, cap * sizeof *grown);
        if (grown) {
            k->entries = grown;
            k->cap = cap;
        }
    }
    if (k->n < k->cap) {
        k->entries[k->n++] = e;
        e->refs++;
    }
    pthread_mutex_unlock(&k->lock);
    return &e->signer;
}
