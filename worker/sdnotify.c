/* sdnotify.c -- systemd's notify protocol (READY, STATUS, STOPPING, WATCHDOG) over
 * the datagram socket named in NOTIFY_SOCKET; silent when not run by systemd. */
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void sdnotify_send(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path || (path[0] != '/' && path[0] != '@'))
        return;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof sa.sun_path)
        return;
    memcpy(sa.sun_path, path, len);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
           (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    close(fd);
}

double sdnotify_watchdog_interval(void)
{
    const char *usec = getenv("WATCHDOG_USEC");
    const char *pid = getenv("WATCHDOG_PID");
    if (!usec || !*usec || (pid && *pid && atol(pid) != (long)getpid()))
        return 0;
    double seconds = (double)atoll(usec) / 1e6;
    if (seconds < 1.0) {
        base_log(BASE_LOG_ERROR, "WATCHDOG_USEC=%s is under one second; watchdog pings disabled", usec);
        return 0;
    }
    return seconds / 2;
}
