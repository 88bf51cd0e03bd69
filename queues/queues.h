/* queues.h -- the one public header of scotty's Sidekiq protocol library.
 *
 * The library speaks Sidekiq's Redis protocol (6.4 through 8.x): it fetches jobs
 * (reliable by default, plain BRPOP on request), runs them through a registry of
 * C handlers, follows Sidekiq's retry/dead rules, polls the retry and schedule
 * sets, keeps the heartbeat Sidekiq's Web UI and API read, and pushes jobs.
 * It knows nothing of Mastodon. */
#ifndef SCOTTY_QUEUES_H
#define SCOTTY_QUEUES_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <jansson.h>

#include "base.h"

#define Q_ERRLEN 512
#define Q_MAX_QUEUES 64
#define Q_NAME_MAX 128           /* a queue name, with its NUL */
#define Q_IDENTITY_MAX 256       /* a process identity (host:pid:nonce), with its NUL */
#define Q_KEY_MAX 512            /* any key built from a queue name and an identity */
#define Q_MAX_SENTINELS 8
#define Q_MAX_JOB_BYTES (16u << 20) /* default job size limit: 16 MiB */

/* ---- Redis endpoint and connections ---- */
typedef struct q_redis_opts {
    char host[256];
    int port;
    char unix_path[256];     /* non-empty: connect to this Unix socket */
    char username[128];
    char password[256];
    int db;
    bool tls;                /* rediss:// */
    bool tls_verify;         /* verify the server certificate (default on) */
    char tls_ca_file[512];   /* CA bundle; empty: the system's */
    char tls_server_name[256]; /* name to verify; empty: host */
    /* Sentinel: when nsentinels > 0, the master named sentinel_master is asked of these
     * (with their own credentials) and host/port are what they answered last. */
    char sentinel_master[128];
    struct q_sentinel_addr {
        char host[256];
        int port;
    } sentinels[Q_MAX_SENTINELS];
    int nsentinels;
    char sentinel_username[128];
    char sentinel_password[256];
} q_redis_opts;

/* Parses redis://, rediss:// and unix:// URLs. Returns 0, or -1 with err. */
int q_redis_parse_url(const char *url, q_redis_opts *out, char *err, size_t errlen);
/* Describes the endpoint for logs, without the password. */
void q_redis_describe(const q_redis_opts *o, char *buf, size_t len);

typedef struct q_conn q_conn;
typedef struct redisReply redisReply;

q_conn *q_conn_new(const q_redis_opts *o);
void q_conn_free(q_conn *c);
/* Connects if needed. Returns 0, or -1 with a message in q_conn_error(). */
int q_conn_ensure(q_conn *c);
const char *q_conn_error(const q_conn *c);
/* Failures on c are not the Redis health (q_redis_health_down): a sentinel's
 * connection, or a one-shot tool's that reports them itself. */
void q_conn_set_quiet(q_conn *c);
/* After a failed q_conn_ensure: true when a server answered but refused these settings
 * (password, user, database, certificate), false when none could be reached. */
bool q_conn_refused(const q_conn *c);
/* Read timeout for the next replies, in milliseconds (0: wait forever). */
void q_conn_set_timeout(q_conn *c, int ms);
/* Queues one command (argv form) for a pipeline. */
int q_conn_append(q_conn *c, int argc, const char **argv, const size_t *lens);
/* Queues one command from a printf-like hiredis format (%s, %b, %d ...). */
int q_conn_appendf(q_conn *c, const char *fmt, ...);
/* Sends everything queued and reads one reply. NULL on I/O error (connection
 * is then closed and reopened by the next q_conn_ensure). */
redisReply *q_conn_reply(q_conn *c);
/* One command, one reply. Error replies are returned as replies. */
redisReply *q_conn_cmd(q_conn *c, const char *fmt, ...);
/* Runs a Lua script by EVALSHA, with the SHA-1 the connection keeps for it; its text
 * goes once per connection by SCRIPT LOAD (pipelined ahead of the EVALSHA). A NOSCRIPT
 * answer (SCRIPT FLUSH) is sent once more. */
redisReply *q_conn_eval(q_conn *c, const char *script, int nkeys, int argc,
                        const char **argv, const size_t *lens);
/* The same, queued for a pipeline; argv/lens are the keys then the arguments; one
 * reply. A Redis that lost its script cache meanwhile answers NOSCRIPT: the
 * connection then closes without running anything and the caller sends it again. */
int q_conn_append_eval(q_conn *c, const char *script, int nkeys, int argc, const char **argv,
                       const size_t *lens);
/* q_conn_eval, with meanwhile(arg) (when not NULL) run once between sending the
 * script and reading its reply, also when it could not be sent: work that overlaps
 * Redis's answer. meanwhile must not use c. */
redisReply *q_conn_eval_meanwhile(q_conn *c, const char *script, int nkeys, int argc, const char **argv,
                                  const size_t *lens, void (*meanwhile)(void *), void *arg);
void q_reply_free(redisReply *r);
/* Redis reachability, shared by all connections: logs once when it goes down and
 * once when it comes back. */
void q_redis_health_down(const char *what);
void q_redis_health_up(void);
/* How many outages have ended: a connection made before the last one ended that now
 * fails is a stale socket to the server that went away, not a new outage. */
unsigned long q_redis_health_outages(void);

/* ---- In-place edits of raw jobs ---- */
/* Replaces the value of top-level key in the JSON object text `raw` with
 * `value_json`, or appends the pair before the closing brace. The rest of the
 * text is kept byte for byte. Returns a malloc'd string or NULL if raw is not an
 * object. */
char *q_json_set(const char *raw, size_t raw_len, const char *key, const char *value_json);

/* ---- Timestamps ---- */
typedef enum { Q_TS_FLOAT = 0, Q_TS_MILLIS } q_ts_format;
/* Writes now as a JSON number in the given format. */
void q_json_timestamp(q_ts_format f, double t, char *buf, size_t len);
/* Reads a Sidekiq timestamp: JSON real = seconds; integer > 1e11 = ms. */
double q_json_read_timestamp(const json_t *v);

/* ---- Jobs ---- */
typedef struct q_job {
    char *raw;               /* the job exactly as it was in Redis, in the job's allocation */
    size_t raw_len;
    char queue[Q_NAME_MAX];  /* queue it was fetched from */
    const char *private_key; /* reliable fetch: the private list holding it (the engine's), else "" */
    bool parsed;             /* the fields below are read (q_job_parse) */
    json_t *doc;             /* parsed object, NULL if raw is not a JSON object */
    const char *klass;       /* "class", NULL if missing or not a string */
    const char *jid;         /* "jid" or "" */
    json_t *args;            /* "args" (borrowed from doc) */
    double started;          /* monotonic start of the current run */
    uint64_t fetch_hash;     /* reliable fetch: counted in the queue's in-flight table (0: not) */
    int fetch_queue;         /* the index of that queue */
    double enqueued_at;      /* from the payload, epoch seconds (0 if absent) */
} q_job;

/* A job from its raw bytes (copied), parsed. */
q_job *q_job_new(const char *raw, size_t len, const char *queue);
/* Reads doc, klass, jid, args and enqueued_at from raw; once (parsed). The engine's
 * fetcher only copies jobs (q_done_job_new) and processors parse them in parallel. */
void q_job_parse(q_job *j);
void q_job_free(q_job *j);
/* Why the engine must not run j, or NULL: bigger than max_bytes (0: no limit), not a
 * JSON object, or a NUL byte in its class, queue or jid. Such a job goes to the dead
 * set. */
const char *q_job_refusal(const q_job *j, size_t max_bytes);
/* "wrapped" if present (ActiveJob), else "class". */
const char *q_job_display_class(const q_job *j);

/* ---- Client: pushing jobs ---- */
typedef struct q_push {
    const char *klass;
    const char *queue;        /* default "default" */
    const char *args_json;    /* JSON array text, default "[]" */
    const char *retry_json;   /* e.g. "true", "8", "false"; default "true" */
    double at;                /* > now: schedule; otherwise push now */
    const char *extra_json;   /* optional: more fields, as `"k":v,"k2":v2` */
    bool omit_retry;          /* no "retry" key: the consumer's class option applies */
    const char *jid;          /* the job's jid (24 hex digits, from q_jid_new); NULL: a new one */
} q_push;
/* A new jid, as Sidekiq makes them (12 random bytes in hex). */
void q_jid_new(char out[25]);

/* ---- Handlers ---- */
#define Q_ERROR_MESSAGE_CHARS 10000 /* Sidekiq keeps exception.message.to_s[0, 10_000] */
typedef struct q_result {
    bool failed;
    char error_class[128];
    char error_message[4 * Q_ERROR_MESSAGE_CHARS + 1]; /* UTF-8: up to 4 bytes a character */
    /* Backtrace lines, newest first; used when the job asks for "backtrace". */
    const char *backtrace[8];
    int backtrace_len;
    char forward_queue[128];  /* set by q_forward */
} q_result;

/* Marks the result failed with an exception-like class and a message, cut as Sidekiq
 * cuts it: at Q_ERROR_MESSAGE_CHARS characters. */
void q_fail(q_result *r, const char *error_class, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Hands the job on, unchanged but for enqueued_at, to `queue`, where another worker (a
 * Ruby Sidekiq) takes it: the engine pushes it there and drops it from this process in
 * one step, as it does for classes it has no handler for. */
void q_forward(q_result *r, const char *queue);

typedef struct q_ctx q_ctx;
/* A handler runs one job. It reads job->args and reports failure through r. */
typedef void (*q_handler_fn)(q_ctx *ctx, const q_job *job, q_result *r);

/* Custom backoff: returns seconds (> 0), or one of these. */
enum { Q_BACKOFF_DEFAULT = 0, Q_BACKOFF_DISCARD = -1, Q_BACKOFF_KILL = -2 };
typedef long (*q_backoff_fn)(int count, const q_result *r, const q_job *job);

typedef struct q_handler {
    const char *klass;        /* Ruby class name, e.g. "ActivityPub::ProcessingWorker" */
    q_handler_fn run;
    int retry;                /* default when the payload has no "retry": -1 = true, -2 = false, N >= 0 */
    q_backoff_fn backoff;     /* NULL: Sidekiq's default */
    bool no_dead;             /* class option dead: false, when the payload has no "dead" */
} q_handler;

typedef struct q_registry q_registry;
q_registry *q_registry_new(void);
void q_registry_free(q_registry *reg);
int q_registry_add(q_registry *reg, const q_handler *h);
const q_handler *q_registry_find(const q_registry *reg, const char *klass);

/* What handlers may use while running. */
q_conn *q_ctx_redis(q_ctx *ctx);           /* this thread's Redis connection */
bool q_ctx_stopping(const q_ctx *ctx);     /* shutdown deadline passed: give up soon */
void q_ctx_progress(q_ctx *ctx, int percent); /* shown in busy views */
void *q_ctx_user(const q_ctx *ctx);        /* the engine config's user pointer */
const char *q_ctx_identity(const q_ctx *ctx); /* this process's Sidekiq identity */
/* Adds a job to this job's outcome: the engine pushes (or schedules) it in the same
 * atomic step that removes this job from its private list, whatever the outcome
 * (done, retry, dead or forward), and keeps it with the outcome, in memory, while
 * Redis is down. So a follow-up is written exactly when its job's outcome is.
 * Returns 0, or -1 with err. */
int q_ctx_enqueue(q_ctx *ctx, const q_push *p, char *err, size_t errlen);
/* Deletes `key` in that same atomic step: a marker the handler set saying "this job
 * has written something whose follow-ups are not out yet" goes exactly when they do. */
void q_ctx_outcome_del(q_ctx *ctx, const char *key);
/* q_ctx_enqueue, but p is written only if `key` is absent when the outcome is: the key
 * is then set (NX, expiring in ttl_s) in that same step; if it is there, neither is
 * written. A "one pending job per key" marker that costs no round trip of its own. */
int q_ctx_enqueue_once(q_ctx *ctx, const q_push *p, const char *key, int ttl_s, char *err, size_t errlen);
/* Releases a lock in that same step (its compare-and-delete against token, and its
 * entry in the holder hash, as worker/ingress/ingress_lock.c keeps them), also when
 * a hard shutdown gave the job back: for a handler whose last act is the release. */
void q_ctx_outcome_unlock(q_ctx *ctx, const char *lock, const char *holders, const char *token);
/* The same release at once, on c. Returns 0, or -1 with err. */
int q_unlock_now(q_conn *c, const char *lock, const char *holders, const char *token, char *err, size_t errlen);
const char *q_ctx_jid(const q_ctx *ctx);     /* the running job's jid ("" if none) */

/* Builds a job payload; jid_out (25 bytes) receives the new jid if not NULL. */
char *q_client_build(const q_push *p, q_ts_format ts, char *jid_out);
/* Pushes (or schedules) one job. Returns 0 or -1 with err. */
int q_client_push(q_conn *c, const q_push *p, q_ts_format ts, char *jid_out, char *err, size_t errlen);
/* Pushes n jobs of one class/queue, args_each[i] being each job's args. */
int q_client_push_bulk(q_conn *c, const q_push *p, const char **args_each, size_t n,
                       q_ts_format ts, char *err, size_t errlen);

/* ---- sidekiq-unique-jobs locks (q_unique.c) ---- */
/* Pushes (or schedules) p as Ruby's client does for a class declared with
 * sidekiq-unique-jobs' `lock: <lock>` (until_executing, until_executed, ...; not
 * until_expired): the payload carries the gem's lock fields (lock_ttl is ttl_s plus the
 * seconds until p->at; 0: no TTL), and the job is written only if its digest's lock is
 * free, lock and job in one script. The digest hashes p->args_json, which must be in
 * JSON.generate's compact form. Returns 1 pushed, 0 dropped (another job holds the
 * lock, which the gem's default on_conflict drops silently), -1 with err. */
int q_unique_push(q_conn *c, const q_push *p, const char *lock, long ttl_s, q_ts_format ts, char *err,
                  size_t errlen);
/* Sidekiq::ScheduledSet#select { class == klass && args[0] == first_arg }.map(&:delete)
 * with the gem loaded: each such scheduled job removed and its lock deleted.
 * first_arg is JSON text. Returns how many were removed, or -1 with err. */
int q_unique_unschedule(q_conn *c, const char *klass, const char *first_arg, char *err, size_t errlen);

/* ---- Queue order (Sidekiq's strict and weighted modes) ---- */
typedef struct q_queue_spec {
    char name[Q_NAME_MAX];
    int weight;               /* 0 = unweighted */
} q_queue_spec;

typedef struct q_order {
    q_queue_spec queues[Q_MAX_QUEUES];
    int nqueues;
    bool strict;              /* no weight > 0 anywhere */
    int expanded[Q_MAX_QUEUES * 16]; /* queue index repeated max(w,1) times */
    int nexpanded;
} q_order;

/* Adds "name" or "name,weight"; rejects duplicates like Sidekiq 6. */
int q_order_add(q_order *o, const char *spec, char *err, size_t errlen);
/* Writes this fetch's queue order (indices into o->queues); returns the count.
 * Strict: declared order. Weighted: shuffle the expanded list, keep first
 * occurrences. seed is per-thread state for rand_r. */
int q_order_pick(const q_order *o, unsigned *seed, int *out);

/* ---- Retry policy ---- */
typedef struct q_retry_cfg {
    int max_retries;          /* default 25 */
    int dead_max_jobs;        /* default 10000 */
    long dead_timeout;        /* seconds, default 180 days */
    int sidekiq_major;        /* 6, 7 or 8: jitter, retry_for rules, Metrics keys; 0: chosen
                               * at start from the Ruby Sidekiq processes in Redis (q_version.c) */
    q_ts_format ts;
    bool ts_given;            /* ts chosen by the operator; else at start it follows
                               * sidekiq_major (8: millis, as Sidekiq 8 writes; 6/7: float) */
} q_retry_cfg;
/* A running handler's view of its process's retry rules (dead_max_jobs and
 * dead_timeout_in_seconds from sidekiq.yml, for instance). */
const q_retry_cfg *q_ctx_retry(const q_ctx *ctx);

typedef enum { Q_FATE_RETRY, Q_FATE_DEAD, Q_FATE_DISCARD } q_fate;
typedef struct q_failure {
    q_fate fate;
    char *payload;            /* new JSON for the retry or dead set */
    double score;             /* ZSET score */
    const char *note;         /* why the job went to the dead set early, or NULL */
} q_failure;

/* The dead-set payload of a job the engine refused to run: the job with Sidekiq's
 * error fields (error_class Scotty::RefusedJob, error_message why, failed_at), or NULL
 * when it is not a JSON object (the raw bytes then go to the dead set). */
char *q_retry_refused_payload(const q_retry_cfg *cfg, const q_job *job, const char *why, double now);
/* Decides what happens to a failed job and builds the new payload exactly as
 * Sidekiq's JobRetry does. `from_queue` is the queue it was fetched from. */
void q_retry_decide(const q_retry_cfg *cfg, const q_job *job, const q_handler *h,
                    const q_result *r, double now, unsigned *seed, q_failure *out);
/* Sidekiq's default delay for retry `count` (jitter included). */
long q_retry_delay(int sidekiq_major, int count, unsigned *seed);
/* The jitter Sidekiq adds to every delay (6.x/7.x: rand(10)*(count+1); 8.x: rand(10*(count+1))). */
long q_retry_jitter(int sidekiq_major, int count, unsigned *seed);
/* error_backtrace: base64(zlib(JSON array)). Returns malloc'd text. */
char *q_backtrace_encode(const char *const *lines, int n);

/* The dead set trimmed as Sidekiq's DeadSet does: jobs that died more than `timeout`
 * seconds before `now` (epoch seconds), then by rank all but the newest
 * (ZREMRANGEBYRANK dead 0 -max_jobs, Sidekiq's bound). q_dead_trim_append queues the
 * two commands on c (e.g. inside a MULTI) and returns how many replies follow;
 * q_dead_trim runs them in one MULTI and reports how many jobs each step removed
 * (by_age, by_size may be NULL). Returns 0 or -1 with err. */
int q_dead_trim_append(q_conn *c, double now, long timeout, int max_jobs);
int q_dead_trim(q_conn *c, double now, long timeout, int max_jobs, long *by_age, long *by_size,
                char *err, size_t errlen);

/* ---- Time zones, cron lines and durations (sidekiq-scheduler syntax) ---- */
typedef struct q_tz {
    size_t n;                 /* transitions; 0 = UTC */
    int64_t *when;
    int32_t *offset;          /* UTC offset in seconds from when[i] on */
    int32_t initial;
} q_tz;
int q_tz_load(q_tz *z, const char *name, char *err, size_t errlen);
long q_tz_offset(const q_tz *z, int64_t t);
void q_tz_free(q_tz *z);

typedef struct q_cron {
    uint64_t seconds, minutes, hours, mdays, months, wdays; /* bit sets */
    bool mday_star, wday_star, has_seconds;
    char tz[64];
    q_tz zone;
} q_cron;
int q_cron_parse(q_cron *c, const char *line, char *err, size_t errlen);
/* The first firing strictly after `after` (epoch seconds), 0 if none. */
double q_cron_next(const q_cron *c, double after);
/* "5m", "1h30m", "1 minute", "30" -> seconds; -1 if not a duration (or longer than
 * Q_DURATION_MAX). */
double q_duration_parse(const char *s);
#define Q_DURATION_MAX (100.0 * 366 * 86400) /* longer "durations" are refused: a century */

/* ---- Scheduler: periodic jobs, each firing enqueued once cluster-wide ---- */
typedef enum { Q_SCHED_CRON, Q_SCHED_EVERY, Q_SCHED_INTERVAL, Q_SCHED_AT, Q_SCHED_IN } q_sched_kind;
typedef struct q_schedule {
    char name[128];
    char klass[256];
    char queue[128];
    char *args_json;          /* JSON array text, NULL = [] */
    char *retry_json;         /* NULL: no "retry" key (the class's own option applies) */
    char description[256];
    bool enabled;
    q_sched_kind kind;
    char expr[128];           /* the timing as written: "17 4 * * *", "5m", "2026-01-01 00:00:00" */
    q_cron cron;
    double period;            /* every / interval / in, seconds */
    double first_in;          /* every: delay of the first firing */
    double at;                /* at: epoch seconds */
} q_schedule;
/* Sets kind and timing from a sidekiq-scheduler key ("cron", "every", ...). */
int q_schedule_set_timing(q_schedule *s, const char *kind, const char *value, char *err, size_t errlen);
void q_schedule_free(q_schedule *s);
/* When schedule s last fired and fires next, as the cluster sees it (epoch seconds,
 * 0 for never/none): the sidekiq-scheduler:last_times/next_times hashes, else what
 * the scheduler will compute from the clock, the shared anchor or the last firing.
 * Reads over c. Returns 0, or -1 with err when Redis cannot be read. */
int q_schedule_times(q_conn *c, const q_schedule *s, double now, double *last, double *next,
                     char *err, size_t errlen);

typedef enum { Q_MISSED_SKIP = 0, Q_MISSED_ONCE } q_missed_policy;
typedef struct q_sched_cfg {
    q_redis_opts redis;
    q_schedule *schedules;    /* borrowed */
    int n;
    double max_skew;          /* seconds of clock skew tolerated between hosts (60) */
    q_missed_policy missed;
    q_ts_format ts;
} q_sched_cfg;
typedef struct q_sched q_sched;
q_sched *q_sched_start(const q_sched_cfg *cfg, char *err, size_t errlen);
void q_sched_stop(q_sched *s);

/* ---- Private lists of reliable fetch, seen cluster-wide (operators' tools) ---- */
typedef struct q_private_list {
    char key[Q_KEY_MAX];          /* queue:scotty|IDENTITY|QUEUE */
    char identity[Q_IDENTITY_MAX];
    char queue[Q_NAME_MAX];
    char type[16];                /* the key's Redis type: "list", or what else it holds */
    char queue_type[16];          /* queue:QUEUE's: "list" or "none", or what else it holds */
    long length;                  /* jobs held (a list), else 0 */
    bool alive;                   /* the process's heartbeat hash exists */
} q_private_list;
/* Splits a private list's key into its process identity (HOST:PID:12 hex digits, the
 * host possibly holding '|') and queue name. Returns 0, or -1 when key is not one. */
int q_private_parse_key(const char *key, size_t len, char identity[Q_IDENTITY_MAX],
                        char queue[Q_NAME_MAX]);
/* Every private list in Redis (keys queue:scotty|*, found with SCAN), sorted by key,
 * with its type, length and process liveness. A key of that form that is not a list is
 * returned too (its type says so); one that does not parse is skipped with a WARN
 * line. Returns a malloc'd array (*n entries, NULL when 0), or NULL with *n = -1 and
 * err when Redis cannot be read. */
q_private_list *q_private_scan(q_conn *c, int *n, char *err, size_t errlen);
/* Moves the private list of `identity` for `queue` back to the front of queue:QUEUE
 * (the end Sidekiq pops next), oldest job first in line, in one script that checks
 * every key's type first: each job leaves the private list only in the step that
 * pushes it, and a wrong type moves nothing. Returns the jobs moved, or -1 with err. */
long q_private_requeue(q_conn *c, const char *identity, const char *queue, char *err, size_t errlen);
/* Drops `identity` from scotty:fetchers, the registry recovery reads: for a process
 * whose heartbeat is gone once its private lists are moved. Returns 0, or -1 with err. */
int q_private_forget(q_conn *c, const char *identity, char *err, size_t errlen);

/* ---- The engine: one Sidekiq process ---- */
typedef enum { Q_FETCH_RELIABLE = 0, Q_FETCH_BASIC } q_fetch_mode;

typedef struct q_engine_cfg {
    q_redis_opts redis;
    q_order order;
    int concurrency;          /* processor threads */
    double timeout;           /* -t: graceful stop deadline, seconds */
    char tag[128];
    char labels[8][64];
    int nlabels;
    q_fetch_mode fetch;
    int prefetch;             /* reliable: jobs held per queue beyond idle processors (0: -c/8, >= 1) */
    int recover_threshold;    /* recoveries before a job goes to the dead set */
    size_t max_job_bytes;     /* bigger jobs go to the dead set unrun (0: no limit) */
    char forward_unknown[128];/* queue for unknown classes, "" to fail them */
    double beat_interval;     /* heartbeat period (5 s) */
    double poll_interval;     /* average_scheduled_poll_interval (5 s) */
    double poll_interval_fixed;/* poll_interval_average if > 0 */
    bool poller;              /* run the retry/schedule poller */
    bool job_log;             /* a "done" line per job at INFO (else at DEBUG); failures always */
    q_retry_cfg retry;
    void *user;               /* handed to handlers via q_ctx_user */
    /* Called by the process that recovers a dead process's private lists, before
     * their jobs go back to the queues, with the dead identity and `user`: the
     * application releases what that process held (its locks, say). Also called with
     * this process's own identity when a stop cuts jobs off at the deadline, before
     * they are requeued. NULL: none. */
    void (*on_orphan)(const char *identity, void *user);
} q_engine_cfg;

void q_engine_cfg_defaults(q_engine_cfg *cfg);

typedef struct q_engine q_engine;
q_engine *q_engine_new(const q_engine_cfg *cfg, const q_registry *reg, char *err, size_t errlen);
/* Starts heartbeat, poller, fetchers and processors. Returns 0 or -1 with err. */
int q_engine_start(q_engine *e, char *err, size_t errlen);
/* Stop fetching new jobs (TSTP). */
void q_engine_quiet(q_engine *e);
/* Graceful stop with the configured deadline; requeues unfinished jobs. Blocks.
 * Returns the number of processor threads still inside a handler after the deadline
 * (their jobs were requeued): when it is not 0, those handlers may still use what they
 * share, so the caller must not free it and should exit the process instead. */
int q_engine_stop(q_engine *e);
/* Logs every processor's state (TTIN). */
void q_engine_dump(q_engine *e);
/* Asks the process to stop, as a TERM would (main notices and calls q_engine_stop). */
void q_engine_request_stop(q_engine *e);
/* True once a stop was requested (remote TERM through the heartbeat, or a control
 * command): main should stop. */
bool q_engine_stop_requested(const q_engine *e);
bool q_engine_is_quiet(const q_engine *e);
const char *q_engine_identity(const q_engine *e);
void q_engine_free(q_engine *e);

/* Live numbers for operators (control socket, process title). */
typedef struct q_engine_stats {
    uint64_t processed, failed, forwarded, recovered;
    int busy, concurrency;
    int prefetched;           /* reliable fetch: jobs fetched, not started */
    int waiting;              /* of those, the ones no idle processor is there to start */
    double started;
    long rtt_us;
} q_engine_stats;
void q_engine_get_stats(q_engine *e, q_engine_stats *out);
/* Resident memory of this process in kB (0 if unknown). */
long q_rss_kb(void);

/* Per class and queue since start: counts and approximate duration percentiles
 * (successful and failed runs alike; accurate to about 25%). */
typedef struct q_class_stats {
    char klass[128];
    char queue[128];
    uint64_t processed, failed;
    double total_seconds;
    double p50, p95, p99;     /* seconds */
} q_class_stats;
/* Returns a malloc'd array (caller frees) and its length in *n. */
q_class_stats *q_engine_class_stats(q_engine *e, int *n);

/* Every running job. */
typedef struct q_busy_job {
    char tid[16];
    char jid[64];
    char klass[128];
    char queue[128];
    long run_at;              /* epoch seconds */
    double elapsed;           /* seconds */
    int progress;             /* percent, -1 if the job does not report it */
} q_busy_job;
/* Returns a malloc'd array (caller frees) and its length in *n. */
q_busy_job *q_engine_busy_jobs(q_engine *e, int *n);

/* One queue as Redis sees it now. */
typedef struct q_queue_info {
    char name[128];
    int weight;
    long size;
    double latency;           /* seconds since the oldest job was enqueued, 0 if empty */
} q_queue_info;
/* Reads size and latency of each of the engine's queues over c. Returns the count. */
int q_engine_queue_info(q_engine *e, q_conn *c, q_queue_info *out, int max);
const q_engine_cfg *q_engine_config(const q_engine *e);

#endif
