/* ssrf.c -- the address guard: which resolved addresses scotty may connect to.
 *
 * Mirrors Mastodon's PrivateAddressCheck: Ruby's private?/loopback?/link_local?
 * plus a list of reserved, documentation, multicast and translation ranges.
 * IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) IPv6 addresses are
 * judged as their IPv4 form. ALLOWED_PRIVATE_ADDRESSES exempts IPs and CIDRs. */
#include "net.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* An address in IPv6 form; IPv4 is stored mapped (::ffff:a.b.c.d) so one prefix
 * comparison serves both families. */
typedef struct ssrf_net {
    unsigned char addr[16];
    int bits;           /* prefix length in the 128-bit space */
} ssrf_net;

struct ssrf_guard {
    ssrf_net *allowed;  /* immutable after ssrf_guard_new: safe to share */
    size_t n;
};

typedef struct ssrf_range {
    const char *cidr;
    const char *why;
} ssrf_range;

static const ssrf_range ssrf_v4_ranges[] = {
    {"0.0.0.0/8", "\"this network\" 0.0.0.0/8"},
    {"10.0.0.0/8", "private 10.0.0.0/8"},
    {"100.64.0.0/10", "carrier-grade NAT 100.64.0.0/10"},
    {"127.0.0.0/8", "loopback 127.0.0.0/8"},
    {"169.254.0.0/16", "link-local 169.254.0.0/16"},
    {"172.16.0.0/12", "private 172.16.0.0/12"},
    {"192.0.0.0/24", "IETF protocol assignments 192.0.0.0/24"},
    {"192.0.2.0/24", "documentation 192.0.2.0/24"},
    {"192.88.99.0/24", "6to4 relay anycast 192.88.99.0/24"},
    {"192.168.0.0/16", "private 192.168.0.0/16"},
    {"198.18.0.0/15", "benchmarking 198.18.0.0/15"},
    {"198.51.100.0/24", "documentation 198.51.100.0/24"},
    {"203.0.113.0/24", "documentation 203.0.113.0/24"},
    {"224.0.0.0/4", "multicast 224.0.0.0/4"},
    {"240.0.0.0/4", "reserved 240.0.0.0/4"},
    {"255.255.255.255/32", "broadcast 255.255.255.255"},
};

static const ssrf_range ssrf_v6_ranges[] = {
    {"::/128", "unspecified ::"},
    {"::1/128", "loopback ::1"},
    {"64:ff9b::/96", "NAT64 64:ff9b::/96"},
    {"64:ff9b:1::/48", "local NAT64 64:ff9b:1::/48"},
    {"100::/64", "discard-only 100::/64"},
    {"2001::/32", "Teredo 2001::/32"},
    {"2001:10::/28", "ORCHID 2001:10::/28"},
    {"2001:20::/28", "ORCHIDv2 2001:20::/28"},
    {"2001:db8::/32", "documentation 2001:db8::/32"},
    {"2002::/16", "6to4 2002::/16"},
    {"3fff::/20", "documentation 3fff::/20"},
    {"fc00::/7", "unique local fc00::/7"},
    {"fe80::/10", "link-local fe80::/10"},
    {"ff00::/8", "multicast ff00::/8"},
};

static void ssrf_map_v4(const unsigned char v4[4], unsigned char out[16])
{
    memset(out, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    memcpy(out + 12, v4, 4);
}

/* Parses "addr" or "addr/bits" into the 128-bit space. 0 or -1. */
static int ssrf_parse_net(const char *s, ssrf_net *out)
{
    char buf[64];
    size_t len = strlen(s);
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len + 1);
    int bits = -1;
    char *slash = strchr(buf, '/');
    if (slash) {
        *slash = '\0';
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (slash[1] == '\0' || *end != '\0' || b < 0 || b > 128)
            return -1;
        bits = (int)b;
    }
    unsigned char v4[4];
    if (inet_pton(AF_INET, buf, v4) == 1) {
        if (bits > 32)
            return -1;
        ssrf_map_v4(v4, out->addr);
        out->bits = (bits < 0 ? 32 : bits) + 96;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->bits = bits < 0 ? 128 : bits;
        return 0;
    }
    return -1;
}

static bool ssrf_net_contains(const ssrf_net *n, const unsigned char a[16])
{
    int full = n->bits / 8, rest = n->bits % 8;
    if (memcmp(n->addr, a, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (n->addr[full] & mask) == (a[full] & mask);
}

static bool ssrf_in(const char *cidr, const unsigned char a[16])
{
    ssrf_net n;
    return ssrf_parse_net(cidr, &n) == 0 && ssrf_net_contains(&n, a);
}

/* The address in 128-bit form, with mapped/compatible IPv4 unwrapped into the
 * mapped form. false for other families. */
static bool ssrf_normalize(const struct sockaddr *sa, unsigned char out[16])
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        ssrf_map_v4((const unsigned char *)&in->sin_addr, out);
        return true;
    }
    if (sa->sa_family != AF_INET6)
        return false;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    memcpy(out, &in6->sin6_addr, 16);
    static const unsigned char zero12[12];
    /* IPv4-compatible ::a.b.c.d (not :: and ::1, which stay IPv6) */
    if (memcmp(out, zero12, 12) == 0) {
        uint32_t tail = ((uint32_t)out[12] << 24) | ((uint32_t)out[13] << 16) |
                        ((uint32_t)out[14] << 8) | out[15];
        if (tail > 1) {
            unsigned char v4[4];
            memcpy(v4, out + 12, 4);
            ssrf_map_v4(v4, out);
        }
    }
    return true;
}

static bool ssrf_is_v4(const unsigned char a[16])
{
    static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a, prefix, 12) == 0;
}

const char *ssrf_classify(const struct sockaddr *sa)
{
    unsigned char a[16];
    if (!ssrf_normalize(sa, a))
        return "not an IP address";
    if (ssrf_is_v4(a)) {
        for (size_t i = 0; i < sizeof ssrf_v4_ranges / sizeof ssrf_v4_ranges[0]; i++)
            if (ssrf_in(ssrf_v4_ranges[i].cidr, a))
                return ssrf_v4_ranges[i].why;
        return NULL;
    }
    for (size_t i = 0; i < sizeof ssrf_v6_ranges / sizeof ssrf_v6_ranges[0]; i++)
        if (ssrf_in(ssrf_v6_ranges[i].cidr, a))
            return ssrf_v6_ranges[i].why;
    return NULL;
}

ssrf_guard *ssrf_guard_new(const char *allowed, char *err, size_t errlen)
{
    ssrf_guard *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const char *p = allowed ? allowed : "";
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        size_t len = strcspn(p, ", \t\r\n");
        if (len == 0)
            break;
        char item[64] = "";
        ssrf_net n;
        if (len < sizeof item) {
            memcpy(item, p, len);
            item[len] = '\0';
        }
        if (len >= sizeof item || ssrf_parse_net(item, &n) != 0) {
            snprintf(err, errlen,
                     "ALLOWED_PRIVATE_ADDRESSES: \"%.*s\" is not an IP address or CIDR "
                     "(write e.g. 10.0.0.5, 192.168.0.0/16 or fd00::/8, separated by commas)",
                     (int)(len > 60 ? 60 : len), p);
            ssrf_guard_free(g);
            return NULL;
        }
        ssrf_net *grown = realloc(g->allowed, (g->n + 1) * sizeof *grown);
        if (!grown) {
            snprintf(err, errlen, "out of memory");
            ssrf_guard_free(g);
            return NULL;
        }
        g->allowed = grown;
        g->allowed[g->n++] = n;
        p += len;
    }
    return g;
}

void ssrf_guard_free(ssrf_guard *g)
{
    if (!g)
        return;
    free(g->allowed);
    free(g);
}

static void ssrf_format(const struct sockaddr *sa, char *buf, size_t len)
{
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)len);
    else
        snprintf(buf, len, "(family %d)", sa->sa_family);
}

bool ssrf_guard_allows(const ssrf_guard *g, const struct sockaddr *sa, char *why, size_t whylen)
{
    const char *reason = ssrf_classify(sa);
    if (!reason)
        return true;
    unsigned char a[16], raw[16] = {0};
    if (ssrf_normalize(sa, a)) {
        if (sa->sa_family == AF_INET6)
            memcpy(raw, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        else
            memcpy(raw, a, 16);
        for (size_t i = 0; g && i < g->n; i++)
            if (ssrf_net_contains(&g->allowed[i], a) || ssrf_net_contains(&g->allowed[i], raw))
                return true;
    }
    char text[INET6_ADDRSTRLEN + 16];
    ssrf_format(sa, text, sizeof text);
    snprintf(why, whylen,
             "address %s is %s; add it to ALLOWED_PRIVATE_ADDRESSES if this host is meant "
             "to be reachable", text, reason);
    return false;
}

bool ssrf_is_hidden_service(const char *host)
{
    size_t len = strlen(host);
    if (len > 0 && host[len - 1] == '.')
        len--;
    static const char *const tlds[] = {".onion", ".i2p"};
    for (size_t i = 0; i < 2; i++) {
        size_t t = strlen(tlds[i]);
        if (len >= t && strncasecmp(host + len - t, tlds[i], t) == 0)
            return true;
    }
    return false;
}
