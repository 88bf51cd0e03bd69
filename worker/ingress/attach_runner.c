/* attach_runner.c -- the media runner's place in the worker's life: created at
 * start from the --media-* settings with the scotty-media binary found next to
 * scotty (whose fork server starts at once and says which sandbox protections
 * the task children get), and stopped at shutdown just before the engine's
 * deadline so no job waits on a media child past it. */
#include "attach.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* <directory of /proc/self/exe>/scotty-media into out. */
static int attach_default_exe(char *out, size_t len, char *err, size_t errlen)
{
    char self[1024];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(err, errlen, "cannot read /proc/self/exe to find scotty-media next to scotty: %s; "
                 "give its path with --media-exe PATH", n < 0 ? strerror(errno) : "empty");
        return -1;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    if ((size_t)snprintf(out, len, "%s/scotty-media", self) >= len) {
        snprintf(err, errlen, "the path of scotty-media next to %.100s... is too long; give it "
                 "with --media-exe PATH", self);
        return -1;
    }
    return 0;
}

media_runner *attach_runner_start(media_runner_cfg *cfg, char *err, size_t errlen)
{
    if (!cfg->exe[0] && attach_default_exe(cfg->exe, sizeof cfg->exe, err, errlen) < 0)
        return NULL;
    if (access(cfg->exe, X_OK) != 0) {
        snprintf(err, errlen, "the media child binary %s cannot be run (%s): install scotty-media next "
                 "to scotty, or give its path with --media-exe PATH", cfg->exe, strerror(errno));
        return NULL;
    }
    media_runner *r = media_runner_new(cfg, err, errlen);
    if (!r)
        return NULL;
    if (media_runner_prepare(r, err, errlen) < 0) {
        media_runner_free(r);
        return NULL;
    }
    char quota[64];
    if (cfg->cpu_quota > 0)
        snprintf(quota, sizeof quota, "%.2f core(s) per task (cgroup %s)", cfg->cpu_quota,
                 media_runner_cgroup_mode(r));
    else
        snprintf(quota, sizeof quota, "none");
    base_log(BASE_LOG_INFO, "media: %d slot(s), %d thread(s) per task, nice %d, CPU quota %s, timeout %.0f s, "
          "address space %ld MB, CPU time %ld s, child %s", cfg->slots, cfg->threads, cfg->nice, quota,
          cfg->timeout, cfg->as_budget_mb, cfg->cpu_seconds, cfg->exe);
    return r;
}

struct attach_stopper {
    media_runner *runner;
    pthread_t thread;
    pthread_mutex_t lock;      /* guards ended */
    pthread_cond_t cond;
    bool ended;
    struct timespec deadline;  /* CLOCK_MONOTONIC */
};

static void *attach_stopper_main(void *arg)
{
    attach_stopper *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->ended && pthread_cond_timedwait(&s->cond, &s->lock, &s->deadline) != ETIMEDOUT)
        ;
    bool early = !s->ended;
    pthread_mutex_unlock(&s->lock);
    if (early)
        base_log(BASE_LOG_WARN, "media: stopping media children before the shutdown deadline; their jobs "
              "will run again");
    media_runner_stop(s->runner);
    return NULL;
}

attach_stopper *attach_stopper_start(media_runner *r, double seconds)
{
    if (!r)
        return NULL;
    attach_stopper *s = calloc(1, sizeof *s);
    if (!s) {
        media_runner_stop(r);
        return NULL;
    }
    s->runner = r;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &attr);
    pthread_condattr_destroy(&attr);
    clock_gettime(CLOCK_MONOTONIC, &s->deadline);
    if (seconds < 0)
        seconds = 0;
    s->deadline.tv_sec += (time_t)seconds;
    s->deadline.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
    if (s->deadline.tv_nsec >= 1000000000L) {
        s->deadline.tv_sec++;
        s->deadline.tv_nsec -= 1000000000L;
    }
    if (pthread_create(&s->thread, NULL, attach_stopper_main, s) != 0) {
        media_runner_stop(r);
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
    }
    return s;
}

void attach_stopper_end(attach_stopper *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->ended = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
