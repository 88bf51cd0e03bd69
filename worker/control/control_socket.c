/* control_socket.c -- the listening sockets of the control server: the Unix
 * socket (0660, optional group, stale file replaced, live owner never robbed),
 * the peer check (SO_PEERCRED) and the loopback-only TCP listener for /metrics. */
#include "control_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CONTROL_SOCKET_NEW ".new" /* the socket's name until it listens */

/* Creates the default directory if the path is inside it (0755 for root's
 * /run/scotty, 0700 for a user's /tmp/scotty-<uid>, which must be ours). */
static int control_prepare_dir(const char *path, char *err, size_t errlen)
{
    char dir[256];
    control_default_dir(dir, sizeof dir);
    size_t dl = strlen(dir);
    if (strncmp(path, dir, dl) != 0 || path[dl] != '/')
        return 0;
    bool tmp = strncmp(dir, "/tmp/", 5) == 0;
    if (mkdir(dir, tmp ? 0700 : 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create the control socket directory %s: %s (pass --control PATH)", dir,
                 strerror(errno));
        return -1;
    }
    struct stat st;
    if (tmp && (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())) {
        snprintf(err, errlen, "%s is not a directory owned by uid %u; remove it or pass --control PATH", dir,
                 (unsigned)geteuid());
        return -1;
    }
    return 0;
}

/* 1: a process accepts connections on path; 0: nobody does (stale); -1: error. */
static int control_socket_live(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a socket; remove it or pass another --control PATH", path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int saved = errno;
    close(fd);
    if (rc == 0) {
        snprintf(err, errlen, "another live process owns the control socket %s (another scotty with the same "
                 "tag?); stop it, or give this one another --tag or --control PATH", path);
        return 1;
    }
    if (saved == ECONNREFUSED)
        return 0;
    snprintf(err, errlen, "cannot check the existing control socket %s: %s", path, strerror(saved));
    return -1;
}

int control_listen_unix(const char *path, const char *group, char *err, size_t errlen)
{
    /* Bound under a temporary name and renamed once listening, so a client that finds
     * the path (scottyctl, a test waiting for it) never meets a socket that refuses. */
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) + strlen(CONTROL_SOCKET_NEW) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "control socket path %s is longer than %zu bytes; pass a shorter --control PATH",
                 path, sizeof sa.sun_path - 1 - strlen(CONTROL_SOCKET_NEW));
        return -1;
    }
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s" CONTROL_SOCKET_NEW, path);
    gid_t gid = (gid_t)-1;
    if (group && *group) {
        struct group *gr = getgrnam(group);
        if (!gr) {
            snprintf(err, errlen, "--control-group %s: no such group", group);
            return -1;
        }
        gid = gr->gr_gid;
    }
    if (control_prepare_dir(path, err, errlen) != 0)
        return -1;
    int live = control_socket_live(path, err, errlen);
    if (live != 0)
        return -1;
    if (unlink(path) == 0)
        base_log(BASE_LOG_INFO, "control: replaced the stale socket %s", path);
    unlink(sa.sun_path); /* a temporary name a killed start-up left */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create the control socket: %s", strerror(errno));
        return -1;
    }
    /* Other threads create no files meanwhile that a tighter umask would hurt:
     * it only removes permissions, never adds them. */
    mode_t old = umask(0117);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    int saved = errno;
    umask(old);
    if (rc != 0 || listen(fd, 2 * CONTROL_MAX_CLIENTS) != 0) {
        snprintf(err, errlen, "cannot listen on the control socket %s: %s", sa.sun_path,
                 strerror(rc ? saved : errno));
        close(fd);
        if (rc == 0)
            unlink(sa.sun_path);
        return -1;
    }
    if (chmod(sa.sun_path, 0660) != 0 || (gid != (gid_t)-1 && chown(sa.sun_path, (uid_t)-1, gid) != 0))
        snprintf(err, errlen, "cannot set the owner group or mode of %s: %s", sa.sun_path, strerror(errno));
    else if (rename(sa.sun_path, path) != 0)
        snprintf(err, errlen, "cannot rename the control socket %s to %s: %s", sa.sun_path, path, strerror(errno));
    else
        return fd;
    close(fd);
    unlink(sa.sun_path);
    return -1;
}

/* True if the process pid has gid among its groups (read from /proc). */
static bool control_pid_in_group(pid_t pid, gid_t gid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, "Groups:", 7) != 0)
            continue;
        char *p = line + 7, *end;
        for (long g = strtol(p, &end, 10); end != p; p = end, g = strtol(p, &end, 10))
            found = found || (gid_t)g == gid;
    }
    fclose(f);
    return found;
}

int control_peer_allowed(int fd, gid_t group, char *err, size_t errlen)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
        snprintf(err, errlen, "cannot read the peer's credentials: %s", strerror(errno));
        return -1;
    }
    if (cr.uid == 0 || cr.uid == geteuid())
        return 0;
    if (group != (gid_t)-1 && (cr.gid == group || control_pid_in_group(cr.pid, group)))
        return 0;
    snprintf(err, errlen, "permission denied: uid %u is neither root, nor scotty's uid %u, nor in the "
             "--control-group", (unsigned)cr.uid, (unsigned)geteuid());
    return -1;
}

static bool control_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    return false;
}

int control_listen_tcp(const char *hostport, char *err, size_t errlen)
{
    char host[128];
    const char *colon = strrchr(hostport, ':');
    if (!colon || colon == hostport || !colon[1]) {
        snprintf(err, errlen, "--metrics-listen %s: expected HOST:PORT, e.g. 127.0.0.1:9394", hostport);
        return -1;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - hostport), hostport);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:9394 */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res = NULL;
    int gai = getaddrinfo(host, colon + 1, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "--metrics-listen %s: %s", hostport, gai_strerror(gai));
        return -1;
    }
    for (struct addrinfo *a = res; a; a = a->ai_next)
        if (!control_is_loopback(a->ai_addr)) {
            snprintf(err, errlen, "--metrics-listen %s is not a loopback address; metrics are only served on "
                     "127.0.0.1 or ::1 (put a proxy in front for remote scraping)", hostport);
            freeaddrinfo(res);
            return -1;
        }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 2 * CONTROL_MAX_CLIENTS) != 0) {
        snprintf(err, errlen, "cannot listen on --metrics-listen %s: %s", hostport, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    return fd;
}
