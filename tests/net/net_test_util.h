/* net_test_util.h -- helpers shared by the network tests: temp dirs, running
 * the openssl CLI and scripts, files, and the loopback fixture server. */
#ifndef SCOTTY_NET_TEST_UTIL_H
#define SCOTTY_NET_TEST_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Creates a fresh temp dir; path written into dir (>= 64 bytes). */
void nt_tmpdir(char *dir, size_t len);
/* Removes the dir and everything in it. */
void nt_rmdir(const char *dir);
/* Runs a shell command, returns its stdout (malloc'd) or NULL if it failed. */
char *nt_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int nt_write_file(const char *path, const void *data, size_t len);
char *nt_read_file(const char *path, size_t *len);
/* Creates a temp dir (as nt_tmpdir) holding key.pem, a new 2048-bit RSA key
 * (openssl genrsa -traditional), then runs the shell command then (if not NULL)
 * in that dir. Returns key.pem's text (malloc'd; its length in *len if len).
 * Fails the test on error. */
char *nt_tmpdir_rsa_key(char *dir, size_t dirlen, const char *then, size_t *len);

/* The fixture HTTP server (tests/net/fixture_server.py) on loopback. */
typedef struct nt_fixture {
    pid_t pid;
    int stdin_fd;          /* closing it makes the fixture exit */
    int http_port, https_port;
    char dir[128];         /* temp dir: test CA, keys, logs */
} nt_fixture;

/* Creates a test CA and server cert (openssl CLI) and an RSA key pair for
 * signatures in a temp dir, then starts the fixture. Fails the test on error. */
void nt_fixture_start(nt_fixture *f);
void nt_fixture_stop(nt_fixture *f);
/* "http://127.0.0.1:<port><path>" */
void nt_url(const nt_fixture *f, char *buf, size_t len, const char *path);

#endif
