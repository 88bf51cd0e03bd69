/* media_limits.c -- what a media child does to itself before it touches any
 * input: join its CPU-quota cgroup, lower its CPU and I/O priority (inherited by
 * every codec thread created later), set RLIMIT_AS / RLIMIT_CPU as runaway
 * guards and RLIMIT_FSIZE / RLIMIT_NOFILE against a flood of output or
 * descriptors, drop inherited descriptors, and ask to be killed if its parent
 * (the worker, or the fork server) dies first. */
#include "media_internal.h"

#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* From the kernel's include/uapi/linux/ioprio.h (glibc has no wrapper). */
enum { MEDIA_IOPRIO_WHO_PROCESS = 1, MEDIA_IOPRIO_CLASS_SHIFT = 13 };

/* Current address-space size in bytes, from /proc/self/statm (pages). */
static long long vm_size(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long long pages = 0;
    if (f) {
        if (fscanf(f, "%lld", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    return pages * sysconf(_SC_PAGESIZE);
}

int media_limits_apply(const media_child_limits *l, char *err, size_t errlen)
{
    /* Keep none of the worker's descriptors (Redis, PostgreSQL, sockets) that were
     * not close-on-exec: the child needs only stdin, stdout and stderr. */
    close_range(3, ~0U, 0);
    /* Die with the worker thread (or the fork server) that started us; if it is
     * already gone, stop. */
    if (l->parent > 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != l->parent) {
            snprintf(err, errlen, "the parent (pid %d) is gone", (int)l->parent);
            return -1;
        }
    }
    if (l->cgroup_dir && *l->cgroup_dir && media_cgroup_join(l->cgroup_dir, err, errlen) < 0)
        return -1;
    if (l->nice > 0 && setpriority(PRIO_PROCESS, 0, l->nice) < 0) {
        snprintf(err, errlen, "setpriority(%d) failed: %s", l->nice, strerror(errno));
        return -1;
    }
    if (l->ioprio_class > 0) {
        int prio = (l->ioprio_class << MEDIA_IOPRIO_CLASS_SHIFT) | (l->ioprio_level & 7);
        if (syscall(SYS_ioprio_set, MEDIA_IOPRIO_WHO_PROCESS, 0, prio) < 0) {
            snprintf(err, errlen, "ioprio_set(class %d, level %d) failed: %s", l->ioprio_class,
                     l->ioprio_level, strerror(errno));
            return -1;
        }
    }
    if (l->as_budget_mb > 0) {
        /* The budget is on top of what the freshly exec'ed image already maps
         * (shared libraries and, in sanitizer builds, the shadow memory). */
        rlim_t as = (rlim_t)(vm_size() + (long long)l->as_budget_mb * 1024 * 1024);
        struct rlimit rl = {as, as};
        if (setrlimit(RLIMIT_AS, &rl) < 0) {
            snprintf(err, errlen, "setrlimit(RLIMIT_AS) failed: %s", strerror(errno));
            return -1;
        }
    }
    if (l->fsize_mb > 0) {
        rlim_t fsize = (rlim_t)l->fsize_mb * 1024 * 1024;
        struct rlimit rl = {fsize, fsize};
        if (setrlimit(RLIMIT_FSIZE, &rl) < 0) {
            snprintf(err, errlen, "setrlimit(RLIMIT_FSIZE) failed: %s", strerror(errno));
            return -1;
        }
    }
    if (l->nofile > 0) {
        struct rlimit rl = {(rlim_t)l->nofile, (rlim_t)l->nofile};
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
            snprintf(err, errlen, "setrlimit(RLIMIT_NOFILE) failed: %s", strerror(errno));
            return -1;
        }
    }
    if (l->cpu_seconds > 0) {
        struct rlimit rl = {(rlim_t)l->cpu_seconds, (rlim_t)l->cpu_seconds + 2};
        if (setrlimit(RLIMIT_CPU, &rl) < 0) {
            snprintf(err, errlen, "setrlimit(RLIMIT_CPU) failed: %s", strerror(errno));
            return -1;
        }
    }
    return 0;
}
