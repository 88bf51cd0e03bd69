/* attach_tmp.c -- one private temp directory per attachment (downloads and the
 * media child's outputs), always removed whole afterwards. */
#include "attach_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int attach_tmpdir(char *out, size_t len, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(out, len, "%s/scotty-attach-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(out)) {
        snprintf(err, errlen, "cannot create a temp directory for media in %s: %s (set TMPDIR to a "
                 "writable directory)", tmp && *tmp ? tmp : "/tmp", strerror(errno));
        return -1;
    }
    return 0;
}

/* Removes dir and everything in it; the tree is ours and at most two levels deep. */
void attach_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char path[1200];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            struct stat st;
            bool is_dir = e->d_type == DT_DIR ||
                          (e->d_type == DT_UNKNOWN && lstat(path, &st) == 0 && S_ISDIR(st.st_mode));
            if (is_dir)
                attach_rmtree(path);
            else if (unlink(path) != 0 && errno != ENOENT)
                base_log(BASE_LOG_WARN, "media: cannot remove temp file %s: %s", path, strerror(errno));
        }
        closedir(d);
    }
    if (rmdir(dir) != 0 && errno != ENOENT)
        base_log(BASE_LOG_WARN, "media: cannot remove temp directory %s: %s", dir, strerror(errno));
}
