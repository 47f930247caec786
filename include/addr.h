/* IP addresses and CIDR blocks, IPv4 and IPv6, and the CIDR arithmetic the
 * compiler needs (ipBlock 'except' as a set difference).  Pure functions. */
#ifndef NP_ADDR_H
#define NP_ADDR_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An IPv4 address uses bytes[0..3]; the rest stays zero. */
struct ip_addr {
    int family;                 /* AF_INET or AF_INET6. */
    uint8_t bytes[16];
};

struct cidr {
    struct ip_addr addr;        /* Host bits beyond 'plen' are zero. */
    int plen;
};

#define IP_ADDR_STRLEN 46       /* INET6_ADDRSTRLEN. */
#define CIDR_STRLEN (IP_ADDR_STRLEN + 4)

/* Parses an address as inet_pton() does (which is also what Go's
 * net.ParseIP accepts: no zone, no leading zeros in IPv4).  Returns true on
 * success.  For operator input and OVSDB. */
bool ip_addr_parse(const char *, struct ip_addr *);
/* Parses an address as the API server parses the ones it may hold from
 * earlier versions (pod IPs): k8s.io/utils ParseIPSloppy, i.e. also with
 * leading zeros in the numbers of IPv4 ("010.0.0.1" is 10.0.0.1, decimal,
 * as Go read it before 1.17), and an IPv4-mapped IPv6 address
 * ("::ffff:10.0.0.1") is the IPv4 address, as Go's To4() makes it.
 * Returns true on success. */
bool ip_addr_parse_k8s(const char *, struct ip_addr *);
/* Parses a comma-separated list of addresses into a malloc'd array;
 * returns NULL, or a malloc'd message naming the first bad word. */
char *ip_addr_parse_list(const char *, struct ip_addr **, size_t *n);
void ip_addr_format(const struct ip_addr *, char buf[IP_ADDR_STRLEN]);
int ip_addr_cmp(const struct ip_addr *, const struct ip_addr *);

/* Parses "a.b.c.d/n" or "x::y/n" as the API server parses the NetworkPolicy
 * ipBlock CIDRs that it may hold (k8s.io/utils ParseCIDRSloppy, Go's
 * net.ParseCIDR): leading zeros in IPv4 numbers (as ip_addr_parse_k8s())
 * and in the prefix length ("/08") are accepted, host bits beyond the
 * prefix are accepted and cleared ('*had_host_bits' tells whether there
 * were any), and an IPv4-mapped block of length 96 or more
 * ("::ffff:10.0.0.0/104") is the IPv4 block it maps (10.0.0.0/8), as Go's
 * IPNet.Contains() treats it.  '*written_plen', if nonnull, receives the
 * prefix length as written (104 there: the API server compares those).
 * Returns NULL on success, otherwise the reason, a static string such as
 * "is not a valid CIDR (bad address)", to follow the quoted value. */
const char *cidr_parse_k8s(const char *, struct cidr *, int *written_plen,
                           bool *had_host_bits)
    __attribute__((warn_unused_result));
/* The same, returning NULL or a malloc'd message that quotes the value. */
char *cidr_parse(const char *, struct cidr *, bool *had_host_bits)
    __attribute__((warn_unused_result));
void cidr_format(const struct cidr *, char buf[CIDR_STRLEN]);
bool cidr_contains_addr(const struct cidr *, const struct ip_addr *);
/* True if 'inner' lies wholly inside 'outer' (same family). */
bool cidr_contains(const struct cidr *outer, const struct cidr *inner);
int cidr_cmp(const struct cidr *, const struct cidr *);
int cidr_max_plen(int family);

/* 'block' minus the CIDRs of an ipBlock's 'except' list, prepared once so
 * that counting, listing and membership are cheap: O(n log n) to prepare
 * for n excepts, O(n * address bits) to count or list (without
 * allocating, to count), O(log n) to test an address.  The count comes
 * first, so a caller can refuse a list too long before building it. */
struct cidr_diff {
    struct cidr block;
    struct cidr *excepts;       /* Those inside 'block', sorted, disjoint. */
    size_t n_excepts;
    bool empty;                 /* An except covers all of 'block'. */
};

/* Excepts of another family than 'block', or outside it, are ignored. */
void cidr_diff_init(struct cidr_diff *, const struct cidr *block,
                    const struct cidr *excepts, size_t n_excepts);
void cidr_diff_destroy(struct cidr_diff *);
/* How many CIDRs cidr_diff_list() gives. */
size_t cidr_diff_count(const struct cidr_diff *);
/* The fewest disjoint CIDRs that cover the difference, sorted.  Returns a
 * malloc'd array that the caller frees and stores its length in '*n'. */
struct cidr *cidr_diff_list(const struct cidr_diff *, size_t *n);
bool cidr_diff_contains(const struct cidr_diff *, const struct ip_addr *);

/* cidr_diff_list() of 'block' minus 'excepts', in one call. */
struct cidr *cidr_difference(const struct cidr *block,
                             const struct cidr *excepts, size_t n_excepts,
                             size_t *n);

/* Covers the inclusive port range [lo, hi] with value/mask pairs, the fewest
 * possible (at most 30 for 16 bits).  Writes them into 'values' and 'masks'
 * (each with room for 32) and returns how many. */
size_t port_range_to_masks(uint16_t lo, uint16_t hi,
                           uint16_t values[32], uint16_t masks[32]);

#endif
