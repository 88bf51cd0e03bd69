/* q_internal.h -- the engine's shared state, for the files of queues/ only.
 *
 * Threads of one engine:
 *   heartbeat (q_beat.c)  beats, flushes stats, takes remote signals, recovers orphans
 *   poller    (q_poller.c) moves due jobs from retry/schedule to their queues
 *   fetchers  (q_fetch.c)  reliable mode: one per queue, LMOVE into a private list
 *   processors(q_process.c) run jobs; in basic mode they BRPOP themselves
 *   acker     (q_process.c) writes outcomes: ack (LREM), retry/dead, forward, requeue
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
#define Q_FETCH_BATCH_MAX 1000                /* jobs moved by one fetch script (Lua unpack limit) */

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
};

/* What the acker writes for a job that left a processor (or a fetcher). */
typedef enum { Q_DONE_ACK, Q_DONE_RETRY, Q_DONE_DEAD, Q_DONE_FORWARD, Q_DONE_REQUEUE } q_done_kind;
typedef struct q_done {
    struct q_done *next;
    q_done_kind kind;
    q_job *job;               /* owned: raw + private_key */
    char *payload;            /* retry/dead: new payload (dead: NULL = the raw job);
                               * forward: the queue (NULL = cfg.forward_unknown) */
    double score;
    bool sent;                /* acker: queued in the current write */
} q_done;

/* Jobs fetched ahead for one queue (reliable mode). */
typedef struct q_handoff {
    q_job **ring;
    int head, count, cap;
    bool more;                /* the last fetch came back full: Redis may hold more */
} q_handoff;

struct q_engine {
    q_engine_cfg cfg;
    const q_registry *reg;
    char identity[320];
    char hostname[256];
    char *info_json;          /* written once at start */
    double started;           /* epoch seconds */
    double started_mono;

    pthread_mutex_t mu;
    pthread_cond_t job_ready; /* processors wait for fetched jobs */
    pthread_cond_t room;      /* fetchers wait for hand-off room */
    pthread_cond_t tick;      /* heartbeat/poller sleep; woken on stop */
    q_handoff handoff[Q_MAX_QUEUES]; /* mu */
    int idle_processors;      /* mu: waiting on job_ready */
    int waiting_fetchers;     /* mu: waiting on room */
    bool hard;                /* mu: hard shutdown in progress */

    pthread_mutex_t done_mu;
    pthread_cond_t done_cond; /* acker waits for outcomes */
    pthread_cond_t done_room; /* processors wait while the backlog is full */
    q_done *done_head, *done_tail; /* done_mu */
    int done_count;           /* done_mu */
    bool acker_waiting;       /* done_mu */
    bool acker_exit;          /* done_mu */

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
void q_engine_private_key(const struct q_engine *e, const char *queue, char *out, size_t len);
int q_engine_busy(struct q_engine *e);

/* q_fetch.c */
void *q_fetch_thread(void *arg);       /* reliable fetcher for one queue (arg: q_fetch_arg) */
q_job *q_fetch_take(struct q_engine *e, q_slot *slot); /* next job for a processor, NULL to exit */
void q_fetch_drain_handoff(struct q_engine *e);        /* quiet: requeue jobs not started */
int q_fetch_requeue_basic(q_conn *c, const q_job *job); /* RPUSH back: it runs next */
typedef struct q_fetch_arg {
    struct q_engine *e;
    int queue;
} q_fetch_arg;

/* q_process.c */
void *q_process_thread(void *arg);     /* arg: q_slot */
void *q_acker_thread(void *arg);       /* arg: engine */
void q_done_push(struct q_engine *e, q_done_kind kind, q_job *job, char *payload, double score);

/* q_beat.c */
void *q_beat_thread(void *arg);
int q_beat_once(struct q_engine *e, q_conn *c);
void q_beat_clear(struct q_engine *e, q_conn *c);
char *q_beat_info_json(struct q_engine *e);

/* q_metrics.c: writes and resets every slot's metrics in one pipeline (nothing
 * for 6.x). Called by the heartbeat thread, and by the main thread at exit. */
int q_metrics_flush(struct q_engine *e, q_conn *c);

/* q_poller.c */
void *q_poller_thread(void *arg);
int q_poller_enqueue_due(q_conn *c, q_ts_format ts, double now);
void q_poller_cleanup_processes(q_conn *c);

/* q_recover.c */
int q_recover_orphans(struct q_engine *e, q_conn *c);
int q_recover_requeue_own(struct q_engine *e, q_conn *c);

/* q_unique.c */
typedef enum { Q_UNIQUE_BEFORE, Q_UNIQUE_AFTER_SUCCESS } q_unique_phase;
void q_unique_release(q_conn *c, const q_job *job, q_unique_phase phase);

#endif
