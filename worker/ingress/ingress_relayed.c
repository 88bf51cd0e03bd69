/* ingress_relayed.c -- an activity whose actor is not its HTTP signer
 * (ProcessActivityService's different_actor? branch): who vouches for the actor.
 * An LD signature is Ruby's (JSON-LD compaction and RsaSignature2017). Otherwise
 * the FEP-8b32 proof is checked as ActivityPub::ObjectIntegrityProof#verify_actor!
 * does: its domain not blocked, not expired, the key found in keypairs by
 * verificationMethod, usable and Ed25519, the eddsa-jcs-2022 proof valid
 * (worker/accounts/acct_proof.c), and the key's account the activity's actor. What
 * only Ruby can decide (a key scotty has not stored, ML-DSA) is left to it. */
#include "ingress_internal.h"
#include "acct_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Keypair.from_keyid(uri) for a stored key: 0 with the row, 1 with err when only
 * Ruby can tell (no such row, no keypairs table, an empty public key), -1 with err. */
typedef struct ingress_keypair {
    int type;
    bool usable;
    int64_t account_id;
    char *pem;
} ingress_keypair;

static int ingress_keypair_load(db_conn *c, const char *uri, ingress_keypair *k, char *err, size_t errlen)
{
    memset(k, 0, sizeof *k);
    bool table;
    if (db_table_exists(c, "keypairs", &table, err, errlen) != 0)
        return -1;
    if (!table) {
        snprintf(err, errlen, "this database has no keypairs table for its proof's key %s", uri);
        return 1;
    }
    const char *params[] = {uri};
    PGresult *r = db_exec_idempotent(c, "ingress_keypair",
                                     "SELECT k.type, NOT k.revoked AND (k.expires_at IS NULL OR k.expires_at > now()), "
                                     "k.account_id, k.public_key FROM keypairs k WHERE k.uri = $1",
                                     1, params, err, errlen);
    if (!r)
        return -1;
    int rc = 1;
    if (PQntuples(r) == 0) {
        snprintf(err, errlen, "its proof's key %s is not stored here (ActivityPub::FetchRemoteKeyService is Ruby's)",
                 uri);
    } else if (!PQgetvalue(r, 0, 3)[0]) {
        snprintf(err, errlen, "its proof's key %s has no public key stored", uri);
    } else {
        k->type = atoi(PQgetvalue(r, 0, 0));
        k->usable = PQgetvalue(r, 0, 1)[0] == 't';
        k->account_id = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
        k->pem = strdup(PQgetvalue(r, 0, 3));
        rc = k->pem ? 0 : -1;
        if (!k->pem)
            snprintf(err, errlen, "out of memory");
    }
    PQclear(r);
    return rc;
}

/* proof['expires']&.to_datetime&.past? for the times senders write. */
static bool ingress_proof_expired(const char *expires, bool *unreadable)
{
    int64_t ms;
    int32_t ns;
    *unreadable = false;
    if (!expires)
        return false;
    if (!base_time_parse(expires, &ms, &ns)) {
        *unreadable = true;
        return false;
    }
    return ms <= (int64_t)time(NULL) * 1000;
}

ingress_outcome ingress_relayed_actor(services *s, const ap_activity *a, ingress_account *out, char *err,
                                      size_t errlen)
{
    const json_t *root = a->root;
    if (json_is_object(json_object_get(root, "signature"))) {
        snprintf(err, errlen, "a relayed activity with an LD signature (JSON-LD is Ruby's)");
        return INGRESS_UNHANDLED;
    }
    json_t *doc = json_deep_copy(root); /* original_json.without('signature') */
    if (!doc) {
        snprintf(err, errlen, "out of memory");
        return INGRESS_FAILED;
    }
    json_object_del(doc, "signature");
    char why[2048];
    acct_proof p;
    ingress_outcome res = INGRESS_DROPPED;
    acct_proof_kind kind = acct_proof_read(doc, &p, why, sizeof why);
    bool blocked = false, unreadable = false;
    ingress_keypair k = {0};
    if (kind == ACCT_PROOF_RUBY) {
        res = INGRESS_UNHANDLED;
    } else if (kind == ACCT_PROOF_OK && acct_domain_blocked(s, p.key_id, &blocked, why, sizeof why) != 0) {
        res = INGRESS_FAILED;
    } else if (kind == ACCT_PROOF_OK && blocked) {
        snprintf(why, sizeof why, "its proof's key %s is on a suspended domain", p.key_id);
    } else if (kind == ACCT_PROOF_OK && ingress_proof_expired(p.expires, &unreadable)) {
        snprintf(why, sizeof why, "its proof expired at %s", p.expires);
    } else if (unreadable) {
        snprintf(why, sizeof why, "its proof's expires %s is not a time scotty reads", p.expires);
        res = INGRESS_UNHANDLED;
    } else if (kind == ACCT_PROOF_OK) {
        db_conn *c = db_pool_acquire(s->db);
        int rc = ingress_keypair_load(c, p.key_id, &k, why, sizeof why);
        if (rc == 0 && k.usable && k.type == 1 && acct_proof_verify_eddsa(doc, k.pem, why, sizeof why) == 0) {
            rc = ingress_account_by_id(c, k.account_id, out, why, sizeof why);
            if (rc == 0 && strcmp(out->uri, a->actor) == 0)
                res = INGRESS_STORED;
            else if (rc == 0)
                snprintf(why, sizeof why, "its proof's key belongs to %s, not to the actor", out->uri);
        } else if (rc == 0 && (!k.usable || k.type != 1)) {
            snprintf(why, sizeof why, "its proof's key %s is %s", p.key_id,
                     !k.usable ? "revoked or expired" : "not an Ed25519 key");
        }
        db_pool_release(s->db, c);
        if (rc < 0)
            res = INGRESS_FAILED;
        else if (rc == 1 && res != INGRESS_STORED && !k.pem)
            res = INGRESS_UNHANDLED;
    }
    free(k.pem);
    json_decref(doc);
    if (res != INGRESS_STORED)
        snprintf(err, errlen, "%s relayed for %.300s: %.1500s", a->type, a->actor, why);
    return res;
}
