/* net_test_util.c -- temp dirs, shell commands, files and the fixture server
 * process for the network tests. The fixture is a child of the test: it exits
 * when its stdin closes (also when the test dies), and nt_fixture_stop kills it
 * by pid and reaps it. */
#include "net_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

void nt_tmpdir(char *dir, size_t len)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, len, "%s/scotty-net-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
}

void nt_rmdir(const char *dir)
{
    if (!dir[0])
        return;
    char *out = nt_run("rm -rf '%s'", dir);
    free(out);
}

char *nt_run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    int status = pclose(p);
    if (!buf || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

int nt_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

char *nt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = (size_t)n;
    }
    return buf;
}

char *nt_tmpdir_rsa_key(char *dir, size_t dirlen, const char *then, size_t *len)
{
    nt_tmpdir(dir, dirlen);
    char *out = nt_run("cd '%s' && openssl genrsa -traditional -out key.pem 2048 2>/dev/null && "
                       "%s%secho ok", dir, then ? then : "", then ? " && " : "");
    assert_non_null(out);
    free(out);
    char path[256];
    snprintf(path, sizeof path, "%s/key.pem", dir);
    char *pem = nt_read_file(path, len);
    assert_non_null(pem);
    return pem;
}

void nt_fixture_start(nt_fixture *f)
{
    memset(f, 0, sizeof *f);
    nt_tmpdir(f->dir, sizeof f->dir);
    char *out = nt_run("sh '%s/make_test_certs.sh' '%s'", NT_SOURCE_DIR, f->dir);
    if (!out)
        fail_msg("make_test_certs.sh failed: is the openssl CLI installed?");
    free(out);

    int in[2], outp[2];
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(outp, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, outp[0]);
    char script[512];
    snprintf(script, sizeof script, "%s/fixture_server.py", NT_SOURCE_DIR);
    char *argv[] = {"python3", script, f->dir, NULL};
    int rc = posix_spawnp(&f->pid, "python3", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(outp[1]);
    if (rc != 0)
        fail_msg("cannot start the fixture (python3): %s", strerror(rc));
    f->stdin_fd = in[1];
    FILE *r = fdopen(outp[0], "r");
    char line[128] = "";
    if (!r || !fgets(line, sizeof line, r) ||
        sscanf(line, "READY http=%d https=%d", &f->http_port, &f->https_port) != 2)
        fail_msg("the fixture did not start (said \"%s\")", line);
    fclose(r);
}

void nt_fixture_stop(nt_fixture *f)
{
    if (f->pid > 0) {
        close(f->stdin_fd);
        kill(f->pid, SIGTERM);
        while (waitpid(f->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        f->pid = 0;
    }
    nt_rmdir(f->dir);
    f->dir[0] = '\0';
}

void nt_url(const nt_fixture *f, char *buf, size_t len, const char *path)
{
    snprintf(buf, len, "http://127.0.0.1:%d%s", f->http_port, path);
}
