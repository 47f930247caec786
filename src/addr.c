#include "addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "np-util.h"

bool
ip_addr_parse(const char *s, struct ip_addr *addr)
{
    memset(addr, 0, sizeof *addr);
    if (strchr(s, ':')) {
        addr->family = AF_INET6;
        return inet_pton(AF_INET6, s, addr->bytes) == 1;
    }
    addr->family = AF_INET;
    return inet_pton(AF_INET, s, addr->bytes) == 1;
}

void
ip_addr_format(const struct ip_addr *addr, char buf[IP_ADDR_STRLEN])
{
    if (!inet_ntop(addr->family, addr->bytes, buf, IP_ADDR_STRLEN)) {
        strcpy(buf, "?");
    }
}

int
ip_addr_cmp(const struct ip_addr *a, const struct ip_addr *b)
{
    if (a->family != b->family) {
        return a->family == AF_INET ? -1 : 1;
    }
    return memcmp(a->bytes, b->bytes, sizeof a->bytes);
}

int
cidr_max_plen(int family)
{
    return family == AF_INET ? 32 : 128;
}

static void
clear_host_bits(struct ip_addr *addr, int plen, bool *had_host_bits)
{
    for (int i = 0; i < 16; i++) {
        int keep = plen - i * 8;
        uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t) (0xff << (8 - keep));
        if (addr->bytes[i] & ~mask) {
            if (had_host_bits) {
                *had_host_bits = true;
            }
            addr->bytes[i] &= mask;
        }
    }
}

/* The API server parses the addresses and CIDRs that it may hold from
 * earlier versions with k8s.io/utils/net ParseIPSloppy and ParseCIDRSloppy:
 * Go's net.ParseIP and net.ParseCIDR, retried with the leading zeros of a
 * trailing dotted quad stripped (Go accepted and ignored them before 1.17:
 * "010.0.0.1" is 10.0.0.1, decimal).  If the 'len' bytes at 's' end with a
 * dotted quad, after the start or a ':', whose numbers have leading zeros,
 * returns the text with those zeros stripped, malloc'd; otherwise NULL. */
static char *
strip_quad_zeros(const char *s, size_t len)
{
    size_t start = len;
    while (start > 0 && s[start - 1] != ':') {
        start--;
    }
    char *out = xmalloc(len + 1);
    memcpy(out, s, start);
    size_t o = start;
    bool stripped = false;
    int dots = 0;
    for (size_t i = start; i <= len; ) {
        size_t digits = i;
        while (digits < len && s[digits] >= '0' && s[digits] <= '9') {
            digits++;
        }
        if (digits == i) {
            free(out);
            return NULL;                /* Not a dotted quad. */
        }
        size_t first = i;
        while (first + 1 < digits && s[first] == '0') {
            first++;
        }
        stripped |= first > i;
        memcpy(out + o, s + first, digits - first);
        o += digits - first;
        if (digits == len) {
            break;
        } else if (s[digits] != '.' || ++dots > 3) {
            free(out);
            return NULL;
        }
        out[o++] = '.';
        i = digits + 1;
    }
    out[o] = '\0';
    if (dots != 3 || !stripped) {
        free(out);
        return NULL;
    }
    return out;
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes the IPv4 address,
 * as Go's net.IP.To4() and so every Go reader of the API takes it. */
static void
unmap_ipv4(struct ip_addr *addr, int *plen)
{
    static const uint8_t prefix[12] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
    };
    if (addr->family == AF_INET6 && !memcmp(addr->bytes, prefix, 12)
        && (!plen || *plen >= 96)) {
        addr->family = AF_INET;
        memmove(addr->bytes, addr->bytes + 12, 4);
        memset(addr->bytes + 4, 0, 12);
        if (plen) {
            *plen -= 96;
        }
    }
}

/* Go's net.ParseIP on the 'len' bytes at 's' (no zone; IPv4 with exactly
 * four decimal numbers, no leading zeros), which inet_pton() matches. */
static bool
parse_ip_strict(const char *s, size_t len, struct ip_addr *addr)
{
    char buf[IP_ADDR_STRLEN];
    if (len >= sizeof buf) {
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    memset(addr, 0, sizeof *addr);
    addr->family = memchr(buf, ':', len) ? AF_INET6 : AF_INET;
    return inet_pton(addr->family, buf, addr->bytes) == 1;
}

static bool
parse_ip_sloppy(const char *s, size_t len, struct ip_addr *addr)
{
    if (parse_ip_strict(s, len, addr)) {
        return true;
    }
    char *stripped = strip_quad_zeros(s, len);
    bool ok = stripped && parse_ip_strict(stripped, strlen(stripped), addr);
    free(stripped);
    return ok;
}

bool
ip_addr_parse_k8s(const char *s, struct ip_addr *addr)
{
    if (!parse_ip_sloppy(s, strlen(s), addr)) {
        return false;
    }
    unmap_ipv4(addr, NULL);
    return true;
}

const char *
cidr_parse_k8s(const char *s, struct cidr *cidr, int *written_plen,
               bool *had_host_bits)
{
    if (had_host_bits) {
        *had_host_bits = false;
    }
    const char *slash = strchr(s, '/');
    if (!slash) {
        return "is not a CIDR (no prefix length)";
    }
    if (!parse_ip_sloppy(s, slash - s, &cidr->addr)) {
        return "is not a valid CIDR (bad address)";
    }

    /* Go's dtoi(): decimal digits, leading zeros allowed. */
    const char *p = slash + 1;
    int plen = 0;
    if (!*p) {
        return "is not a valid CIDR (bad prefix length)";
    }
    for (; *p; p++) {
        if (*p < '0' || *p > '9') {
            return "is not a valid CIDR (bad prefix length)";
        }
        plen = plen * 10 + (*p - '0');
        if (plen > 128) {
            break;
        }
    }
    if (plen > cidr_max_plen(cidr->addr.family)) {
        return (cidr->addr.family == AF_INET
                ? "is not a valid CIDR (prefix length above 32)"
                : "is not a valid CIDR (prefix length above 128)");
    }
    if (written_plen) {
        *written_plen = plen;
    }
    clear_host_bits(&cidr->addr, plen, had_host_bits);
    unmap_ipv4(&cidr->addr, &plen);
    cidr->plen = plen;
    return NULL;
}

char *
cidr_parse(const char *s, struct cidr *cidr, bool *had_host_bits)
{
    const char *reason = cidr_parse_k8s(s, cidr, NULL, had_host_bits);
    if (!reason) {
        return NULL;
    }
    char *q = np_quote(s, strlen(s));
    char *msg = xasprintf("%s %s", q, reason);
    free(q);
    return msg;
}

void
cidr_format(const struct cidr *cidr, char buf[CIDR_STRLEN])
{
    char a[IP_ADDR_STRLEN];
    ip_addr_format(&cidr->addr, a);
    snprintf(buf, CIDR_STRLEN, "%s/%d", a, cidr->plen);
}

static bool
prefix_equal(const uint8_t *a, const uint8_t *b, int plen)
{
    int full = plen / 8, rest = plen % 8;
    if (memcmp(a, b, full)) {
        return false;
    }
    if (rest) {
        uint8_t mask = 0xff << (8 - rest);
        return ((a[full] ^ b[full]) & mask) == 0;
    }
    return true;
}

bool
cidr_contains_addr(const struct cidr *cidr, const struct ip_addr *addr)
{
    return cidr->addr.family == addr->family
           && prefix_equal(cidr->addr.bytes, addr->bytes, cidr->plen);
}

bool
cidr_contains(const struct cidr *outer, const struct cidr *inner)
{
    return outer->addr.family == inner->addr.family
           && outer->plen <= inner->plen
           && prefix_equal(outer->addr.bytes, inner->addr.bytes, outer->plen);
}

int
cidr_cmp(const struct cidr *a, const struct cidr *b)
{
    int cmp = ip_addr_cmp(&a->addr, &b->addr);
    return cmp ? cmp : a->plen - b->plen;
}

static int
cidr_cmp_void(const void *a, const void *b)
{
    return cidr_cmp(a, b);
}

static void
set_bit(struct ip_addr *addr, int bit)
{
    addr->bytes[bit / 8] |= 0x80 >> (bit % 8);
}

static bool
get_bit(const struct ip_addr *addr, int bit)
{
    return (addr->bytes[bit / 8] >> (7 - bit % 8)) & 1;
}

/* Keeps of 'excepts' only what matters for 'block': those of its family
 * that lie inside it, sorted, without the ones another covers.  Sorted by
 * address then prefix length, an except that covers others comes right
 * before them, and the kept ones are disjoint: an except is covered iff
 * the last one kept covers it.  O(n log n). */
void
cidr_diff_init(struct cidr_diff *d, const struct cidr *block,
               const struct cidr *excepts, size_t n_excepts)
{
    d->block = *block;
    d->excepts = NULL;
    d->n_excepts = 0;
    d->empty = false;
    struct cidr *inside = xmalloc((n_excepts + 1) * sizeof *inside);
    size_t n = 0;
    for (size_t i = 0; i < n_excepts; i++) {
        if (cidr_contains(&excepts[i], block)) {
            d->empty = true;
            free(inside);
            return;
        } else if (cidr_contains(block, &excepts[i])) {
            inside[n++] = excepts[i];
        }
    }
    np_qsort(inside, n, sizeof *inside, cidr_cmp_void);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (!kept || !cidr_contains(&inside[kept - 1], &inside[i])) {
            inside[kept++] = inside[i];
        }
    }
    d->excepts = inside;
    d->n_excepts = kept;
}

void
cidr_diff_destroy(struct cidr_diff *d)
{
    if (d) {
        free(d->excepts);
        d->excepts = NULL;
        d->n_excepts = 0;
    }
}

/* Covers 'node' minus the sorted, disjoint excepts 'ex' (all inside
 * 'node') with the largest aligned blocks, in address order, into 'out'
 * (unless it is NULL); returns how many.  A node that holds no except is
 * one block; otherwise its two halves are, each with only the excepts that
 * lie in it (a prefix and the rest of 'ex', since they are sorted), so each
 * except is looked at once per level: O(n * address bits) in all. */
static size_t
difference__(const struct cidr *node, const struct cidr *ex, size_t n,
             struct cidr *out)
{
    if (!n) {
        if (out) {
            *out = *node;
        }
        return 1;
    }
    if (ex[0].plen == node->plen) {
        return 0;               /* Excepted whole (then it is the only one). */
    }
    /* The first except in the upper half: the bit after the node's prefix
     * is 0 in the lower half, 1 in the upper, and they are sorted. */
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (get_bit(&ex[mid].addr, node->plen)) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    struct cidr halves[2] = { *node, *node };
    halves[0].plen = halves[1].plen = node->plen + 1;
    set_bit(&halves[1].addr, node->plen);
    size_t k = difference__(&halves[0], ex, lo, out);
    return k + difference__(&halves[1], ex + lo, n - lo, out ? out + k : NULL);
}

size_t
cidr_diff_count(const struct cidr_diff *d)
{
    return d->empty ? 0 : difference__(&d->block, d->excepts, d->n_excepts,
                                       NULL);
}

struct cidr *
cidr_diff_list(const struct cidr_diff *d, size_t *n)
{
    *n = cidr_diff_count(d);
    struct cidr *out = xmalloc((*n + 1) * sizeof *out);
    if (*n) {
        difference__(&d->block, d->excepts, d->n_excepts, out);
    }
    return out;
}

bool
cidr_diff_contains(const struct cidr_diff *d, const struct ip_addr *addr)
{
    if (d->empty || !cidr_contains_addr(&d->block, addr)) {
        return false;
    }
    /* Only the last except that starts at or before 'addr' may hold it. */
    size_t lo = 0, hi = d->n_excepts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ip_addr_cmp(&d->excepts[mid].addr, addr) <= 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return !lo || !cidr_contains_addr(&d->excepts[lo - 1], addr);
}

struct cidr *
cidr_difference(const struct cidr *block, const struct cidr *excepts,
                size_t n_excepts, size_t *n)
{
    struct cidr_diff d;
    cidr_diff_init(&d, block, excepts, n_excepts);
    struct cidr *out = cidr_diff_list(&d, n);
    cidr_diff_destroy(&d);
    return out;
}

size_t
port_range_to_masks(uint16_t lo, uint16_t hi,
                    uint16_t values[32], uint16_t masks[32])
{
    size_t n = 0;
    uint32_t port = lo;
    while (port <= hi) {
        /* The largest aligned block starting at 'port' that fits. */
        uint32_t size = 1;
        while (size < 65536 && !(port & (size * 2 - 1))
               && port + size * 2 - 1 <= hi) {
            size *= 2;
        }
        values[n] = port;
        masks[n] = (uint16_t) ~(size - 1);
        n++;
        port += size;
    }
    return n;
}

char *
ip_addr_parse_list(const char *text, struct ip_addr **ips, size_t *n)
{
    *ips = NULL;
    *n = 0;
    char *copy = xstrdup(text), *save = NULL, *error = NULL;
    size_t allocated = 0;
    for (char *word = strtok_r(copy, ",", &save); word;
         word = strtok_r(NULL, ",", &save)) {
        struct ip_addr ip;
        if (!ip_addr_parse(word, &ip)) {
            error = xasprintf("\"%s\" is not an IPv4 or IPv6 address", word);
            free(*ips);
            *ips = NULL;
            *n = 0;
            break;
        }
        APPEND(*ips, *n, allocated, ip);
    }
    free(copy);
    return error;
}
