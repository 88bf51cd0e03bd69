/* objstore_internal.h -- what the object-storage front (objstore.c) and its two
 * backends (objstore_fs.c, objstore_s3*.c) share. Private to worker/storage. */
#ifndef SCOTTY_OBJSTORE_INTERNAL_H
#define SCOTTY_OBJSTORE_INTERNAL_H

#include "curlshare.h"
#include "storage.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>

struct objstore {
    objstore_cfg cfg;           /* read-only after objstore_new */
    char s3_base[768];          /* S3: scheme://host[:port] requests go to, no trailing slash */
    bool s3_vhost;              /* S3: bucket in the host name, not the path */
    /* S3: DNS, TLS sessions and open connections shared by every thread's
     * requests (curlshare.h). */
    curlshare share;
    /* S3 circuit breaker (objstore_s3_breaker.c): breaker_lock guards the two
     * fields below it, shared by every thread using this store. */
    pthread_mutex_t breaker_lock;
    int breaker_failures;       /* failed requests in a row */
    double breaker_open_until;  /* monotonic seconds; requests fail fast before it */
};

/* Where a body comes from: a buffer, or a byte range of an open file. */
typedef struct objstore_body {
    const unsigned char *data;  /* buffer, or NULL for a file */
    FILE *file;
    long long offset, length;
    long long pos;              /* bytes handed to curl so far */
} objstore_body;

int objstore_fs_put(objstore *o, const char *key, objstore_body *body, char *err, size_t errlen);
int objstore_fs_get(objstore *o, const char *key, base_buf *out, char *err, size_t errlen);
int objstore_fs_delete(objstore *o, const char *key, char *err, size_t errlen);
int objstore_fs_exists(objstore *o, const char *key, char *err, size_t errlen);

int objstore_s3_init(objstore *o, char *err, size_t errlen);
void objstore_s3_cleanup(objstore *o);
int objstore_s3_put(objstore *o, const char *key, objstore_body *body, const char *content_type,
                    char *err, size_t errlen);
int objstore_s3_get(objstore *o, const char *key, base_buf *out, char *err, size_t errlen);
int objstore_s3_delete(objstore *o, const char *key, char *err, size_t errlen);
int objstore_s3_exists(objstore *o, const char *key, char *err, size_t errlen);

/* The circuit breaker: false (with err) while open; record each request's outcome
 * (unhealthy: network error or 5xx after every retry). */
void objstore_breaker_init(objstore *o);
void objstore_breaker_destroy(objstore *o);
bool objstore_breaker_allow(objstore *o, char *err, size_t errlen);
void objstore_breaker_record(objstore *o, bool unhealthy);

/* One S3 request (objstore_s3.c), retried on 5xx and network errors. */
typedef struct objstore_s3_req {
    const char *method;         /* GET, PUT, POST, HEAD, DELETE */
    const char *key;            /* object key, unencoded */
    const char *query;          /* already sorted and encoded ("uploads=", "partNumber=1&uploadId=x"), or NULL */
    objstore_body *body;        /* request body, or NULL */
    const char *content_type;   /* sent and signed when not NULL */
    bool object_headers;        /* send ACL, Cache-Control, storage class (new objects) */
    base_buf *response;            /* response body, or NULL to discard */
    long status;                /* out: HTTP status of the last attempt */
    char etag[128];             /* out: ETag response header */
} objstore_s3_req;

/* Returns 0 for a 2xx answer; -1 with err otherwise (status says which). */
int objstore_s3_request(objstore *o, objstore_s3_req *req, char *err, size_t errlen);
/* Multipart upload of body (objstore_s3_multipart.c); aborted on failure. */
int objstore_s3_put_multipart(objstore *o, const char *key, objstore_body *body,
                              const char *content_type, char *err, size_t errlen);
/* RFC 3986 percent-encoding; keeps '/' when keep_slash. */
void objstore_uri_encode(base_buf *out, const char *s, bool keep_slash);
/* The text of the first <tag>...</tag> in xml, or "" (out has len bytes). */
void objstore_xml_value(const char *xml, const char *tag, char *out, size_t len);

#endif
