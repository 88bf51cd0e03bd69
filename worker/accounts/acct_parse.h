/* acct_parse.h -- remote actor documents and WebFinger answers read with Mastodon's
 * rules (ActivityPub::FetchRemoteActorService, ActivityPub::ProcessAccountService,
 * Webfinger::Response) into plain C structs, before anything touches the network or
 * the database. Pure functions of their input (acct_actor.c, acct_jrd.c, acct_name.c);
 * the fuzz target tests/fuzz/fuzz_acct.c drives them. */
#ifndef SCOTTY_ACCT_PARSE_H
#define SCOTTY_ACCT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* Limits of Mastodon's Account model and ProcessAccountService. */
#define ACCT_MAX_PUBLIC_KEYS 10          /* MAX_PUBLIC_KEYS */
#define ACCT_MAX_FIELDS 50               /* MAX_PROFILE_FIELDS */
#define ACCT_DISPLAY_NAME_MAX 2048       /* DISPLAY_NAME_LENGTH_HARD_LIMIT, characters */
#define ACCT_NOTE_MAX 20480              /* NOTE_LENGTH_HARD_LIMIT (20 kB), characters */
#define ACCT_USERNAME_MAX 2048           /* USERNAME_LENGTH_HARD_LIMIT */
#define ACCT_AKA_MAX 256                 /* ALSO_KNOWN_AS_HARD_LIMIT */
#define ACCT_ATTRIBUTION_MAX 256         /* ATTRIBUTION_DOMAINS_HARD_LIMIT */
#define ACCT_DESCRIPTION_MAX 1500        /* MediaAttachment::MAX_DESCRIPTION_HARD_LENGTH_LIMIT */
#define ACCT_PEM_MAX 16384               /* scotty's cap: an RSA-16384 PEM is about 3 kB */

/* One public key of the actor (keypairs row): an FEP-521a Multikey of
 * `assertionMethod` or a legacy `publicKey`. When `inline_doc` is false the key lives in
 * another document: `uri` must be fetched (a Multikey with id validation, a legacy key
 * without) and read with acct_key_from_doc. */
typedef struct acct_key {
    char *uri;
    char *pem;                   /* NULL until known */
    int type;                    /* keypairs.type: rsa 0, ed25519 1, ml-dsa-44 2 */
    bool inline_doc;
    bool multikey;               /* from assertionMethod */
} acct_key;

/* An image (icon/image): remote URL and description, either may be NULL. */
typedef struct acct_image {
    char *url;
    char *description;
    bool by_reference;           /* the value was a URI of an Image document, not fetched */
} acct_image;

typedef struct acct_actor {
    char *uri;                   /* id */
    char *actor_type;            /* first supported type */
    char *username, *domain;     /* `webfinger` (FEP-2c59) when usable, else preferredUsername
                                  * and the id's host, lower-cased */
    char *inbox, *outbox, *shared_inbox, *followers, *following;  /* "" when invalid */
    char *featured, *collections; /* featured / featuredCollections, "" when invalid */
    bool has_featured, has_featured_tags, has_featured_collections; /* present (Ruby) */
    char *featured_tags_raw;     /* featuredTags as sent (JSON), the job argument */
    char *featured_raw;          /* featured as sent (JSON), the job option */
    char *url;                   /* text/html url on the id's host, else the id */
    char *display_name, *note;   /* truncated to the hard limits */
    size_t note_chars;           /* the note's length as sent, in characters */
    char *fields_json;           /* jsonb text: [{name, value}, ...] or {} */
    size_t n_fields_sent;        /* PropertyValue entries before the cap */
    bool fields_need_verification; /* a field value that is an http(s) link */
    char **also_known_as;
    size_t n_also_known_as;
    char **attribution_domains;
    size_t n_attribution_domains;
    bool locked, discoverable, indexable, memorial, suspended;
    int show_featured, show_media, show_media_replies; /* -1 when absent, else 0/1 */
    int64_t published_ms;        /* created_at; 0 with has_published false when absent */
    bool has_published;
    int feature_approval_policy; /* interactionPolicy.canFeature bitmap */
    acct_image avatar, header;
    acct_key keys[2 * ACCT_MAX_PUBLIC_KEYS]; /* the Multikeys first, unique by uri */
    size_t n_keys;
    char *moved_to;              /* movedTo, or NULL */
} acct_actor;

/* Parses an actor document whose id the caller has checked: `fetched` (the
 * FetchRemoteActorService checks: ActivityStreams @context and an actor type) or an
 * Update's embedded object (ProcessAccountService's checks only). Returns 0; 1 when
 * Mastodon would return nil for it (unsupported @context or type, no
 * preferredUsername nor usable webfinger, non-http(s) id, no inbox, a key that is not a
 * PEM, an invalid username: nothing is stored); err says why. `doc` stays the caller's. */
int acct_actor_parse(const json_t *doc, bool fetched, acct_actor *out, char *err, size_t errlen);
void acct_actor_free(acct_actor *a);

/* A key document fetched for key `k` of actor `owner`: a Multikey controlled by the
 * owner, or a legacy key owned by it (GoToSocial answers with the whole actor: its
 * publicKey is used). Sets k->pem and k->type. Returns 0, or 1 with err. */
int acct_key_from_doc(const json_t *doc, const char *owner, acct_key *k, char *err, size_t errlen);
/* Multibase.decode: 'z' (base58btc) or 'u' (base64url) into out, at most *len bytes;
 * *len becomes the length. False for another base or a malformed string. */
bool acct_multibase_decode(const char *s, unsigned char *out, size_t *len);
/* Multibase.decode_key_to_pem: a publicKeyMultibase as the keypairs type and PEM
 * Mastodon stores (rsa-pub, ed25519-pub, mldsa-44-pub). Returns 0 with *pem (the
 * caller's), or 1 with err. */
int acct_multikey_pem(const char *multibase, int *type, char **pem, char *err, size_t errlen);

/* An FEP-8b32 proof as ActivityPub::ObjectIntegrityProof#verify_actor! reads it,
 * before any key is looked up. */
typedef enum {
    ACCT_PROOF_OK,       /* well-formed: verify it with acct_proof_verify_eddsa */
    ACCT_PROOF_REJECTED, /* Mastodon finds no actor in it (err says why) */
    ACCT_PROOF_RUBY      /* only Ruby can tell (mldsa44-jcs-2024: no ML-DSA here) */
} acct_proof_kind;
typedef struct acct_proof {
    const char *key_id;  /* verificationMethod, in the document */
    const char *expires; /* or NULL; the caller decides whether it is past */
} acct_proof;
acct_proof_kind acct_proof_read(const json_t *doc, acct_proof *out, char *err, size_t errlen);
/* eddsa-jcs-2022 over doc (the activity without its `signature`), against an Ed25519
 * public key PEM: the proof options (the proof but proofValue, in JCS) and the document
 * without the proof (its @context replaced by the proof's when the proof has one that
 * starts the document's), each SHA-256 hashed, the two hashes verified against the
 * multibase proofValue. Returns 0 when it verifies, 1 with err when not. */
int acct_proof_verify_eddsa(const json_t *doc, const char *pem, char *err, size_t errlen);

/* A WebFinger (JRD) answer: subject without "acct:", split at its first '@', and the
 * href of the first self link of an ActivityPub type. */
typedef struct acct_jrd {
    char *username, *domain;
    char *self_href;
} acct_jrd;
/* Returns 0; 1 with err when Mastodon's Webfinger::Response would raise (not JSON,
 * no subject, no ActivityPub self link, a subject that is not user@host). */
int acct_jrd_parse(const char *body, size_t len, acct_jrd *out, char *err, size_t errlen);
void acct_jrd_free(acct_jrd *j);

/* Webfinger#url_from_template: the WebFinger URL for resource ("acct:user@host") that a
 * host-meta document's lrdd link names (acct_hostmeta.c). Returns 0 with *url (freed by
 * the caller); 1 with err when Mastodon raises Webfinger::Error (no XML, no default
 * namespace, no lrdd link), or when it has no template, a DTD, or would make a URL
 * longer than ACCT_HOSTMETA_URL_MAX (a template of many "{uri}" would otherwise grow a
 * 1 MB answer into hundreds of megabytes). */
#define ACCT_HOSTMETA_URL_MAX 8192
int acct_hostmeta_url(const char *body, size_t len, const char *resource, char **url, char *err, size_t errlen);

/* Ruby's present? of a JSON value: not null or false, not a blank string, not an
 * empty array or object. */
bool acct_present(const json_t *v);

/* Account::USERNAME_ONLY_RE: [a-z0-9_]+([.-]+[a-z0-9_]+)*, case-insensitive. */
bool acct_username_valid(const char *u);
/* TagManager#normalize_domain: white space stripped, one trailing '/' dropped, a
 * non-ASCII (UTF-8) name converted to its ASCII form (IDNA ToASCII with UTS #46's
 * transitional mapping, e.g. "xn--bcher-kva.example" for "Bücher.example"),
 * lower-cased. NULL (with nothing allocated) for a name that is empty, not valid IDNA
 * or holds bytes a host cannot. */
char *acct_normalize_domain(const char *d);
/* The host of an http(s) URI, lower-cased, without port or userinfo; NULL if none. */
char *acct_uri_host(const char *uri);
/* PublicSuffix.domain(domain, ignore_private: true), the key of Mastodon's subdomain
 * rate limit: the longest public suffix of the ICANN section of the Public Suffix List
 * (libpsl's list; an unlisted top-level label counts as one, the list's "*" rule) plus
 * the label before it, e.g. "example.co.uk" for "a.b.example.co.uk" and "github.io"
 * for "x.github.io". Written to out; false (out empty) when the name is itself a
 * public suffix or does not fit. */
bool acct_registrable_domain(const char *domain, char *out, size_t outlen);
/* Mastodon's split_acct: "acct:" prefix removed, split at '@' into user and domain
 * (a leading '@' is dropped first when strip_at). false when either part is empty. */
bool acct_split_handle(const char *acct, bool strip_at, char **user, char **domain);

#endif
