/* media_sandbox.c -- the media task child's sandbox, installed after its limits
 * and before it opens the input: an empty network namespace where the machine
 * permits it, no capabilities (a worker run as root would otherwise leave its child
 * CAP_SYS_PTRACE, with which /proc/<worker>/environ and its secrets stay readable
 * even though the worker is not dumpable), and a seccomp allowlist (libseccomp) of the system calls that
 * decoding, encoding and writing the styles need. Anything else -- socket,
 * connect, execve, ptrace, ... -- stops the child with a result line naming the
 * call; a fork is refused (EPERM) and clone3 reports ENOSYS so glibc falls
 * back to clone, where only new threads are allowed. */
#include "media_internal.h"

#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

/* The calls every task needs: files, memory, threads, time, signals. */
static const char *const media_sandbox_allowed[] = {
    "read", "write", "readv", "writev", "pread64", "pwrite64", "lseek", "close", "fstat", "newfstatat",
    "stat", "lstat", "statx", "openat", "open", "access", "faccessat", "faccessat2", "getdents64",
    "readlink", "readlinkat", "mkdir", "mkdirat", "link", "linkat", "unlink", "unlinkat", "rename", "renameat", "renameat2",
    "ftruncate", "fsync", "fdatasync", "fcntl", "dup", "dup2", "dup3", "pipe2", "eventfd2", "poll", "ppoll",
    "fadvise64", "getcwd", "mmap", "munmap", "mremap", "mprotect", "madvise", "brk", "futex",
    "set_robust_list", "get_robust_list", "rseq", "set_tid_address", "exit", "exit_group", "sched_yield",
    "sched_getaffinity", "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday",
    "getrusage", "times", "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid", "uname",
    "sysinfo", "getrlimit", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
    "getrandom", "restart_syscall", "membarrier", "umask",
};

/* System call names for the SIGSYS handler, and whether the filter is on.
 * Written by the single-threaded fork server (inherited by every task child) or
 * by the child before its filter is on and before it starts any thread. */
static char media_sandbox_name[512][24];
static bool media_sandbox_named;
static volatile sig_atomic_t media_sandbox_on;

#if defined(__SANITIZE_ADDRESS__)
#define MEDIA_SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEDIA_SANDBOX_ASAN 1
#endif
#endif
#ifdef MEDIA_SANDBOX_ASAN
/* LeakSanitizer's exit-time check stops the world with ptrace and a forked
 * tracer, which the filter forbids: sanitizer builds skip it once the filter
 * is on (AddressSanitizer itself keeps watching every access). */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
    return media_sandbox_on;
}
#endif

static size_t sb_append(char *buf, size_t len, size_t cap, const char *s)
{
    while (*s && len + 1 < cap)
        buf[len++] = *s++;
    return len;
}

/* A call outside the allowlist: one result line saying which, then the end. */
static void media_sandbox_trap(int sig, siginfo_t *info, void *uc)
{
    (void)sig;
    (void)uc;
    int nr = info->si_syscall;
    char num[16], line[256];
    size_t n = 0, k = 0;
    unsigned v = nr < 0 ? 0 : (unsigned)nr;
    do {
        num[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && k < sizeof num);
    n = sb_append(line, n, sizeof line, "R {\"ok\":false,\"stage\":\"sandbox\",\"error\":\"the media child called ");
    n = sb_append(line, n, sizeof line, nr >= 0 && nr < 512 && media_sandbox_name[nr][0] ?
                  media_sandbox_name[nr] : "a system call");
    n = sb_append(line, n, sizeof line, " (number ");
    while (k > 0 && n + 1 < sizeof line)
        line[n++] = num[--k];
    n = sb_append(line, n, sizeof line, "), which its seccomp allowlist forbids; it was stopped\"}\n");
    ssize_t w = write(STDOUT_FILENO, line, n);
    (void)w;
    _exit(MEDIA_SANDBOX_EXIT);
}

int media_sandbox_drop_caps(char *err, size_t errlen)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3];
    memset(none, 0, sizeof none);
    if (syscall(SYS_capset, &hdr, none) < 0) {
        snprintf(err, errlen, "capset (dropping every capability) failed: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int media_sandbox_netns(char *err, size_t errlen)
{
    if (unshare(CLONE_NEWNET) < 0) {
        snprintf(err, errlen, "unshare(CLONE_NEWNET) failed: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int sb_rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n, const struct scmp_arg_cmp *a,
                   char *err, size_t errlen)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
        return 0; /* not a call of this architecture (e.g. open on arm64) */
    int rc = seccomp_rule_add_array(ctx, action, nr, n, a);
    if (rc < 0) {
        snprintf(err, errlen, "seccomp: cannot add the rule for %s: %s", name, strerror(-rc));
        return -1;
    }
    return 0;
}

static int sb_rules(scmp_filter_ctx ctx, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof media_sandbox_allowed / sizeof media_sandbox_allowed[0]; i++)
        if (sb_rule(ctx, SCMP_ACT_ALLOW, media_sandbox_allowed[i], 0, NULL, err, errlen) < 0)
            return -1;
    pid_t self = getpid();
    /* Signals only to itself (abort, thread wake-ups), never to the worker. The second
     * datum, unused by SCMP_CMP_EQ, is given so that every field is initialized. */
    struct scmp_arg_cmp own = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self, 0);
    struct scmp_arg_cmp thread = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
    struct scmp_arg_cmp no_thread = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0);
    struct scmp_arg_cmp tty = SCMP_A1(SCMP_CMP_EQ, TCGETS, 0);
    struct scmp_arg_cmp set_name = SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME, 0);
    struct scmp_arg_cmp get_name = SCMP_A0(SCMP_CMP_EQ, PR_GET_NAME, 0);
    struct scmp_arg_cmp get_dumpable = SCMP_A0(SCMP_CMP_EQ, PR_GET_DUMPABLE, 0);
    /* prlimit64 only as getrlimit: its own limits, read, never set (nor the worker's) */
    struct scmp_arg_cmp own_limits[2] = {SCMP_A0(SCMP_CMP_EQ, 0, 0), SCMP_A2(SCMP_CMP_EQ, 0, 0)};
    if (sb_rule(ctx, SCMP_ACT_ALLOW, "tgkill", 1, &own, err, errlen) < 0 ||
        sb_rule(ctx, SCMP_ACT_ALLOW, "kill", 1, &own, err, errlen) < 0 ||
        sb_rule(ctx, SCMP_ACT_ALLOW, "clone", 1, &thread, err, errlen) < 0 ||
        sb_rule(ctx, SCMP_ACT_ERRNO(EPERM), "clone", 1, &no_thread, err, errlen) < 0 ||
        sb_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL, err, errlen) < 0 ||
        sb_rule(ctx, SCMP_ACT_ERRNO(EPERM), "fork", 0, NULL, err, errlen) < 0 ||
        sb_rule(ctx, SCMP_ACT_ERRNO(EPERM), "vfork", 0, NULL, err, errlen) < 0 ||
        sb_rule(ctx, SCMP_ACT_ALLOW, "ioctl", 1, &tty, err, errlen) < 0 ||
        sb_rule(ctx, SCMP_ACT_ALLOW, "prctl", 1, &set_name, err, errlen) < 0 ||
        sb_rule(ctx, SCMP_ACT_ALLOW, "prctl", 1, &get_name, err, errlen) < 0 ||
        sb_rule(ctx, SCMP_ACT_ALLOW, "prctl", 1, &get_dumpable, err, errlen) < 0 ||
        sb_rule(ctx, SCMP_ACT_ALLOW, "prlimit64", 2, own_limits, err, errlen) < 0)
        return -1;
    return 0;
}

void media_sandbox_names(void)
{
    if (media_sandbox_named)
        return;
    uint32_t arch = seccomp_arch_native();
    for (int nr = 0; nr < 512; nr++) {
        char *name = seccomp_syscall_resolve_num_arch(arch, nr);
        if (name)
            snprintf(media_sandbox_name[nr], sizeof media_sandbox_name[nr], "%s", name);
        free(name);
    }
    media_sandbox_named = true;
}

int media_sandbox_seccomp(char *err, size_t errlen)
{
    media_sandbox_names();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = media_sandbox_trap;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL) < 0) {
        snprintf(err, errlen, "sigaction(SIGSYS) failed: %s", strerror(errno));
        return -1;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        snprintf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS) failed: %s", strerror(errno));
        return -1;
    }
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    if (!ctx) {
        snprintf(err, errlen, "seccomp_init failed (no seccomp in this kernel?)");
        return -1;
    }
    int rc = sb_rules(ctx, err, errlen);
    if (rc == 0) {
        rc = seccomp_load(ctx);
        if (rc < 0)
            snprintf(err, errlen, "seccomp_load failed: %s", strerror(-rc));
    }
    seccomp_release(ctx);
    if (rc < 0)
        return -1;
    media_sandbox_on = 1;
    return 0;
}
