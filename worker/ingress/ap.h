/* ap.h -- ActivityPub documents as scotty's ingress reads them: an inbox body (or a
 * fetched object) parsed and checked with Mastodon's rules (mastodon.md §3.1-3.3)
 * into plain C structs, before anything touches the database. Pure functions of
 * their input except ap_fetch, which dereferences a remote object. Everything
 * returned is owned by the struct and released by its _free function. */
#ifndef SCOTTY_AP_H
#define SCOTTY_AP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define AP_MAX_JSON_SIZE (1024 * 1024)  /* ActivityPub::Activity::MAX_JSON_SIZE */
#define AP_MAX_DEPTH 32                 /* nesting deeper than this is refused */
#define AP_MAX_MEDIA 4                  /* Status::MEDIA_ATTACHMENTS_LIMIT */
/* scotty's own caps, not Mastodon's (Mastodon has none and would look up or fetch every
 * entry of a 10,000-mention payload): an object with more `tag` entries, or more `to` +
 * `cc` entries, than these is refused as hostile. Real servers stay far below them. */
#define AP_MAX_TAGS 500                 /* tag entries per object, Emoji not counted */
#define AP_MAX_AUDIENCE 1000            /* to + cc entries per object */
#define AP_MAX_DESCRIPTION 10000        /* MAX_DESCRIPTION_HARD_LENGTH_LIMIT, characters */
#define AP_PUBLIC "https://www.w3.org/ns/activitystreams#Public"

typedef enum {
    AP_CREATE = 0, AP_UPDATE, AP_DELETE, AP_ANNOUNCE, AP_LIKE, AP_UNDO,
    AP_OTHER        /* any other type: scotty forwards it or fails the job */
} ap_kind;

/* statuses.visibility: public 0, unlisted 1, private 2, direct 3, limited 4. */
typedef enum {
    AP_VIS_PUBLIC = 0, AP_VIS_UNLISTED, AP_VIS_PRIVATE, AP_VIS_DIRECT, AP_VIS_LIMITED
} ap_visibility;

typedef struct ap_attachment {
    char *remote_url;           /* http(s), never NULL in a parsed attachment */
    char *thumbnail_remote_url; /* `icon`, or NULL */
    char *media_type;           /* `mediaType` as sent, or NULL */
    char *description;          /* summary/name, stripped, at most AP_MAX_DESCRIPTION chars, or NULL */
    char *blurhash;             /* only if it passes Mastodon's check, else NULL */
    bool has_focus;
    double focus_x, focus_y;    /* focalPoint, each in -1..1 */
} ap_attachment;

/* A Question's poll as ActivityPub::Parser::PollParser reads it (ap_poll.c), with the
 * values Rails casts them to for the polls row. */
#define AP_MAX_POLL_ITEMS 500   /* PollParser::MAX_ITEMS: later items are cut, not refused */
typedef enum {
    AP_POLL_OPEN = 0,           /* expires_at NULL */
    AP_POLL_AT,                 /* expires_at from `closed` (a time) or `endTime` */
    AP_POLL_NOW                 /* `closed` neither a time nor false: closed now */
} ap_poll_expiry;
typedef struct ap_poll {
    bool present;               /* valid?: the type includes Question and anyOf/oneOf is an array */
    bool multiple;              /* anyOf is an array */
    char **options;             /* each item's `name` (when present) or `content`; items with
                                 * neither are left out, so this can be shorter than tallies */
    size_t n_options;
    int64_t *tallies;           /* every item's replies.totalItems (0 when absent) */
    size_t n_tallies;
    int64_t votes_count;        /* the sum of tallies */
    bool has_voters;            /* votersCount, cast as Rails does; false: NULL */
    int64_t voters_count;
    ap_poll_expiry expiry;
    int64_t expires_us;         /* Unix microseconds (what Rails keeps), for AP_POLL_AT */
    const char *unread;         /* static text: why this poll is left to Ruby (where Mastodon's
                                 * Ruby raises, or a date form scotty does not read the same
                                 * way), or NULL */
    const char *note;           /* static text: a value Mastodon quietly ignores, for the log */
} ap_poll;

/* Reads the poll of `obj` into out (present false when it has none). Never fails:
 * what scotty cannot store exactly as Mastodon sets out->unread. */
void ap_poll_parse(const json_t *obj, ap_poll *out);
void ap_poll_free(ap_poll *p);

/* A Note, or an Article/Page/Image/Video/Audio/Event converted as Mastodon does. */
typedef struct ap_status {
    char *object_type;          /* "Note", "Article", ... as sent */
    char *uri;                  /* object id (bear: unwrapped) */
    char *url;                  /* first text/html url, else the uri */
    char *text;                 /* raw HTML: content / contentMap, or the converted form */
    char *spoiler_text;         /* summary / summaryMap, "" when none */
    char *language;             /* first contentMap key (or nameMap/summaryMap), or NULL */
    char *published;           /* ISO 8601 as sent when the year is 0..9999, else NULL */
    char *updated;              /* only when it differs from published, else NULL */
    char *in_reply_to;          /* inReplyTo (id or object id), else inReplyToAtomUri, or NULL */
    char *conversation;         /* `conversation` / `context` URI, or NULL */
    char *replies_uri;          /* `replies` collection id, or NULL */
    char *link_href;            /* first attachment with an href (a Link), or NULL */
    bool sensitive;
    ap_visibility visibility;   /* from to/cc; DIRECT is never LIMITED here (needs accounts) */
    char **mentions;            /* tag[type=Mention].href, deduplicated */
    size_t n_mentions;
    char **hashtags;            /* tag[type=Hashtag].name without '#', deduplicated */
    size_t n_hashtags;
    char **audience;            /* to + cc URIs other than Public and the followers URL */
    size_t n_audience;
    ap_attachment media[AP_MAX_MEDIA];
    size_t n_media;
    int64_t likes_total;        /* likes.totalItems, -1 when absent */
    int64_t shares_total;       /* shares.totalItems, -1 when absent */
    /* Added after the first version of this header: */
    int64_t published_ms;       /* `published` as Unix milliseconds (UTC), when published != NULL.
                                 * PostgreSQL's timestamptz input takes every `published` scotty
                                 * keeps except year 0000 (Ruby's 1 BC, "0001 BC" to PostgreSQL);
                                 * to_timestamp(published_ms / 1000.0) takes them all */
    int64_t updated_ms;         /* `updated` likewise, when updated != NULL */
    char *atom_uri;             /* `atomUri` (find_existing_status also looks it up), or NULL */
    char *quote_uri;            /* quote / _misskey_quote / quoteUrl / quoteUri (first), or NULL */
    bool quote_present;         /* any of those keys present (StatusParser#quote?) */
    bool quote_legacy;          /* no `quote` key (legacy_quote?: _misskey_quote, quoteUrl only) */
    bool quote_deleted;         /* `quote` is a Tombstone object (deleted_quote?) */
    char *quote_approval_uri;   /* first of quoteAuthorization, if a string, or NULL */
    json_t *can_quote;          /* interactionPolicy.canQuote (a reference), or NULL */
    const char *policy_unread;  /* static text: an interactionPolicy Ruby raises on, or NULL */
    bool tags_collection;       /* a FeaturedCollection tag with an id (4.6's tagged collections:
                                 * process_tagged_collection keeps those in tagged_objects, which
                                 * scotty does not write, so the activity is Ruby's) */
    bool direct_message;        /* `directMessage: true`: direct stays direct, never limited */
    bool converted;             /* Article/Page/Image/Video/Audio/Event: text is the converted form */
    char **hashtag_names;       /* tags.name for hashtags[i] (n_hashtags of them): Mastodon's
                                 * HashtagNormalizer form (lower case, Latin letters folded to
                                 * ASCII, fullwidth ASCII narrowed), while hashtags[i] is the
                                 * display_name; hashtags are deduplicated on this form */
    struct emoji_list *emoji;   /* tag[type=Emoji] as worker/emoji reads them (emoji_parse.h),
                                 * or NULL when the object has none */
    ap_poll poll;               /* a Question's poll (also read for converted types that list
                                 * Question among their types, as PollParser does) */
} ap_status;

typedef struct ap_activity {
    ap_kind kind;
    char *type;                 /* `type` as sent (for logs and per-type stats) */
    char *id;                   /* activity id, or NULL (some senders omit it) */
    char *actor;                /* actor id */
    bool relayed;               /* the actor is not the signer, but an LD signature or an
                                 * FEP-8b32 proof may vouch for it: left to Ruby, which
                                 * verifies them; nothing past id and type is read */
    char *object_id;            /* the object's id, or the object when it is a bare string */
    char *object_type;          /* embedded object's type, or NULL */
    ap_status *status;          /* Create/Update of a supported object type, parsed; else NULL */
    struct ap_activity *inner;  /* Undo: the undone activity when embedded (its object_id
                                 * is what was liked/boosted); else NULL */
    json_t *root;               /* the parsed document, owned */
} ap_activity;

/* Parses an inbox body sent by `actor_uri` (the signer's account URI) whose followers
 * collection is `followers_url` (may be NULL). Refuses, with the reason in err:
 * a body over AP_MAX_JSON_SIZE, invalid JSON, NUL bytes in strings, nesting deeper
 * than AP_MAX_DEPTH, a non-object, a missing or wrong @context, an actor that is not
 * actor_uri (unless an RsaSignature2017 `signature` or a `proof` may vouch for it:
 * then `relayed` is set and the activity is not read further), an embedded object whose id host differs from the actor's host, a
 * Create/Update object of a supported type that is malformed (wrong types, non-http(s)
 * ids/urls), more than AP_MAX_TAGS tags or AP_MAX_AUDIENCE recipients.
 * Unknown activity types parse fine as AP_OTHER. Returns 0, or -1 with err.
 * Per kind: Create/Update with an embedded object check its id's host and its
 * attributedTo (first, if present) against the actor, then fill `status` for Note and
 * Question and the converted types, or leave it NULL with object_type set for other
 * types (Person, ...); a bare URI object gives object_id only. Delete: object_id is the URI or
 * the Tombstone's id (an embedded one must be on the actor's host). Announce/Like:
 * object_id is the boosted/liked URI (any host). Undo: object_id is the undone
 * activity's id, and `inner` is that activity when embedded (its actor, if given, must
 * be the actor). A wrong JSON type where Mastodon's Ruby would raise refuses the
 * object; one Ruby ignores is ignored (details in ap_status.c). */
int ap_parse(const char *body, size_t len, const char *actor_uri, const char *followers_url,
             ap_activity *out, char *err, size_t errlen);
void ap_activity_free(ap_activity *a);

/* Parses one object (embedded in an activity, or fetched) attributed to actor_uri into
 * a status. Returns 0, 1 when the type is not one scotty stores as a status (err says
 * which), or -1 with err for a malformed or hostile object. */
int ap_status_parse(const json_t *obj, const char *actor_uri, const char *followers_url,
                    ap_status *out, char *err, size_t errlen);
/* The same, for an object embedded in `activity`: as Mastodon's StatusParser does, the
 * activity's to/cc count when the object has none. activity may be NULL. */
int ap_status_parse_in(const json_t *obj, const json_t *activity, const char *actor_uri,
                       const char *followers_url, ap_status *out, char *err, size_t errlen);
void ap_status_free(ap_status *s);

/* StatusParser#quote_policy of an object's interactionPolicy.canQuote (ap_status's
 * can_quote): the quote_approval_policy bitmap for an author with these
 * followers/following collections and actor URI (0 for NULL or a blank policy). */
int ap_quote_policy(const json_t *can_quote, const char *followers, const char *following, const char *actor);
/* Why Ruby's quote_policy would raise on obj's interactionPolicy (static text), or NULL. */
const char *ap_quote_policy_unread(const json_t *obj);

/* Mastodon's non_matching_uri_hosts? negated: both http(s), hosts equal ignoring case
 * and port. */
bool ap_same_host(const char *a, const char *b);

/* The id of a JSON-LD value: the string itself, or the object's "id"; NULL otherwise. */
const char *ap_id_of(const json_t *v);

#endif
