/* worker.c -- the scotty worker process: load settings, start the engine, turn
 * signals into lifecycle steps (TSTP quiet, TERM/INT stop, TTIN dump), keep the
 * process title and systemd informed, stop. */
#include "config.h"
#include "control/control.h"
#include "ingress/attach.h"
#include "ingress/attach_cluster.h"
#include "ingress/ingress.h"
#include "accounts/acct.h"
#include "jobs/jobs.h"
#include "services.h"
#include "worker.h"

#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Keeps the configured schedules this process may run (with
 * :listened_queues_only:, those whose queue it works). */
static void worker_own_schedules(config *cfg)
{
    int n = 0;
    for (int i = 0; i < cfg->nschedules; i++) {
        bool listened = false;
        for (int k = 0; k < cfg->engine.order.nqueues; k++)
            listened = listened || strcmp(cfg->engine.order.queues[k].name, cfg->schedules[i].queue) == 0;
        if (cfg->listened_queues_only && !listened) {
            q_schedule_free(&cfg->schedules[i]);
            continue;
        }
        cfg->schedules[n++] = cfg->schedules[i];
    }
    cfg->nschedules = n;
}

/* Starts the scheduler for this process's schedules, writing timestamps as ts (the
 * engine's, settled at its start). NULL if none. */
static q_sched *worker_start_scheduler(config *cfg, q_ts_format ts, char *err, size_t errlen)
{
    if (cfg->nschedules == 0)
        return NULL;
    q_sched_cfg sc = {.redis = cfg->engine.redis, .schedules = cfg->schedules, .n = cfg->nschedules,
                      .max_skew = cfg->max_skew, .missed = cfg->missed, .ts = ts};
    return q_sched_start(&sc, err, errlen);
}

/* Frees what worker_main made (e, reg and svc may be NULL; e is stopped). */
static void worker_free(q_engine *e, q_registry *reg, services *svc, config *cfg)
{
    q_engine_free(e);
    q_registry_free(reg);
    if (svc) {
        attach_cluster_free(svc->media_cluster);
        media_runner_free(svc->media);
    }
    services_free(svc);
    config_free(cfg);
}

/* worker_main's way out when a part does not start: says why ("scotty: cannot
 * start: <what><err>"), stops the engine if there is one, frees the rest; returns 1. */
static int worker_cannot_start(const char *what, const char *err, q_engine *e, q_registry *reg,
                               services *svc, config *cfg)
{
    base_log_out_stop(); /* the lines before this one first */
    fprintf(stderr, "scotty: cannot start: %s%s\n", what, err);
    if (e)
        q_engine_stop(e);
    worker_free(e, reg, svc, cfg);
    return 1;
}

int worker_main(int argc, char **argv)
{
    config cfg;
    char err[Q_ERRLEN];
    proctitle_init(argc, argv);
    if (config_load(&cfg, argc, argv, err, sizeof err) != 0) {
        fprintf(stderr, "scotty: %s\n", err);
        return 2;
    }
    if (cfg.show_help) {
        config_usage(stdout);
        return 0;
    }
    if (cfg.show_version) {
        printf("scotty %s\n", SCOTTY_VERSION);
        return 0;
    }
    if (cfg.verbose)
        base_log_set_level(BASE_LOG_DEBUG);
    config_redis_log("Sidekiq's", &cfg.engine.redis, cfg.redis_from);
    if (cfg.app_redis_own)
        config_redis_log("Mastodon's application", &cfg.app_redis.opts, cfg.app_redis.from);
    else
        base_log(BASE_LOG_INFO, "Mastodon's application Redis is Sidekiq's");

    /* Signals go to this thread only (sigwait below); every other thread starts
     * with them blocked. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGTSTP);
    sigaddset(&set, SIGTTIN);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Not dumpable: another process of this user (a compromised media task child, say)
     * cannot read the secrets in /proc/<pid>/environ or write /proc/<pid>/mem. */
    prctl(PR_SET_DUMPABLE, 0);
    /* Per-job lines go out in batches from here on; exit writes what is left. */
    if (base_log_out_start() == 0)
        atexit(base_log_out_stop);

    services *svc = services_open(cfg.engine.concurrency, err, sizeof err);
    if (!svc)
        return worker_cannot_start("", err, NULL, NULL, NULL, &cfg);
    /* Started during an outage: wait for the servers rather than exit. */
    double watchdog = sdnotify_watchdog_interval();
    int waited = svc->db ? startup_wait_db(&svc->db_settings, &set, watchdog, err, sizeof err) : 0;
    if (waited == 0)
        waited = startup_wait_redis(&cfg.engine.redis, &set, watchdog, err, sizeof err);
    if (waited < 0)
        return worker_cannot_start("", err, NULL, NULL, svc, &cfg);
    if (waited > 0) {
        worker_free(NULL, NULL, svc, &cfg);
        return 0;
    }
    /* With a database configured, refuse to start against a schema that lacks
     * what scotty writes (db_startup_check logs each problem). */
    if (svc->db && db_startup_check(&svc->db_settings, err, sizeof err) != 0)
        return worker_cannot_start("", err, NULL, NULL, svc, &cfg);
    svc->media = attach_runner_start(&cfg.media, err, sizeof err);
    if (!svc->media)
        return worker_cannot_start("media: ", err, NULL, NULL, svc, &cfg);
    svc->media_slots = cfg.media.slots;
    if (cfg.media_cluster_slots > 0) {
        svc->media_cluster = attach_cluster_new(&cfg.engine.redis, cfg.media_cluster_slots, cfg.media.slots,
                                                cfg.media_cluster_lease, err, sizeof err);
        if (!svc->media_cluster)
            return worker_cannot_start("media: ", err, NULL, NULL, svc, &cfg);
    }
    snprintf(svc->media_defer_queue, sizeof svc->media_defer_queue, "%s", cfg.media_defer);
    snprintf(svc->forward_unhandled, sizeof svc->forward_unhandled, "%s", cfg.forward_unhandled);
    svc->redis = cfg.engine.redis;
    svc->app_redis = cfg.app_redis.opts;
    svc->app_redis_own = cfg.app_redis_own;
    cfg.engine.user = svc;
    cfg.engine.on_orphan = ingress_on_orphan;
    q_registry *reg = q_registry_new();
    jobs_register_diag(reg);
    jobs_register_delivery(reg);
    attach_register(reg);
    ingress_register(reg);
    pull_register(reg);
    acct_register(reg);
    jobs_register_maintenance(reg);
    q_engine *e = q_engine_new(&cfg.engine, reg, err, sizeof err);
    if (!e || q_engine_start(e, err, sizeof err) != 0)
        return worker_cannot_start("", err, e, reg, svc, &cfg);
    worker_own_schedules(&cfg);
    control_opts copts = {cfg.control_path, cfg.control_group, cfg.metrics_listen, cfg.schedules,
                          cfg.nschedules};
    control_server *ctl = control_start(e, &copts, err, sizeof err);
    if (!ctl)
        return worker_cannot_start("", err, e, reg, svc, &cfg);
    q_sched *sched = worker_start_scheduler(&cfg, q_engine_config(e)->retry.ts, err, sizeof err);
    if (!sched && cfg.nschedules > 0)
        base_log(BASE_LOG_ERROR, "scheduler not running: %s", err);

    sdnotify_send("READY=1");
    double last_ping = 0, last_title = 0;
    for (;;) {
        double now = base_monotonic();
        if (now - last_title >= 1.0) {
            q_engine_stats st;
            q_engine_get_stats(e, &st);
            const char *state = q_engine_is_quiet(e) ? " stopping" : "";
            proctitle_set("scotty %s %s [%d of %d busy]%s", SCOTTY_VERSION, cfg.engine.tag, st.busy,
                          st.concurrency, state);
            char status[160];
            snprintf(status, sizeof status, "STATUS=%d of %d busy, %llu processed, %llu failed%s",
                     st.busy, st.concurrency, (unsigned long long)st.processed,
                     (unsigned long long)st.failed, state);
            sdnotify_send(status);
            last_title = now;
        }
        if (watchdog > 0 && now - last_ping >= watchdog) {
            sdnotify_send("WATCHDOG=1");
            last_ping = now;
        }
        struct timespec tick = {0, 250 * 1000 * 1000};
        int sig = sigtimedwait(&set, NULL, &tick);
        if (q_engine_stop_requested(e))
            break;
        if (sig == SIGTERM || sig == SIGINT) {
            base_log(BASE_LOG_INFO, "received %s, shutting down", sig == SIGTERM ? "TERM" : "INT");
            break;
        }
        if (sig == SIGTSTP)
            q_engine_quiet(e);
        if (sched && q_engine_is_quiet(e)) { /* a quiet process schedules nothing either */
            q_sched_stop(sched);
            sched = NULL;
        }
        else if (sig == SIGTTIN)
            q_engine_dump(e);
        else if (sig == SIGUSR1 || sig == SIGUSR2)
            base_log(BASE_LOG_INFO, "no handler for signal %s", sig == SIGUSR1 ? "USR1" : "USR2");
    }
    sdnotify_send("STOPPING=1");
    proctitle_set("scotty %s %s stopping", SCOTTY_VERSION, cfg.engine.tag);
    control_stop(ctl);
    q_sched_stop(sched);
    /* Jobs waiting for a cluster media slot give up now (they are retried); media
     * children are killed just before the engine's deadline abandons their jobs. */
    attach_cluster_stop(svc->media_cluster);
    attach_stopper *media_stopper = attach_stopper_start(svc->media, cfg.engine.timeout - 1.0);
    int stuck = q_engine_stop(e);
    attach_stopper_end(media_stopper);
    if (stuck > 0) {
        /* Their handlers may still touch the services: exit without freeing anything,
         * as Sidekiq exits past its deadline. The jobs are already back in Redis. */
        base_log(BASE_LOG_WARN, "exiting with %d handler(s) still running", stuck);
        fflush(NULL);
        _exit(0);
    }
    worker_free(e, reg, svc, &cfg);
    return 0;
}
