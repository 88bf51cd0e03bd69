/* curlshare.h -- a libcurl share handle for connections, DNS and TLS sessions,
 * with one mutex per shared structure that curl takes around its use, so easy
 * handles on any thread can reuse them. Used by the HTTP client (net) and the
 * S3 backend (storage); its own small library so storage needs no net. */
#ifndef SCOTTY_CURLSHARE_H
#define SCOTTY_CURLSHARE_H

#include <curl/curl.h>
#include <pthread.h>

typedef struct curlshare {
    CURLSH *sh;                                     /* NULL until set up */
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST];     /* locks[data] guards data */
} curlshare;

/* Sets up s: the mutexes and a share handle sharing connections, DNS and TLS
 * sessions. 0 on success; -1 if libcurl refused (left as if never set up). */
int curlshare_init(curlshare *s);
/* Releases what curlshare_init set up; nothing if it was not (or failed). */
void curlshare_cleanup(curlshare *s);

#endif
