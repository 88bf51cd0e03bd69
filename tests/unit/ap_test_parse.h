/* ap_test_parse.h -- ap_status_parse of a JSON text, for the ActivityPub unit tests. */
#ifndef AP_TEST_PARSE_H
#define AP_TEST_PARSE_H

#include "ap.h"

/* Parses json (which must be valid JSON, else the test fails) with ap_status_parse
 * as actor with followers_url (either may be NULL); returns its result. */
int ap_test_parse(const char *json, const char *actor, const char *followers, ap_status *s, char *err,
                  size_t errlen);

#endif
