/* maint_store.c -- test tool for the maintenance tests: puts and checks objects
 * in the object storage Mastodon's env describes (S3_* or PAPERCLIP_ROOT_PATH),
 * so a Ruby test can seed media and see what the cleanup deleted on S3.
 *   maint_store put KEY...      stores "object KEY" at each key
 *   maint_store exists KEY...   prints 1 or 0 per key, one per line */
#include "storage.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "put") != 0 && strcmp(argv[1], "exists") != 0)) {
        fprintf(stderr, "usage: %s put|exists KEY...\n", argv[0]);
        return 2;
    }
    char err[Q_ERRLEN];
    objstore_cfg cfg;
    objstore *o = objstore_cfg_from_env(&cfg, err, sizeof err) == 0 ? objstore_new(&cfg, err, sizeof err) : NULL;
    if (!o) {
        fprintf(stderr, "maint_store: %s\n", err);
        return 1;
    }
    int rc = 0;
    for (int i = 2; i < argc && rc == 0; i++) {
        if (strcmp(argv[1], "put") == 0) {
            char body[1024];
            int n = snprintf(body, sizeof body, "object %s", argv[i]);
            rc = objstore_put_buf(o, argv[i], body, (size_t)n, "application/octet-stream", err, sizeof err);
        }
        else {
            int e = objstore_exists(o, argv[i], err, sizeof err);
            if (e >= 0)
                printf("%d\n", e);
            rc = e < 0 ? -1 : 0;
        }
        if (rc != 0)
            fprintf(stderr, "maint_store: %s: %s\n", argv[i], err);
    }
    objstore_free(o);
    return rc == 0 ? 0 : 1;
}
