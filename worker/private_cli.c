/* private_cli.c -- `scotty status` and `scotty requeue-private`: the private lists of
 * reliable fetch (queue:scotty|IDENTITY|QUEUE), cluster-wide, and moving them back to
 * the front of their public queues, so that leaving scotty strands no job. Ruby
 * Sidekiq never looks into those lists.
 *
 * Both read Redis as the worker does (config_redis.c: Mastodon's SIDEKIQ_REDIS_* and
 * REDIS_* variables, Sentinel; --redis-url, --redis-ca). requeue-private checks every
 * key's type before it moves anything, moves each list in one atomic script (the
 * recovery's, q_private_requeue), and asks before it touches the list of a process
 * whose heartbeat is still there. */
#include "config.h"
#include "ingress/ingress.h"
#include "services.h"
#include "worker.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What the two commands share: the Redis connection and the flags. */
typedef struct private_cli {
    const char *name;         /* "status" or "requeue-private", for messages */
    q_redis_opts redis;       /* Sidekiq's */
    services svc;             /* only its Redis settings, for ingress_on_orphan */
    char where[600];          /* the endpoint, for messages */
    bool force, dry_run;
} private_cli;

enum { PRIVATE_OPT_REDIS_URL = 1000, PRIVATE_OPT_REDIS_CA, PRIVATE_OPT_LOG_FORMAT, PRIVATE_OPT_FORCE,
       PRIVATE_OPT_DRY_RUN };

static void private_usage(FILE *out, const char *name)
{
    bool requeue = strcmp(name, "requeue-private") == 0;
    fprintf(out, "usage: scotty %s%s [--redis-url URL] [--redis-ca FILE] [--log-format text|json]\n",
            name, requeue ? " [--force] [--dry-run]" : "");
    if (requeue)
        fputs("Moves every scotty private list (queue:scotty|PROCESS|QUEUE) back to the front of its\n"
              "queue, where Ruby Sidekiq takes its jobs next. Asks before it touches the list of a\n"
              "process that still has a heartbeat; without a terminal it leaves those lists.\n"
              "  --force      move the lists of live processes too, without asking\n"
              "  --dry-run    say what would be moved; move nothing\n",
              out);
    else
        fputs("Shows every scotty private list (queue:scotty|PROCESS|QUEUE) in Redis: its queue, its\n"
              "process, whether that process is alive (heartbeat) and how many jobs it holds.\n",
              out);
    fputs("Redis: Mastodon's SIDEKIQ_REDIS_* / REDIS_* variables, as the worker reads them.\n", out);
}

/* Parses the flags and reads the Redis settings. Returns 0, 1 (help shown) or 2 (bad
 * usage, said on stderr). */
static int private_cli_init(private_cli *p, int argc, char **argv)
{
    static const struct option opts[] = {
        {"redis-url", required_argument, NULL, PRIVATE_OPT_REDIS_URL},
        {"redis-ca", required_argument, NULL, PRIVATE_OPT_REDIS_CA},
        {"log-format", required_argument, NULL, PRIVATE_OPT_LOG_FORMAT},
        {"force", no_argument, NULL, PRIVATE_OPT_FORCE},
        {"dry-run", no_argument, NULL, PRIVATE_OPT_DRY_RUN},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool requeue = strcmp(p->name, "requeue-private") == 0;
    char err[Q_ERRLEN];
    config_redis sidekiq, app;
    if (config_redis_env("SIDEKIQ_", &sidekiq, err, sizeof err) != 0 ||
        config_redis_env("", &app, err, sizeof err) != 0) {
        fprintf(stderr, "scotty %s: %s\n", p->name, err);
        return 2;
    }
    p->redis = sidekiq.opts;
    const char *from = sidekiq.from, *ca = NULL;
    int opt;
    opterr = 0;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        base_log_format format;
        switch (opt) {
        case PRIVATE_OPT_REDIS_URL:
            if (q_redis_parse_url(optarg, &p->redis, err, sizeof err) != 0) {
                fprintf(stderr, "scotty %s: %s\n", p->name, err);
                return 2;
            }
            from = "--redis-url";
            break;
        case PRIVATE_OPT_REDIS_CA:
            ca = optarg;
            break;
        case PRIVATE_OPT_LOG_FORMAT:
            if (config_log_format(optarg, &format, err, sizeof err) != 0) {
                fprintf(stderr, "scotty %s: %s\n", p->name, err);
                return 2;
            }
            base_log_set_format(format);
            break;
        case PRIVATE_OPT_FORCE:
        case PRIVATE_OPT_DRY_RUN:
            if (!requeue)
                goto bad;
            if (opt == PRIVATE_OPT_FORCE)
                p->force = true;
            else
                p->dry_run = true;
            break;
        case 'h':
            private_usage(stdout, p->name);
            return 1;
        default:
            goto bad;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "scotty %s: unexpected argument '%s'\n", p->name, argv[optind]);
        private_usage(stderr, p->name);
        return 2;
    }
    if (ca)
        snprintf(p->redis.tls_ca_file, sizeof p->redis.tls_ca_file, "%s", ca);
    config_redis_log("Sidekiq's", &p->redis, from);
    q_redis_describe(&p->redis, p->where, sizeof p->where);
    /* The application Redis, where a dead process's locks are, as the worker decides it. */
    p->svc.redis = p->redis;
    p->svc.app_redis = app.opts;
    p->svc.app_redis_own = !sidekiq.base && !config_redis_same(&app.opts, &p->redis);
    return 0;
bad:
    fprintf(stderr, "scotty %s: unknown or incomplete option '%s'\n", p->name, argv[optind - 1]);
    private_usage(stderr, p->name);
    return 2;
}

/* Connects and reads the private lists; NULL with *n = 0 when there are none, NULL
 * with *n = -1 when Redis cannot be read (said on stderr). */
static q_private_list *private_cli_read(private_cli *p, q_conn *c, int *n)
{
    char err[Q_ERRLEN];
    q_conn_set_quiet(c); /* a failure is said once, below, not as the worker's outage lines */
    if (q_conn_ensure(c) != 0) {
        fprintf(stderr, "scotty %s: cannot reach Sidekiq's Redis at %s: %s\n", p->name, p->where,
                q_conn_error(c));
        *n = -1;
        return NULL;
    }
    q_private_list *all = q_private_scan(c, n, err, sizeof err);
    if (*n < 0)
        fprintf(stderr, "scotty %s: %s\n", p->name, err);
    return all;
}

/* Why list l cannot be moved (a key of the wrong type), or NULL. */
static const char *private_problem(const q_private_list *l, char *buf, size_t len)
{
    if (strcmp(l->type, "list") != 0)
        snprintf(buf, len, "%s holds a %s, not a list: it is not a private list scotty wrote; "
                 "look at it and remove or rename it", l->key, l->type);
    else if (strcmp(l->queue_type, "list") != 0 && strcmp(l->queue_type, "none") != 0)
        snprintf(buf, len, "queue:%s holds a %s, not a list, so the %ld job(s) of %s cannot go back to "
                 "it; look at it and remove or rename it", l->queue, l->queue_type, l->length, l->key);
    else
        return NULL;
    return buf;
}

int status_main(int argc, char **argv)
{
    private_cli p = {.name = "status"};
    int rc = private_cli_init(&p, argc, argv);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    q_conn *c = q_conn_new(&p.redis);
    int n;
    q_private_list *all = private_cli_read(&p, c, &n);
    q_conn_free(c);
    if (n < 0)
        return 1;
    if (n == 0) {
        printf("No scotty private lists in Redis at %s: nothing left to requeue.\n", p.where);
        return 0;
    }
    int wq = (int)strlen("QUEUE"), wp = (int)strlen("PROCESS");
    for (int i = 0; i < n; i++) {
        int lq = (int)strlen(all[i].queue), lp = (int)strlen(all[i].identity);
        wq = lq > wq ? lq : wq;
        wp = lp > wp ? lp : wp;
    }
    printf("%-*s  %8s  %-9s  %-*s  %s\n", wq, "QUEUE", "JOBS", "HEARTBEAT", wp, "PROCESS", "PRIVATE LIST");
    long jobs = 0;
    int dead = 0, problems = 0;
    for (int i = 0; i < n; i++) {
        const q_private_list *l = &all[i];
        char count[24];
        if (strcmp(l->type, "list") == 0)
            snprintf(count, sizeof count, "%ld", l->length);
        else
            snprintf(count, sizeof count, "(%s)", l->type);
        printf("%-*s  %8s  %-9s  %-*s  %s\n", wq, l->queue, count, l->alive ? "alive" : "gone", wp,
               l->identity, l->key);
        jobs += l->length;
        dead += !l->alive;
    }
    for (int i = 0; i < n; i++) {
        char why[Q_KEY_MAX * 3];
        if (private_problem(&all[i], why, sizeof why)) {
            printf("problem: %s\n", why);
            problems++;
        }
    }
    printf("%d private list(s), %ld job(s); %d list(s) of processes whose heartbeat is gone%s\n", n, jobs,
           dead, dead ? ": `scotty requeue-private` moves them back to their queues" : "");
    if (problems)
        printf("%d key(s) of the wrong type: `scotty requeue-private` moves nothing until they are fixed\n",
               problems);
    free(all);
    return 0;
}

/* Asks on the terminal whether to move live process's list l. */
static bool private_ask(const q_private_list *l)
{
    fprintf(stderr, "Process %s still has a heartbeat, so it may be running the %ld job(s) of %s.\n"
            "Move them back to the front of queue:%s anyway (a job it is running then runs "
            "again)? [y/N] ", l->identity, l->length, l->key, l->queue);
    fflush(stderr);
    char answer[16];
    if (!fgets(answer, sizeof answer, stdin))
        return false;
    return answer[0] == 'y' || answer[0] == 'Y';
}

/* True when all[i] is the first list of its process. */
static bool private_first_of_process(const q_private_list *all, int i)
{
    for (int k = 0; k < i; k++)
        if (strcmp(all[k].identity, all[i].identity) == 0)
            return false;
    return true;
}

/* Moves list all[i] back, or leaves it (a live process's, unless --force or a yes on
 * the terminal; or a failed move), saying which. A gone process's locks are released
 * before its first list moves, as recovery does: its jobs then run at once instead of
 * failing on the lock. Returns the jobs moved, or -1 when the list is left. */
static long private_requeue_one(private_cli *p, q_conn *c, const q_private_list *all, int i, bool tty)
{
    const q_private_list *l = &all[i];
    if (l->alive && !p->force && (!tty || !private_ask(l))) {
        if (!tty)
            fprintf(stderr, "scotty requeue-private: left %s (%ld job(s)): process %s still has a heartbeat, "
                    "so it may be running them; stop it first (its heartbeat expires 60 s after it dies), "
                    "or give --force (stdin is not a terminal, so scotty cannot ask)\n",
                    l->key, l->length, l->identity);
        else
            fprintf(stderr, "scotty requeue-private: left %s (%ld job(s))\n", l->key, l->length);
        return -1;
    }
    if (!l->alive && private_first_of_process(all, i))
        ingress_on_orphan(l->identity, &p->svc);
    char err[Q_ERRLEN];
    long m = q_private_requeue(c, l->identity, l->queue, err, sizeof err);
    if (m < 0) {
        fprintf(stderr, "scotty requeue-private: %s\n", err);
        return -1;
    }
    printf("moved %ld job(s) from %s to the front of queue:%s (process %s, %s)\n", m, l->key, l->queue,
           l->identity, l->alive ? "alive" : "gone");
    return m;
}

/* A gone process none of whose lists was left (kept) drops out of scotty:fetchers,
 * the registry recovery reads. */
static void private_forget_gone(q_conn *c, const q_private_list *all, const bool *kept, int n)
{
    for (int i = 0; i < n; i++) {
        if (all[i].alive || !private_first_of_process(all, i))
            continue;
        bool done = true;
        for (int k = 0; k < n && done; k++)
            done = strcmp(all[k].identity, all[i].identity) != 0 || !kept[k];
        char err[Q_ERRLEN];
        if (done && q_private_forget(c, all[i].identity, err, sizeof err) != 0)
            fprintf(stderr, "scotty requeue-private: %s\n", err);
    }
}

int requeue_private_main(int argc, char **argv)
{
    private_cli p = {.name = "requeue-private"};
    int rc = private_cli_init(&p, argc, argv);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    q_conn *c = q_conn_new(&p.redis);
    int n;
    q_private_list *all = private_cli_read(&p, c, &n);
    if (n <= 0) {
        if (n == 0)
            printf("No scotty private lists in Redis at %s: nothing to requeue.\n", p.where);
        q_conn_free(c);
        return n < 0 ? 1 : 0;
    }
    /* Every type first: with one key of the wrong type, nothing moves. */
    int problems = 0;
    for (int i = 0; i < n; i++) {
        char why[Q_KEY_MAX * 3];
        if (private_problem(&all[i], why, sizeof why)) {
            fprintf(stderr, "scotty requeue-private: %s\n", why);
            problems++;
        }
    }
    if (problems)
        fprintf(stderr, "scotty requeue-private: nothing was moved: %d key(s) of the wrong type; fix them, "
                "then run it again\n", problems);
    bool tty = isatty(STDIN_FILENO);
    for (int i = 0; p.dry_run && !problems && i < n; i++) {
        const q_private_list *l = &all[i];
        printf("would move %ld job(s) from %s to the front of queue:%s (process %s, %s%s)\n", l->length,
               l->key, l->queue, l->identity, l->alive ? "alive" : "gone",
               l->alive && !p.force ? (tty ? "; would ask first" : "; left without --force") : "");
    }
    long moved = 0, left_jobs = 0;
    int moved_lists = 0, left = 0;
    bool *kept = calloc((size_t)n, sizeof *kept); /* lists not moved, by index */
    for (int i = 0; !p.dry_run && !problems && i < n; i++) {
        long m = private_requeue_one(&p, c, all, i, tty);
        kept[i] = m < 0;
        left += m < 0;
        left_jobs += m < 0 ? all[i].length : 0;
        moved += m < 0 ? 0 : m;
        moved_lists += m >= 0;
    }
    if (!p.dry_run && !problems) {
        private_forget_gone(c, all, kept, n);
        printf("moved %ld job(s) from %d private list(s)%s\n", moved, moved_lists,
               left ? "" : "; none is left");
    }
    if (left)
        printf("%d private list(s) with %ld job(s) left; `scotty status` shows them\n", left, left_jobs);
    free(kept);
    free(all);
    q_conn_free(c);
    return problems || left ? 1 : 0;
}
