/* objstore_s3_multipart.c -- S3 multipart upload for objects above
 * S3_MULTIPART_THRESHOLD (libcurl has no helper): create, upload the parts,
 * complete; on any failure the upload is aborted so no orphaned parts are billed. */
#include "objstore_internal.h"

#include <stdlib.h>
#include <string.h>

#define S3_MAX_PARTS 10000

typedef struct s3_upload {
    const char *key;
    base_buf id_query;        /* "uploadId=<encoded id>" */
} s3_upload;

static void s3_abort(objstore *o, s3_upload *up)
{
    char err[512];
    objstore_s3_req req = {.method = "DELETE", .key = up->key, .query = up->id_query.data};
    if (objstore_s3_request(o, &req, err, sizeof err) != 0)
        base_log(BASE_LOG_WARN, "could not abort the multipart upload of %s (the bucket may keep its "
                          "parts until a lifecycle rule removes them): %s", up->key, err);
}

int objstore_s3_put_multipart(objstore *o, const char *key, objstore_body *body,
                              const char *content_type, char *err, size_t errlen)
{
    long long part_size = (long long)o->cfg.part_size;
    long long min_size = (body->length + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
    if (part_size < min_size)
        part_size = min_size;
    int nparts = (int)((body->length + part_size - 1) / part_size);

    base_buf resp;
    base_buf_init(&resp);
    objstore_s3_req create = {.method = "POST", .key = key, .query = "uploads=",
                              .content_type = content_type, .object_headers = true,
                              .response = &resp};
    if (objstore_s3_request(o, &create, err, errlen) != 0) {
        base_buf_free(&resp);
        return -1;
    }
    char upload_id[512];
    objstore_xml_value(resp.data, "UploadId", upload_id, sizeof upload_id);
    base_buf_free(&resp);
    if (!upload_id[0]) {
        snprintf(err, errlen, "S3 did not return an UploadId when starting the multipart upload "
                              "of %s", key);
        return -1;
    }
    s3_upload up = {.key = key};
    base_buf_init(&up.id_query);
    base_buf_adds(&up.id_query, "uploadId=");
    objstore_uri_encode(&up.id_query, upload_id, false);

    base_buf complete;
    base_buf_init(&complete);
    base_buf_adds(&complete, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    int rc = 0;
    for (int n = 1; n <= nparts && rc == 0; n++) {
        long long off = (long long)(n - 1) * part_size;
        long long len = body->length - off < part_size ? body->length - off : part_size;
        objstore_body part = {.data = body->data ? body->data + off : NULL, .file = body->file,
                              .offset = body->data ? 0 : body->offset + off, .length = len};
        base_buf query;
        base_buf_init(&query);
        base_buf_addf(&query, "partNumber=%d&%s", n, up.id_query.data); /* sorted: p < u */
        objstore_s3_req put = {.method = "PUT", .key = key, .query = query.data, .body = &part};
        rc = objstore_s3_request(o, &put, err, errlen);
        if (rc == 0 && !put.etag[0]) {
            snprintf(err, errlen, "S3 returned no ETag for part %d of %s", n, key);
            rc = -1;
        }
        if (rc == 0)
            base_buf_addf(&complete, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", n,
                       put.etag);
        base_buf_free(&query);
    }
    base_buf_adds(&complete, "</CompleteMultipartUpload>");

    if (rc == 0) {
        base_buf_init(&resp);
        objstore_body xml = {.data = (const unsigned char *)complete.data,
                             .length = (long long)complete.len};
        objstore_s3_req done = {.method = "POST", .key = key, .query = up.id_query.data,
                                .body = &xml, .content_type = "application/xml", .response = &resp};
        rc = objstore_s3_request(o, &done, err, errlen);
        /* S3 may answer 200 and still report an error in the body. */
        if (rc == 0 && resp.data && strstr(resp.data, "<Error>")) {
            char code[128], msg[256];
            objstore_xml_value(resp.data, "Code", code, sizeof code);
            objstore_xml_value(resp.data, "Message", msg, sizeof msg);
            snprintf(err, errlen, "S3 could not complete the multipart upload of %s: %s: %s", key,
                     code, msg);
            rc = -1;
        }
        base_buf_free(&resp);
    }
    if (rc != 0)
        s3_abort(o, &up);
    base_buf_free(&complete);
    base_buf_free(&up.id_query);
    return rc;
}
