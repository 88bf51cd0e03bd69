/* scottyctl.c -- the operator's command line for running scotty processes:
 * sends one command over each control socket and prints the reply as a table
 * (or raw JSON with --json); `top` is a live view (scottyctl_top.c). */
#include "scottyctl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int ctl_connect(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "%s: path too long for a Unix socket", path);
        return -1;
    }
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int saved = errno;
        snprintf(err, errlen, "cannot connect to %s: %s%s", path, strerror(saved),
                 saved == EACCES ? " (run as scotty's user, root, or a member of its --control-group)"
                 : saved == ECONNREFUSED ? " (no scotty is running there any more)" : "");
        if (fd >= 0)
            close(fd);
        errno = saved; /* the caller tells a dead socket from a refused one */
        return -1;
    }
    return fd;
}

json_t *ctl_request(int fd, const char *cmd, char *err, size_t errlen)
{
    char line[64];
    int n = snprintf(line, sizeof line, "{\"cmd\":\"%s\"}\n", cmd);
    /* A refused client finds the reason waiting to be read even if the send failed. */
    bool sent = send(fd, line, (size_t)n, MSG_NOSIGNAL) == n;
    if (!sent)
        snprintf(err, errlen, "cannot send the request: %s", strerror(errno));
    base_buf b;
    base_buf_init(&b);
    for (;;) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 10000) <= 0) {
            snprintf(err, errlen, "no reply within 10 s");
            break;
        }
        char chunk[8192];
        ssize_t r = recv(fd, chunk, sizeof chunk, 0);
        if (r <= 0) {
            if (sent)
                snprintf(err, errlen, "the connection closed before a full reply");
            break;
        }
        base_buf_add(&b, chunk, (size_t)r);
        char *nl = memchr(b.data, '\n', b.len);
        if (!nl)
            continue;
        json_error_t jerr;
        json_t *reply = json_loadb(b.data, (size_t)(nl - b.data), 0, &jerr);
        if (!reply)
            snprintf(err, errlen, "unreadable reply: %s", jerr.text);
        base_buf_free(&b);
        return reply;
    }
    /* A refusal (e.g. permission) arrives as a JSON line before the close. */
    json_t *reply = b.len ? json_loadb(b.data, strcspn(b.data, "\n"), 0, NULL) : NULL;
    base_buf_free(&b);
    return reply;
}

static void ctl_usage(FILE *out)
{
    fprintf(out, "usage: scottyctl [-s SOCKET] [--json] stats|busy|queues|schedules|\n"
                 "                                   quiet|stop|dump|metrics|top\n"
                 "  -s SOCKET   talk to this control socket (default: every scotty-*.sock in\n"
                 "              $RUNTIME_DIRECTORY, $XDG_RUNTIME_DIR, /run/scotty, /tmp/scotty-UID)\n"
                 "  --json      print the raw JSON reply\n"
                 "  schedules   this process's periodic jobs with their last and next run\n"
                 "  top         live view, refreshed every second; q or Ctrl-C quits\n");
}

static const char *ctl_commands[] = {"stats", "busy", "queues", "quiet", "stop", "dump", "metrics",
                                     "schedules", "top"};

int main(int argc, char **argv)
{
    const char *sock = NULL, *cmd = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            sock = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            ctl_usage(stdout);
            return 0;
        }
        else if (!cmd && argv[i][0] != '-')
            cmd = argv[i];
        else {
            fprintf(stderr, "scottyctl: unexpected argument %s\n", argv[i]);
            ctl_usage(stderr);
            return 2;
        }
    }
    bool known = false;
    for (size_t i = 0; cmd && i < sizeof ctl_commands / sizeof *ctl_commands; i++)
        known = known || strcmp(cmd, ctl_commands[i]) == 0;
    if (!known) {
        if (cmd)
            fprintf(stderr, "scottyctl: unknown command %s\n", cmd);
        ctl_usage(stderr);
        return 2;
    }
    int n = 0;
    char **paths;
    if (sock) {
        paths = malloc(sizeof *paths);
        paths[0] = strdup(sock);
        n = 1;
    }
    else
        paths = control_find_sockets(&n);
    if (n == 0) {
        char dir[256];
        control_default_dir(dir, sizeof dir);
        fprintf(stderr, "scottyctl: no scotty control socket found in %s, /run/scotty or /tmp/scotty-%u; "
                        "is scotty running? (or pass -s SOCKET)\n", dir, (unsigned)geteuid());
        control_paths_free(paths, n);
        return 1;
    }
    int rc = strcmp(cmd, "top") == 0 ? ctl_top(paths, n) : 0;
    for (int i = 0; strcmp(cmd, "top") != 0 && i < n; i++) {
        char err[512] = "";
        int fd = ctl_connect(paths[i], err, sizeof err);
        if (fd < 0 && !sock && errno == ECONNREFUSED)
            continue; /* found, not asked for: a crashed process's leftover */
        json_t *reply = fd >= 0 ? ctl_request(fd, cmd, err, sizeof err) : NULL;
        if (fd >= 0)
            close(fd);
        if (!reply) {
            fprintf(stderr, "scottyctl: %s\n", err);
            rc = 1;
            continue;
        }
        if (!json_is_true(json_object_get(reply, "ok"))) {
            json_t *msg = json_object_get(reply, "error");
            fprintf(stderr, "scottyctl: %s: %s\n", paths[i], json_is_string(msg) ? json_string_value(msg) : "error");
            rc = 1;
        }
        else if (json) {
            char *text = json_dumps(reply, JSON_COMPACT);
            printf("%s\n", text);
            free(text);
        }
        else {
            if (n > 1)
                printf("== %s\n", paths[i]);
            ctl_print(stdout, cmd, reply);
        }
        json_decref(reply);
    }
    control_paths_free(paths, n);
    return rc;
}
