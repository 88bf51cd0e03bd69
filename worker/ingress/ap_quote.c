/* ap_quote.c -- a status's quote approval policy (interactionPolicy.canQuote, GoToSocial's
 * and FEP-044f's shape) as the statuses.quote_approval_policy bitmap, the way
 * ActivityPub::Parser::StatusParser#quote_policy computes it: automaticApproval's flags
 * in the high 16 bits, manualApproval's in the low ones. */
#include "ap_internal.h"

#include <string.h>

/* InteractionPolicy::POLICY_FLAGS */
enum { AP_QP_UNSUPPORTED = 1 << 0, AP_QP_PUBLIC = 1 << 1, AP_QP_FOLLOWERS = 1 << 2, AP_QP_FOLLOWING = 1 << 3 };

static bool ap_qp_is(const json_t *v, const char *s)
{
    return s && json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

/* quote_subpolicy: the allowed actors (as_array), each recognised one a flag, the
 * author ignored, anything else unsupported. Of the three spellings of Public only
 * the first present one is taken out (`delete(a) || delete(b) || delete(c)`): a second
 * spelling stays behind as an unsupported actor. */
static int ap_qp_sub(const json_t *sub, const char *followers, const char *following, const char *actor)
{
    static const char *const publics[] = {"as:Public", "Public", "https://www.w3.org/ns/activitystreams#Public"};
    if (!sub || json_is_null(sub))
        return 0;
    size_t n = json_is_array(sub) ? json_array_size(sub) : 1;
    const char *pub = NULL;
    for (size_t k = 0; k < 3 && !pub; k++)
        for (size_t i = 0; i < n && !pub; i++)
            if (ap_qp_is(json_is_array(sub) ? json_array_get(sub, i) : sub, publics[k]))
                pub = publics[k];
    int flags = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_is_array(sub) ? json_array_get(sub, i) : sub;
        if (ap_qp_is(v, pub))
            flags |= AP_QP_PUBLIC;
        else if (ap_qp_is(v, followers))
            flags |= AP_QP_FOLLOWERS;
        else if (ap_qp_is(v, following))
            flags |= AP_QP_FOLLOWING;
        else if (!ap_qp_is(v, actor))
            flags |= AP_QP_UNSUPPORTED;
    }
    return flags;
}

/* String#[](key) of a policy given as a string: the key itself when it occurs. */
static int ap_qp_string_sub(const char *policy, const char *key, const char *followers, const char *following,
                            const char *actor)
{
    if (!strstr(policy, key))
        return 0;
    json_t *v = json_string(key);
    int flags = ap_qp_sub(v, followers, following, actor);
    json_decref(v);
    return flags;
}

const char *ap_quote_policy_unread(const json_t *obj)
{
    const json_t *ip = json_object_get(obj, "interactionPolicy");
    if (!ip || json_is_null(ip))
        return NULL;
    if (!json_is_object(ip))
        return "interactionPolicy is not an object (StatusParser#quote_policy's dig raises)";
    const json_t *cq = json_object_get(ip, "canQuote");
    if (!cq || json_is_null(cq) || json_is_false(cq) || json_is_object(cq) || json_is_string(cq) ||
        (json_is_array(cq) && json_array_size(cq) == 0))
        return NULL;
    return "interactionPolicy.canQuote is neither an object nor a string (StatusParser#quote_policy raises)";
}

int ap_quote_policy(const json_t *cq, const char *followers, const char *following, const char *actor)
{
    int automatic = 0, manual = 0;
    if (json_is_object(cq)) {
        automatic = ap_qp_sub(json_object_get(cq, "automaticApproval"), followers, following, actor);
        manual = ap_qp_sub(json_object_get(cq, "manualApproval"), followers, following, actor);
    } else if (json_is_string(cq) && !ap_blank(json_string_value(cq))) {
        const char *s = json_string_value(cq);
        automatic = ap_qp_string_sub(s, "automaticApproval", followers, following, actor);
        manual = ap_qp_string_sub(s, "manualApproval", followers, following, actor);
    }
    return automatic << 16 | manual;
}
