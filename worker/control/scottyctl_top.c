/* scottyctl_top.c -- `scottyctl top`: a live view of every scotty process
 * found (stats, queues, running jobs with progress bars), redrawn once a
 * second until q or Ctrl-C. */
#include "scottyctl.h"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* Set by the SIGINT/SIGTERM handler, read by the refresh loop (one thread). */
static volatile sig_atomic_t ctl_top_quit;

static void ctl_top_signal(int sig)
{
    (void)sig;
    ctl_top_quit = 1;
}

/* Renders one process into out. */
static void ctl_top_process(FILE *out, const char *path)
{
    char err[512] = "";
    int fd = ctl_connect(path, err, sizeof err);
    json_t *stats = fd >= 0 ? ctl_request(fd, "stats", err, sizeof err) : NULL;
    json_t *busy = stats ? ctl_request(fd, "busy", err, sizeof err) : NULL;
    if (fd >= 0)
        close(fd);
    fprintf(out, "== %s\n", path);
    if (!stats || !busy || !json_is_true(json_object_get(stats, "ok"))) {
        const char *msg = json_string_value(json_object_get(stats, "error"));
        fprintf(out, "unavailable: %s\n\n", msg ? msg : err);
    }
    else {
        ctl_print(out, "stats", stats);
        fprintf(out, "\n");
        ctl_print(out, "busy", busy);
        fprintf(out, "\n");
    }
    json_decref(stats);
    json_decref(busy);
}

int ctl_top(char **paths, int n)
{
    bool tty = isatty(STDIN_FILENO), stdin_open = true;
    struct termios saved, raw;
    if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
        raw = saved;
        raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    }
    else
        tty = false;
    struct sigaction sa = {.sa_handler = ctl_top_signal}; /* no SA_RESTART: poll() returns at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    fputs("\033[?25l", stdout); /* hide the cursor */
    while (!ctl_top_quit) {
        char *frame = NULL;
        size_t flen = 0;
        FILE *out = open_memstream(&frame, &flen);
        time_t now = time(NULL);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%H:%M:%S", localtime(&now));
        fprintf(out, "scottyctl top  %s  %d process%s  (q or Ctrl-C quits)\n\n", stamp, n, n == 1 ? "" : "es");
        for (int i = 0; i < n; i++)
            ctl_top_process(out, paths[i]);
        fclose(out);
        fputs("\033[H\033[2J", stdout);
        fwrite(frame, 1, flen, stdout);
        fflush(stdout);
        free(frame);
        struct pollfd pf = {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN};
        if (poll(&pf, 1, 1000) > 0) {
            char key[16];
            ssize_t r = read(STDIN_FILENO, key, sizeof key);
            if (r <= 0)
                stdin_open = false; /* at its end (e.g. </dev/null): only signals stop the view */
            for (ssize_t k = 0; k < r; k++)
                ctl_top_quit = ctl_top_quit || key[k] == 'q' || key[k] == 'Q';
        }
    }
    fputs("\033[?25h", stdout);
    fflush(stdout);
    if (tty)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    return 0;
}
