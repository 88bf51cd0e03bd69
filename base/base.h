/* base.h -- the one header of scotty's base library: what queues/, media/ and worker/
 * all use and none owns. A growable buffer, the process's log, the two clocks, and
 * JSON written exactly as Ruby writes it. Nothing here knows of Sidekiq or Mastodon. */
#ifndef SCOTTY_BASE_H
#define SCOTTY_BASE_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <jansson.h>

/* ---- A growable byte buffer (always NUL-terminated once written to) ---- */
typedef struct base_buf {
    char *data;
    size_t len, cap;
} base_buf;
void base_buf_init(base_buf *b);
void base_buf_free(base_buf *b);
void base_buf_add(base_buf *b, const char *s, size_t n);
void base_buf_adds(base_buf *b, const char *s);
void base_buf_addf(base_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Detaches the NUL-terminated string; the buffer is empty afterwards. */
char *base_buf_take(base_buf *b);

/* ---- Logging (stderr, one line per event; shared by the whole process) ---- */
typedef enum { BASE_LOG_DEBUG = 0, BASE_LOG_INFO, BASE_LOG_WARN, BASE_LOG_ERROR } base_log_level;
/* Text (default): "TIME pid=PID LEVEL: MESSAGE". JSON: one object per line with the
 * same fields, {"time":"TIME","pid":PID,"level":"LEVEL","message":"MESSAGE"}, for
 * journald, Loki and other collectors. */
typedef enum { BASE_LOG_TEXT = 0, BASE_LOG_JSON } base_log_format;
void base_log_set_level(base_log_level level);
void base_log_set_format(base_log_format format);
bool base_log_enabled(base_log_level level);
void base_log(base_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* base_log_out.c: one whole line to stderr; with wait, written before this returns.
 * After base_log_out_start (0, or -1 if no thread could start), a writer thread writes
 * lines in batches until base_log_out_stop, which writes what is left. */
void base_log_out_write(const char *line, size_t len, bool wait);
int base_log_out_start(void);
void base_log_out_stop(void);

/* ---- Clocks ---- */
double base_now(void);                   /* wall clock, epoch seconds */
double base_monotonic(void);             /* monotonic seconds */

/* ---- ISO 8601 timestamps ---- */
/* Parses an ISO 8601 date-time (as Ruby's String#to_datetime accepts the forms
 * servers send: YYYY-MM-DD, optionally [T ]HH:MM[:SS[.frac]] and Z or +-HH[:MM]) with a
 * four-digit year 0000..9999. *ms gets Unix milliseconds (UTC), *frac_ns the fraction
 * of the second in nanoseconds; either may be NULL. Returns false otherwise.
 * Everything accepted is also accepted by PostgreSQL's timestamptz input, except year
 * 0000 (Ruby's 1 BC), which PostgreSQL spells 0001 BC. */
bool base_time_parse(const char *s, int64_t *ms, int32_t *frac_ns);

/* ---- UTF-8 ---- */
/* The UTF-8 sequence at s (n > 0 bytes left): returns its length (1..4) when valid;
 * when not, 0 with *bad set to the length of its longest well-formed prefix (at least
 * 1), which is what one U+FFFD replaces in Ruby's String#scrub (Unicode's "maximal
 * subpart"). */
size_t base_utf8_len(const unsigned char *s, size_t n, size_t *bad);
/* Writes code point cp (at most 0x10FFFF; surrogates and NUL are the caller's to
 * refuse) as UTF-8 into out; returns its length, 1 to 4. */
size_t base_utf8_encode(uint32_t cp, char out[4]);

/* ---- Reading JSON (base_json_load.c) ---- */
/* json_loadb with the same result (value or error) for flags 0 and JSON_ALLOW_NUL,
 * faster on long strings: plain documents are read here, the rest by jansson. */
json_t *base_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *error);
/* The reading itself: NULL where base_json_loadb hands the document to jansson. */
json_t *base_json_load_fast(const char *buf, size_t len, size_t flags);

/* ---- JSON as Ruby's JSON.generate writes it ---- */
/* Ruby's Float#to_s: shortest round-trip digits, always ".0" for integral values,
 * exponent form ("1.0e+16") outside [1e-4, 1e15). buf needs 32 bytes. */
void base_json_float(double v, char *buf, size_t len);
/* A JSON string literal as Ruby writes it (UTF-8 kept, invalid bytes replaced). */
void base_json_string(base_buf *b, const char *s, size_t n);
/* Re-encodes a jansson value in Ruby's canonical form. */
void base_json_value(base_buf *b, const json_t *v);
/* RFC 8785's JSON Canonicalization Scheme (what eddsa-jcs-2022 proofs hash): object
 * keys sorted by their UTF-16 code units, numbers as ECMAScript prints them (1.0 is
 * "1", 1e21 is "1e+21"), strings escaped only where JSON must (\b \t \n \f \r \"
 * \\ and \u00xx for other control characters). Integers jansson read as such are
 * printed exactly. Returns 0, or -1 (nothing usable in b) for a non-finite number or
 * no memory. */
int base_json_canonical(base_buf *b, const json_t *v);

#endif
