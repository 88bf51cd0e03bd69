/* ap_test_parse.c -- ap_status_parse of a JSON text, for the ActivityPub unit tests
 * (test_ap_status, test_ap_media). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ap_test_parse.h"

int ap_test_parse(const char *json, const char *actor, const char *followers, ap_status *s, char *err,
                  size_t errlen)
{
    json_error_t jerr;
    json_t *o = json_loads(json, 0, &jerr);
    if (!o)
        fail_msg("bad test JSON: %s: %s", jerr.text, json);
    int rc = ap_status_parse(o, actor, followers, s, err, errlen);
    json_decref(o);
    return rc;
}
