/* proctitle.c -- a process title like Sidekiq's ("scotty 0.1.0 TAG [3 of 25 busy]",
 * "stopping"), shown by ps and top. The kernel shows the memory that held argv
 * (and the environment after it); we copy both to the heap and write the title
 * over that memory. */
#include "worker.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

extern char **environ;

/* Owned by the main thread: set once before any thread starts, then written
 * only by proctitle_set on the main thread. */
static char *proctitle_area;
static size_t proctitle_len;

void proctitle_init(int argc, char **argv)
{
    if (argc < 1 || !argv[0])
        return;
    char *start = argv[0];
    char *end = argv[0] + strlen(argv[0]) + 1;
    for (int i = 1; i < argc; i++)
        if (argv[i] == end)
            end = argv[i] + strlen(argv[i]) + 1;
    size_t nenv = 0;
    while (environ[nenv])
        nenv++;
    for (size_t i = 0; i < nenv; i++)
        if (environ[i] == end)
            end = environ[i] + strlen(environ[i]) + 1;
    char **env = calloc(nenv + 1, sizeof(char *));
    if (!env)
        return;
    for (size_t i = 0; i < nenv; i++)
        env[i] = strdup(environ[i]);
    environ = env;
    for (int i = 0; i < argc; i++)
        argv[i] = strdup(argv[i]);
    proctitle_area = start;
    proctitle_len = (size_t)(end - start);
}

void proctitle_set(const char *fmt, ...)
{
    if (!proctitle_area || proctitle_len < 2)
        return;
    char title[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(title, sizeof title, fmt, ap);
    va_end(ap);
    size_t n = strlen(title);
    if (n > proctitle_len - 1)
        n = proctitle_len - 1;
    memset(proctitle_area, 0, proctitle_len);
    memcpy(proctitle_area, title, n);
}
