/* acct_proof.c -- FEP-8b32 Object Integrity Proofs as Mastodon's
 * ActivityPub::ObjectIntegrityProof reads and verifies them: a single `proof` object
 * of type DataIntegrityProof for assertionMethod, with a verificationMethod, a
 * supported cryptosuite and a proofValue; eddsa-jcs-2022 verified here over the
 * document's RFC 8785 form (base_json_canonical), mldsa44-jcs-2024 left to Ruby. */
#include "acct_parse.h"
#include "base.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#define ACCT_PROOF_MAX 512   /* decoded proofValue bytes; an Ed25519 signature is 64 */

static bool acct_proof_is(const json_t *proof, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(proof, key));
    return v && strcmp(v, want) == 0;
}

acct_proof_kind acct_proof_read(const json_t *doc, acct_proof *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const json_t *proof = json_object_get(doc, "proof");
    if (!json_is_object(proof)) {
        snprintf(err, errlen, "its proof is not one object (Mastodon verifies a single proof only)");
        return ACCT_PROOF_REJECTED;
    }
    const json_t *vm = json_object_get(proof, "verificationMethod");
    if (!acct_proof_is(proof, "type", "DataIntegrityProof") || !acct_present(vm) ||
        !acct_proof_is(proof, "proofPurpose", "assertionMethod")) {
        snprintf(err, errlen, "its proof is not a DataIntegrityProof for assertionMethod with a verificationMethod");
        return ACCT_PROOF_REJECTED;
    }
    if (!json_is_string(vm)) {
        snprintf(err, errlen, "its proof's verificationMethod is not a URI");
        return ACCT_PROOF_RUBY;
    }
    const json_t *expires = json_object_get(proof, "expires");
    if (expires && !json_is_null(expires) && !json_is_string(expires)) {
        snprintf(err, errlen, "its proof's expires is not a time");
        return ACCT_PROOF_RUBY;
    }
    const char *suite = json_string_value(json_object_get(proof, "cryptosuite"));
    bool eddsa = suite && strcmp(suite, "eddsa-jcs-2022") == 0, mldsa = suite && strcmp(suite, "mldsa44-jcs-2024") == 0;
    if ((!eddsa && !mldsa) || !acct_present(json_object_get(proof, "proofValue"))) {
        snprintf(err, errlen, "its proof has an unsupported cryptosuite or no proofValue");
        return ACCT_PROOF_REJECTED;
    }
    out->key_id = json_string_value(vm);
    out->expires = json_string_value(expires);
    if (mldsa) {
        snprintf(err, errlen, "its proof is mldsa44-jcs-2024, which scotty's OpenSSL cannot verify");
        return ACCT_PROOF_RUBY;
    }
    return ACCT_PROOF_OK;
}

/* SHA-256 of v's canonical form into md; false if it has none. */
static bool acct_proof_hash(const json_t *v, unsigned char md[SHA256_DIGEST_LENGTH])
{
    base_buf b;
    base_buf_init(&b);
    bool ok = base_json_canonical(&b, v) == 0 && b.data;
    if (ok)
        SHA256((const unsigned char *)b.data, b.len, md);
    base_buf_free(&b);
    return ok;
}

/* Step 4.2 of the eddsa-jcs-2022 verification: a proof @context must be the first
 * entries of the document's @context array, and replaces it. False: no match. */
static bool acct_proof_context(json_t *unsecured, const json_t *options)
{
    const json_t *pctx = json_object_get(options, "@context");
    if (!acct_present(pctx))
        return true;
    const json_t *dctx = json_object_get(unsecured, "@context");
    if (!json_is_array(dctx) || !json_is_array(pctx) || json_array_size(pctx) > json_array_size(dctx))
        return false; /* Ruby compares an Array slice with it: only an Array can be equal */
    for (size_t i = 0; i < json_array_size(pctx); i++)
        if (!json_equal(json_array_get(dctx, i), json_array_get(pctx, i)))
            return false;
    json_object_set(unsecured, "@context", (json_t *)pctx);
    return true;
}

int acct_proof_verify_eddsa(const json_t *doc, const char *pem, char *err, size_t errlen)
{
    const json_t *proof = json_object_get(doc, "proof");
    unsigned char sig[ACCT_PROOF_MAX];
    size_t siglen = sizeof sig;
    if (!acct_multibase_decode(json_string_value(json_object_get(proof, "proofValue")), sig, &siglen)) {
        snprintf(err, errlen, "its proofValue is not multibase");
        return 1;
    }
    json_t *unsecured = json_deep_copy(doc), *options = json_deep_copy(proof);
    int rc = 1;
    unsigned char msg[2 * SHA256_DIGEST_LENGTH];
    snprintf(err, errlen, "out of memory");
    if (unsecured && options) {
        json_object_del(unsecured, "proof");
        json_object_del(options, "proofValue");
        if (!acct_proof_context(unsecured, options))
            snprintf(err, errlen, "its proof's @context does not start the document's");
        else if (!acct_proof_hash(options, msg) || !acct_proof_hash(unsecured, msg + SHA256_DIGEST_LENGTH))
            snprintf(err, errlen, "it has a number JSON cannot hold");
        else
            rc = 0;
    }
    json_decref(unsecured);
    json_decref(options);
    if (rc != 0)
        return 1;
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    rc = 1;
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519)
        snprintf(err, errlen, "its key is not an Ed25519 public key");
    else if (!ctx || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) != 1 ||
             EVP_DigestVerify(ctx, sig, siglen, msg, sizeof msg) != 1)
        snprintf(err, errlen, "its eddsa-jcs-2022 proof does not verify");
    else
        rc = 0;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return rc;
}
