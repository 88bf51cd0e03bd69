/* media_cgroup.c -- CPU quotas for media children through cgroups: one group
 * per task under "<this process's cpu cgroup>/scotty", with cgroup v2 cpu.max
 * or cgroup v1 cpu.cfs_quota_us/cpu.cfs_period_us. Groups left by dead workers
 * are removed at set-up. */
#include "media_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MEDIA_CG_PERIOD_US = 100000 };

/* Writes value to dir/name; on failure err says why and errno is kept. */
static int write_file(const char *dir, const char *name, const char *value, char *err, size_t errlen)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    size_t len = strlen(value);
    if (fd < 0 || write(fd, value, len) != (ssize_t)len) {
        int saved = errno;
        snprintf(err, errlen, "cannot write '%s' to %s: %s", value, path, strerror(saved));
        if (fd >= 0)
            close(fd);
        errno = saved;
        return -1;
    }
    close(fd);
    return 0;
}

/* This process's path in a hierarchy: the "0::" line for v2, the line whose
 * controller list holds "cpu" for v1. */
static int own_path(bool v2, char *out, size_t outlen)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[1024];
    int rc = -1;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        const char *ctrls = c1 + 1;
        bool match = v2 ? strcmp(line, "0") == 0 && *ctrls == '\0' : false;
        if (!v2) {
            char list[256];
            snprintf(list, sizeof list, ",%s,", ctrls);
            match = strstr(list, ",cpu,") != NULL;
        }
        if (match) {
            snprintf(out, outlen, "%s", c2 + 1);
            rc = 0;
            break;
        }
    }
    if (f)
        fclose(f);
    return rc;
}

static bool file_has_word(const char *path, const char *word)
{
    FILE *f = fopen(path, "r");
    char buf[512] = "";
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    for (char *tok = strtok(buf, " \n"); tok; tok = strtok(NULL, " \n"))
        if (strcmp(tok, word) == 0)
            return true;
    return false;
}

/* cgroup v2: a group with processes cannot hand controllers to children (the
 * "no internal processes" rule), so when enabling cpu for the children fails with
 * EBUSY, this process moves itself into a leaf "<group>/worker" first, the way a
 * systemd unit with Delegate=yes is expected to. */
static int enable_cpu_v2(const char *group, char *err, size_t errlen)
{
    if (write_file(group, "cgroup.subtree_control", "+cpu", err, errlen) == 0)
        return 0;
    if (errno != EBUSY)
        return -1;
    char leaf[1024], pid[32];
    snprintf(leaf, sizeof leaf, "%s/worker", group);
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    if (mkdir(leaf, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create cgroup %s: %s", leaf, strerror(errno));
        return -1;
    }
    if (write_file(leaf, "cgroup.procs", pid, err, errlen) < 0)
        return -1;
    return write_file(group, "cgroup.subtree_control", "+cpu", err, errlen);
}

/* Removes task groups left by workers that died before cleaning up
 * ("task-<pid>-<seq>" whose pid is gone); rmdir only succeeds on empty groups. */
static void remove_stale(const char *base)
{
    DIR *d = opendir(base);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        int pid = 0;
        if (sscanf(e->d_name, "task-%d-", &pid) != 1 || pid <= 0)
            continue;
        if (kill(pid, 0) < 0 && errno == ESRCH) {
            char dir[1024];
            snprintf(dir, sizeof dir, "%s/%s", base, e->d_name);
            rmdir(dir);
        }
    }
    if (d)
        closedir(d);
}

media_cg_mode media_cgroup_setup(const char *root_hint, char *base, size_t baselen, char *err, size_t errlen)
{
    char rel[512], root[600], path[1024];
    if (root_hint && *root_hint) {
        snprintf(path, sizeof path, "%s/cgroup.controllers", root_hint);
        bool v2 = access(path, F_OK) == 0;
        snprintf(base, baselen, "%s/scotty", root_hint);
        if (mkdir(base, 0755) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create cgroup %s: %s", base, strerror(errno));
            return MEDIA_CG_NONE;
        }
        if (v2 && enable_cpu_v2(root_hint, err, errlen) < 0)
            return MEDIA_CG_NONE;
        if (v2 && write_file(base, "cgroup.subtree_control", "+cpu", err, errlen) < 0)
            return MEDIA_CG_NONE;
        remove_stale(base);
        return v2 ? MEDIA_CG_V2 : MEDIA_CG_V1;
    }
    /* cgroup v2 with the cpu controller available to us. */
    if (file_has_word("/sys/fs/cgroup/cgroup.controllers", "cpu") && own_path(true, rel, sizeof rel) == 0) {
        snprintf(root, sizeof root, "/sys/fs/cgroup%s", strcmp(rel, "/") == 0 ? "" : rel);
        snprintf(path, sizeof path, "%s/cgroup.controllers", root);
        if (file_has_word(path, "cpu"))
            return media_cgroup_setup(root, base, baselen, err, errlen);
    }
    /* cgroup v1 cpu hierarchy. */
    const char *v1[] = {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", v1[i]);
        if (access(path, W_OK) != 0 || own_path(false, rel, sizeof rel) < 0)
            continue;
        snprintf(root, sizeof root, "%s%s", v1[i], strcmp(rel, "/") == 0 ? "" : rel);
        return media_cgroup_setup(root, base, baselen, err, errlen);
    }
    snprintf(err, errlen, "no writable cpu cgroup (neither v2 cpu.max nor v1 cpu.cfs_quota_us under /sys/fs/cgroup)");
    return MEDIA_CG_NONE;
}

int media_cgroup_create(media_cg_mode mode, const char *base, const char *name, double cores,
                        char *dir, size_t dirlen, char *err, size_t errlen)
{
    snprintf(dir, dirlen, "%s/%s", base, name);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create cgroup %s: %s", dir, strerror(errno));
        return -1;
    }
    long quota = (long)(cores * MEDIA_CG_PERIOD_US);
    if (quota < 1000)
        quota = 1000;
    char v[64];
    int rc;
    if (mode == MEDIA_CG_V2) {
        snprintf(v, sizeof v, "%ld %d", quota, MEDIA_CG_PERIOD_US);
        rc = write_file(dir, "cpu.max", v, err, errlen);
    } else {
        snprintf(v, sizeof v, "%d", MEDIA_CG_PERIOD_US);
        rc = write_file(dir, "cpu.cfs_period_us", v, err, errlen);
        snprintf(v, sizeof v, "%ld", quota);
        if (rc == 0)
            rc = write_file(dir, "cpu.cfs_quota_us", v, err, errlen);
    }
    if (rc < 0)
        rmdir(dir);
    return rc;
}

void media_cgroup_remove(const char *dir)
{
    if (dir && *dir)
        rmdir(dir);
}

int media_cgroup_join(const char *dir, char *err, size_t errlen)
{
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    return write_file(dir, "cgroup.procs", pid, err, errlen);
}
