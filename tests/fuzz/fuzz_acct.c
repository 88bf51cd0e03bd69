/* fuzz_acct.c -- libFuzzer target for the remote-account parsers (worker/accounts,
 * scotty_acct_parse): the input as an actor document through acct_actor_parse, both as
 * fetched and as an Update's object, with its keys read back through
 * acct_key_from_doc; as a WebFinger answer through acct_jrd_parse; and as a handle and
 * a domain through acct_split_handle, acct_normalize_domain (then
 * acct_registrable_domain) and acct_uri_host; as a host-meta document through
 * acct_hostmeta_url; as a publicKeyMultibase through
 * acct_multikey_pem; as an activity with an FEP-8b32 proof through acct_proof_read and
 * acct_proof_verify_eddsa.
 *
 * Properties of an accepted actor: no crash or leak; an http(s) id; a username that
 * passes acct_username_valid; a lower-case domain; every collection URL empty or
 * http(s); a display name and a note within their hard limits (characters); at most
 * ACCT_MAX_FIELDS fields, ACCT_MAX_PUBLIC_KEYS keys, ACCT_AKA_MAX and
 * ACCT_ATTRIBUTION_MAX entries. An accepted JRD has a user, a domain and a self link. */
#include "acct_parse.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t fz_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void fz_url_or_empty(const char *s)
{
    if (!s)
        abort();
    if (*s && strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
        abort();
}

static void fz_check_actor(const acct_actor *a)
{
    if (strncmp(a->uri, "http://", 7) != 0 && strncmp(a->uri, "https://", 8) != 0)
        abort();
    if (!acct_username_valid(a->username) || !a->domain[0])
        abort();
    for (const char *p = a->domain; *p; p++)
        if (isupper((unsigned char)*p))
            abort();
    const char *colls[] = {a->inbox, a->outbox, a->shared_inbox, a->followers, a->following, a->featured,
                           a->collections, a->url};
    for (size_t i = 0; i < sizeof colls / sizeof colls[0]; i++)
        fz_url_or_empty(colls[i]);
    if (fz_chars(a->display_name) > ACCT_DISPLAY_NAME_MAX || fz_chars(a->note) > ACCT_NOTE_MAX)
        abort();
    if (a->n_keys > 2 * ACCT_MAX_PUBLIC_KEYS || a->n_also_known_as > ACCT_AKA_MAX ||
        a->n_attribution_domains > ACCT_ATTRIBUTION_MAX || !a->fields_json)
        abort();
    json_t *fields = json_loads(a->fields_json, 0, NULL);
    if (!fields || (json_is_array(fields) && json_array_size(fields) > ACCT_MAX_FIELDS))
        abort();
    json_decref(fields);
}

/* An Ed25519 public key the proofs are checked against (none verifies). */
static const char fz_ed25519_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                                     "MCowBQYDK2VwAyEANKnXZK7WqnEKwpQ3xGLIUKZST1EjZIF+hP0ryb1T6NE=\n"
                                     "-----END PUBLIC KEY-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    json_t *doc = json_loadb((const char *)data, size, 0, NULL);
    if (doc) {
        for (int fetched = 0; fetched < 2; fetched++) {
            acct_actor a;
            if (acct_actor_parse(doc, fetched, &a, err, sizeof err) == 0) {
                fz_check_actor(&a);
                for (size_t i = 0; i < a.n_keys; i++)
                    (void)acct_key_from_doc(doc, a.uri, &a.keys[i], err, sizeof err);
            }
            acct_actor_free(&a);
        }
        /* as a relayed activity's proof, verified against an Ed25519 key */
        acct_proof p;
        if (acct_proof_read(doc, &p, err, sizeof err) == ACCT_PROOF_OK) {
            if (!p.key_id)
                abort();
            (void)acct_proof_verify_eddsa(doc, fz_ed25519_pem, err, sizeof err);
        }
        json_decref(doc);
    }
    acct_jrd j;
    if (acct_jrd_parse((const char *)data, size, &j, err, sizeof err) == 0) {
        if (!j.username[0] || !j.domain[0] || !j.self_href)
            abort();
        acct_jrd_free(&j);
    }
    /* as a host-meta document: an accepted one names a URL that holds the resource
     * wherever its template said {uri} */
    char *wf = NULL;
    if (acct_hostmeta_url((const char *)data, size, "acct:fz@example.com", &wf, err, sizeof err) == 0 &&
        (!wf || strlen(wf) > ACCT_HOSTMETA_URL_MAX))
        abort();
    free(wf);
    char *s = strndup((const char *)data, size);
    if (!s)
        return 0;
    char *user, *domain;
    if (acct_split_handle(s, true, &user, &domain)) {
        if (!user[0] || !domain[0])
            abort();
        free(user);
        free(domain);
    }
    char *nd = acct_normalize_domain(s);
    char reg[256];
    size_t dl = nd ? strlen(nd) : 0, rl;
    /* the registrable name of a normalized domain (what acct_subdomains.c passes) is a
     * non-empty tail of it, starting at a label */
    if (nd && acct_registrable_domain(nd, reg, sizeof reg) &&
        (!(rl = strlen(reg)) || rl > dl || strcmp(nd + dl - rl, reg) != 0 ||
         (rl < dl && nd[dl - rl - 1] != '.')))
        abort();
    free(nd);
    free(acct_uri_host(s));
    int type = -1;
    char *pem, why[256];
    if (acct_multikey_pem(s, &type, &pem, why, sizeof why) == 0 &&
        (type < 0 || type > 2 || strncmp(pem, "-----BEGIN PUBLIC KEY-----\n", 27) != 0))
        abort();
    free(pem);
    free(s);
    return 0;
}
