/* control_path.c -- where control sockets live: the default directory and
 * file name of this process's socket, and discovery of every scotty socket on
 * the host for scottyctl. */
#include "control.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void control_default_dir(char *buf, size_t len)
{
    const char *rt = getenv("RUNTIME_DIRECTORY"), *xdg = getenv("XDG_RUNTIME_DIR");
    if (rt && *rt) {
        /* systemd may list several directories separated by ':'; the first is ours. */
        snprintf(buf, len, "%.*s", (int)strcspn(rt, ":"), rt);
    }
    else if (xdg && *xdg)
        snprintf(buf, len, "%s", xdg);
    else if (geteuid() == 0)
        snprintf(buf, len, "/run/scotty");
    else
        snprintf(buf, len, "/tmp/scotty-%u", (unsigned)geteuid());
}

void control_default_path(const char *tag, char *buf, size_t len)
{
    char dir[256], name[160];
    control_default_dir(dir, sizeof dir);
    if (tag && *tag) {
        /* The tag is free text; keep the file name to safe characters. */
        size_t i = 0;
        for (; tag[i] && i < sizeof name - 1; i++) {
            char c = tag[i];
            bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '-' || c == '_' || c == '.';
            name[i] = safe ? c : '_';
        }
        name[i] = '\0';
    }
    else
        snprintf(name, sizeof name, "%ld", (long)getpid());
    snprintf(buf, len, "%s/scotty-%s.sock", dir, name);
}

static int control_path_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the sockets of one directory to the list. */
static void control_scan_dir(const char *dir, char ***list, int *n, int *cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (strncmp(de->d_name, "scotty-", 7) != 0 || l < 12 || strcmp(de->d_name + l - 5, ".sock") != 0)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
            continue;
        bool dup = false;
        for (int i = 0; i < *n && !dup; i++)
            dup = strcmp((*list)[i], path) == 0;
        if (dup)
            continue;
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 8;
            *list = realloc(*list, (size_t)*cap * sizeof **list);
        }
        (*list)[(*n)++] = strdup(path);
    }
    closedir(d);
}

char **control_find_sockets(int *n)
{
    char **list = NULL, dir[256];
    int cap = 0;
    *n = 0;
    control_default_dir(dir, sizeof dir);
    control_scan_dir(dir, &list, n, &cap);
    const char *rt = getenv("RUNTIME_DIRECTORY");
    if (!rt || !*rt) { /* set: the caller named the one directory to look in */
        control_scan_dir("/run/scotty", &list, n, &cap);
        snprintf(dir, sizeof dir, "/tmp/scotty-%u", (unsigned)geteuid());
        control_scan_dir(dir, &list, n, &cap);
    }
    if (*n > 1)
        qsort(list, (size_t)*n, sizeof *list, control_path_cmp);
    return list;
}

void control_paths_free(char **paths, int n)
{
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}
