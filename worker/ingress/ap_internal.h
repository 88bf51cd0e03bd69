/* ap_internal.h -- helpers shared by the ActivityPub parser files (ap_util.c,
 * ap_parse.c, ap_status.c, ap_media.c). Not for use outside ap_*.c. */
#ifndef SCOTTY_AP_INTERNAL_H
#define SCOTTY_AP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "ap.h"

#define AP_CONTEXT "https://www.w3.org/ns/activitystreams"

/* Formats into err (if not NULL) and returns -1. */
int ap_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* strdup that returns NULL for NULL (and aborts on allocation failure). */
char *ap_strdup(const char *s);
char *ap_strndup(const char *s, size_t n);

/* True for a string starting with http:// or https:// (exactly as Mastodon's
 * unsupported_uri_scheme? tests, case-sensitively) and with a non-empty host. */
bool ap_is_http(const char *s);

/* Ruby's String#blank?: NULL, empty, or only (Unicode) white space. */
bool ap_blank(const char *s);
/* The string value of v when it is a non-blank string (Ruby's `.present?`), else NULL. */
const char *ap_present(const json_t *v);

/* Mastodon's equals_or_includes?(v, needle): v is the string, or an array holding it. */
bool ap_equals_or_includes(const json_t *v, const char *needle);

/* `@object['to']`-style single-or-array access: the number of elements (0 for null or a
 * missing value, 1 for a scalar or object, the length for an array) and element i. */
size_t ap_count(const json_t *v);
const json_t *ap_elem(const json_t *v, size_t i);

/* The first value of a language map (an object) when it is a string, and its key. */
const char *ap_map_first(const json_t *map, const char **key);

/* A language tag as Mastodon would keep it, normalized (primary subtag lower case,
 * 2-letter region upper case, 4-letter script title case), or NULL when it does not
 * look like BCP 47 ([a-z]{2,3}(-[A-Za-z0-9]{1,8})*, case-insensitive). Caller frees. */
char *ap_language(const char *tag);


/* `bear:?u=URL&t=TOKEN` capability URIs unwrapped to URL (percent-decoded); other
 * strings copied. Caller frees. */
char *ap_unbear(const char *id);

/* A URL as Addressable::URI#normalize would store it, for the common cases: scheme and
 * host lower-cased, default port dropped, empty path made "/", spaces, non-ASCII bytes
 * and characters URIs may not carry percent-encoded. IDN hosts are left as sent.
 * Caller frees. */
char *ap_url_normalize(const char *url);

/* Truncates s in place to at most max_chars UTF-8 characters (never splitting one). */
void ap_utf8_truncate(char *s, size_t max_chars);
/* Ruby's String#strip: leading and trailing ASCII white space and NULs. Returns a copy. */
char *ap_strip(const char *s);

/* HTML escaping as ERB::Util.h does (& < > " '), appended to a growing buffer. */
typedef struct ap_sbuf {
    char *data;
    size_t len, cap;
} ap_sbuf;
void ap_sbuf_add(ap_sbuf *b, const char *s, size_t n);
void ap_sbuf_adds(ap_sbuf *b, const char *s);
void ap_sbuf_add_html(ap_sbuf *b, const char *s, size_t n);
char *ap_sbuf_take(ap_sbuf *b);

/* Mastodon's url_to_href(value, preferred_type): a string; the first string of an
 * array of strings; for a Link object or an array of them, the href of the first whose
 * `mimeType` (sic: Mastodon reads `mimeType`, not `mediaType`; a missing one counts as
 * text/html) equals preferred_type, or of the first at all when preferred_type is NULL.
 * Returns NULL when there is no string href. *bad is set when an element has a JSON type
 * Mastodon would raise on (a number where a string or object belongs). */
const char *ap_url_to_href(const json_t *v, const char *preferred_type, bool *bad);

/* Attachments (ap_media.c): fills st->media, st->n_media and st->link_href from the
 * object's `attachment`. Returns 0, or -1 with err for a malformed attachment list. */
int ap_media_parse(const json_t *obj, ap_status *st, char *err, size_t errlen);
void ap_attachment_free(ap_attachment *m);

/* Mastodon's blurhash check (media_attachment_parser.rb supported_blurhash?). */
bool ap_blurhash_ok(const char *s);

#endif
