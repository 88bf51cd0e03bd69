/* q_internal.h -- the engine's shared state, for the files of queues/ only.
 *
 * Threads of one engine:
 *   heartbeat (q_beat.c)  beats, flushes stats, takes remote signals, recovers orphans
 *   poller    (q_poller.c) moves due jobs from retry/schedule to their queues
 *   fetchers  (q_fetch.c)  reliable mode: one per queue, LMOVE into a private list
 *   processors(q_process.c) run jobs; in basic mode they BRPOP themselves
 *   acker     (q_ack.c)    writes outcomes (q_outcome.c): ack, retry/dead, forward, requeue,
 *                          with their follow-up jobs
 * Fields marked "mu" are guarded by q_engine.mu (hand-off), "done_mu" by
 * q_engine.done_mu (outcomes). Condition variables are signalled only when
 * someone waits on them: with no-op jobs, wake-ups were most of the cost. */
#ifndef SCOTTY_Q_INTERNAL_H
#define SCOTTY_Q_INTERNAL_H

#include "queues.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define Q_KEY_FETCHERS "scotty:fetchers"      /* HASH identity -> queues it holds private lists for */
#define Q_KEY_RECOVERED "scotty:recovered"    /* HASH jid -> times recovered from crashed processes */
#define Q_KEY_RECOVER_LOCK "scotty:recover_lock"
#define Q_BLOCK_SECONDS 2                     /* BRPOP/BLMOVE timeout, as Sidekiq */
#define Q_DONE_MAX 4096                       /* outcomes waiting for the acker before processors wait */
#define Q_ACK_LINGER_MS 2                     /* the acker waits this long for more outcomes to batch... */
#define Q_ACK_LINGER_FULL 64                  /* ... unless this many are already waiting */
#define Q_FETCH_BATCH_MAX 1000                /* jobs moved by one fetch script (Lua unpack limit) */
#define Q_STOP_GRACE 5                        /* seconds past -t the acker tries to write outcomes */

/* Durations per class and queue, kept by each processor thread for itself (no
 * shared lock on the hot path) and merged when someone asks (q_stats.c). */
#define Q_HIST_BUCKETS 96          /* 10 us x 1.25^i: up to ~20 minutes */
typedef struct q_stat_entry {
    char *key;                /* "class\tqueue", NULL = empty slot */
    uint64_t processed, failed;
    double total_seconds;
    uint32_t hist[Q_HIST_BUCKETS];
} q_stat_entry;
typedef struct q_stat_table {
    q_stat_entry *items;      /* open addressing */
    size_t cap, used;
} q_stat_table;
void q_stats_record(q_stat_table *t, const char *klass, const char *queue, double seconds, bool failed);
void q_stats_free(q_stat_table *t);

/* Sidekiq Web UI "Metrics" tab counters per class (q_metrics.c), kept by each
 * processor thread for itself until the heartbeat flushes them. */
#define Q_METRICS_BUCKETS 26
typedef struct q_metrics_entry {
    char *klass;              /* "wrapped" or "class"; NULL = empty slot */
    uint64_t processed, failed, ms;
    bool timed;               /* a run succeeded: "|ms" and the histogram are written */
    uint32_t hist[Q_METRICS_BUCKETS];
} q_metrics_entry;
typedef struct q_metrics_table {
    q_metrics_entry *items;   /* open addressing */
    size_t cap, used;
} q_metrics_table;
void q_metrics_record(q_metrics_table *t, const char *klass, long ms, bool failed);
void q_metrics_free(q_metrics_table *t);
/* Sidekiq's histogram bucket of a run of `ms` milliseconds (0..25). */
int q_metrics_bucket(long ms);
/* Milliseconds between two monotonic readings, each truncated to whole ms first. */
long q_metrics_elapsed_ms(double start, double end);
/* The counter hash keys for a flush at `now` and their TTLs: 7.x one, 8.x two
 * (10-minute, then minute), 6.x none. Returns the count. */
int q_metrics_counter_keys(int sidekiq_major, time_t now, char keys[2][32], long ttls[2]);
/* The histogram key of `klass` for a flush at `now` (malloc'd). */
char *q_metrics_hist_key(int sidekiq_major, time_t now, const char *klass);

/* The writes of one outcome (q_outcome.c), as the outcome script's arguments:
 * command, key and two arguments per write, each string owned. */
typedef struct q_ops {
    char **argv;
    size_t *lens;
    int n, cap;
} q_ops;
/* One processor thread. */
typedef struct q_slot {
    struct q_engine *e;
    int index;
    pthread_t thread;
    bool thread_started;
    char tid[16];
    unsigned seed;
    q_conn *conn;             /* this thread's connection (handlers, basic fetch) */
    pthread_mutex_t mu;       /* guards job, run_at, progress: read by heartbeat/dump */
    q_job *job;
    long run_at;
    int progress;
    bool abandoned;           /* set under mu and slot mu: hard shutdown requeued this job */
    q_stat_table stats;       /* slot mu */
    q_metrics_table metrics;  /* slot mu: recorded by this processor, taken by the flush */
} q_slot;

struct q_ctx {
    struct q_engine *e;
    q_slot *slot;
    const char *jid;          /* the running job's */
    q_ops followups;          /* q_ctx_enqueue, q_ctx_outcome_del: written with the job's outcome */
};

/* Adds one write: cmd is LPUSH, RPUSH or SADD (key, a), ZADD (key, a = score, b =
 * member), ZREMRANGEBYSCORE or ZREMRANGEBYRANK (key, a, b), DEL (key), ONCE (key, a =
 * TTL, b = writes to skip) or UNLOCK (key = lock, a = holder hash, b = token). a and b
 * may be NULL. */
void q_ops_add(q_ops *o, const char *cmd, const char *key, const char *a, size_t alen, const char *b,
               size_t blen);
void q_ops_push_job(q_ops *o, const char *queue, const char *payload, size_t len); /* SADD + LPUSH */
void q_ops_zadd(q_ops *o, const char *set, double score, const char *payload, size_t len);
void q_ops_move(q_ops *to, q_ops *from);  /* appends from's writes to to; from is emptied */
void q_ops_keep(q_ops *o, const char *cmd); /* drops every write but those of cmd */
void q_ops_unlock(q_ops *o, const char *lock, const char *holders, const char *token); /* UNLOCK */
/* ONCE (key, ttl_s) guarding the writes of `guarded`, which are moved after it. */
void q_ops_once(q_ops *o, const char *key, int ttl_s, q_ops *guarded);
void q_ops_free(q_ops *o);
/* Queues the outcome script on c: the writes of ops, then the removal of `job` from
 * src, a list (a private list) or, when src_is_set, a sorted set (NULL: nowhere).
 * Nothing is written unless the job is still in src and every key written has the
 * right type. The reply is 1 (written), 0 (the job was gone) or an error. */
int q_outcome_append(q_conn *c, const char *src, bool src_is_set, const char *job, size_t job_len,
                     const q_ops *ops);
/* 0 if the script's reply r says it ran (or had run before), else -1 with err. */
int q_outcome_check(const redisReply *r, const q_conn *c, char *err, size_t errlen);
/* Writes ops in one script call (no private list). Returns 0 or -1 with err. */
int q_outcome_run(q_conn *c, const q_ops *ops, char *err, size_t errlen);

/* q_client.c: the writes that push (or schedule) the job p describes */
void q_client_ops(const q_push *p, q_ts_format ts, q_ops *ops, char *jid_out);

/* What the acker writes for a job that left a processor (or a fetcher). */
typedef enum { Q_DONE_ACK, Q_DONE_RETRY, Q_DONE_DEAD, Q_DONE_FORWARD, Q_DONE_REQUEUE } q_done_kind;
typedef struct q_done {
    q_job job;                /* first: a fetched job and its record are one allocation */
    struct q_done *next;
    q_done_kind kind;
    char jid[64], klass[128]; /* for the log, kept when the parsed job is dropped */
    q_ops ops;                /* the writes; empty for a plain ack */
    bool sent;                /* acker: queued in the current write */
} q_done;

/* q_job.c: a job from its raw bytes (copied), not yet parsed, in one allocation of
 * `size` bytes (at least sizeof(q_job)) plus the raw bytes: a struct whose first member
 * is the q_job, the rest zeroed. q_job_free frees the whole. */
q_job *q_job_alloc(size_t size, const char *raw, size_t len, const char *queue);
/* A fetched job with its outcome record (q_done_push), not yet parsed. Every job the
 * engine runs is made here. */
q_job *q_done_job_new(const char *raw, size_t len, const char *queue);

/* q_inflight.c: the jobs of one private list this process has delivered and not yet
 * written an outcome for, counted by a hash of their bytes. */
typedef struct q_inflight_slot {
    uint64_t hash;            /* 0: empty */
    int count;
} q_inflight_slot;
typedef struct q_inflight {
    pthread_mutex_t mu;       /* guards the table; the fetcher, the acker and a reconcile */
    q_inflight_slot *slots;
    size_t cap, used;
} q_inflight;
uint64_t q_inflight_hash(const char *raw, size_t len); /* never 0 */
void q_inflight_init(q_inflight *t);
void q_inflight_free(q_inflight *t);
void q_inflight_add(q_inflight *t, uint64_t h);
void q_inflight_remove(q_inflight *t, uint64_t h);
/* Reads the private list over c and marks (*unknown, malloc'd, one flag per element
 * of the returned LRANGE reply) the jobs it holds beyond those counted. NULL when
 * Redis cannot be read. */
redisReply *q_inflight_unknown(q_inflight *t, q_conn *c, const char *private_key, bool **unknown);

/* Jobs fetched for one queue (reliable mode), waiting for a processor. The fetcher
 * keeps it filled to what will start soon: its share of the idle processors plus a
 * small reserve (q_fetch.c). */
typedef struct q_handoff {
    q_job **ring;
    int head, count, cap;     /* cap: concurrency + reserve */
    bool more;                /* the last fetch came back full: Redis may hold more */
    bool fetcher_waiting;     /* its fetcher waits on room until it is worth a fetch */
    pthread_cond_t room;
} q_handoff;

struct q_engine {
    q_engine_cfg cfg;
    const q_registry *reg;
    char identity[Q_IDENTITY_MAX];
    char private_keys[Q_MAX_QUEUES][Q_KEY_MAX]; /* reliable fetch: each queue's private list */
    char hostname[Q_IDENTITY_MAX];
    char *info_json;          /* written once at start */
    double started;           /* epoch seconds */
    double started_mono;

    pthread_mutex_t mu;
    pthread_cond_t job_ready; /* processors wait for fetched jobs */
    pthread_cond_t tick;      /* heartbeat/poller sleep; woken on stop */
    q_handoff handoff[Q_MAX_QUEUES]; /* mu */
    q_inflight inflight[Q_MAX_QUEUES]; /* its own mutex; one per queue's private list */
    int reserve;              /* jobs held per queue beyond the idle processors (--prefetch) */
    int idle_processors;      /* mu: waiting on job_ready */
    int waking;               /* mu: processors signalled on job_ready, not yet running */
    bool hard;                /* mu: hard shutdown in progress */

    pthread_mutex_t done_mu;
    pthread_cond_t done_cond; /* acker waits for outcomes */
    pthread_cond_t done_room; /* processors wait while the backlog is full */
    q_done *done_head, *done_tail; /* done_mu */
    int done_count;           /* done_mu */
    bool acker_waiting;       /* done_mu: waiting for a first outcome */
    bool acker_lingering;     /* done_mu: has one, waiting Q_ACK_LINGER_MS for more */
    bool acker_exit;          /* done_mu */
    double ack_deadline;      /* done_mu: once acker_exit, monotonic time to give up writing */

    atomic_bool quiet;        /* no new jobs */
    atomic_bool stopping;     /* the heartbeat ends (set last, after jobs are done) */
    atomic_bool stop_requested; /* remote TERM arrived */
    atomic_bool deadline_passed;
    atomic_uint_fast64_t processed, failed, forwarded, recovered;
    atomic_uint_fast64_t pending_processed, pending_failed; /* not yet in stat:* */
    atomic_long rtt_us;

    q_slot *slots;
    pthread_t beat_thread, poller_thread, acker_thread;
    pthread_t fetch_threads[Q_MAX_QUEUES];
    int nfetchers;
    bool beat_started, poller_started, acker_started;
    q_conn *beat_conn, *poll_conn, *ack_conn, *main_conn;
};

/* q_engine.c */
/* Sleeps up to `seconds`; wakes early once *until becomes true (quiet, stopping). */
void q_engine_sleep(struct q_engine *e, double seconds, atomic_bool *until);
/* The private list of `identity` for `queue`: "queue:scotty|IDENTITY|QUEUE". Returns 0,
 * or -1 when it would not fit (an identity written by something else). */
int q_private_key(const char *identity, const char *queue, char out[Q_KEY_MAX]);
int q_engine_busy(struct q_engine *e);

/* q_fetch.c */
void *q_fetch_thread(void *arg);       /* reliable fetcher for one queue (arg: q_fetch_arg) */
q_job *q_fetch_take(struct q_engine *e, q_slot *slot); /* next job for a processor, NULL to exit */
void q_fetch_drain_handoff(struct q_engine *e);        /* quiet: requeue jobs not started */
void q_fetch_wake_all(struct q_engine *e);             /* quiet: fetchers stop waiting (mu held) */
/* Jobs in the hand-offs, and those of them no idle processor is there to start. */
void q_fetch_held(struct q_engine *e, int *prefetched, int *waiting);
int q_fetch_requeue_basic(q_conn *c, const q_job *job); /* RPUSH back: it runs next */
typedef struct q_fetch_arg {
    struct q_engine *e;
    int queue;
} q_fetch_arg;

/* q_process.c */
void *q_process_thread(void *arg);     /* arg: q_slot */

/* q_ack.c */
void *q_acker_thread(void *arg);       /* arg: engine */
/* Hands an outcome to the acker. payload: retry/dead, the new job (dead: NULL = the
 * raw job); forward, the queue (NULL = cfg.forward_unknown); owned. followups (may
 * be NULL) are moved into the outcome. */
void q_done_push(struct q_engine *e, q_done_kind kind, q_job *job, char *payload, double score,
                 q_ops *followups);

/* q_beat.c */
void *q_beat_thread(void *arg);
int q_beat_once(struct q_engine *e, q_conn *c);
void q_beat_clear(struct q_engine *e, q_conn *c);
char *q_beat_info_json(struct q_engine *e);

/* q_version.c: settles e->cfg.retry's Sidekiq major version (0: the Ruby processes'
 * in `processes`, else 8) and, unless given, the timestamp format; logs the choice.
 * Reads over c. Returns 0, or -1 with err when Redis cannot be read. */
int q_version_choose(struct q_engine *e, q_conn *c, char *err, size_t errlen);
/* The Sidekiq major version a process's `info` JSON reports (6 when it names none),
 * with the version text in `version` ("" if none); 0 for scotty's own processes and
 * info that is not Ruby Sidekiq's. */
int q_version_of_info(const char *info, size_t len, char *version, size_t vlen);

/* q_metrics.c: writes and resets every slot's metrics in one pipeline (nothing
 * for 6.x). Called by the heartbeat thread, and by the main thread at exit. */
int q_metrics_flush(struct q_engine *e, q_conn *c);

/* q_poller.c */
void *q_poller_thread(void *arg);
int q_poller_enqueue_due(q_conn *c, const q_retry_cfg *cfg, double now);
void q_poller_cleanup_processes(q_conn *c);

/* q_recover.c */
int q_recover_orphans(struct q_engine *e, q_conn *c);
int q_recover_requeue_own(struct q_engine *e, q_conn *c);

/* q_sentinel.c: asks o's sentinels, from *first on, for the master's address and sets
 * o->host and o->port; *first becomes the sentinel that answered. 0, or -1 with err. */
int q_sentinel_master(q_redis_opts *o, int *first, char *err, size_t errlen);

/* q_dead.c: the score below which dead jobs are trimmed by age, and the rank bound */
void q_dead_bounds(double now, long timeout, int max_jobs, char cutoff[40], char rank[24]);

/* q_unique.c */
typedef enum { Q_UNIQUE_BEFORE, Q_UNIQUE_AFTER_SUCCESS } q_unique_phase;
void q_unique_release(q_conn *c, const q_job *job, q_unique_phase phase);

#endif
